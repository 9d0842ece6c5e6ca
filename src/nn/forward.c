/* forward.c — the forward pass: per-op kernels in the [len][ch] layout, activation
 * planning, and the elementwise nonlinearities with their derivatives.
 *
 * conv1d is one GEMM per kernel tap on a shifted (and, for stride > 1, strided)
 * view of the input: tap j reads input row t*stride + j*dilation - pad_left for
 * output row t, so padding only narrows the row range of that tap's GEMM.
 * Convs with few input channels (the one-hot layer) use im2col instead.
 */
#include <cblas.h>
#include <math.h>
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

size_t sl_nn_col_size(const sl_net_t *net, int l)
{
    const sl_layer_t *L = &net->layers[l];
    if (L->op != SL_OP_CONV1D || L->in_ch > SL_NN_IM2COL_MAX_CH || L->kernel == 1) return 0;
    return (size_t)L->len * L->kernel * L->in_ch;
}

static float *col_scratch(const sl_net_t *net, const sl_layer_t *L, sl_acts_t *scratch)
{
    if (!scratch || !scratch->priv) return NULL;
    sl_acts_priv_t *p = scratch->priv;
    size_t need = sl_nn_col_size(net, (int)(L - net->layers));
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

static void conv_apply(const sl_net_t *net, const sl_layer_t *L, const float *w, const float *x, float *y, int n,
                       sl_acts_t *scratch)
{
    int in_len = net->layers[L->in[0]].len, ci = L->in_ch, co = L->out_ch;
    float *col = col_scratch(net, L, scratch);
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in_len * ci;
        float *yb = y + (size_t)b * L->len * co;
        if (col) {
            im2col(L, in_len, xb, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L->len, co, L->kernel * ci, 1.0f, col,
                        L->kernel * ci, w, co, 1.0f, yb, co);
            continue;
        }
        for (int j = 0; j < L->kernel; j++) {
            int t0, t1, p0;
            if (!tap_rows(L, in_len, j, &t0, &t1, &p0)) continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t1 - t0, co, ci, 1.0f,
                        xb + (size_t)p0 * ci, L->stride * ci, w + (size_t)j * ci * co, co, 1.0f,
                        yb + (size_t)t0 * co, co);
        }
    }
}

void sl_linear_apply(const sl_layer_t *L, const float *w, const float *x, float *y, int n, int acc,
                     sl_acts_t *scratch)
{
    size_t ysize = (size_t)n * sl_layer_size(L);
    if (!acc) memset(y, 0, ysize * sizeof(float));
    if (L->op == SL_OP_DENSE) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, L->out_ch, L->in_ch, 1.0f, x, L->in_ch, w,
                    L->out_ch, 1.0f, y, L->out_ch);
    } else if (L->op == SL_OP_CONV1D) {
        /* sl_layer_t carries no net pointer; the scratch's net gives the input length */
        const sl_net_t *net = scratch ? scratch->net : NULL;
        if (!net) {
            sl_log_error("layer '%s': sl_linear_apply needs an sl_acts_t", L->name);
            return;
        }
        conv_apply(net, L, w, x, y, n, scratch);
    }
}

/* dx += W^T dy for conv L. */
static void conv_backward(const sl_net_t *net, const sl_layer_t *L, const float *w, const float *dy, float *dx,
                          int n, sl_acts_t *scratch)
{
    int in_len = net->layers[L->in[0]].len, ci = L->in_ch, co = L->out_ch, k = L->kernel;
    float *col = col_scratch(net, L, scratch);
    for (int b = 0; b < n; b++) {
        const float *dyb = dy + (size_t)b * L->len * co;
        float *dxb = dx + (size_t)b * in_len * ci;
        if (col) { /* dcol = dy W^T, then scatter-add (col2im) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L->len, k * ci, co, 1.0f, dyb, co, w, co, 0.0f,
                        col, k * ci);
            for (int t = 0; t < L->len; t++) {
                const float *c = col + (size_t)t * k * ci;
                for (int j = 0; j < k; j++) {
                    long p = (long)t * L->stride + (long)j * L->dilation - L->pad_left;
                    if (p < 0 || p >= in_len) continue;
                    float *d = dxb + (size_t)p * ci;
                    for (int i = 0; i < ci; i++) d[i] += c[j * ci + i];
                }
            }
            continue;
        }
        for (int j = 0; j < k; j++) {
            int t0, t1, p0;
            if (!tap_rows(L, in_len, j, &t0, &t1, &p0)) continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, ci, co, 1.0f, dyb + (size_t)t0 * co, co,
                        w + (size_t)j * ci * co, co, 1.0f, dxb + (size_t)p0 * ci, L->stride * ci);
        }
    }
}

void sl_linear_backward(const sl_layer_t *L, const float *w, const float *dy, float *dx, int n,
                        sl_acts_t *scratch)
{
    if (L->op == SL_OP_DENSE) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->in_ch, L->out_ch, 1.0f, dy, L->out_ch, w,
                    L->out_ch, 1.0f, dx, L->in_ch);
    } else if (L->op == SL_OP_CONV1D) {
        const sl_net_t *net = scratch ? scratch->net : NULL;
        if (!net) {
            sl_log_error("layer '%s': sl_linear_backward needs an sl_acts_t", L->name);
            return;
        }
        conv_backward(net, L, w, dy, dx, n, scratch);
    }
}

/* ---- elementwise -------------------------------------------------------------- */

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

void sl_elementwise(const sl_layer_t *L, const float *x, float *y, size_t count)
{
    size_t i;
    float beta = L->alpha, th = L->threshold, a = L->alpha;
    switch (L->op) {
    case SL_OP_RELU:
        for (i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case SL_OP_SIGMOID:
        for (i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case SL_OP_TANH:
        for (i = 0; i < count; i++) y[i] = tanhf(x[i]);
        break;
    case SL_OP_SOFTPLUS: /* PyTorch: x when beta*x > threshold, else log1p(exp(beta*x))/beta */
        for (i = 0; i < count; i++) y[i] = x[i] * beta > th ? x[i] : log1pf(expf(beta * x[i])) / beta;
        break;
    case SL_OP_ELU:
        for (i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]);
        break;
    case SL_OP_EXP:
        for (i = 0; i < count; i++) y[i] = expf(x[i]);
        break;
    case SL_OP_GELU: /* exact (erf) form, PyTorch's default */
        for (i = 0; i < count; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
        break;
    default:
        if (x != y) memcpy(y, x, count * sizeof(float));
    }
}

void sl_elementwise_grad(const sl_layer_t *L, const float *x, float *g, size_t count)
{
    size_t i;
    float beta = L->alpha, th = L->threshold, a = L->alpha;
    switch (L->op) {
    case SL_OP_RELU:
        for (i = 0; i < count; i++) g[i] = x[i] > 0 ? 1.0f : 0.0f;
        break;
    case SL_OP_SIGMOID:
        for (i = 0; i < count; i++) {
            float s = 1.0f / (1.0f + expf(-x[i]));
            g[i] = s * (1.0f - s);
        }
        break;
    case SL_OP_TANH:
        for (i = 0; i < count; i++) {
            float t = tanhf(x[i]);
            g[i] = 1.0f - t * t;
        }
        break;
    case SL_OP_SOFTPLUS:
        for (i = 0; i < count; i++) g[i] = x[i] * beta > th ? 1.0f : 1.0f / (1.0f + expf(-beta * x[i]));
        break;
    case SL_OP_ELU:
        for (i = 0; i < count; i++) g[i] = x[i] > 0 ? 1.0f : a * expf(x[i]);
        break;
    case SL_OP_EXP:
        for (i = 0; i < count; i++) g[i] = expf(x[i]);
        break;
    case SL_OP_GELU:
        for (i = 0; i < count; i++)
            g[i] = 0.5f * (1.0f + erff(x[i] * SQRT1_2)) + x[i] * INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
        break;
    default:
        for (i = 0; i < count; i++) g[i] = 1.0f;
    }
}

/* ---- other ops ---------------------------------------------------------------- */

static void pool_forward(const sl_layer_t *L, const sl_layer_t *P, const float *x, float *y, int n)
{
    int C = L->ch, is_max = L->op == SL_OP_MAXPOOL;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * P->len * C;
        float *yb = y + (size_t)b * L->len * C;
        for (int t = 0; t < L->len; t++) {
            long s = (long)t * L->stride - L->pad_left, e = s + L->kernel;
            long s0 = s < 0 ? 0 : s, e0 = e > P->len ? P->len : e;
            float *yr = yb + (size_t)t * C;
            const float *xr = xb + (size_t)s0 * C;
            memcpy(yr, xr, (size_t)C * sizeof(float));
            for (long p = s0 + 1; p < e0; p++) {
                xr = xb + (size_t)p * C;
                if (is_max) {
                    for (int c = 0; c < C; c++) yr[c] = xr[c] > yr[c] ? xr[c] : yr[c];
                } else {
                    for (int c = 0; c < C; c++) yr[c] += xr[c];
                }
            }
            if (!is_max) {
                float inv = 1.0f / (float)(L->count_include_pad ? L->kernel : e0 - s0);
                for (int c = 0; c < C; c++) yr[c] *= inv;
            }
        }
    }
}

static void global_pool_forward(const sl_layer_t *L, const sl_layer_t *P, const float *x, float *y, int n)
{
    int C = L->ch;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * P->len * C;
        float *yr = y + (size_t)b * C;
        memcpy(yr, xb, (size_t)C * sizeof(float));
        for (int p = 1; p < P->len; p++) {
            const float *xr = xb + (size_t)p * C;
            if (L->op == SL_OP_GLOBAL_MAXPOOL) {
                for (int c = 0; c < C; c++) yr[c] = xr[c] > yr[c] ? xr[c] : yr[c];
            } else {
                for (int c = 0; c < C; c++) yr[c] += xr[c];
            }
        }
        if (L->op == SL_OP_GLOBAL_AVGPOOL) {
            float inv = 1.0f / (float)P->len;
            for (int c = 0; c < C; c++) yr[c] *= inv;
        }
    }
}

static void softmax_forward(const sl_layer_t *L, const float *x, float *y, int n)
{
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

void sl_layer_forward(const sl_net_t *net, int l, const float *const *in, float *out, int n, sl_acts_t *scratch)
{
    const sl_layer_t *L = &net->layers[l], *P = L->n_in ? &net->layers[L->in[0]] : L;
    const float *x = L->n_in ? in[0] : NULL;
    size_t size = (size_t)n * sl_layer_size(L), insize = (size_t)n * sl_layer_size(P);
    int C = L->ch;
    switch (L->op) {
    case SL_OP_INPUT: break;
    case SL_OP_CONV1D:
    case SL_OP_DENSE: {
        size_t rows = (size_t)n * L->len;
        if (L->b)
            for (size_t r = 0; r < rows; r++) memcpy(out + r * C, L->b, (size_t)C * sizeof(float));
        else memset(out, 0, size * sizeof(float));
        if (L->op == SL_OP_DENSE)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, L->out_ch, L->in_ch, 1.0f, x, L->in_ch,
                        L->w, L->out_ch, 1.0f, out, L->out_ch);
        else conv_apply(net, L, L->w, x, out, n, scratch);
        break;
    }
    case SL_OP_BATCHNORM:
        for (size_t r = 0; r < (size_t)n * L->len; r++)
            for (int c = 0; c < C; c++) out[r * C + c] = x[r * C + c] * L->bn_scale[c] + L->bn_shift[c];
        break;
    case SL_OP_AVGPOOL:
    case SL_OP_MAXPOOL: pool_forward(L, P, x, out, n); break;
    case SL_OP_GLOBAL_AVGPOOL:
    case SL_OP_GLOBAL_MAXPOOL: global_pool_forward(L, P, x, out, n); break;
    case SL_OP_FLATTEN:
        if (!L->flatten_channel_first) {
            memcpy(out, x, size * sizeof(float));
            break;
        }
        for (int b = 0; b < n; b++) {
            const float *xb = x + (size_t)b * P->len * P->ch;
            float *yb = out + (size_t)b * L->ch;
            for (int t = 0; t < P->len; t++)
                for (int c = 0; c < P->ch; c++) yb[(size_t)c * P->len + t] = xb[(size_t)t * P->ch + c];
        }
        break;
    case SL_OP_DROPOUT: memcpy(out, x, size * sizeof(float)); break;
    case SL_OP_ADD:
        if (out != x) memcpy(out, x, size * sizeof(float));
        for (int i = 1; i < L->n_in; i++)
            for (size_t j = 0; j < size; j++) out[j] += in[i][j];
        break;
    case SL_OP_CONCAT:
        if (L->concat_axis) { /* along length: blocks of rows per sequence */
            for (int b = 0; b < n; b++) {
                float *yb = out + (size_t)b * L->len * C;
                for (int i = 0; i < L->n_in; i++) {
                    size_t s = sl_layer_size(&net->layers[L->in[i]]);
                    memcpy(yb, in[i] + (size_t)b * s, s * sizeof(float));
                    yb += s;
                }
            }
        } else {
            size_t rows = (size_t)n * L->len;
            int off = 0;
            for (int i = 0; i < L->n_in; i++) {
                int ci = net->layers[L->in[i]].ch;
                for (size_t r = 0; r < rows; r++)
                    memcpy(out + r * C + off, in[i] + r * ci, (size_t)ci * sizeof(float));
                off += ci;
            }
        }
        break;
    case SL_OP_CROP:
        for (int b = 0; b < n; b++)
            memcpy(out + (size_t)b * L->len * C, x + ((size_t)b * P->len + L->crop_start) * C,
                   (size_t)L->len * C * sizeof(float));
        break;
    case SL_OP_SOFTMAX: softmax_forward(L, x, out, n); break;
    default:
        if (sl_op_is_elementwise(L->op)) sl_elementwise(L, x, out, insize);
        break;
    }
}

/* ---- backward of linear ops --------------------------------------------------- */

void sl_layer_backward_linear(const sl_net_t *net, int l, const float *dy, float *const *dx, int n,
                              sl_acts_t *scratch)
{
    const sl_layer_t *L = &net->layers[l], *P = L->n_in ? &net->layers[L->in[0]] : L;
    size_t size = (size_t)n * sl_layer_size(L);
    int C = L->ch;
    float *d = L->n_in ? dx[0] : NULL;
    switch (L->op) {
    case SL_OP_CONV1D:
        if (scratch && scratch->net == net) conv_backward(net, L, L->w, dy, d, n, scratch);
        else conv_backward(net, L, L->w, dy, d, n, NULL);
        break;
    case SL_OP_DENSE: sl_linear_backward(L, L->w, dy, d, n, scratch); break;
    case SL_OP_BATCHNORM:
        for (size_t r = 0; r < (size_t)n * L->len; r++)
            for (int c = 0; c < C; c++) d[r * C + c] += dy[r * C + c] * L->bn_scale[c];
        break;
    case SL_OP_AVGPOOL:
        for (int b = 0; b < n; b++) {
            const float *gb = dy + (size_t)b * L->len * C;
            float *db = d + (size_t)b * P->len * C;
            for (int t = 0; t < L->len; t++) {
                long s = (long)t * L->stride - L->pad_left, e = s + L->kernel;
                long s0 = s < 0 ? 0 : s, e0 = e > P->len ? P->len : e;
                float inv = 1.0f / (float)(L->count_include_pad ? L->kernel : e0 - s0);
                for (long p = s0; p < e0; p++)
                    for (int c = 0; c < C; c++) db[(size_t)p * C + c] += gb[(size_t)t * C + c] * inv;
            }
        }
        break;
    case SL_OP_GLOBAL_AVGPOOL: {
        float inv = 1.0f / (float)P->len;
        for (int b = 0; b < n; b++)
            for (int p = 0; p < P->len; p++)
                for (int c = 0; c < C; c++) d[((size_t)b * P->len + p) * C + c] += dy[(size_t)b * C + c] * inv;
        break;
    }
    case SL_OP_FLATTEN:
        for (int b = 0; b < n; b++) {
            const float *gb = dy + (size_t)b * L->ch;
            float *db = d + (size_t)b * L->ch;
            for (int t = 0; t < P->len; t++)
                for (int c = 0; c < P->ch; c++) {
                    size_t src = L->flatten_channel_first ? (size_t)c * P->len + t : (size_t)t * P->ch + c;
                    db[(size_t)t * P->ch + c] += gb[src];
                }
        }
        break;
    case SL_OP_DROPOUT:
        for (size_t j = 0; j < size; j++) d[j] += dy[j];
        break;
    case SL_OP_ADD:
        for (int i = 0; i < L->n_in; i++)
            for (size_t j = 0; j < size; j++) dx[i][j] += dy[j];
        break;
    case SL_OP_CONCAT:
        if (L->concat_axis) {
            for (int b = 0; b < n; b++) {
                const float *gb = dy + (size_t)b * L->len * C;
                for (int i = 0; i < L->n_in; i++) {
                    size_t s = sl_layer_size(&net->layers[L->in[i]]);
                    float *db = dx[i] + (size_t)b * s;
                    for (size_t j = 0; j < s; j++) db[j] += gb[j];
                    gb += s;
                }
            }
        } else {
            size_t rows = (size_t)n * L->len;
            int off = 0;
            for (int i = 0; i < L->n_in; i++) {
                int ci = net->layers[L->in[i]].ch;
                for (size_t r = 0; r < rows; r++)
                    for (int c = 0; c < ci; c++) dx[i][r * ci + c] += dy[r * C + off + c];
                off += ci;
            }
        }
        break;
    case SL_OP_CROP:
        for (int b = 0; b < n; b++) {
            const float *gb = dy + (size_t)b * L->len * C;
            float *db = d + ((size_t)b * P->len + L->crop_start) * C;
            for (size_t j = 0; j < (size_t)L->len * C; j++) db[j] += gb[j];
        }
        break;
    default:
        sl_log_error("layer '%s': not a linear op (no linear backward)", L->name);
    }
}

/* ---- activations and the whole forward pass ------------------------------------ */

sl_acts_t *sl_acts_create(const sl_net_t *net, int max_batch)
{
    int max_in = 1;
    if (max_batch < 1) max_batch = 1;
    sl_acts_t *a = sl_calloc(1, sizeof *a, "activations");
    sl_acts_priv_t *p = sl_calloc(1, sizeof *p, "activations");
    if (!a || !p) goto fail;
    a->net = net, a->max_batch = max_batch, a->priv = p;
    if (!(a->act = sl_calloc((size_t)net->n_layers, sizeof *a->act, "activations"))) goto fail;
    for (int l = 0; l < net->n_layers; l++) {
        size_t s = sl_nn_col_size(net, l);
        if (s > p->col_size) p->col_size = s;
        if (net->layers[l].n_in > max_in) max_in = net->layers[l].n_in;
        if (!(a->act[l] = sl_malloc((size_t)max_batch * sl_layer_size(&net->layers[l]) * sizeof(float),
                                    "activations")))
            goto fail;
    }
    if (!(p->ins = sl_calloc((size_t)max_in, sizeof *p->ins, "activations"))) goto fail;
    if (p->col_size && !(p->col = sl_malloc(p->col_size * sizeof(float), "im2col scratch"))) goto fail;
    return a;
fail:
    if (!a) free(p);
    sl_acts_destroy(a);
    return NULL;
}

void sl_acts_destroy(sl_acts_t *a)
{
    if (!a) return;
    if (a->act)
        for (int l = 0; l < a->net->n_layers; l++) free(a->act[l]);
    free(a->act);
    sl_acts_priv_t *p = a->priv;
    if (p) {
        free(p->col);
        free(p->ins);
    }
    free(a->priv);
    free(a);
}

int sl_net_forward(const sl_net_t *net, sl_acts_t *a, const float *x, int n)
{
    sl_acts_priv_t *p = a->priv;
    if (n < 0 || n > a->max_batch || a->net != net) {
        sl_log_error("%s: forward pass of %d sequences with activations planned for %d", net->path, n,
                     a->max_batch);
        return -1;
    }
    memcpy(a->act[0], x, (size_t)n * sl_layer_size(&net->layers[0]) * sizeof(float));
    for (int l = 1; l < net->n_layers; l++) {
        const sl_layer_t *L = &net->layers[l];
        for (int i = 0; i < L->n_in; i++) p->ins[i] = a->act[L->in[i]];
        sl_layer_forward(net, l, p->ins, a->act[l], n, a);
    }
    return 0;
}
