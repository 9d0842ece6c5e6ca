/* kernels.c — each op's kernels in the [len][ch] layout: forward, the linear backward
 * of linear ops, GEMMs with an explicit weight array (w, W⁺ or W⁻) for weighted ops,
 * and f and f' of the elementwise nonlinearities. The op table (ops.c) points here.
 *
 * conv1d is one GEMM per kernel tap on a shifted (and, for stride > 1, strided)
 * view of the input: tap j reads input row t*stride + j*dilation - pad_left for
 * output row t, so padding only narrows the row range of that tap's GEMM.
 * Convs with few input channels (the one-hot layer) use im2col instead.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

/* ---- conv1d / dense ---------------------------------------------------------- */

/* Output rows [*t0, *t1) of conv L whose tap j reads inside [0, in_len); the first
 * input row they read is *p0. Returns 0 when the range is empty. */
static int tap_rows(const sl_layer_t *L, int in_len, int j, int *t0, int *t1, int *p0)
{
    long off = (long)j * L->dilation - L->pad_left, s = L->stride;
    long a = off >= 0 ? 0 : (-off + s - 1) / s;
    long last = in_len - 1 - off; /* t*s <= last */
    if (last < 0) return 0;
    long b = last / s + 1;
    if (b > L->len) b = L->len;
    if (a >= b) return 0;
    *t0 = (int)a, *t1 = (int)b, *p0 = (int)(a * s + off);
    return 1;
}

size_t sl_nn_col_size(const sl_layer_t *L)
{
    if (L->op != SL_OP_CONV1D || L->in_ch > SL_NN_IM2COL_MAX_CH || L->kernel == 1) return 0;
    return (size_t)L->len * L->kernel * L->in_ch;
}

static float *col_scratch(const sl_layer_t *L, sl_acts_t *scratch)
{
    if (!scratch || !scratch->priv) return NULL;
    sl_acts_priv_t *p = scratch->priv;
    size_t need = sl_nn_col_size(L);
    return need && need <= p->col_size ? p->col : NULL;
}

/* col[t][j*ci + i] = x[t*s + j*d - pl][i], 0 outside the input. */
static void im2col(const sl_layer_t *L, int in_len, const float *x, float *col)
{
    int ci = L->in_ch, k = L->kernel, row = k * ci;
    for (int t = 0; t < L->len; t++) {
        float *c = col + (size_t)t * row;
        for (int j = 0; j < k; j++) {
            long p = (long)t * L->stride + (long)j * L->dilation - L->pad_left;
            if (p < 0 || p >= in_len) memset(c + j * ci, 0, (size_t)ci * sizeof(float));
            else memcpy(c + j * ci, x + (size_t)p * ci, (size_t)ci * sizeof(float));
        }
    }
}

void sl_k_conv_apply(const sl_layer_t *L, const float *w, const float *x, float *y, int n, sl_acts_t *scratch)
{
    int in_len = L->in_len, ci = L->in_ch, co = L->out_ch;
    float *col = col_scratch(L, scratch);
    const float *wf = col ? NULL : sl_nn_wt_get(L, w, SL_NN_WT_F, scratch); /* packed taps, or NULL */
    size_t tap = sl_nn_wt_tap(L, SL_NN_WT_F);
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in_len * ci;
        float *yb = y + (size_t)b * L->len * co;
        if (col) {
            if (sl_nn_conv_onehot(L, xb, w, yb, col, sl_nn_col_size(L) * sizeof(float)) == 0) continue;
            im2col(L, in_len, xb, col);
            sl_nn_sgemm(L->len, co, L->kernel * ci, col, (size_t)L->kernel * ci, w, co, yb, co);
            continue;
        }
        for (int j = 0; j < L->kernel; j++) {
            int t0, t1, p0;
            if (!tap_rows(L, in_len, j, &t0, &t1, &p0)) continue;
            const float *a = xb + (size_t)p0 * ci;
            if (wf && sl_nn_tiles_take(t1 - t0, co, ci))
                sl_nn_sgemm_packed(t1 - t0, co, ci, a, (size_t)L->stride * ci, wf + j * tap, yb + (size_t)t0 * co, co);
            else sl_nn_sgemm(t1 - t0, co, ci, a, (size_t)L->stride * ci, w + (size_t)j * ci * co, co, yb + (size_t)t0 * co, co);
        }
    }
}

/* Dense GEMMs c[n][cols] += a[n][inner] · op(W) run over blocks of exactly
 * SL_NN_GEMM_ROWS rows, the last one padded with zero rows in scratch: OpenBLAS picks
 * its kernels by the call's shape, and a row computed in a call of M = 4 rows differs in
 * its last bits from the same row in a call of M = 1 or M = 7 (measured, OpenBLAS 0.3.21
 * on AMD EPYC), so without fixed shapes a sequence's numbers would depend on the
 * sequences batched with it. That is not enough under OpenBLAS's Haswell/Zen kernels,
 * which also round a row by its position in the block: there the AVX2 tiles take every
 * dense shape (sl_nn_tiles_take_dense). The tiles (gemm.c) compute every row alone, in
 * the bits of such a block, so where they take the block's shape all rows go at once,
 * unpadded.
 * W is [inner][cols] (op = NoTrans) or [cols][inner] (Trans). */
static void dense_block(CBLAS_TRANSPOSE op, int cols, int inner, const float *a, const float *w, float *c)
{
    if (op == CblasNoTrans) sl_nn_sgemm(SL_NN_GEMM_ROWS, cols, inner, a, inner, w, cols, c, cols);
    else sl_nn_sgemm_bt(SL_NN_GEMM_ROWS, cols, inner, a, inner, w, inner, NULL, c, cols);
}

/* W (forward) or Wᵀ (backward) of dense L packed, where the tiles take the block shape:
 * they give each row the bits of a block of SL_NN_GEMM_ROWS (rows are independent in
 * them), so all rows go at once, unpadded. NULL: the cblas blocks. */
static const float *dense_packed(CBLAS_TRANSPOSE op, const sl_layer_t *L, int cols, int inner, const float *w,
                                 sl_acts_t *scratch)
{
    if (!sl_nn_tiles_take_dense(cols, inner)) return NULL;
    return sl_nn_wt_get(L, w, op == CblasTrans ? SL_NN_WT_T : SL_NN_WT_F, scratch);
}

static void dense_gemm(CBLAS_TRANSPOSE op, const sl_layer_t *L, int n, int cols, int inner, const float *a,
                       const float *w, float *c, sl_acts_t *scratch)
{
    const int F = SL_NN_GEMM_ROWS;
    const float *wp = dense_packed(op, L, cols, inner, w, scratch);
    if (wp) {
        sl_nn_sgemm_packed(n, cols, inner, a, inner, wp, c, cols);
        return;
    }
    int full = n / F * F, rest = n - full;
    for (int r = 0; r < full; r += F) dense_block(op, cols, inner, a + (size_t)r * inner, w, c + (size_t)r * cols);
    if (!rest) return;
    sl_acts_priv_t *p = scratch ? scratch->priv : NULL;
    size_t need = (size_t)F * ((size_t)inner + cols);
    float *pad = p && p->pad_size >= need ? p->pad : NULL, *own = NULL;
    if (!pad && !(pad = own = sl_malloc(need * sizeof(float), "dense scratch"))) return; /* reported */
    float *pa = pad, *pc = pad + (size_t)F * inner;
    memset(pad, 0, need * sizeof(float));
    memcpy(pa, a + (size_t)full * inner, (size_t)rest * inner * sizeof(float));
    memcpy(pc, c + (size_t)full * cols, (size_t)rest * cols * sizeof(float));
    dense_block(op, cols, inner, pa, w, pc);
    memcpy(c + (size_t)full * cols, pc, (size_t)rest * cols * sizeof(float));
    free(own);
}

size_t sl_nn_pad_size(const sl_layer_t *L)
{
    return sl_ops[L->op].flags & SL_OPF_BATCHWIDE ? (size_t)SL_NN_GEMM_ROWS * ((size_t)L->in_ch + L->out_ch) : 0;
}

void sl_k_dense_apply(const sl_layer_t *L, const float *w, const float *x, float *y, int n, sl_acts_t *scratch)
{
    dense_gemm(CblasNoTrans, L, n, L->out_ch, L->in_ch, x, w, y, scratch);
}

void sl_k_dense_backward(const sl_layer_t *L, const float *w, const float *dy, float *dx, int n, sl_acts_t *scratch)
{
    dense_gemm(CblasTrans, L, n, L->in_ch, L->out_ch, dy, w, dx, scratch);
}

void sl_linear_apply(const sl_layer_t *L, const float *w, const float *x, float *y, int n, int acc,
                     sl_acts_t *scratch)
{
    if (!acc) memset(y, 0, (size_t)n * sl_layer_size(L) * sizeof(float));
    if (sl_ops[L->op].apply_w) sl_ops[L->op].apply_w(L, w, x, y, n, scratch);
    else sl_log_error("layer '%s': op '%s' has no weights", L->name, sl_op_name(L->op));
}

void sl_linear_backward(const sl_layer_t *L, const float *w, const float *dy, float *dx, int n,
                        sl_acts_t *scratch)
{
    if (sl_ops[L->op].backward_w) sl_ops[L->op].backward_w(L, w, dy, dx, n, scratch);
    else sl_log_error("layer '%s': op '%s' has no weights", L->name, sl_op_name(L->op));
}

/* Two dense GEMMs c_i += a_i op(W) in one pass over W's packed copy: 0, or -1 when the
 * tiles do not take them (the caller then makes two calls) */
static int dense_gemm2(CBLAS_TRANSPOSE op, const sl_layer_t *L, int n, int cols, int inner, const float *a1,
                       float *c1, const float *a2, float *c2, const float *w, sl_acts_t *scratch)
{
    const float *wp = L->op == SL_OP_DENSE ? dense_packed(op, L, cols, inner, w, scratch) : NULL;
    if (!wp) return -1;
    const sl_nn_rows_t sg[2] = {{n, a1, (size_t)inner, c1, (size_t)cols}, {n, a2, (size_t)inner, c2, (size_t)cols}};
    sl_nn_sgemm_packed_n(2, sg, cols, inner, wp);
    return 0;
}

void sl_linear_apply2(const sl_layer_t *L, const float *w, const float *x1, float *y1, const float *x2, float *y2,
                      int n, int acc, sl_acts_t *scratch)
{
    if (!acc) {
        size_t sz = (size_t)n * sl_layer_size(L) * sizeof(float);
        memset(y1, 0, sz), memset(y2, 0, sz);
    }
    if (dense_gemm2(CblasNoTrans, L, n, L->out_ch, L->in_ch, x1, y1, x2, y2, w, scratch) == 0) return;
    sl_linear_apply(L, w, x1, y1, n, 1, scratch);
    sl_linear_apply(L, w, x2, y2, n, 1, scratch);
}

void sl_linear_backward2(const sl_layer_t *L, const float *w, const float *dy1, float *dx1, const float *dy2,
                         float *dx2, int n, sl_acts_t *scratch)
{
    if (dense_gemm2(CblasTrans, L, n, L->in_ch, L->out_ch, dy1, dx1, dy2, dx2, w, scratch) == 0) return;
    sl_linear_backward(L, w, dy1, dx1, n, scratch);
    sl_linear_backward(L, w, dy2, dx2, n, scratch);
}

/* conv1d, dense: out = b + W x */
void sl_k_weighted(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                   sl_acts_t *scratch)
{
    size_t rows = (size_t)n * L->len;
    int C = L->ch;
    (void)net;
    if (L->b && rows) { /* the rows filled so far copied after themselves: log2(rows) copies,
                         * not one call per row of C floats (4 % of BPNet's time) */
        memcpy(out, L->b, (size_t)C * sizeof(float));
        for (size_t r = 1; r < rows; r *= 2) memcpy(out + r * C, out, (rows - r < r ? rows - r : r) * C * sizeof(float));
    } else {
        memset(out, 0, rows * C * sizeof(float));
    }
    sl_ops[L->op].apply_w(L, L->w, in[0], out, n, scratch);
}

void sl_k_weighted_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                      sl_acts_t *scratch)
{
    (void)net;
    sl_ops[L->op].backward_w(L, L->w, dy, dx[0], n, scratch);
}

/* dx += W^T dy for conv L. */
void sl_k_conv_backward(const sl_layer_t *L, const float *w, const float *dy, float *dx, int n,
                        sl_acts_t *scratch)
{
    int in_len = L->in_len, ci = L->in_ch, co = L->out_ch, k = L->kernel;
    float *col = col_scratch(L, scratch);
    const float *wt = sl_nn_wt_get(L, w, SL_NN_WT_T, scratch); /* transposed taps (packed unless im2col), or NULL */
    size_t tap = sl_nn_wt_tap(L, SL_NN_WT_T);
    for (int b = 0; b < n; b++) {
        const float *dyb = dy + (size_t)b * L->len * co;
        float *dxb = dx + (size_t)b * in_len * ci;
        if (col) { /* dcol = dy W^T (cblas: beta 0, i.e. C zeroed, then + the product), then col2im */
            memset(col, 0, (size_t)L->len * k * ci * sizeof(float));
            sl_nn_sgemm_bt(L->len, k * ci, co, dyb, co, w, co, wt, col, (size_t)k * ci);
            for (int t = 0; t < L->len; t++) {
                const float *c = col + (size_t)t * k * ci;
                for (int j = 0; j < k; j++) {
                    long p = (long)t * L->stride + (long)j * L->dilation - L->pad_left;
                    if (p < 0 || p >= in_len) continue;
                    float *d = dxb + (size_t)p * ci;
                    if (ci == 4) { /* one-hot input: one 4-lane add (GCC -O2 leaves the loop scalar) */
                        sl_v4f dv, cv;
                        memcpy(&dv, d, sizeof dv), memcpy(&cv, c + j * 4, sizeof cv);
                        dv += cv;
                        memcpy(d, &dv, sizeof dv);
                        continue;
                    }
                    for (int i = 0; i < ci; i++) d[i] += c[j * ci + i];
                }
            }
            continue;
        }
        for (int j = 0; j < k; j++) {
            int t0, t1, p0;
            if (!tap_rows(L, in_len, j, &t0, &t1, &p0)) continue;
            const float *a = dyb + (size_t)t0 * co;
            float *c = dxb + (size_t)p0 * ci;
            if (wt && sl_nn_tiles_take(t1 - t0, ci, co))
                sl_nn_sgemm_packed(t1 - t0, ci, co, a, co, wt + j * tap, c, (size_t)L->stride * ci);
            else sl_nn_sgemm_bt(t1 - t0, ci, co, a, co, w + (size_t)j * ci * co, co, NULL, c, (size_t)L->stride * ci);
        }
    }
}

/* ---- elementwise -------------------------------------------------------------- */

int sl_nn_no_avx2;

int sl_nn_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return !sl_nn_no_avx2 && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* Branch-free max(a, b) (relu: sl_nn_relu1): signs of activations are random, and GCC
 * -O2 compiles the ternary to a mispredicted branch. */
/* Blocks of 16 through a local array let GCC -O2 vectorise (SLP) loops it otherwise
 * leaves scalar for fear of aliasing; in-place calls are fine. VEC_FN defines NAME
 * twice from one body, for SSE2 and, taken when sl_nn_avx2(), for AVX2 (the same float
 * operations per lane, 8 wide; no FMA, so no contraction). */
#define VBLK 16
#define VEC_FN(NAME, PARAMS, ARGS, ...)                 \
    static void NAME##_sse PARAMS { __VA_ARGS__ }       \
    SL_NN_AVX2 static void NAME##_avx2 PARAMS { __VA_ARGS__ } \
    static void NAME PARAMS                             \
    {                                                   \
        if (sl_nn_avx2()) NAME##_avx2 ARGS;             \
        else NAME##_sse ARGS;                           \
    }

VEC_FN(relu_vec, (const float *x, float *y, size_t n), (x, y, n), size_t i = 0;
       for (; i + VBLK <= n; i += VBLK) {
           float t[VBLK];
           for (int k = 0; k < VBLK; k++) t[k] = sl_nn_relu1(x[i + k]);
           memcpy(y + i, t, sizeof t);
       } for (; i < n; i++) y[i] = sl_nn_relu1(x[i]);)

/* y = a + b (a NULL: y = y + b; zero: y = 0 + b, the sum a zeroed buffer gives) */
VEC_FN(addv, (float *y, const float *a, const float *b, size_t n, int zero), (y, a, b, n, zero),
       const float *p = a ? a : y; size_t i = 0;
       for (; i + VBLK <= n; i += VBLK) {
           float t[VBLK];
           if (zero)
               for (int k = 0; k < VBLK; k++) t[k] = 0.0f + b[i + k];
           else
               for (int k = 0; k < VBLK; k++) t[k] = p[i + k] + b[i + k];
           memcpy(y + i, t, sizeof t);
       } for (; i < n; i++) y[i] = zero ? 0.0f + b[i] : p[i] + b[i];)

/* pos = max(d, 0), neg = min(d, 0): d where it has that sign, else +0 */
VEC_FN(split_sign, (const float *d, float *pos, float *neg, size_t n), (d, pos, neg, n), size_t i = 0;
       for (; i + VBLK <= n; i += VBLK) {
           float p[VBLK], q[VBLK];
           for (int k = 0; k < VBLK; k++) p[k] = d[i + k] > 0 ? d[i + k] : 0.0f, q[k] = d[i + k] < 0 ? d[i + k] : 0.0f;
           memcpy(pos + i, p, sizeof p), memcpy(neg + i, q, sizeof q);
       } for (; i < n; i++) pos[i] = d[i] > 0 ? d[i] : 0.0f, neg[i] = d[i] < 0 ? d[i] : 0.0f;)

void sl_nn_split_sign(const float *d, float *pos, float *neg, size_t n) { split_sign(d, pos, neg, n); }

static void add_vec(float *y, const float *x, size_t n) { addv(y, NULL, x, n, 0); } /* y += x */
static void add2_vec(float *y, const float *a, const float *b, size_t n) { addv(y, a, b, n, 0); }
void sl_nn_add_to(float *y, const float *x, size_t n, int acc) { addv(y, NULL, x, n, !acc); }

/* x, or sl_nn_relu1(x) where m is all ones: the same bit operation, without a branch */
static inline float relu_if(float x, int32_t m)
{
    int32_t b;
    memcpy(&b, &x, 4);
    b &= ~((b >> 31) & m);
    memcpy(&x, &b, 4);
    return x;
}

/* Compiled twice: as is (SSE2), and for AVX2 (8 lanes, no FMA: the same operation per
 * element; ~20 % faster on BPNet's residual adds, which stay in cache), taken when
 * sl_nn_avx2(). */
static inline __attribute__((always_inline)) void add_relu_body(const float *a, const float *b, unsigned relu,
                                                                float *y, size_t n)
{
    int32_t ma = relu & 1 ? -1 : 0, mb = relu & 2 ? -1 : 0;
    size_t i = 0;
    for (; i + VBLK <= n; i += VBLK) {
        float t[VBLK];
        for (int k = 0; k < VBLK; k++) t[k] = relu_if(a[i + k], ma) + relu_if(b[i + k], mb);
        memcpy(y + i, t, sizeof t);
    }
    for (; i < n; i++) y[i] = relu_if(a[i], ma) + relu_if(b[i], mb);
}

SL_NN_AVX2 static void add_relu_avx2(const float *a, const float *b, unsigned relu, float *y, size_t n)
{
    add_relu_body(a, b, relu, y, n);
}

void sl_nn_add_relu(const float *a, const float *b, unsigned relu, float *y, size_t n)
{
    if (sl_nn_avx2()) add_relu_avx2(a, b, relu, y, n);
    else add_relu_body(a, b, relu, y, n);
}

static inline float max2(float a, float b)
{
    uint32_t ua, ub, m = -(uint32_t)(a > b);
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, 4);
    return a;
}

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

void sl_k_relu(const sl_layer_t *L, const float *x, float *y, size_t n) { (void)L, relu_vec(x, y, n); }
void sl_k_relu_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) g[i] = (float)(x[i] > 0);
}

void sl_k_sigmoid(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
void sl_k_sigmoid_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        g[i] = s * (1.0f - s);
    }
}

void sl_k_tanh(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
void sl_k_tanh_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) {
        float t = tanhf(x[i]);
        g[i] = 1.0f - t * t;
    }
}

/* PyTorch: x when beta*x > threshold, else log1p(exp(beta*x))/beta; beta is L->alpha */
void sl_k_softplus(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    float beta = L->alpha, th = L->threshold;
    for (size_t i = 0; i < n; i++) y[i] = x[i] * beta > th ? x[i] : log1pf(expf(beta * x[i])) / beta;
}
void sl_k_softplus_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    float beta = L->alpha, th = L->threshold;
    for (size_t i = 0; i < n; i++) g[i] = x[i] * beta > th ? 1.0f : 1.0f / (1.0f + expf(-beta * x[i]));
}

void sl_k_elu(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    float a = L->alpha;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]);
}
void sl_k_elu_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    float a = L->alpha;
    for (size_t i = 0; i < n; i++) g[i] = x[i] > 0 ? 1.0f : a * expf(x[i]);
}

void sl_k_exp(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}
void sl_k_exp_d(const sl_layer_t *L, const float *x, float *g, size_t n) { sl_k_exp(L, x, g, n); }

/* exact (erf) form, PyTorch's default */
void sl_k_gelu(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
}
void sl_k_gelu_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++)
        g[i] = 0.5f * (1.0f + erff(x[i] * SQRT1_2)) + x[i] * INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
}

void sl_k_log(const sl_layer_t *L, const float *x, float *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = logf(x[i]);
}
void sl_k_log_d(const sl_layer_t *L, const float *x, float *g, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) g[i] = 1.0f / x[i];
}

/* ---- secants (f(x) − f(r)) / (x − r) in double, without cancellation ---------------
 * Where |x − r| is small the difference comes from an identity with expm1/log1p; where
 * it is large (> 1) the plain double difference has nothing left to cancel. */

static double sig64(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* σ(b) − σ(a) = σ(b)·σ(−a)·(1 − e^{−(b−a)}) */
static double sig_diff(double b, double a)
{
    double d = b - a;
    return fabs(d) > 1 ? sig64(b) - sig64(a) : sig64(b) * sig64(-a) * -expm1(-d);
}

double sl_k_sigmoid_s(const sl_layer_t *L, double x, double r) { return (void)L, sig_diff(x, r) / (x - r); }
/* tanh z = 2σ(2z) − 1 */
double sl_k_tanh_s(const sl_layer_t *L, double x, double r) { return (void)L, 2 * sig_diff(2 * x, 2 * r) / (x - r); }
/* e^x − e^r = e^r·expm1(x − r) */
double sl_k_exp_s(const sl_layer_t *L, double x, double r)
{
    (void)L;
    double d = x - r;
    return fabs(d) > 1 ? (exp(x) - exp(r)) / d : exp(r) * expm1(d) / d;
}
/* ln x − ln r = log1p((x − r)/r) */
double sl_k_log_s(const sl_layer_t *L, double x, double r) { return (void)L, log1p((x - r) / r) / (x - r); }

static double softplus64(const sl_layer_t *L, double x)
{
    double b = L->alpha;
    return x * b > L->threshold ? x : (b * x > 0 ? b * x + log1p(exp(-b * x)) : log1p(exp(b * x))) / b;
}
/* both below the threshold: sp(x) − sp(r) = log1p(σ(βr)·expm1(β(x − r)))/β */
double sl_k_softplus_s(const sl_layer_t *L, double x, double r)
{
    double b = L->alpha, d = x - r, th = L->threshold;
    if (x * b > th && r * b > th) return 1;
    if (x * b > th || r * b > th || fabs(b * d) > 1) return (softplus64(L, x) - softplus64(L, r)) / d;
    return log1p(sig64(b * r) * expm1(b * d)) / b / d;
}

static double elu64(const sl_layer_t *L, double x) { return x > 0 ? x : L->alpha * expm1(x); }
double sl_k_elu_s(const sl_layer_t *L, double x, double r)
{
    double d = x - r;
    if (x > 0 && r > 0) return 1;
    if (x <= 0 && r <= 0 && fabs(d) <= 1) return L->alpha * exp(r) * expm1(d) / d;
    return (elu64(L, x) - elu64(L, r)) / d;
}

/* no closed form for the erf difference: the double difference (f is O(|x|), so the
 * rounding is ~1e-16·|x|/|Δx|, 1e-9 relative at Δx = 1e-7) */
static double gelu64(double x) { return 0.5 * x * (1 + erf(x * M_SQRT1_2)); }
double sl_k_gelu_s(const sl_layer_t *L, double x, double r) { return (void)L, (gelu64(x) - gelu64(r)) / (x - r); }

/* An op without f: NaN, never a silent identity (the loader refuses such ops anyway). */
static void no_map(const sl_layer_t *L, float *y, size_t n)
{
    sl_log_error("layer '%s': op '%s' is not elementwise", L->name, sl_op_name(L->op));
    for (size_t i = 0; i < n; i++) y[i] = NAN;
}

void sl_elementwise(const sl_layer_t *L, const float *x, float *y, size_t count)
{
    if (sl_ops[L->op].f) sl_ops[L->op].f(L, x, y, count);
    else no_map(L, y, count);
}

void sl_elementwise_grad(const sl_layer_t *L, const float *x, float *g, size_t count)
{
    if (sl_ops[L->op].df) sl_ops[L->op].df(L, x, g, count);
    else no_map(L, g, count);
}

void sl_k_elementwise(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                      sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    sl_ops[L->op].f(L, in[0], out, (size_t)n * sl_layer_size(L));
}

/* ---- other ops ---------------------------------------------------------------- */

/* Input rows [*s0, *e0) of pool window t (padding clipped); returns the average's divisor. */
static int pool_window(const sl_layer_t *L, int t, long *s0, long *e0)
{
    long s = (long)t * L->stride - L->pad_left, e = s + L->kernel;
    *s0 = s < 0 ? 0 : s, *e0 = e > L->in_len ? L->in_len : e;
    return L->count_include_pad ? L->kernel : (int)(*e0 - *s0);
}

/* y = max2(x, y) over a row of C channels, 4 lanes at a time by the same mask (GCC -O2
 * leaves the loop scalar: y may alias x) */
static void max_row(float *y, const float *x, int C)
{
    int c = 0;
    for (; c + 4 <= C; c += 4) {
        sl_v4f xv, yv;
        memcpy(&xv, x + c, sizeof xv), memcpy(&yv, y + c, sizeof yv);
        sl_v4i gt = xv > yv;
        yv = (sl_v4f)((gt & (sl_v4i)xv) | (~gt & (sl_v4i)yv));
        memcpy(y + c, &yv, sizeof yv);
    }
    for (; c < C; c++) y[c] = max2(x[c], y[c]);
}

static void pool_forward(const sl_layer_t *L, const float *x, float *y, int n, int is_max)
{
    int C = L->ch;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * L->in_len * C;
        float *yb = y + (size_t)b * L->len * C;
        for (int t = 0; t < L->len; t++) {
            long s0, e0;
            float inv = 1.0f / (float)pool_window(L, t, &s0, &e0);
            float *yr = yb + (size_t)t * C;
            const float *xr = xb + (size_t)s0 * C;
            memcpy(yr, xr, (size_t)C * sizeof(float));
            for (long p = s0 + 1; p < e0; p++) {
                xr = xb + (size_t)p * C;
                if (is_max) {
                    max_row(yr, xr, C);
                } else {
                    for (int c = 0; c < C; c++) yr[c] += xr[c];
                }
            }
            if (!is_max)
                for (int c = 0; c < C; c++) yr[c] *= inv;
        }
    }
}

static void global_pool_forward(const sl_layer_t *L, const sl_layer_t *P, const float *x, float *y, int n,
                                int is_max)
{
    enum { CHUNK = 256 };
    int C = L->ch;
    double acc[CHUNK]; /* the average sums in double: thousands of positions lose ~1e-6 in float */
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * P->len * C;
        float *yr = y + (size_t)b * C;
        if (is_max) {
            memcpy(yr, xb, (size_t)C * sizeof(float));
            for (int p = 1; p < P->len; p++) {
                const float *xr = xb + (size_t)p * C;
                max_row(yr, xr, C);
            }
            continue;
        }
        for (int c0 = 0; c0 < C; c0 += CHUNK) {
            int m = C - c0 < CHUNK ? C - c0 : CHUNK;
            for (int c = 0; c < m; c++) acc[c] = 0;
            for (int p = 0; p < P->len; p++) {
                const float *xr = xb + (size_t)p * C + c0;
                for (int c = 0; c < m; c++) acc[c] += xr[c];
            }
            for (int c = 0; c < m; c++) yr[c0 + c] = (float)(acc[c] / P->len);
        }
    }
}

void sl_k_softmax(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *y, int n,
                  sl_acts_t *scratch)
{
    const float *x = in[0];
    (void)net, (void)scratch;
    size_t rows = (size_t)n * L->len;
    int C = L->ch;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C, m = xr[0], s = 0;
        for (int c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
        for (int c = 0; c < C; c++) s += (yr[c] = expf(xr[c] - m));
        for (int c = 0; c < C; c++) yr[c] /= s;
    }
}

/* Concat as blocks: along length, one block per sequence and producer; along channels,
 * one per row and producer. Forward (y, in) copies the blocks out of the producers,
 * backward (dy, dx) adds them back. */
static void concat_walk(const sl_net_t *net, const sl_layer_t *L, int n, float *y, const float *const *in,
                        const float *dy, float *const *dx)
{
    size_t off = 0;
    for (int i = 0; i < L->n_in; i++) {
        const sl_layer_t *P = &net->layers[L->in[i]];
        size_t nblk = L->concat_axis ? (size_t)n : (size_t)n * L->len;
        size_t bl = L->concat_axis ? sl_layer_size(P) : (size_t)P->ch;
        size_t ystride = L->concat_axis ? sl_layer_size(L) : (size_t)L->ch;
        size_t yoff = L->concat_axis ? off * L->ch : off;
        for (size_t k = 0; k < nblk; k++) {
            size_t yo = k * ystride + yoff, xo = k * bl;
            if (dx) {
                for (size_t j = 0; j < bl; j++) dx[i][xo + j] += dy[yo + j];
            } else {
                memcpy(y + yo, in[i] + xo, bl * sizeof(float));
            }
        }
        off += L->concat_axis ? (size_t)P->len : (size_t)P->ch;
    }
}


/* The producer of a one-input op. */
#define PROD(net, L) (&(net)->layers[(L)->in[0]])

void sl_k_input(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                sl_acts_t *scratch)
{
    (void)net, (void)L, (void)in, (void)out, (void)n, (void)scratch; /* filled by the caller */
}

/* One row of a per-channel scale: y = x·s + b (forward), or y = b + x·s with b = y
 * (backward, acc): the same float multiply and add, in the same operand order, in the
 * blocks and the tail. */
VEC_FN(bn_row, (float *y, const float *x, const float *s, const float *b, int C, int acc), (y, x, s, b, C, acc),
       int c = 0;
       for (; c + VBLK <= C; c += VBLK) {
           float t[VBLK];
           if (acc)
               for (int k = 0; k < VBLK; k++) t[k] = b[c + k] + x[c + k] * s[c + k];
           else
               for (int k = 0; k < VBLK; k++) t[k] = x[c + k] * s[c + k] + b[c + k];
           memcpy(y + c, t, sizeof t);
       } for (; c < C; c++) y[c] = acc ? b[c] + x[c] * s[c] : x[c] * s[c] + b[c];)

void sl_k_batchnorm(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                    sl_acts_t *scratch)
{
    const float *x = in[0];
    int C = L->ch;
    (void)net, (void)scratch;
    for (size_t r = 0; r < (size_t)n * L->len; r++)
        bn_row(out + r * C, x + r * C, L->bn_scale, L->bn_shift, C, 0);
}

void sl_k_batchnorm_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                       sl_acts_t *scratch)
{
    float *d = dx[0];
    int C = L->ch;
    (void)net, (void)scratch;
    for (size_t r = 0; r < (size_t)n * L->len; r++)
        bn_row(d + r * C, dy + r * C, L->bn_scale, d + r * C, C, 1);
}

void sl_k_avgpool(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                  sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    pool_forward(L, in[0], out, n, 0);
}

void sl_k_maxpool(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                  sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    pool_forward(L, in[0], out, n, 1);
}

void sl_k_avgpool_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                     sl_acts_t *scratch)
{
    int C = L->ch;
    (void)net, (void)scratch;
    for (int b = 0; b < n; b++) {
        const float *gb = dy + (size_t)b * L->len * C;
        float *db = dx[0] + (size_t)b * L->in_len * C;
        for (int t = 0; t < L->len; t++) {
            long s0, e0;
            float inv = 1.0f / (float)pool_window(L, t, &s0, &e0);
            for (long p = s0; p < e0; p++)
                for (int c = 0; c < C; c++) db[(size_t)p * C + c] += gb[(size_t)t * C + c] * inv;
        }
    }
}

void sl_k_global_avgpool(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                         sl_acts_t *scratch)
{
    (void)scratch;
    global_pool_forward(L, PROD(net, L), in[0], out, n, 0);
}

void sl_k_global_maxpool(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                         sl_acts_t *scratch)
{
    (void)scratch;
    global_pool_forward(L, PROD(net, L), in[0], out, n, 1);
}

void sl_k_global_avgpool_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                            sl_acts_t *scratch)
{
    const sl_layer_t *P = PROD(net, L);
    float inv = 1.0f / (float)P->len, *d = dx[0];
    int C = L->ch;
    (void)scratch;
    for (int b = 0; b < n; b++)
        for (int p = 0; p < P->len; p++)
            for (int c = 0; c < C; c++) d[((size_t)b * P->len + p) * C + c] += dy[(size_t)b * C + c] * inv;
}

void sl_k_flatten(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                  sl_acts_t *scratch)
{
    const sl_layer_t *P = PROD(net, L);
    const float *x = in[0];
    (void)scratch;
    if (!L->flatten_channel_first) {
        memcpy(out, x, (size_t)n * sl_layer_size(L) * sizeof(float));
        return;
    }
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * P->len * P->ch;
        float *yb = out + (size_t)b * L->ch;
        for (int t = 0; t < P->len; t++)
            for (int c = 0; c < P->ch; c++) yb[(size_t)c * P->len + t] = xb[(size_t)t * P->ch + c];
    }
}

void sl_k_flatten_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                     sl_acts_t *scratch)
{
    const sl_layer_t *P = PROD(net, L);
    (void)scratch;
    for (int b = 0; b < n; b++) {
        const float *gb = dy + (size_t)b * L->ch;
        float *db = dx[0] + (size_t)b * L->ch;
        for (int t = 0; t < P->len; t++)
            for (int c = 0; c < P->ch; c++) {
                size_t src = L->flatten_channel_first ? (size_t)c * P->len + t : (size_t)t * P->ch + c;
                db[(size_t)t * P->ch + c] += gb[src];
            }
    }
}

/* dropout (identity at inference) */
void sl_k_copy(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
               sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    memcpy(out, in[0], (size_t)n * sl_layer_size(L) * sizeof(float));
}

void sl_k_copy_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                  sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    add_vec(dx[0], dy, (size_t)n * sl_layer_size(L));
}

void sl_k_add(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
              sl_acts_t *scratch)
{
    size_t size = (size_t)n * sl_layer_size(L);
    (void)net, (void)scratch;
    int i = 1;
    if (out != in[0] && L->n_in >= 2) { /* the first sum straight into out: no copy of in[0] */
        add2_vec(out, in[0], in[1], size);
        i = 2;
    } else if (out != in[0]) {
        memcpy(out, in[0], size * sizeof(float));
    }
    for (; i < L->n_in; i++) add_vec(out, in[i], size);
}

void sl_k_add_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                 sl_acts_t *scratch)
{
    (void)net, (void)scratch;
    for (int i = 0; i < L->n_in; i++) add_vec(dx[i], dy, (size_t)n * sl_layer_size(L));
}

void sl_k_concat(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
                 sl_acts_t *scratch)
{
    (void)scratch;
    concat_walk(net, L, n, out, in, NULL, NULL);
}

void sl_k_concat_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                    sl_acts_t *scratch)
{
    (void)scratch;
    concat_walk(net, L, n, NULL, NULL, dy, dx);
}

void sl_k_crop(const sl_net_t *net, const sl_layer_t *L, const float *const *in, float *out, int n,
               sl_acts_t *scratch)
{
    int C = L->ch;
    (void)net, (void)scratch;
    for (int b = 0; b < n; b++)
        memcpy(out + (size_t)b * L->len * C, in[0] + ((size_t)b * L->in_len + L->crop_start) * C,
               (size_t)L->len * C * sizeof(float));
}

void sl_k_crop_bw(const sl_net_t *net, const sl_layer_t *L, const float *dy, float *const *dx, int n,
                  sl_acts_t *scratch)
{
    int C = L->ch;
    (void)net, (void)scratch;
    for (int b = 0; b < n; b++) {
        const float *gb = dy + (size_t)b * L->len * C;
        float *db = dx[0] + ((size_t)b * L->in_len + L->crop_start) * C;
        for (size_t j = 0; j < (size_t)L->len * C; j++) db[j] += gb[j];
    }
}

/* ---- through the table -------------------------------------------------------------- */

void sl_layer_forward(const sl_net_t *net, int l, const float *const *in, float *out, int n, sl_acts_t *scratch)
{
    const sl_layer_t *L = &net->layers[l];
    sl_ops[L->op].forward(net, L, in, out, n, scratch);
}

void sl_layer_backward_linear(const sl_net_t *net, int l, const float *dy, float *const *dx, int n,
                              sl_acts_t *scratch)
{
    const sl_layer_t *L = &net->layers[l];
    if (sl_ops[L->op].backward) sl_ops[L->op].backward(net, L, dy, dx, n, scratch);
    else sl_log_error("layer '%s': op '%s' is not linear (no linear backward)", L->name, sl_op_name(L->op));
}
