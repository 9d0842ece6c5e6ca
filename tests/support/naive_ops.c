/* naive_ops.c — see naive_ops.h. Plain loops over one sequence, in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/naive_ops.h"

static const float *tensor(sl_mb_t *mb, const sl_layer_t *L, const char *key)
{
    char name[256];
    snprintf(name, sizeof name, "%s.%s", L->name, key);
    return sl_mb_data(mb, name);
}

#define PROD(net, L, i) (&(net)->layers[(L)->in[i]])

static void conv1d(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    const sl_layer_t *P = PROD(net, L, 0);
    const float *w = tensor(mb, L, "weight"), *b = tensor(mb, L, "bias"), *x = in[0];
    int C = L->ch, PL = P->len, PC = P->ch;
    for (int t = 0; t < L->len; t++)
        for (int o = 0; o < C; o++) {
            double s = b ? b[o] : 0;
            for (int j = 0; j < L->kernel; j++) {
                int p = t * L->stride + j * L->dilation - L->pad_left;
                if (p < 0 || p >= PL) continue;
                for (int i = 0; i < PC; i++) s += (double)w[(o * PC + i) * L->kernel + j] * x[p * PC + i];
            }
            out[t * C + o] = s;
        }
}

static void dense(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    const float *w = tensor(mb, L, "weight"), *b = tensor(mb, L, "bias");
    int PC = PROD(net, L, 0)->ch;
    for (int o = 0; o < L->ch; o++) {
        double s = b ? b[o] : 0;
        for (int i = 0; i < PC; i++) s += (double)w[o * PC + i] * in[0][i];
        out[o] = s;
    }
}

static void batchnorm(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    const float *w = tensor(mb, L, "weight"), *b = tensor(mb, L, "bias");
    const float *m = tensor(mb, L, "running_mean"), *v = tensor(mb, L, "running_var");
    int C = L->ch;
    (void)net;
    for (int t = 0; t < L->len; t++)
        for (int c = 0; c < C; c++)
            out[t * C + c] = (in[0][t * C + c] - (double)m[c]) / sqrt((double)v[c] + SL_NAIVE_BN_EPS) * w[c] + b[c];
}

static void pool(const sl_net_t *net, const sl_layer_t *L, const float *x, double *out, int is_max)
{
    int C = L->ch, PL = PROD(net, L, 0)->len;
    for (int t = 0; t < L->len; t++)
        for (int c = 0; c < C; c++) {
            double m = -INFINITY, s = 0;
            int cnt = 0;
            for (int j = 0; j < L->kernel; j++) {
                int p = t * L->stride + j - L->pad_left;
                if (p < 0 || p >= PL) continue;
                m = fmax(m, x[p * C + c]), s += x[p * C + c], cnt++;
            }
            out[t * C + c] = is_max ? m : s / (L->count_include_pad ? L->kernel : cnt);
        }
}

static void avgpool(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    (void)mb;
    pool(net, L, in[0], out, 0);
}

static void maxpool(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    (void)mb;
    pool(net, L, in[0], out, 1);
}

static void global_pool(const sl_net_t *net, const sl_layer_t *L, const float *x, double *out, int is_max)
{
    int C = L->ch, PL = PROD(net, L, 0)->len;
    for (int c = 0; c < C; c++) {
        double m = -INFINITY, s = 0;
        for (int p = 0; p < PL; p++) m = fmax(m, x[p * C + c]), s += x[p * C + c];
        out[c] = is_max ? m : s / PL;
    }
}

static void global_avgpool(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in,
                           double *out)
{
    (void)mb;
    global_pool(net, L, in[0], out, 0);
}

static void global_maxpool(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in,
                           double *out)
{
    (void)mb;
    global_pool(net, L, in[0], out, 1);
}

static void flatten(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    const sl_layer_t *P = PROD(net, L, 0);
    int PL = P->len, PC = P->ch;
    (void)mb;
    for (int t = 0; t < PL; t++)
        for (int c = 0; c < PC; c++) out[L->flatten_channel_first ? c * PL + t : t * PC + c] = in[0][t * PC + c];
}

static void add(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    (void)mb, (void)net;
    for (int j = 0; j < L->len * L->ch; j++) {
        out[j] = 0;
        for (int i = 0; i < L->n_in; i++) out[j] += in[i][j];
    }
}

static void concat(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    int off = 0, C = L->ch;
    (void)mb;
    for (int i = 0; i < L->n_in; i++) {
        const sl_layer_t *Q = PROD(net, L, i);
        for (int t = 0; t < Q->len; t++)
            for (int c = 0; c < Q->ch; c++) {
                if (L->concat_axis) out[(off + t) * C + c] = in[i][t * Q->ch + c];
                else out[t * C + off + c] = in[i][t * Q->ch + c];
            }
        off += L->concat_axis ? Q->len : Q->ch;
    }
}

static void crop(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    int C = L->ch;
    (void)mb, (void)net;
    for (int t = 0; t < L->len; t++)
        for (int c = 0; c < C; c++) out[t * C + c] = in[0][(t + L->crop_start) * C + c];
}

static void softmax(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    const float *x = in[0];
    int C = L->ch;
    (void)mb, (void)net;
    for (int t = 0; t < L->len; t++) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) m = fmax(m, x[t * C + c]);
        for (int c = 0; c < C; c++) s += exp(x[t * C + c] - m);
        for (int c = 0; c < C; c++) out[t * C + c] = exp(x[t * C + c] - m) / s;
    }
}

static double identity_f(const sl_layer_t *L, double x) { return (void)L, x; }
static double relu_f(const sl_layer_t *L, double x) { return (void)L, x > 0 ? x : 0; }
static double sigmoid_f(const sl_layer_t *L, double x) { return (void)L, 1 / (1 + exp(-x)); }
static double tanh_f(const sl_layer_t *L, double x) { return (void)L, tanh(x); }
static double softplus_f(const sl_layer_t *L, double x)
{
    return L->alpha * x > L->threshold ? x : log1p(exp(L->alpha * x)) / L->alpha;
}
static double elu_f(const sl_layer_t *L, double x) { return x > 0 ? x : L->alpha * (exp(x) - 1); }
static double exp_f(const sl_layer_t *L, double x) { return (void)L, exp(x); }
static double gelu_f(const sl_layer_t *L, double x) { return (void)L, 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double log_f(const sl_layer_t *L, double x) { return (void)L, log(x); }

/* elementwise ops (and dropout, an identity) through their f */
static void map(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in, double *out)
{
    sl_naive_f *f = sl_naive_ops[L->op].f;
    (void)mb, (void)net;
    for (int j = 0; j < L->len * L->ch; j++) out[j] = f(L, in[0][j]);
}

const sl_naive_op_t sl_naive_ops[SL_OP_COUNT] = {
    [SL_OP_INPUT] = {NULL, NULL},
    [SL_OP_CONV1D] = {conv1d, NULL},
    [SL_OP_DENSE] = {dense, NULL},
    [SL_OP_BATCHNORM] = {batchnorm, NULL},
    [SL_OP_AVGPOOL] = {avgpool, NULL},
    [SL_OP_GLOBAL_AVGPOOL] = {global_avgpool, NULL},
    [SL_OP_FLATTEN] = {flatten, NULL},
    [SL_OP_DROPOUT] = {map, identity_f},
    [SL_OP_ADD] = {add, NULL},
    [SL_OP_CONCAT] = {concat, NULL},
    [SL_OP_CROP] = {crop, NULL},
    [SL_OP_RELU] = {map, relu_f},
    [SL_OP_SIGMOID] = {map, sigmoid_f},
    [SL_OP_TANH] = {map, tanh_f},
    [SL_OP_SOFTPLUS] = {map, softplus_f},
    [SL_OP_ELU] = {map, elu_f},
    [SL_OP_EXP] = {map, exp_f},
    [SL_OP_GELU] = {map, gelu_f},
    [SL_OP_MAXPOOL] = {maxpool, NULL},
    [SL_OP_GLOBAL_MAXPOOL] = {global_maxpool, NULL},
    [SL_OP_SOFTMAX] = {softmax, NULL},
    [SL_OP_LOG] = {map, log_f, 1},
};

int sl_naive_check_layers(sl_mb_t *mb, const sl_net_t *net, const sl_acts_t *a, int n, double tol, char *msg,
                          size_t size)
{
    int ret = 0;
    for (int l = 1; l < net->n_layers && !ret; l++) {
        const sl_layer_t *L = &net->layers[l];
        size_t sz = sl_layer_size(L);
        double *ref = malloc(sz * sizeof(double));
        const float **ins = malloc((size_t)L->n_in * sizeof *ins);
        for (int b = 0; b < n && !ret; b++) {
            for (int i = 0; i < L->n_in; i++)
                ins[i] = a->act[L->in[i]] + (size_t)b * sl_layer_size(&net->layers[L->in[i]]);
            if (sl_naive_layer(mb, net, l, ins, ref) < 0) {
                snprintf(msg, size, "layer %s: op %s has no naive reference", L->name, sl_op_name(L->op));
                ret = -1;
            }
            const float *got = a->act[l] + (size_t)b * sz;
            for (size_t j = 0; j < sz && !ret; j++)
                if (fabs(got[j] - ref[j]) > tol * fmax(1.0, fabs(ref[j]))) {
                    snprintf(msg, size, "layer %s seq %d value %zu: %.9g vs naive %.9g", L->name, b, j, got[j], ref[j]);
                    ret = -1;
                }
        }
        free(ins);
        free(ref);
    }
    return ret;
}

float *sl_naive_rand(sl_mb_t *mb, size_t n)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = sl_mb_rand(mb);
    return x;
}

double sl_naive_dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

int sl_naive_layer(sl_mb_t *mb, const sl_net_t *net, int l, const float *const *in, double *out)
{
    const sl_layer_t *L = &net->layers[l];
    if ((unsigned)L->op >= SL_OP_COUNT || !sl_naive_ops[L->op].forward) return -1;
    sl_naive_ops[L->op].forward(mb, net, L, in, out);
    return 0;
}
