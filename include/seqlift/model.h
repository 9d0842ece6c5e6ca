/* model.h — the network engine: model loading (JSON graph + safetensors weights),
 * the forward pass, and the linear-layer primitives the attribution engine uses.
 *
 * Layout everywhere: one sequence's activation is [len][ch] float32, row-major
 * (position-major, the transpose of PyTorch's (C, L)); a batch of n sequences is n
 * such blocks back to back. The input layer (layers[0]) is [in_len][4], ACGT.
 *
 * The net is immutable after loading and may be shared by threads; each thread
 * owns its own sl_acts_t. The file format is documented in docs/model-format.md.
 */
#ifndef SEQLIFT_MODEL_H
#define SEQLIFT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ops of the model format. Everything about an op (JSON name, arity, flags, shape
 * inference, kernels, DeepLIFT rule) is in one table, src/nn/ops.c; the order here
 * carries no meaning. */
typedef enum {
    SL_OP_INPUT = 0,
    SL_OP_CONV1D, SL_OP_DENSE, SL_OP_BATCHNORM, SL_OP_AVGPOOL, SL_OP_GLOBAL_AVGPOOL,
    SL_OP_FLATTEN, SL_OP_DROPOUT, SL_OP_ADD, SL_OP_CONCAT, SL_OP_CROP,
    SL_OP_RELU, SL_OP_SIGMOID, SL_OP_TANH, SL_OP_SOFTPLUS, SL_OP_ELU, SL_OP_EXP, SL_OP_GELU,
    SL_OP_MAXPOOL, SL_OP_GLOBAL_MAXPOOL,
    SL_OP_SOFTMAX,
    SL_OP_LOG,
    SL_OP_COUNT
} sl_op_t;

/* Properties from the op table. */
int sl_op_is_elementwise(sl_op_t op); /* y = f(x) per element (Rescale / RevealCancel) */
int sl_op_is_linear(sl_op_t op);      /* linear in its inputs (DeepLIFT Linear rule) */
int sl_op_is_maxpool(sl_op_t op);     /* max over windows (max-pool rules) */
const char *sl_op_name(sl_op_t op);   /* the model JSON's name, "?" if none */

typedef struct {
    char *name;
    sl_op_t op;
    int n_in;            /* number of producers */
    int *in;             /* producer layer indices, each < this layer's index */
    int len, ch;         /* output shape per sequence: [len][ch] */
    /* conv1d, maxpool, avgpool */
    int kernel, stride, dilation, pad_left, pad_right;
    int count_include_pad; /* avgpool: divide by kernel (1) or by the in-bounds count (0) */
    /* conv1d: w is [kernel][in_ch][out_ch] (repacked from PyTorch [out][in][k]);
     * dense:  w is [in][out] where `in` runs over the producer's activation in its
     *         memory order (repacked from PyTorch [out][in]); b is [out] or NULL. */
    float *w, *b;
    int in_ch, out_ch;   /* conv1d / dense fan-in (per position) and fan-out */
    float *bn_scale, *bn_shift; /* batchnorm folded: y = x * scale[c] + shift[c] */
    float alpha;         /* elu: alpha; softplus: beta */
    float threshold;     /* softplus: linear above beta*x > threshold (PyTorch semantics) */
    int flatten_channel_first; /* flatten emits [ch][len] (PyTorch order), else [len][ch] */
    int crop_start;      /* crop: output position t is input position crop_start + t */
    int concat_axis;     /* concat: 0 = channels, 1 = length */
    int in_len;          /* length of the (first) producer's output */
} sl_layer_t;

typedef struct {
    char *path;          /* the model JSON's path (for messages) */
    int n_layers;
    sl_layer_t *layers;  /* topological order; layers[0] is the input */
    int in_len;          /* input length in bases */
    int n_outputs;
    char **output_names; /* [n_outputs] */
    int *output_layer;   /* [n_outputs] layer index of each output */
    void *priv;          /* reserved: NULL (kept for the ABI) */
} sl_net_t;

static inline size_t sl_layer_size(const sl_layer_t *l) { return (size_t)l->len * (size_t)l->ch; }

/* Load NAME.json and the safetensors file it names (relative to the JSON).
 * Every size, offset, shape and reference is checked; on any problem one line
 * naming the file and the tensor/layer is reported and NULL returned.
 * The caller owns the net: free with sl_net_destroy(). */
sl_net_t *sl_net_load(const char *json_path);
/* The same from memory buffers (copied as needed; buffers stay the caller's).
 * `label` names the model in messages. For fuzzing and tests. */
sl_net_t *sl_net_load_mem(const char *json, size_t json_len, const void *st, size_t st_len,
                          const char *label);
void sl_net_destroy(sl_net_t *net);

/* Output index by name, or by decimal index; -1 (not reported) if none. */
int sl_net_find_output(const sl_net_t *net, const char *name_or_index);

/* Activations of every layer for up to max_batch sequences; one per thread.
 * act[l] holds n * layers[l].len * layers[l].ch floats after a forward pass.
 * All memory is allocated here, once: the forward pass allocates nothing. */
typedef struct {
    const sl_net_t *net;
    int max_batch;
    float **act;         /* [n_layers] */
    void *priv;          /* scratch owned by the engine */
} sl_acts_t;
sl_acts_t *sl_acts_create(const sl_net_t *net, int max_batch);
/* Activations for forward-only use (predict): after sl_net_forward only the output
 * layers' act[] hold their values ([n][len][ch] as usual); the other layers share a
 * few buffers by liveness, so memory is a few layers' worth per sequence. Do not pass
 * these to anything but sl_net_forward. Free with sl_acts_destroy(). */
sl_acts_t *sl_acts_create_outputs_only(const sl_net_t *net, int max_batch);
/* Between the two: after sl_net_forward the layers with keep[l] != 0 (keep has n_layers
 * entries) and the input hold their values as in sl_acts_create; layers they need are
 * computed into buffers shared by liveness (crops that are not kept point into their
 * producer's buffer), the rest (outputs too) are not computed: read only kept layers. */
sl_acts_t *sl_acts_create_keep(const sl_net_t *net, int max_batch, const char *keep);
void sl_acts_destroy(sl_acts_t *a);

/* Forward pass of n <= max_batch sequences x ([n][in_len][4]); fills a->act. 0 / -1. */
int sl_net_forward(const sl_net_t *net, sl_acts_t *a, const float *x, int n);

/* One layer's forward from given producer buffers (in[i] for producer i): out = f(in).
 * `scratch` as in sl_acts_t (may be the acts' own). Used by the attribution engine. */
void sl_layer_forward(const sl_net_t *net, int l, const float *const *in, float *out, int n,
                      sl_acts_t *scratch);

/* Elementwise nonlinearity of layer L and its derivative, over `count` values. */
void sl_elementwise(const sl_layer_t *L, const float *x, float *y, size_t count);
void sl_elementwise_grad(const sl_layer_t *L, const float *x, float *dydx, size_t count);

/* conv1d / dense with an explicit weight array of w's layout (w, wpos or wneg):
 *   sl_linear_apply:    y (+)= W x   (no bias; accumulate if acc != 0)
 *   sl_linear_backward: dx += W^T dy
 * These are GEMMs over the whole batch; RevealCancel's sign-split passes use them.
 * scratch may be NULL (then conv1d runs as per-tap GEMMs, without im2col). */
void sl_linear_apply(const sl_layer_t *L, const float *w, const float *x, float *y, int n, int acc,
                     sl_acts_t *scratch);
void sl_linear_backward(const sl_layer_t *L, const float *w, const float *dy, float *dx, int n,
                        sl_acts_t *scratch);
/* The same for two inputs (y1 (+)= W x1 and y2 (+)= W x2; dx1 += Wᵀ dy1 and dx2 += Wᵀ dy2):
 * the bytes of two calls, in one pass over a dense layer's weights (RevealCancel's
 * parts read each of W⁺ and W⁻ once instead of twice). */
void sl_linear_apply2(const sl_layer_t *L, const float *w, const float *x1, float *y1, const float *x2, float *y2,
                      int n, int acc, sl_acts_t *scratch);
void sl_linear_backward2(const sl_layer_t *L, const float *w, const float *dy1, float *dx1, const float *dy2,
                         float *dx2, int n, sl_acts_t *scratch);

/* Backward of any linear op (conv1d, dense, batchnorm, avgpool, global avgpool,
 * flatten, dropout, add, concat, crop) with its own weights: for each producer i,
 * dx[i] += (d out / d in_i)^T dy. dx[i] are [n][len_i][ch_i] buffers. */
void sl_layer_backward_linear(const sl_net_t *net, int l, const float *dy, float *const *dx, int n,
                              sl_acts_t *scratch);

/* ---- batch prediction (`seqlift predict`) ------------------------------------------ */

/* Values per sequence over all outputs: each output's [len][ch] flattened, in output order. */
size_t sl_net_n_values(const sl_net_t *net);
/* Column label of value j into buf: "<output>" when that output has one value, else
 * "<output>_<i>" with i the flat index in [len][ch] order. Returns snprintf's length. */
int sl_net_value_label(const sl_net_t *net, size_t j, char *buf, size_t size);
/* Sequences per batch that keep one worker's full activations (sl_acts_create) near
 * `bytes` (1..64). */
int sl_net_auto_batch(const sl_net_t *net, size_t bytes);
/* Threads OpenBLAS may use inside one GEMM (1 when the caller runs its own threads). */
void sl_net_blas_threads(int n);

/* Writes the one-hot x[in_len][4] of sequence i; called from worker threads (worker in
 * 0..n_threads-1, so each worker can own its file handles). 0 / -1 (reported). */
typedef int (*sl_predict_fill_f)(void *ud, int worker, int64_t i, float *x);
/* Receives sequence i's sl_net_n_values() values; called in order i = 0..n-1 from the
 * calling thread. 0 / -1 (reported) stops the run. */
typedef int (*sl_predict_emit_f)(void *ud, int64_t i, const float *values);
/* Forward pass of n sequences: n_threads worker threads, each with its own
 * outputs-only sl_acts_t of `batch` sequences (the caller sets OpenBLAS to one thread:
 * sl_net_blas_threads), while the calling thread emits results in order
 * (seqlift/pipeline.h); values of at most 4 batches per worker are buffered, so memory
 * does not grow with n. 0 / -1 (reported). */
int sl_net_predict(const sl_net_t *net, int64_t n, int n_threads, int batch, sl_predict_fill_f fill,
                   sl_predict_emit_f emit, void *ud);

#ifdef __cplusplus
}
#endif

#endif
