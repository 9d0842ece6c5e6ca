/* load.c — model loading: the JSON graph (cJSON) and the safetensors weights.
 *
 * Nothing in either file is trusted: every size, offset, shape and name is checked
 * before use, and a bad file gets one error line naming the file and the tensor or
 * layer. Weights are converted to float32 and repacked to seqlift's layouts here,
 * so the forward pass never looks at the file again.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <htslib/khash.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

KHASH_MAP_INIT_STR(sl_name, int)

#define ST_MAX_DIMS 8
#define MAX_ACT_SIZE ((size_t)1 << 30) /* floats per sequence per layer */
#define MAX_DIM (1 << 28)

enum { ST_F32, ST_F16, ST_BF16 };

typedef struct {
    const char *name;       /* points into the parsed header */
    int dtype, ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel, begin, end;
} st_tensor_t;

typedef struct {
    const char *label;      /* file name for messages */
    cJSON *hdr;
    int n;
    st_tensor_t *t;
    const uint8_t *data;    /* the byte after the header */
    size_t data_len;
} st_file_t;

/* ---- safetensors ------------------------------------------------------------ */

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static int json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor_t *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static void st_free(st_file_t *st)
{
    cJSON_Delete(st->hdr);
    free(st->t);
}

static int st_parse(st_file_t *st, const void *buf, size_t len, const char *label)
{
    const uint8_t *p = buf;
    st_tensor_t *sorted = NULL;
    memset(st, 0, sizeof *st);
    st->label = label;
    if (len < 8) {
        sl_log_error("%s: truncated safetensors file (%zu bytes, no header length)", label, len);
        return -1;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | p[i];
    if (hlen == 0 || hlen > len - 8) {
        sl_log_error("%s: safetensors header length %llu runs past the end of the file (%zu bytes)",
                     label, (unsigned long long)hlen, len);
        return -1;
    }
    st->hdr = cJSON_ParseWithLength((const char *)p + 8, (size_t)hlen);
    if (!cJSON_IsObject(st->hdr)) {
        sl_log_error("%s: safetensors header is not a JSON object", label);
        goto fail;
    }
    st->data = p + 8 + hlen;
    st->data_len = len - 8 - (size_t)hlen;
    int n = cJSON_GetArraySize(st->hdr);
    st->t = sl_calloc(n > 0 ? (size_t)n : 1, sizeof *st->t, "safetensors index");
    if (!st->t) goto fail;
    for (cJSON *e = st->hdr->child; e; e = e->next) {
        if (e->string && strcmp(e->string, "__metadata__") == 0) continue;
        st_tensor_t *t = &st->t[st->n];
        t->name = e->string ? e->string : "";
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off)) {
            sl_log_error("%s: tensor '%s': header entry needs dtype, shape and data_offsets", label, t->name);
            goto fail;
        }
        size_t esize;
        if (strcmp(dt->valuestring, "F32") == 0) t->dtype = ST_F32, esize = 4;
        else if (strcmp(dt->valuestring, "F16") == 0) t->dtype = ST_F16, esize = 2;
        else if (strcmp(dt->valuestring, "BF16") == 0) t->dtype = ST_BF16, esize = 2;
        else {
            sl_log_error("%s: tensor '%s': unsupported dtype '%s' (F32, F16 or BF16)", label, t->name,
                         dt->valuestring);
            goto fail;
        }
        t->ndim = cJSON_GetArraySize(sh);
        if (t->ndim > ST_MAX_DIMS) {
            sl_log_error("%s: tensor '%s': %d dimensions (at most %d)", label, t->name, t->ndim, ST_MAX_DIMS);
            goto fail;
        }
        size_t numel = 1;
        int d = 0;
        for (const cJSON *s = sh->child; s; s = s->next, d++) {
            uint64_t v;
            if (json_uint(s, &v) < 0) {
                sl_log_error("%s: tensor '%s': shape entry is not a non-negative integer", label, t->name);
                goto fail;
            }
            t->shape[d] = (int64_t)v;
            if (v != 0 && numel > SIZE_MAX / esize / v) {
                sl_log_error("%s: tensor '%s': shape product overflows", label, t->name);
                goto fail;
            }
            numel *= (size_t)v;
        }
        t->numel = numel;
        uint64_t b, en;
        if (cJSON_GetArraySize(off) != 2 || json_uint(off->child, &b) < 0 || json_uint(off->child->next, &en) < 0
            || b > en) {
            sl_log_error("%s: tensor '%s': data_offsets must be two integers [begin, end], begin <= end", label,
                         t->name);
            goto fail;
        }
        if (en > st->data_len) {
            sl_log_error("%s: tensor '%s': data_offsets [%llu, %llu] lie outside the data (%zu bytes)", label,
                         t->name, (unsigned long long)b, (unsigned long long)en, st->data_len);
            goto fail;
        }
        if (en - b != numel * esize) {
            sl_log_error("%s: tensor '%s': %llu data bytes for %zu elements of %s", label, t->name,
                         (unsigned long long)(en - b), numel, dt->valuestring);
            goto fail;
        }
        t->begin = (size_t)b, t->end = (size_t)en;
        st->n++;
    }
    /* Tensors must not share bytes. */
    sorted = sl_malloc((st->n ? (size_t)st->n : 1) * sizeof *sorted, "safetensors index");
    if (!sorted) goto fail;
    memcpy(sorted, st->t, (size_t)st->n * sizeof *sorted);
    qsort(sorted, (size_t)st->n, sizeof *sorted, cmp_begin);
    size_t prev_end = 0;
    const char *prev = NULL;
    for (int i = 0; i < st->n; i++) {
        if (sorted[i].begin == sorted[i].end) continue;
        if (prev && sorted[i].begin < prev_end) {
            sl_log_error("%s: tensor '%s' overlaps tensor '%s'", label, sorted[i].name, prev);
            goto fail;
        }
        prev_end = sorted[i].end, prev = sorted[i].name;
    }
    free(sorted);
    return 0;
fail:
    free(sorted);
    st_free(st);
    return -1;
}

static const st_tensor_t *st_find(const st_file_t *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0) return &st->t[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        float f = ldexpf((float)m, -24); /* zero or subnormal */
        return sign ? -f : f;
    }
    if (e == 31) bits = sign | 0x7f800000u | (m << 13);
    else bits = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Tensor `t` converted to float32 (little-endian file; seqlift targets x86-64/arm64). */
static float *st_to_float(const st_file_t *st, const st_tensor_t *t)
{
    float *out = sl_malloc((t->numel ? t->numel : 1) * sizeof(float), t->name);
    if (!out) return NULL;
    const uint8_t *p = st->data + t->begin;
    for (size_t i = 0; i < t->numel; i++) {
        if (t->dtype == ST_F32) {
            memcpy(&out[i], p + 4 * i, 4);
        } else {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            if (t->dtype == ST_F16) {
                out[i] = half_to_float(h);
            } else {
                uint32_t bits = (uint32_t)h << 16;
                memcpy(&out[i], &bits, 4);
            }
        }
    }
    return out;
}

/* ---- graph ----------------------------------------------------------------- */

typedef struct {
    const char *file;       /* JSON label */
    const st_file_t *st;
    sl_net_t *net;
    khash_t(sl_name) *names;
} ctx_t;

static const struct { const char *name; sl_op_t op; } op_names[] = {
    {"conv1d", SL_OP_CONV1D}, {"linear", SL_OP_DENSE}, {"dense", SL_OP_DENSE},
    {"batchnorm", SL_OP_BATCHNORM}, {"avgpool1d", SL_OP_AVGPOOL},
    {"global_avgpool", SL_OP_GLOBAL_AVGPOOL}, {"flatten", SL_OP_FLATTEN}, {"dropout", SL_OP_DROPOUT},
    {"identity", SL_OP_DROPOUT}, {"add", SL_OP_ADD}, {"concat", SL_OP_CONCAT}, {"crop", SL_OP_CROP},
    {"relu", SL_OP_RELU}, {"sigmoid", SL_OP_SIGMOID}, {"tanh", SL_OP_TANH},
    {"softplus", SL_OP_SOFTPLUS}, {"elu", SL_OP_ELU}, {"exp", SL_OP_EXP}, {"gelu", SL_OP_GELU},
    {"maxpool1d", SL_OP_MAXPOOL}, {"global_maxpool", SL_OP_GLOBAL_MAXPOOL}, {"softmax", SL_OP_SOFTMAX},
};

/* Integer attribute `key` of layer object o within [lo, hi]; `def` when absent and
 * has_def, else an error. A JSON null counts as absent. */
static int get_int(const ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, int has_def, int def,
                   int lo, int hi, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (!has_def) {
            sl_log_error("%s: layer '%s': missing attribute '%s'", c->file, L->name, key);
            return -1;
        }
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo
        || v->valuedouble > hi) {
        sl_log_error("%s: layer '%s': attribute '%s' must be an integer in [%d, %d]", c->file, L->name, key, lo,
                     hi);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int get_float(const ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, double def,
                     double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        sl_log_error("%s: layer '%s': attribute '%s' must be a finite number", c->file, L->name, key);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

/* The tensor named by attribute `key` of layer o, checked against the expected
 * shape, converted to float32 and checked finite. *out = NULL when optional and
 * absent/null. */
static int get_tensor(const ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, int optional,
                      int ndim, const int64_t *shape, float **out)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (optional) return 0;
        sl_log_error("%s: layer '%s': missing tensor attribute '%s'", c->file, L->name, key);
        return -1;
    }
    if (!cJSON_IsString(v)) {
        sl_log_error("%s: layer '%s': attribute '%s' must name a tensor", c->file, L->name, key);
        return -1;
    }
    const st_tensor_t *t = st_find(c->st, v->valuestring);
    if (!t) {
        sl_log_error("%s: tensor '%s' (layer '%s' %s) is missing", c->st->label, v->valuestring, L->name, key);
        return -1;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[128], got[128];
        int wn = 0, gn = 0;
        for (int i = 0; i < ndim; i++)
            wn += snprintf(want + wn, sizeof want - (size_t)wn, "%s%lld", i ? "," : "", (long long)shape[i]);
        for (int i = 0; i < t->ndim && gn < 100; i++)
            gn += snprintf(got + gn, sizeof got - (size_t)gn, "%s%lld", i ? "," : "", (long long)t->shape[i]);
        want[wn] = got[gn] = 0;
        sl_log_error("%s: tensor '%s' (layer '%s' %s) has shape [%s], expected [%s]", c->st->label, t->name,
                     L->name, key, got, want);
        return -1;
    }
    float *f = st_to_float(c->st, t);
    if (!f) return -1;
    for (size_t i = 0; i < t->numel; i++) {
        if (!isfinite(f[i])) {
            sl_log_error("%s: tensor '%s' (layer '%s' %s) has a non-finite value at element %zu", c->st->label,
                         t->name, L->name, key, i);
            free(f);
            return -1;
        }
    }
    *out = f;
    return 0;
}

static int set_shape(const ctx_t *c, sl_layer_t *L, int64_t len, int64_t ch)
{
    if (len < 1 || ch < 1) {
        sl_log_error("%s: layer '%s': output shape [%lld][%lld] is empty", c->file, L->name, (long long)len,
                     (long long)ch);
        return -1;
    }
    if (len > MAX_DIM || ch > MAX_DIM || (size_t)len * (size_t)ch > MAX_ACT_SIZE) {
        sl_log_error("%s: layer '%s': output shape [%lld][%lld] is too large", c->file, L->name, (long long)len,
                     (long long)ch);
        return -1;
    }
    L->len = (int)len, L->ch = (int)ch;
    return 0;
}

/* Tensor "weight" of shape wshape (PyTorch layout, wshape[0] outputs) and the optional
 * "bias" [wshape[0]] into L->b; L->w is allocated (numel floats) for the caller's
 * repacking. Returns the weight as read (the caller frees it) or NULL (reported). */
static float *get_weight_bias(const ctx_t *c, sl_layer_t *L, const cJSON *o, int ndim, const int64_t *wshape,
                              size_t numel)
{
    float *w = NULL;
    int64_t bshape[1] = {wshape[0]};
    if (get_tensor(c, L, o, "weight", 0, ndim, wshape, &w) < 0) return NULL;
    if (get_tensor(c, L, o, "bias", 1, 1, bshape, &L->b) < 0 || !(L->w = sl_malloc(numel * sizeof(float), L->name))) {
        free(w);
        return NULL;
    }
    return w;
}

static int parse_conv(const ctx_t *c, sl_layer_t *L, const cJSON *o, const sl_layer_t *in)
{
    int ci, co, k;
    if (get_int(c, L, o, "in_channels", 0, 0, 1, MAX_DIM, &ci) < 0
        || get_int(c, L, o, "out_channels", 0, 0, 1, MAX_DIM, &co) < 0
        || get_int(c, L, o, "kernel_size", 0, 0, 1, MAX_DIM, &k) < 0
        || get_int(c, L, o, "stride", 1, 1, 1, MAX_DIM, &L->stride) < 0
        || get_int(c, L, o, "dilation", 1, 1, 1, MAX_DIM, &L->dilation) < 0)
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
    if (span > MAX_DIM) {
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
        if (get_int(c, L, o, "padding", 0, 0, 0, MAX_DIM, &L->pad_left) < 0) return -1;
        L->pad_right = L->pad_left;
    } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
        uint64_t a, b;
        if (json_uint(p->child, &a) < 0 || json_uint(p->child->next, &b) < 0 || a > MAX_DIM || b > MAX_DIM) {
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
    if (set_shape(c, L, span_in / L->stride + 1, co) < 0) return -1;
    int64_t wshape[3] = {co, ci, k};
    float *w = get_weight_bias(c, L, o, 3, wshape, (size_t)co * ci * k);
    if (!w) return -1;
    /* [out][in][k] -> [k][in][out] */
    for (int o_ = 0; o_ < co; o_++)
        for (int i = 0; i < ci; i++)
            for (int j = 0; j < k; j++) L->w[((size_t)j * ci + i) * co + o_] = w[((size_t)o_ * ci + i) * k + j];
    free(w);
    return 0;
}

static int parse_dense(const ctx_t *c, sl_layer_t *L, const cJSON *o, const sl_layer_t *in)
{
    int ni, no;
    if (get_int(c, L, o, "in_features", 0, 0, 1, MAX_DIM, &ni) < 0
        || get_int(c, L, o, "out_features", 0, 0, 1, MAX_DIM, &no) < 0)
        return -1;
    if (in->len != 1 || in->ch != ni) {
        sl_log_error("%s: layer '%s': in_features %d but its input '%s' is [%d][%d] (a dense layer needs [1][%d];"
                     " flatten or pool first)", c->file, L->name, ni, in->name, in->len, in->ch, ni);
        return -1;
    }
    L->in_ch = ni, L->out_ch = no;
    if (set_shape(c, L, 1, no) < 0) return -1;
    int64_t wshape[2] = {no, ni};
    float *w = get_weight_bias(c, L, o, 2, wshape, (size_t)ni * no);
    if (!w) return -1;
    /* [out][in] -> [in][out] */
    for (int o_ = 0; o_ < no; o_++)
        for (int i = 0; i < ni; i++) L->w[(size_t)i * no + o_] = w[(size_t)o_ * ni + i];
    free(w);
    return 0;
}

static int parse_batchnorm(const ctx_t *c, sl_layer_t *L, const cJSON *o, const sl_layer_t *in)
{
    double eps;
    float *t[4] = {NULL, NULL, NULL, NULL};
    static const char *keys[4] = {"weight", "bias", "running_mean", "running_var"};
    int64_t shape[1] = {in->ch}, ret = -1;
    if (get_float(c, L, o, "eps", 1e-5, &eps) < 0) return -1;
    if (eps < 0) {
        sl_log_error("%s: layer '%s': eps must not be negative", c->file, L->name);
        return -1;
    }
    if (set_shape(c, L, in->len, in->ch) < 0) return -1;
    for (int i = 0; i < 4; i++)
        if (get_tensor(c, L, o, keys[i], 0, 1, shape, &t[i]) < 0) goto fail;
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

static int parse_pool(const ctx_t *c, sl_layer_t *L, const cJSON *o, const sl_layer_t *in)
{
    int p;
    if (get_int(c, L, o, "kernel_size", 0, 0, 1, MAX_DIM, &L->kernel) < 0
        || get_int(c, L, o, "stride", 1, L->kernel, 1, MAX_DIM, &L->stride) < 0
        || get_int(c, L, o, "padding", 1, 0, 0, MAX_DIM, &p) < 0)
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
    return set_shape(c, L, span / L->stride + 1, in->ch);
}

/* crop: start/stop with Python slice semantics on [0, len). */
static int parse_crop(const ctx_t *c, sl_layer_t *L, const cJSON *o, const sl_layer_t *in)
{
    int64_t v[2] = {0, in->len};
    static const char *keys[2] = {"start", "stop"};
    for (int i = 0; i < 2; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (!x || cJSON_IsNull(x)) continue;
        if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || fabs(x->valuedouble) > MAX_DIM) {
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
    return set_shape(c, L, v[1] - v[0], in->ch);
}

static int parse_layer(ctx_t *c, int li, const cJSON *o)
{
    sl_net_t *net = c->net;
    sl_layer_t *L = &net->layers[li];
    if (!cJSON_IsObject(o)) {
        sl_log_error("%s: layer %d is not a JSON object", c->file, li - 1);
        return -1;
    }
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!cJSON_IsString(nm) || !nm->valuestring[0]) {
        sl_log_error("%s: layer %d has no name", c->file, li - 1);
        return -1;
    }
    if (!(L->name = sl_strdup(nm->valuestring))) return -1;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    if (!cJSON_IsString(op)) {
        sl_log_error("%s: layer '%s': missing 'op' (a string)", c->file, L->name);
        return -1;
    }
    size_t k;
    for (k = 0; k < sizeof op_names / sizeof op_names[0]; k++)
        if (strcmp(op_names[k].name, op->valuestring) == 0) break;
    if (k == sizeof op_names / sizeof op_names[0]) {
        sl_log_error("%s: layer '%s': unknown op '%s'", c->file, L->name, op->valuestring);
        return -1;
    }
    L->op = op_names[k].op;

    /* inputs: names of earlier layers */
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(o, "inputs");
    int n_in = cJSON_IsString(ins) ? 1 : cJSON_IsArray(ins) ? cJSON_GetArraySize(ins) : -1;
    if (n_in < 1) {
        sl_log_error("%s: layer '%s': 'inputs' must list one or more layer names", c->file, L->name);
        return -1;
    }
    int multi = L->op == SL_OP_ADD || L->op == SL_OP_CONCAT;
    if (multi ? n_in < 2 : n_in != 1) {
        sl_log_error("%s: layer '%s': op '%s' takes %s, got %d", c->file, L->name, op->valuestring,
                     multi ? "two or more inputs" : "one input", n_in);
        return -1;
    }
    if (!(L->in = sl_malloc((size_t)n_in * sizeof *L->in, L->name))) return -1;
    L->n_in = n_in;
    const cJSON *e = cJSON_IsString(ins) ? ins : ins->child;
    for (int i = 0; i < n_in; i++, e = e->next) {
        khint_t it = cJSON_IsString(e) ? kh_get(sl_name, c->names, e->valuestring) : kh_end(c->names);
        if (it == kh_end(c->names)) {
            sl_log_error("%s: layer '%s': input '%s' is not an earlier layer", c->file, L->name,
                         cJSON_IsString(e) ? e->valuestring : "(not a string)");
            return -1;
        }
        L->in[i] = kh_val(c->names, it);
    }
    int ret;
    khint_t it = kh_put(sl_name, c->names, L->name, &ret);
    if (ret < 0) {
        sl_log_error("%s: out of memory", c->file);
        return -1;
    }
    if (ret == 0) {
        sl_log_error("%s: layer name '%s' is used twice", c->file, L->name);
        return -1;
    }
    kh_val(c->names, it) = li;

    const sl_layer_t *in = &net->layers[L->in[0]];
    L->kernel = L->stride = L->dilation = 1;
    L->in_len = in->len;
    double a;
    switch (L->op) {
    case SL_OP_CONV1D: return parse_conv(c, L, o, in);
    case SL_OP_DENSE: return parse_dense(c, L, o, in);
    case SL_OP_BATCHNORM: return parse_batchnorm(c, L, o, in);
    case SL_OP_AVGPOOL:
    case SL_OP_MAXPOOL: return parse_pool(c, L, o, in);
    case SL_OP_GLOBAL_AVGPOOL:
    case SL_OP_GLOBAL_MAXPOOL: L->kernel = L->stride = in->len; return set_shape(c, L, 1, in->ch);
    case SL_OP_FLATTEN: {
        const cJSON *ord = cJSON_GetObjectItemCaseSensitive(o, "order");
        if (!cJSON_IsString(ord)
            || (strcmp(ord->valuestring, "channel_first") && strcmp(ord->valuestring, "channel_last"))) {
            sl_log_error("%s: layer '%s': flatten needs order 'channel_first' or 'channel_last'", c->file,
                         L->name);
            return -1;
        }
        L->flatten_channel_first = strcmp(ord->valuestring, "channel_first") == 0;
        return set_shape(c, L, 1, (int64_t)in->len * in->ch);
    }
    case SL_OP_CROP: return parse_crop(c, L, o, in);
    case SL_OP_ADD:
        for (int i = 1; i < n_in; i++) {
            const sl_layer_t *x = &net->layers[L->in[i]];
            if (x->len != in->len || x->ch != in->ch) {
                sl_log_error("%s: layer '%s': add of '%s' [%d][%d] and '%s' [%d][%d]: shapes differ", c->file,
                             L->name, in->name, in->len, in->ch, x->name, x->len, x->ch);
                return -1;
            }
        }
        return set_shape(c, L, in->len, in->ch);
    case SL_OP_CONCAT: {
        const cJSON *ax = cJSON_GetObjectItemCaseSensitive(o, "axis");
        if (!cJSON_IsString(ax) || (strcmp(ax->valuestring, "channel") && strcmp(ax->valuestring, "length"))) {
            sl_log_error("%s: layer '%s': concat needs axis 'channel' or 'length'", c->file, L->name);
            return -1;
        }
        L->concat_axis = strcmp(ax->valuestring, "length") == 0;
        int64_t sum = 0;
        for (int i = 0; i < n_in; i++) {
            const sl_layer_t *x = &net->layers[L->in[i]];
            if (L->concat_axis ? x->ch != in->ch : x->len != in->len) {
                sl_log_error("%s: layer '%s': concat along %s of '%s' [%d][%d] and '%s' [%d][%d]: shapes differ",
                             c->file, L->name, ax->valuestring, in->name, in->len, in->ch, x->name, x->len,
                             x->ch);
                return -1;
            }
            sum += L->concat_axis ? x->len : x->ch;
        }
        return L->concat_axis ? set_shape(c, L, sum, in->ch) : set_shape(c, L, in->len, sum);
    }
    case SL_OP_SOFTPLUS:
        if (get_float(c, L, o, "beta", 1.0, &a) < 0) return -1;
        if (a <= 0) {
            sl_log_error("%s: layer '%s': softplus beta must be positive", c->file, L->name);
            return -1;
        }
        L->alpha = (float)a;
        if (get_float(c, L, o, "threshold", 20.0, &a) < 0) return -1;
        L->threshold = (float)a;
        return set_shape(c, L, in->len, in->ch);
    case SL_OP_ELU:
        if (get_float(c, L, o, "alpha", 1.0, &a) < 0) return -1;
        L->alpha = (float)a;
        return set_shape(c, L, in->len, in->ch);
    default: /* elementwise, dropout, softmax */
        return set_shape(c, L, in->len, in->ch);
    }
}

static sl_net_t *net_build(const cJSON *root, const void *st_buf, size_t st_len, const char *file,
                           const char *st_label)
{
    st_file_t st;
    sl_net_t *net = NULL;
    ctx_t c = {file, &st, NULL, NULL};
    if (st_parse(&st, st_buf, st_len, st_label) < 0) return NULL;
    if (!(c.names = kh_init(sl_name))) {
        sl_log_error("%s: out of memory", file);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        sl_log_error("%s: not a JSON object", file);
        goto fail;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "seqlift-model") != 0) {
        sl_log_error("%s: 'format' is not \"seqlift-model\"", file);
        goto fail;
    }
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
        sl_log_error("%s: unsupported 'version' (this seqlift reads version 1)", file);
        goto fail;
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    if (!cJSON_IsObject(input) || !cJSON_IsArray(layers) || !cJSON_IsArray(outputs)) {
        sl_log_error("%s: needs 'input' (object), 'layers' and 'outputs' (arrays)", file);
        goto fail;
    }
    int n_layers = cJSON_GetArraySize(layers) + 1;
    if (!(net = sl_calloc(1, sizeof *net, "model"))) goto fail;
    c.net = net;
    if (!(net->path = sl_strdup(file))) goto fail;
    if (!(net->layers = sl_calloc((size_t)n_layers, sizeof *net->layers, "model layers"))) goto fail;
    net->n_layers = 1;

    sl_layer_t *L0 = &net->layers[0];
    const cJSON *iname = cJSON_GetObjectItemCaseSensitive(input, "name");
    const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(input, "alphabet");
    if (!(L0->name = sl_strdup(cJSON_IsString(iname) ? iname->valuestring : "input"))) goto fail;
    L0->op = SL_OP_INPUT;
    L0->kernel = L0->stride = L0->dilation = 1;
    if (alpha && (!cJSON_IsString(alpha) || strcmp(alpha->valuestring, "ACGT") != 0)) {
        sl_log_error("%s: input alphabet must be \"ACGT\"", file);
        goto fail;
    }
    if (get_int(&c, L0, input, "length", 0, 0, 1, MAX_DIM, &net->in_len) < 0) goto fail;
    if (set_shape(&c, L0, net->in_len, 4) < 0) goto fail;
    int ret;
    khint_t it = kh_put(sl_name, c.names, L0->name, &ret);
    if (ret < 0) {
        sl_log_error("%s: out of memory", file);
        goto fail;
    }
    kh_val(c.names, it) = 0;

    for (const cJSON *e = layers->child; e; e = e->next) {
        int li = net->n_layers++;
        if (parse_layer(&c, li, e) < 0) goto fail;
    }

    net->n_outputs = cJSON_GetArraySize(outputs);
    if (net->n_outputs < 1) {
        sl_log_error("%s: 'outputs' is empty", file);
        goto fail;
    }
    net->output_names = sl_calloc((size_t)net->n_outputs, sizeof *net->output_names, "model outputs");
    net->output_layer = sl_calloc((size_t)net->n_outputs, sizeof *net->output_layer, "model outputs");
    if (!net->output_names || !net->output_layer) goto fail;
    int oi = 0;
    for (const cJSON *e = outputs->child; e; e = e->next, oi++) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *ly = cJSON_GetObjectItemCaseSensitive(e, "layer");
        if (!cJSON_IsString(nm) || !cJSON_IsString(ly) || !nm->valuestring[0]) {
            sl_log_error("%s: output %d needs 'name' and 'layer'", file, oi);
            goto fail;
        }
        for (int j = 0; j < oi; j++) {
            if (strcmp(net->output_names[j], nm->valuestring) == 0) {
                sl_log_error("%s: output name '%s' is used twice", file, nm->valuestring);
                goto fail;
            }
        }
        khint_t k = kh_get(sl_name, c.names, ly->valuestring);
        if (k == kh_end(c.names)) {
            sl_log_error("%s: output '%s': layer '%s' does not exist", file, nm->valuestring, ly->valuestring);
            goto fail;
        }
        net->output_layer[oi] = kh_val(c.names, k);
        if (!(net->output_names[oi] = sl_strdup(nm->valuestring))) goto fail;
    }
    kh_destroy(sl_name, c.names);
    st_free(&st);
    return net;
fail:
    if (c.names) kh_destroy(sl_name, c.names);
    st_free(&st);
    sl_net_destroy(net);
    return NULL;
}

void sl_net_destroy(sl_net_t *net)
{
    if (!net) return;
    for (int i = 0; i < net->n_layers; i++) {
        sl_layer_t *L = &net->layers[i];
        free(L->name);
        free(L->in);
        free(L->w);
        free(L->b);
        free(L->wpos);
        free(L->wneg);
        free(L->bn_scale);
        free(L->bn_shift);
    }
    if (net->output_names)
        for (int i = 0; i < net->n_outputs; i++) free(net->output_names[i]);
    free(net->output_names);
    free(net->output_layer);
    free(net->layers);
    free(net->path);
    free(net);
}

sl_net_t *sl_net_load_mem(const char *json, size_t json_len, const void *st, size_t st_len, const char *label)
{
    if (!label) label = "model";
    cJSON *root = cJSON_ParseWithLength(json, json_len);
    if (!root) {
        sl_log_error("%s: not valid JSON", label);
        return NULL;
    }
    size_t n = strlen(label) + 16;
    char *st_label = sl_malloc(n, "label");
    sl_net_t *net = NULL;
    if (st_label) {
        snprintf(st_label, n, "%s (weights)", label);
        net = net_build(root, st, st_len, label, st_label);
    }
    free(st_label);
    cJSON_Delete(root);
    return net;
}

/* Whole file into memory; NULL (reported) on error. */
static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    if (!fp) {
        sl_log_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb; /* a directory opens, and its "size" would be asked of malloc */
    if (fstat(fileno(fp), &sb) == 0 && !S_ISREG(sb.st_mode)) {
        sl_log_error("%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) < 0) goto fail;
    long sz = ftell(fp);
    if (sz < 0 || fseek(fp, 0, SEEK_SET) < 0) goto fail;
    if (!(buf = sl_malloc((size_t)sz + 1, path))) {
        fclose(fp);
        return NULL;
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) goto fail;
    buf[sz] = 0;
    *len = (size_t)sz;
    fclose(fp);
    return buf;
fail:
    sl_log_error("%s: cannot read the file", path);
    free(buf);
    fclose(fp);
    return NULL;
}

sl_net_t *sl_net_load(const char *json_path)
{
    size_t jlen = 0, slen = 0;
    char *json = NULL, *st = NULL, *wpath = NULL;
    cJSON *root = NULL;
    sl_net_t *net = NULL;
    if (!(json = read_file(json_path, &jlen))) goto fail;
    if (!(root = cJSON_ParseWithLength(json, jlen))) {
        sl_log_error("%s: not valid JSON", json_path);
        goto fail;
    }
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "weights");
    if (!cJSON_IsString(w) || !w->valuestring[0]) {
        sl_log_error("%s: missing 'weights' (the safetensors file name)", json_path);
        goto fail;
    }
    /* relative to the JSON's directory */
    const char *slash = strrchr(json_path, '/');
    size_t dlen = w->valuestring[0] == '/' || !slash ? 0 : (size_t)(slash - json_path + 1);
    if (!(wpath = sl_malloc(dlen + strlen(w->valuestring) + 1, "path"))) goto fail;
    memcpy(wpath, json_path, dlen);
    strcpy(wpath + dlen, w->valuestring);
    if (!(st = read_file(wpath, &slen))) goto fail;
    net = net_build(root, st, slen, json_path, wpath);
fail:
    cJSON_Delete(root);
    free(json);
    free(st);
    free(wpath);
    return net;
}

int sl_net_find_output(const sl_net_t *net, const char *name_or_index)
{
    long long v;
    for (int i = 0; i < net->n_outputs; i++)
        if (strcmp(net->output_names[i], name_or_index) == 0) return i;
    if (sl_parse_long(name_or_index, &v) == 0 && v >= 0 && v < net->n_outputs) return (int)v;
    return -1;
}

int sl_net_split_weights(sl_net_t *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        sl_layer_t *L = &net->layers[i];
        if ((L->op != SL_OP_CONV1D && L->op != SL_OP_DENSE) || L->wpos) continue;
        size_t n = (size_t)L->in_ch * L->out_ch * (L->op == SL_OP_CONV1D ? (size_t)L->kernel : 1);
        float *p = sl_malloc(n * sizeof(float), L->name), *m = sl_malloc(n * sizeof(float), L->name);
        if (!p || !m) {
            free(p);
            free(m);
            return -1;
        }
        for (size_t j = 0; j < n; j++) p[j] = L->w[j] > 0 ? L->w[j] : 0, m[j] = L->w[j] < 0 ? L->w[j] : 0;
        L->wpos = p, L->wneg = m;
    }
    return 0;
}
