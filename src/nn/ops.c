/* ops.c — the op table: every op of the model format in one place (its JSON name and
 * aliases, arity, flags, DeepLIFT rule family, and its functions), and each op's
 * attribute parser with shape inference. The loader (graph.c), the forward pass
 * (kernels.c, net_forward.c), the attribution engine (src/attr) and tests/test_ops.c
 * read the table; none of them lists ops.
 *
 * Adding an op: a value in sl_op_t (include/seqlift/model.h, before SL_OP_COUNT), one
 * entry below, its parse function here, and its kernels in kernels.c (declared in
 * nn_priv.h); then its naive double reference in tests/test_ops.c's table. The
 * _Static_assert below and test_ops fail until all of that is there.
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

/* ---- attributes and shapes ------------------------------------------------------ */

/* Tensor "weight" of shape wshape (PyTorch layout, wshape[0] outputs) and the optional
 * "bias" [wshape[0]] into L->b; L->w is allocated (numel floats) for the caller's
 * repacking. Returns the weight as read, in the file's buffer or in *owned (the caller
 * frees it), or NULL (reported). The weights are read once: no copy of them is made. */
static const float *get_weight_bias(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o, int ndim,
                                    const int64_t *wshape, size_t numel, float **owned)
{
    const float *w;
    int64_t bshape[1] = {wshape[0]};
    if (sl_nn_get_tensor_view(c, L, o, "weight", ndim, wshape, &w, owned) < 0) return NULL;
    if (sl_nn_get_tensor(c, L, o, "bias", 1, 1, bshape, &L->b) < 0 || !(L->w = sl_malloc(numel * sizeof(float), L->name))) {
        free(*owned);
        *owned = NULL;
        return NULL;
    }
    return w;
}

static int parse_conv(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    int ci, co, k;
    if (sl_nn_get_int(c, L, o, "in_channels", 0, 0, 1, SL_NN_MAX_DIM, &ci) < 0
        || sl_nn_get_int(c, L, o, "out_channels", 0, 0, 1, SL_NN_MAX_DIM, &co) < 0
        || sl_nn_get_int(c, L, o, "kernel_size", 0, 0, 1, SL_NN_MAX_DIM, &k) < 0
        || sl_nn_get_int(c, L, o, "stride", 1, 1, 1, SL_NN_MAX_DIM, &L->stride) < 0
        || sl_nn_get_int(c, L, o, "dilation", 1, 1, 1, SL_NN_MAX_DIM, &L->dilation) < 0)
        return -1;
    if (in->ch != ci) {
        sl_log_error("%s: layer '%s': in_channels %d but its input '%s' has %d channels", c->file, L->name, ci,
                     in->name, in->ch);
        return -1;
    }
    L->kernel = k, L->in_ch = ci, L->out_ch = co;
    int64_t span = (int64_t)L->dilation * (k - 1);
    /* GEMM dimensions and leading strides are ints */
    if ((int64_t)L->stride * ci > INT_MAX || (int64_t)k * ci > INT_MAX || (int64_t)k * co > INT_MAX) {
        sl_log_error("%s: layer '%s': stride or kernel_size too large for %d channels", c->file, L->name, ci);
        return -1;
    }
    if (span > SL_NN_MAX_DIM) {
        sl_log_error("%s: layer '%s': dilation * (kernel_size - 1) is too large", c->file, L->name);
        return -1;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "padding");
    if (!p || cJSON_IsNull(p) || (cJSON_IsString(p) && strcmp(p->valuestring, "valid") == 0)) {
        L->pad_left = L->pad_right = 0;
    } else if (cJSON_IsString(p) && strcmp(p->valuestring, "same") == 0) {
        if (L->stride != 1) {
            sl_log_error("%s: layer '%s': padding 'same' needs stride 1", c->file, L->name);
            return -1;
        }
        L->pad_left = (int)(span / 2), L->pad_right = (int)(span - span / 2);
    } else if (cJSON_IsNumber(p)) {
        if (sl_nn_get_int(c, L, o, "padding", 0, 0, 0, SL_NN_MAX_DIM, &L->pad_left) < 0) return -1;
        L->pad_right = L->pad_left;
    } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
        uint64_t a, b;
        if (sl_nn_json_uint(p->child, &a) < 0 || sl_nn_json_uint(p->child->next, &b) < 0 || a > SL_NN_MAX_DIM || b > SL_NN_MAX_DIM) {
            sl_log_error("%s: layer '%s': padding [left, right] must be non-negative integers", c->file, L->name);
            return -1;
        }
        L->pad_left = (int)a, L->pad_right = (int)b;
    } else {
        sl_log_error("%s: layer '%s': padding must be 'valid', 'same', an integer or [left, right]", c->file,
                     L->name);
        return -1;
    }
    int64_t span_in = (int64_t)in->len + L->pad_left + L->pad_right - span - 1;
    if (span_in < 0) {
        sl_log_error("%s: layer '%s': input length %d is shorter than the kernel span %lld", c->file, L->name,
                     in->len, (long long)span + 1);
        return -1;
    }
    if (sl_nn_set_shape(c, L, span_in / L->stride + 1, co) < 0) return -1;
    int64_t wshape[3] = {co, ci, k};
    float *own;
    const float *w = get_weight_bias(c, L, o, 3, wshape, (size_t)co * ci * k, &own);
    if (!w) return -1;
    /* [out][in][k] -> [k][in][out] */
    for (int o_ = 0; o_ < co; o_++)
        for (int i = 0; i < ci; i++)
            for (int j = 0; j < k; j++) L->w[((size_t)j * ci + i) * co + o_] = w[((size_t)o_ * ci + i) * k + j];
    free(own);
    return 0;
}

static int parse_dense(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    int ni, no;
    if (sl_nn_get_int(c, L, o, "in_features", 0, 0, 1, SL_NN_MAX_DIM, &ni) < 0
        || sl_nn_get_int(c, L, o, "out_features", 0, 0, 1, SL_NN_MAX_DIM, &no) < 0)
        return -1;
    if (in->len != 1 || in->ch != ni) {
        sl_log_error("%s: layer '%s': in_features %d but its input '%s' is [%d][%d] (a dense layer needs [1][%d];"
                     " flatten or pool first)", c->file, L->name, ni, in->name, in->len, in->ch, ni);
        return -1;
    }
    L->in_ch = ni, L->out_ch = no;
    if (sl_nn_set_shape(c, L, 1, no) < 0) return -1;
    int64_t wshape[2] = {no, ni};
    float *own;
    const float *w = get_weight_bias(c, L, o, 2, wshape, (size_t)ni * no, &own);
    if (!w) return -1;
    sl_nn_transpose(w, (size_t)no, (size_t)ni, L->w); /* [out][in] -> [in][out] */
    free(own);
    return 0;
}

static int parse_batchnorm(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    double eps;
    float *t[4] = {NULL, NULL, NULL, NULL};
    static const char *keys[4] = {"weight", "bias", "running_mean", "running_var"};
    int64_t shape[1] = {in->ch}, ret = -1;
    if (sl_nn_get_float(c, L, o, "eps", 1e-5, &eps) < 0) return -1;
    if (eps < 0) {
        sl_log_error("%s: layer '%s': eps must not be negative", c->file, L->name);
        return -1;
    }
    if (sl_nn_set_shape(c, L, in->len, in->ch) < 0) return -1;
    for (int i = 0; i < 4; i++)
        if (sl_nn_get_tensor(c, L, o, keys[i], 0, 1, shape, &t[i]) < 0) goto fail;
    L->bn_scale = sl_malloc((size_t)in->ch * sizeof(float), L->name);
    L->bn_shift = sl_malloc((size_t)in->ch * sizeof(float), L->name);
    if (!L->bn_scale || !L->bn_shift) goto fail;
    for (int ch = 0; ch < in->ch; ch++) {
        double var = (double)t[3][ch] + eps;
        if (!(var > 0)) {
            sl_log_error("%s: layer '%s': running_var + eps is not positive in channel %d", c->file, L->name, ch);
            goto fail;
        }
        double s = t[0][ch] / sqrt(var);
        L->bn_scale[ch] = (float)s;
        L->bn_shift[ch] = (float)(t[1][ch] - t[2][ch] * s);
    }
    ret = 0;
fail:
    for (int i = 0; i < 4; i++) free(t[i]);
    return (int)ret;
}

static int parse_pool(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    int p;
    if (sl_nn_get_int(c, L, o, "kernel_size", 0, 0, 1, SL_NN_MAX_DIM, &L->kernel) < 0
        || sl_nn_get_int(c, L, o, "stride", 1, L->kernel, 1, SL_NN_MAX_DIM, &L->stride) < 0
        || sl_nn_get_int(c, L, o, "padding", 1, 0, 0, SL_NN_MAX_DIM, &p) < 0)
        return -1;
    if (p > L->kernel / 2) {
        sl_log_error("%s: layer '%s': padding %d is more than half the kernel size %d", c->file, L->name, p,
                     L->kernel);
        return -1;
    }
    L->pad_left = L->pad_right = p;
    L->dilation = 1;
    L->count_include_pad = 1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "count_include_pad");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) {
            sl_log_error("%s: layer '%s': count_include_pad must be true or false", c->file, L->name);
            return -1;
        }
        L->count_include_pad = cJSON_IsTrue(v);
    }
    int64_t span = (int64_t)in->len + 2 * p - L->kernel;
    if (span < 0) {
        sl_log_error("%s: layer '%s': input length %d is shorter than the pool kernel %d", c->file, L->name,
                     in->len, L->kernel);
        return -1;
    }
    return sl_nn_set_shape(c, L, span / L->stride + 1, in->ch);
}

/* crop: start/stop with Python slice semantics on [0, len). */
static int parse_crop(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    int64_t v[2] = {0, in->len};
    static const char *keys[2] = {"start", "stop"};
    for (int i = 0; i < 2; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (!x || cJSON_IsNull(x)) continue;
        if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || fabs(x->valuedouble) > SL_NN_MAX_DIM) {
            sl_log_error("%s: layer '%s': '%s' must be an integer or null", c->file, L->name, keys[i]);
            return -1;
        }
        int64_t s = (int64_t)x->valuedouble;
        if (s < 0) s += in->len;
        v[i] = s < 0 ? 0 : s > in->len ? in->len : s;
    }
    if (v[1] <= v[0]) {
        sl_log_error("%s: layer '%s': crop [%lld, %lld) of length %d is empty", c->file, L->name, (long long)v[0],
                     (long long)v[1], in->len);
        return -1;
    }
    L->crop_start = (int)v[0];
    return sl_nn_set_shape(c, L, v[1] - v[0], in->ch);
}


/* Ops whose output has their (first) input's shape and no attributes. */
static int parse_same(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    (void)o;
    return sl_nn_set_shape(c, L, in->len, in->ch);
}

static int parse_global_pool(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    (void)o;
    L->kernel = L->stride = in->len; /* one window over every position */
    return sl_nn_set_shape(c, L, 1, in->ch);
}

/* String attribute `key` that must be a or b: *is_b. 0 / -1 (reported). */
static int get_choice(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, const char *a,
                      const char *b, int *is_b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || (strcmp(v->valuestring, a) && strcmp(v->valuestring, b))) {
        sl_log_error("%s: layer '%s': %s needs %s '%s' or '%s'", c->file, L->name, sl_op_name(L->op), key, a, b);
        return -1;
    }
    *is_b = strcmp(v->valuestring, b) == 0;
    return 0;
}

static int parse_flatten(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    int last;
    if (get_choice(c, L, o, "order", "channel_first", "channel_last", &last) < 0) return -1;
    L->flatten_channel_first = !last;
    return sl_nn_set_shape(c, L, 1, (int64_t)in->len * in->ch);
}

static int parse_add(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    (void)o;
    for (int i = 1; i < L->n_in; i++) {
        const sl_layer_t *x = sl_nn_in(c, L, i);
        if (x->len != in->len || x->ch != in->ch) {
            sl_log_error("%s: layer '%s': add of '%s' [%d][%d] and '%s' [%d][%d]: shapes differ", c->file, L->name,
                         in->name, in->len, in->ch, x->name, x->len, x->ch);
            return -1;
        }
    }
    return sl_nn_set_shape(c, L, in->len, in->ch);
}

static int parse_concat(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    const sl_layer_t *in = sl_nn_in(c, L, 0);
    if (get_choice(c, L, o, "axis", "channel", "length", &L->concat_axis) < 0) return -1;
    int64_t sum = 0;
    for (int i = 0; i < L->n_in; i++) {
        const sl_layer_t *x = sl_nn_in(c, L, i);
        if (L->concat_axis ? x->ch != in->ch : x->len != in->len) {
            sl_log_error("%s: layer '%s': concat along %s of '%s' [%d][%d] and '%s' [%d][%d]: shapes differ", c->file,
                         L->name, L->concat_axis ? "length" : "channel", in->name, in->len, in->ch, x->name, x->len, x->ch);
            return -1;
        }
        sum += L->concat_axis ? x->len : x->ch;
    }
    return L->concat_axis ? sl_nn_set_shape(c, L, sum, in->ch) : sl_nn_set_shape(c, L, in->len, sum);
}

/* softplus: beta (in alpha) > 0, linear above beta*x > threshold (PyTorch semantics) */
static int parse_softplus(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    double a;
    if (sl_nn_get_float(c, L, o, "beta", 1.0, &a) < 0) return -1;
    if (a <= 0) {
        sl_log_error("%s: layer '%s': softplus beta must be positive", c->file, L->name);
        return -1;
    }
    L->alpha = (float)a;
    if (sl_nn_get_float(c, L, o, "threshold", 20.0, &a) < 0) return -1;
    L->threshold = (float)a;
    return parse_same(c, L, o);
}

static int parse_elu(const sl_nn_ctx_t *c, sl_layer_t *L, const cJSON *o)
{
    double a;
    if (sl_nn_get_float(c, L, o, "alpha", 1.0, &a) < 0) return -1;
    L->alpha = (float)a;
    return parse_same(c, L, o);
}

/* ---- the table ------------------------------------------------------------------- */

#define LIN SL_OPF_LINEAR
#define EW SL_OPF_ELEMENTWISE
#define WTS (SL_OPF_LINEAR | SL_OPF_WEIGHTS | SL_OPF_SIGN_SPLIT)
/* one producer, elementwise: Rescale / RevealCancel / gradient */
#define ELEMENTWISE(nm, pa, fn, dfn, sec) \
    {nm, {NULL}, 1, 1, EW, SL_RULE_NONLINEAR, pa, sl_k_elementwise, NULL, NULL, NULL, fn, dfn, sec}

const sl_op_info_t sl_ops[] = {
    /*   name, aliases, min_in, max_in, flags, rule, parse, forward, backward, apply_w, backward_w, f, df, secant */
    [SL_OP_INPUT] = {"input", {NULL}, 0, 0, 0, SL_RULE_INPUT, NULL, sl_k_input, NULL, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_CONV1D] = {"conv1d", {NULL}, 1, 1, WTS, SL_RULE_SPLIT, parse_conv, sl_k_weighted, sl_k_weighted_bw,
                      sl_k_conv_apply, sl_k_conv_backward, NULL, NULL, NULL},
    [SL_OP_DENSE] = {"linear", {"dense", NULL}, 1, 1, WTS | SL_OPF_BATCHWIDE, SL_RULE_SPLIT, parse_dense,
                     sl_k_weighted, sl_k_weighted_bw, sl_k_dense_apply, sl_k_dense_backward, NULL, NULL, NULL},
    [SL_OP_BATCHNORM] = {"batchnorm", {NULL}, 1, 1, LIN, SL_RULE_SCALE, parse_batchnorm, sl_k_batchnorm,
                         sl_k_batchnorm_bw, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_AVGPOOL] = {"avgpool1d", {NULL}, 1, 1, LIN | SL_OPF_POOL, SL_RULE_LINEAR, parse_pool, sl_k_avgpool,
                       sl_k_avgpool_bw, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_GLOBAL_AVGPOOL] = {"global_avgpool", {NULL}, 1, 1, LIN | SL_OPF_POOL, SL_RULE_LINEAR, parse_global_pool,
                              sl_k_global_avgpool, sl_k_global_avgpool_bw, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_FLATTEN] = {"flatten", {NULL}, 1, 1, LIN, SL_RULE_LINEAR, parse_flatten, sl_k_flatten, sl_k_flatten_bw,
                       NULL, NULL, NULL, NULL, NULL},
    [SL_OP_DROPOUT] = {"dropout", {"identity", NULL}, 1, 1, LIN, SL_RULE_SCALE, parse_same, sl_k_copy, sl_k_copy_bw,
                       NULL, NULL, NULL, NULL, NULL},
    [SL_OP_ADD] = {"add", {NULL}, 2, 0, LIN, SL_RULE_LINEAR, parse_add, sl_k_add, sl_k_add_bw, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_CONCAT] = {"concat", {NULL}, 2, 0, LIN, SL_RULE_LINEAR, parse_concat, sl_k_concat, sl_k_concat_bw, NULL,
                      NULL, NULL, NULL, NULL},
    [SL_OP_CROP] = {"crop", {NULL}, 1, 1, LIN, SL_RULE_LINEAR, parse_crop, sl_k_crop, sl_k_crop_bw, NULL, NULL, NULL,
                    NULL, NULL},
    [SL_OP_RELU] = ELEMENTWISE("relu", parse_same, sl_k_relu, sl_k_relu_d, NULL),
    [SL_OP_SIGMOID] = ELEMENTWISE("sigmoid", parse_same, sl_k_sigmoid, sl_k_sigmoid_d, sl_k_sigmoid_s),
    [SL_OP_TANH] = ELEMENTWISE("tanh", parse_same, sl_k_tanh, sl_k_tanh_d, sl_k_tanh_s),
    [SL_OP_SOFTPLUS] = ELEMENTWISE("softplus", parse_softplus, sl_k_softplus, sl_k_softplus_d, sl_k_softplus_s),
    [SL_OP_ELU] = ELEMENTWISE("elu", parse_elu, sl_k_elu, sl_k_elu_d, sl_k_elu_s),
    [SL_OP_EXP] = ELEMENTWISE("exp", parse_same, sl_k_exp, sl_k_exp_d, sl_k_exp_s),
    [SL_OP_GELU] = ELEMENTWISE("gelu", parse_same, sl_k_gelu, sl_k_gelu_d, sl_k_gelu_s),
    [SL_OP_MAXPOOL] = {"maxpool1d", {NULL}, 1, 1, SL_OPF_POOL, SL_RULE_MAXPOOL, parse_pool, sl_k_maxpool, NULL, NULL,
                       NULL, NULL, NULL, NULL},
    [SL_OP_GLOBAL_MAXPOOL] = {"global_maxpool", {NULL}, 1, 1, SL_OPF_POOL, SL_RULE_MAXPOOL, parse_global_pool,
                              sl_k_global_maxpool, NULL, NULL, NULL, NULL, NULL, NULL},
    [SL_OP_SOFTMAX] = {"softmax", {NULL}, 1, 1, 0, SL_RULE_NONE, parse_same, sl_k_softmax, NULL, NULL, NULL, NULL,
                       NULL, NULL},
    [SL_OP_LOG] = ELEMENTWISE("log", parse_same, sl_k_log, sl_k_log_d, sl_k_log_s), /* x > 0 */
};
/* An op added to sl_op_t without its entry (at the end) fails here; one added in the
 * middle leaves a hole that sl_op_check and tests/test_ops.c report. */
_Static_assert(sizeof sl_ops / sizeof sl_ops[0] == SL_OP_COUNT, "sl_ops needs one entry per sl_op_t");

int sl_op_check(sl_op_t op, char *msg, size_t size)
{
    const sl_op_info_t *o = (unsigned)op < SL_OP_COUNT ? &sl_ops[op] : NULL;
    const char *why = !o || !o->name ? "no entry in the op table"
                      : !o->forward ? "no forward"
                      : (o->flags & SL_OPF_LINEAR) && !o->backward ? "no linear backward"
                      : (o->flags & SL_OPF_ELEMENTWISE) && (!o->f || !o->df) ? "no f or f'"
                      : (o->flags & SL_OPF_WEIGHTS) && (!o->apply_w || !o->backward_w) ? "no weighted GEMMs"
                      : (o->rule == SL_RULE_NONLINEAR) != !!(o->flags & SL_OPF_ELEMENTWISE) ? "rule and flags disagree"
                      : (o->rule == SL_RULE_SPLIT) != !!(o->flags & SL_OPF_SIGN_SPLIT) ? "rule and flags disagree"
                      : NULL;
    if (why && msg && size) snprintf(msg, size, "%s", why);
    return why ? -1 : 0;
}

/* ---- properties (model.h) --------------------------------------------------------- */

static unsigned op_flags(sl_op_t op) { return (unsigned)op < SL_OP_COUNT ? sl_ops[op].flags : 0; }
int sl_op_is_elementwise(sl_op_t op) { return !!(op_flags(op) & SL_OPF_ELEMENTWISE); }
int sl_op_is_linear(sl_op_t op) { return !!(op_flags(op) & SL_OPF_LINEAR); }
int sl_op_is_maxpool(sl_op_t op) { return (unsigned)op < SL_OP_COUNT && sl_ops[op].rule == SL_RULE_MAXPOOL; }
const char *sl_op_name(sl_op_t op) { return (unsigned)op < SL_OP_COUNT && sl_ops[op].name ? sl_ops[op].name : "?"; }
