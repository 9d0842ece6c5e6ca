/* nn_priv.h — internals shared by the nn module's files and the attribution engine
 * (not a public header): the op table, the safetensors reader, the graph parser's
 * helpers for the per-op attribute parsers, the kernels, and the liveness planner.
 *
 * Files: safetensors.c (weights reader), graph.c (model JSON -> sl_net_t), ops.c (the
 * op table and each op's attributes and shape), kernels.c (each op's forward, linear
 * backward, f and f'), net_forward.c (activations and the whole-network forward),
 * plan.c (buffer liveness planner), predict.c (threaded batch prediction).
 */
#ifndef SEQLIFT_NN_PRIV_H
#define SEQLIFT_NN_PRIV_H

#include <stdint.h>
#include <string.h>

#include "seqlift/model.h"

/* 4 float / int32 lanes (GCC/Clang vector extensions; SSE2 on any x86-64): loops that
 * select by mask, which GCC -O2 leaves scalar */
typedef float sl_v4f __attribute__((vector_size(16)));
typedef int32_t sl_v4i __attribute__((vector_size(16)));
/* 8 lanes for the AVX2 paths of hot elementwise loops: functions compiled with
 * SL_NN_AVX2 (no FMA, so no contraction: the same IEEE operations per lane), taken
 * when sl_nn_avx2() says so; never passed by value between functions */
typedef float sl_v8f __attribute__((vector_size(32)));
typedef int32_t sl_v8i __attribute__((vector_size(32)));
#if defined(__x86_64__) || defined(__i386__)
#define SL_NN_AVX2 __attribute__((target("avx2")))
#else
#define SL_NN_AVX2
#endif
/* 1: the CPU has AVX2 and sl_nn_no_avx2 is 0 (set by the tests that compare both paths) */
extern int sl_nn_no_avx2;
int sl_nn_avx2(void);

struct cJSON;

/* ---- the op table ------------------------------------------------------------ */

enum {
    SL_OPF_LINEAR = 1 << 0,       /* linear (affine) in its inputs: has a linear backward */
    SL_OPF_ELEMENTWISE = 1 << 1,  /* y = f(x) element by element: has f and f' */
    SL_OPF_POOL = 1 << 2,         /* reduces windows of positions (kernel, stride, padding) */
    SL_OPF_WEIGHTS = 1 << 3,      /* has w (and b): apply_w / backward_w take any weight array */
    SL_OPF_SIGN_SPLIT = 1 << 4,   /* RevealCancel needs its weights split by sign (W⁺, W⁻) */
    SL_OPF_BATCHWIDE = 1 << 5,    /* fully connected: one GEMM over the whole batch (fixed row
                                   * blocks); every other op runs sequence by sequence. The
                                   * genomics default puts RevealCancel after these. */
};

/* How the DeepLIFT engine (src/attr/engine.c) treats an op; it switches on this. */
typedef enum {
    SL_RULE_INPUT = 0,  /* the network input: multipliers end here */
    SL_RULE_LINEAR,     /* Linear rule through the op's linear backward */
    SL_RULE_SPLIT,      /* Linear rule; with RevealCancel, Δ⁺/Δ⁻ and the backward use W⁺/W⁻ */
    SL_RULE_SCALE,      /* a per-channel scale (bn_scale, or 1 without it): Δ⁺/Δ⁻ pass through */
    SL_RULE_NONLINEAR,  /* elementwise: Rescale, RevealCancel, or the gradient */
    SL_RULE_MAXPOOL,    /* max over windows: multipliers routed to argmaxes (sl_maxpool_rule_t) */
    SL_RULE_NONE        /* cannot be attributed through (softmax inside the network) */
} sl_op_rule_t;

typedef struct sl_nn_ctx_s sl_nn_ctx_t;
/* Attributes, weights and output shape of layer L (its name, op, inputs and in_len are
 * set; L->kernel/stride/dilation are 1). 0 / -1 (reported). */
typedef int sl_op_parse_f(const sl_nn_ctx_t *c, sl_layer_t *L, const struct cJSON *o);
/* out = op(in[0..n_in)) for n sequences. */
typedef void sl_op_forward_f(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                             sl_acts_t *scratch);
/* dx[i] += (d out / d in_i)^T dy for every producer i. */
typedef void sl_op_backward_f(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                              sl_acts_t *scratch);
/* Weighted ops with an explicit weight array of w's layout: y += W x, or dx += W^T dy. */
typedef void sl_op_wgemm_f(const sl_layer_t *L, const float *w, const float *x, float *y, int n,
                           sl_acts_t *scratch);
/* Elementwise f or f' over count values (in place allowed). */
typedef void sl_op_map_f(const sl_layer_t *L, const float *x, float *y, size_t count);
/* The secant (f(x) − f(r)) / (x − r) for x != r, in double and in a form that does not
 * cancel (the float32 difference of outputs would carry ~6e-8 of rounding into Rescale's
 * multiplier, divided by Δx, which can be 1e-7). */
typedef double sl_op_secant_f(const sl_layer_t *L, double x, double r);

typedef struct {
    const char *name;            /* the model JSON's "op" (NULL: a hole in the table) */
    const char *alias[2];        /* other accepted names, NULL-terminated */
    int min_in, max_in;          /* number of producers; max_in 0 = any number >= min_in */
    unsigned flags;              /* SL_OPF_* */
    sl_op_rule_t rule;           /* the DeepLIFT rule family */
    sl_op_parse_f *parse;        /* NULL: not a layer op of the JSON (the input) */
    sl_op_forward_f *forward;
    sl_op_backward_f *backward;  /* SL_OPF_LINEAR */
    sl_op_wgemm_f *apply_w, *backward_w; /* SL_OPF_WEIGHTS */
    sl_op_map_f *f, *df;         /* SL_OPF_ELEMENTWISE */
    sl_op_secant_f *secant;      /* elementwise; NULL where the float ratio of outputs is
                                  * exact (relu: Δy is a copy of Δx or 0) */
} sl_op_info_t;

/* Indexed by sl_op_t, SL_OP_COUNT entries (checked at compile time in ops.c). */
extern const sl_op_info_t sl_ops[];
/* 0 when op's entry has every function its flags and rule require, else -1 with a
 * message naming what is missing written to msg. */
int sl_op_check(sl_op_t op, char *msg, size_t size);

/* ---- safetensors (safetensors.c) --------------------------------------------- */

#define SL_ST_MAX_DIMS 8
enum { SL_ST_F32, SL_ST_F16, SL_ST_BF16 };

typedef struct {
    const char *name;       /* points into the parsed header */
    int dtype, ndim;
    int64_t shape[SL_ST_MAX_DIMS];
    size_t numel, begin, end;
} sl_st_tensor_t;

typedef struct {
    const char *label;      /* file name for messages */
    struct cJSON *hdr;
    int n;
    sl_st_tensor_t *t;
    const uint8_t *data;    /* the byte after the header (the caller's buffer) */
    size_t data_len;
} sl_st_file_t;

/* Parse and check the file in buf (kept by the caller while st is used). 0 / -1 (reported). */
int sl_st_parse(sl_st_file_t *st, const void *buf, size_t len, const char *label);
void sl_st_free(sl_st_file_t *st);
const sl_st_tensor_t *sl_st_find(const sl_st_file_t *st, const char *name);
/* Tensor t as float32 (malloc'ed, the caller frees), NULL (reported) on OOM. */
float *sl_st_to_float(const sl_st_file_t *st, const sl_st_tensor_t *t);
/* A JSON number that is a non-negative integer below 2^53 (exact in a double). 0 / -1. */
int sl_nn_json_uint(const struct cJSON *v, uint64_t *out);

/* ---- graph parser helpers for the ops' parse functions (graph.c) ------------- */

#define SL_NN_MAX_ACT_SIZE ((size_t)1 << 30) /* floats per sequence per layer */
#define SL_NN_MAX_DIM (1 << 28)

struct sl_nn_ctx_s {
    const char *file;       /* the JSON's label */
    const sl_st_file_t *st;
    sl_net_t *net;          /* layers before the one being parsed are complete */
};

/* Integer attribute `key` in [lo, hi]; `def` when absent (or null) and has_def. */
int sl_nn_get_int(const sl_nn_ctx_t *c, const sl_layer_t *L, const struct cJSON *o, const char *key, int has_def,
                  int def, int lo, int hi, int *out);
/* Finite number attribute `key`, `def` when absent or null. */
int sl_nn_get_float(const sl_nn_ctx_t *c, const sl_layer_t *L, const struct cJSON *o, const char *key, double def,
                    double *out);
/* The tensor named by attribute `key`, of exactly this shape, as finite float32
 * (caller frees); *out = NULL when optional and absent. */
int sl_nn_get_tensor(const sl_nn_ctx_t *c, const sl_layer_t *L, const struct cJSON *o, const char *key,
                     int optional, int ndim, const int64_t *shape, float **out);
/* The same for a tensor read once (weights): *view in the file's buffer (valid while it
 * is mapped, during the parse) when float32 and aligned there, else *owned holds the
 * converted copy (caller frees). */
int sl_nn_get_tensor_view(const sl_nn_ctx_t *c, const sl_layer_t *L, const struct cJSON *o, const char *key,
                          int ndim, const int64_t *shape, const float **view, float **owned);
/* L's output shape [len][ch], checked non-empty and within limits. */
int sl_nn_set_shape(const sl_nn_ctx_t *c, sl_layer_t *L, int64_t len, int64_t ch);
/* Producer i of L. */
static inline const sl_layer_t *sl_nn_in(const sl_nn_ctx_t *c, const sl_layer_t *L, int i)
{
    return &c->net->layers[L->in[i]];
}

/* ---- kernels (kernels.c) ------------------------------------------------------ */

/* Conv layers with at most this many input channels run as one im2col GEMM per
 * sequence (the per-tap GEMMs would have a tiny K); others as one GEMM per tap. */
#define SL_NN_IM2COL_MAX_CH 16
/* Rows of every dense GEMM call (see dense_gemm in kernels.c): fixed, so that a
 * sequence's numbers do not depend on the batch. */
#define SL_NN_GEMM_ROWS 16

sl_op_forward_f sl_k_input, sl_k_weighted, sl_k_batchnorm, sl_k_avgpool, sl_k_maxpool, sl_k_global_avgpool,
    sl_k_global_maxpool, sl_k_flatten, sl_k_copy, sl_k_add, sl_k_concat, sl_k_crop, sl_k_softmax,
    sl_k_elementwise;
sl_op_backward_f sl_k_weighted_bw, sl_k_batchnorm_bw, sl_k_avgpool_bw, sl_k_global_avgpool_bw, sl_k_flatten_bw,
    sl_k_copy_bw, sl_k_add_bw, sl_k_concat_bw, sl_k_crop_bw;
sl_op_wgemm_f sl_k_conv_apply, sl_k_conv_backward, sl_k_dense_apply, sl_k_dense_backward;
sl_op_map_f sl_k_relu, sl_k_relu_d, sl_k_sigmoid, sl_k_sigmoid_d, sl_k_tanh, sl_k_tanh_d, sl_k_softplus,
    sl_k_softplus_d, sl_k_elu, sl_k_elu_d, sl_k_exp, sl_k_exp_d, sl_k_gelu, sl_k_gelu_d, sl_k_log, sl_k_log_d;
sl_op_secant_f sl_k_sigmoid_s, sl_k_tanh_s, sl_k_softplus_s, sl_k_elu_s, sl_k_exp_s, sl_k_gelu_s, sl_k_log_s;

/* Branch-free max(x, 0), the ReLU of the forward pass and of the Rescale rule: +0 for -0
 * and negative NaNs, as x > 0 ? x : 0 gives. */
static inline float sl_nn_relu1(float x)
{
    int32_t b;
    memcpy(&b, &x, 4);
    b &= ~(b >> 31);
    memcpy(&x, &b, 4);
    return x;
}

/* y = a + b over n values with ReLU applied first to a (relu bit 0) and/or b (bit 1):
 * the bytes of a ReLU layer feeding an add, in one pass (net_forward.c fuses them). */
void sl_nn_add_relu(const float *a, const float *b, unsigned relu, float *y, size_t n);
/* pos = max(d, 0) and neg = min(d, 0) over n values (+0 where d has the other sign, is
 * ±0 or NaN): RevealCancel's Δ⁺/Δ⁻ and the split weights W⁺/W⁻. */
void sl_nn_split_sign(const float *d, float *pos, float *neg, size_t n);
/* y += x (acc), or y = 0 + x: a zeroed y's sum without the zeroing (-0 becomes +0). */
void sl_nn_add_to(float *y, const float *x, size_t n, int acc);
/* Floats of im2col scratch layer L needs (0 when it does not use im2col). */
size_t sl_nn_col_size(const sl_layer_t *L);
/* Floats of padding scratch layer L's GEMMs need (0 unless batch-wide). */
size_t sl_nn_pad_size(const sl_layer_t *L);

/* ---- activations (net_forward.c) --------------------------------------------- */

/* Weight arrays' copies for the tiles (gemm.c), found by address and kind. */
typedef struct {
    struct sl_nn_wt_s *e;
    int n;
} sl_nn_wts_t;

/* Scratch owned by an sl_acts_t. */
typedef struct {
    float *col;        /* im2col buffer: max over im2col convs of out_len * kernel * in_ch */
    size_t col_size;
    float *pad;        /* dense GEMM padding: max over dense layers of sl_nn_pad_size */
    size_t pad_size;
    const float **ins; /* producer pointers for the layer being run */
    size_t *stride;    /* [n_layers] floats between sequences in act[l] (the layer's size,
                        * or a shared slot's size in outputs-only activations) */
    char *skip;        /* [n_layers]: no forward: a view (a crop that is not kept: act[l]
                        * points into its producer's buffer), a ReLU applied inside the add
                        * that alone reads it (act NULL), or a layer no kept one needs */
    unsigned char *relu_in; /* [n_layers]: an add's inputs (bit i) that are such ReLUs */
    float **blocks;    /* allocations behind act[] */
    int n_blocks;
    sl_nn_wts_t wt;    /* transposed weights (gemm.c) made at first use */
    const sl_nn_wts_t *wt_shared; /* and made beforehand by the owner (attribution plan) */
} sl_acts_priv_t;

/* ---- the convolutions' GEMMs (gemm.c) ------------------------------------------ */

/* C[M][N] += A[M][K] B[K][N], row-major with leading dimensions lda, ldb, ldc: in
 * register tiles without packing where the CPU has AVX-512F or AVX2 (see
 * sl_nn_gemm_tiles), else
 * cblas_sgemm; the same bits either way (see gemm.c). */
void sl_nn_sgemm(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, float *C, size_t ldc);
/* Whether sl_nn_sgemm takes this shape to the tiles, and the tiles themselves (any
 * shape: a row's bits do not depend on M, so a caller may decide on one shape and run
 * another M). */
int sl_nn_tiles_take(int M, int N, int K);
void sl_nn_sgemm_tiles(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, float *C,
                       size_t ldc);
/* B [K][N] (element (k, n) at B[k·sk + n·sn]) packed for the tiles: [⌈N/64⌉][K][64],
 * 64-byte aligned, zeros past N (sl_nn_pack_size floats; NULL without memory; the
 * caller frees it), and C += A B from it: the bits of sl_nn_sgemm_tiles on B, with
 * B's 64-column panels read as contiguous streams. */
/* b[c][r] = a[r][c] for a [rows][cols], in 16 x 16 blocks (a row-by-row transpose of a
 * dense layer's 8 MB takes a cache miss per element) */
void sl_nn_transpose(const float *a, size_t rows, size_t cols, float *b);
size_t sl_nn_pack_size(int K, int N);
float *sl_nn_pack(const float *B, size_t sk, size_t sn, int K, int N);
void sl_nn_sgemm_packed(int M, int N, int K, const float *A, size_t lda, const float *Bp, float *C, size_t ldc);
/* C_i += A_i B for several row sets at once, each panel of B read once for all of
 * them; each C_i gets the bits sl_nn_sgemm_packed gives it alone. */
typedef struct {
    int M;
    const float *A;
    size_t lda;
    float *C;
    size_t ldc;
} sl_nn_rows_t;
void sl_nn_sgemm_packed_n(int nseg, const sl_nn_rows_t *seg, int N, int K, const float *Bp);
/* C += A Bᵀ with B [N][K] (ldb); Bt, when not NULL, is B transposed ([K][N], dense),
 * which the tiles read. */
void sl_nn_sgemm_bt(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, const float *Bt,
                    float *C, size_t ldc);
/* y ([len][co], row-major) += conv L of one sequence x without bias, the im2col GEMM's
 * bits, for x with at most one nonzero per position (one-hot DNA); mem (mem_size
 * bytes) is scratch. 0, or -1 when it does not apply (no tiles, a shape cblas keeps,
 * not one-hot, scratch too small): the caller then runs the GEMM. */
int sl_nn_conv_onehot(const sl_layer_t *L, const float *x, const float *w, float *y, void *mem, size_t mem_size);
/* The tiles' mode: SL_NN_TILES_512 (AVX-512F), SL_NN_TILES_256 (AVX2 + FMA, or
 * SEQLIFT_GEMM=avx2: the same shapes), or off
 * (SEQLIFT_GEMM=blas, or neither ISA); both give the same bits (gemm.c).
 * sl_nn_gemm_set_tiles forces it (tests compare the paths: 0 off, 1 the CPU's best,
 * SL_NN_TILES_256 where the CPU has AVX2, -1 decide again from the CPU and the
 * environment). */
enum { SL_NN_TILES_OFF, SL_NN_TILES_512, SL_NN_TILES_256 };
int sl_nn_gemm_tiles(void);
void sl_nn_gemm_set_tiles(int on);
/* Whether a dense layer's GEMM of N columns and K inner runs in the tiles (any number
 * of rows, from its packed weights): where not, cblas in fixed blocks of SL_NN_GEMM_ROWS. */
int sl_nn_tiles_take_dense(int N, int K);
/* The copies of a weight array w [k][ci][co] (dense: k = 1) the tiles read, by kind:
 * SL_NN_WT_T for the backward (tap by tap the transpose [co][ci], packed: sl_nn_pack;
 * im2col convs: [co][k·ci], plain), SL_NN_WT_F for the forward (tap by tap [ci][co],
 * packed; im2col convs read w as it is: none). Packed taps are sl_nn_wt_tap floats
 * apart. */
enum { SL_NN_WT_T, SL_NN_WT_F };
size_t sl_nn_wt_tap(const sl_layer_t *L, int kind);
/* w's copy of that kind for L, found in s or made and kept there (w must not change
 * while s is used); NULL when not needed (no tiles, a conv's forward) or out of memory
 * (the caller then takes the cblas path). sl_nn_wts_free frees what s holds. */
const float *sl_nn_wts_get(sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind);
void sl_nn_wts_free(sl_nn_wts_t *s);
/* Lookup only (s may be NULL); adding a copy made elsewhere (own: s frees wt; on
 * failure -1, and an owned wt is freed). */
const float *sl_nn_wts_find(const sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind);
int sl_nn_wts_put(sl_nn_wts_t *s, const sl_layer_t *L, const float *w, int kind, const float *wt, int own);
/* Every copy the tiles read of net's weighted layers l with need[l] (need NULL: all),
 * of the kinds in bit mask `kinds` (1 << SL_NN_WT_T | 1 << SL_NN_WT_F: both), made on up
 * to `threads` threads and added to s (owned); for the split
 * layers (wpos[l] non-NULL, wpos/wneg may be NULL) W⁺/W⁻ = sl_nn_split_sign(L->w) into
 * the caller's wpos[l]/wneg[l] (numel floats each) and the copies of those too, keyed
 * by wpos[l]/wneg[l]. Without tiles only the split. A copy without memory is left out
 * (each scratch then makes its own, or the GEMM takes the cblas path). 0 / -1 (OOM). */
int sl_nn_wts_prepare(sl_nn_wts_t *s, const sl_net_t *net, const char *need, int kinds, float *const *wpos,
                      float *const *wneg, int threads);
/* The same through a scratch: its owner's shared set (sl_nn_acts_share_wts: read only,
 * must outlive a; sl_nn_wts_prepare), else its own, made at first use. */
const float *sl_nn_wt_get(const sl_layer_t *L, const float *w, int kind, sl_acts_t *scratch);
void sl_nn_acts_share_wts(sl_acts_t *a, const sl_nn_wts_t *s);

/* ---- buffer liveness planner (plan.c) ----------------------------------------- */

/* Buffer i is needed from step first[i] to step last[i] inclusive (first[i] < 0: not
 * planned) and holds size[i] floats. Assigns slot[i] so that buffers whose lives
 * overlap never share a slot, best fit first; slot_size[s] (n entries of room) is the
 * largest size assigned to slot s. Returns the number of slots. Used for the
 * activations of predict, and for the attribution engine's multipliers and Δ⁺/Δ⁻. */
int sl_nn_plan_slots(int n, const int *first, const int *last, const size_t *size, int *slot, size_t *slot_size);

#endif
