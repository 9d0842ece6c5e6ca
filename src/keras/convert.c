/* convert.c — a Keras 2 model (architecture JSON + HDF5 weights) to seqlift's native
 * model JSON and safetensors, in memory.
 *
 * Keras facts used here (keras-team/keras v2.x, keras/saving/legacy/hdf5_format.py and
 * the layers' get_config(); the same in Keras 2.1.6 and tf.keras 2.x):
 * - a full-model file has the architecture as JSON in the root attribute `model_config`
 *   and the weights under `model_weights`; a save_weights file has them at the root;
 * - the weights group has one group per layer of model.layers, each with the attribute
 *   `weight_names` listing its datasets (paths relative to that group, e.g.
 *   `conv1d_1/kernel:0`) in the layer's weight order: trainable weights, then the
 *   others. A nested model is one layer whose list holds all its layers' weights:
 *   first the trainable weights of its trainable layers, then, layer by layer, the
 *   non-trainable ones (all weights of a frozen layer); Keras loads them by this order;
 * - Conv1D kernel is [k][in][out], Dense kernel [in][out], BatchNormalization has
 *   gamma (scale), beta (center), moving_mean, moving_variance;
 * - activations are [batch][length][channels] (channels_last), seqlift's [len][ch].
 *
 * Each Keras layer becomes zero or more native layers; an activation inside a layer is
 * a separate native layer named after the Keras layer (its linear part is
 * "<name>/linear"), so the outputs are the Keras outputs and targets are scored on
 * the pre-activation values as for every model. Layers of a nested model are named
 * "<model>/<layer>".
 */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras/keras_priv.h"
#include "seqlift/util.h"

#define MAX_DIM (1 << 24)

/* A Keras tensor: produced by native layer `name`; rank 3 is (len, ch), rank 2 is (ch)
 * with len 1 (both [len][ch] in memory). */
typedef struct {
    const char *name;
    int len, ch, rank;
} ktensor_t;

/* One weight of a weight group: the layer entry owning it, its kind, its dataset. */
typedef struct {
    const cJSON *owner;
    const char *kind;
    int trainable;
    const char *dset;
} kweight_t;

typedef struct {
    hid_t grp;
    kweight_t *w;
    int n, cap;
    kh5_strs_t names;
} kwsrc_t;

typedef struct {
    char *name;
    int ndim;
    long shape[3];
    float *data;
} ktensor_data_t;

typedef struct {
    const char *file;        /* the architecture's file, for messages */
    const char *wfile;       /* the weights' file */
    const kh5_file_t *wf;    /* the weights' HDF5 file */
    hid_t wroot;
    cJSON *layers;
    ktensor_data_t *t;
    int nt, capt;
    char **strs;             /* every string made here, freed at the end */
    int nstrs, capstrs;
    kwsrc_t **srcs;          /* weight groups opened */
    int nsrcs, capsrcs;
    const char *input_name;  /* native input layer name */
    int in_len;
    int perm[4], permute;    /* seqlift channel j is the model's channel perm[j] */
    const cJSON *top;        /* the top model's layer list (for messages) */
} kctx_t;

/* One Keras layer being converted. */
typedef struct {
    kctx_t *c;
    const cJSON *e;          /* its entry: {class_name, config, ...} */
    const char *name, *cls;
    const cJSON *cfg;
    const char *nname;       /* native name */
    const ktensor_t *in;
    int n_in;
    kwsrc_t *ws;
} klayer_t;

/* ---- small helpers ------------------------------------------------------------ */

static const char *kstr(kctx_t *c, const char *fmt, ...) SL_PRINTF(2, 3);
static const char *kstr(kctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    if (c->nstrs == c->capstrs) {
        int cap = c->capstrs ? 2 * c->capstrs : 64;
        char **v = sl_realloc(c->strs, (size_t)cap * sizeof(char *), "strings");
        if (!v) return NULL;
        c->strs = v, c->capstrs = cap;
    }
    char *s = sl_malloc((size_t)n + 1, "string");
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->strs[c->nstrs++] = s;
    return s;
}

/* One line "FILE: layer 'NAME' (CLASS): what"; returns -1. */
static int vlayer_err(const klayer_t *L, const char *file, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sl_log_error("%s: layer '%s' (%s): %s", file, L->name, L->cls, msg);
    return -1;
}

/* About the layer's architecture (naming the architecture's file) ... */
static int lerr(const klayer_t *L, const char *fmt, ...) SL_PRINTF(2, 3);
static int lerr(const klayer_t *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlayer_err(L, L->c->file, fmt, ap);
    va_end(ap);
    return -1;
}

/* ... and about its weights (naming the weights' file). */
static int wlerr(const klayer_t *L, const char *fmt, ...) SL_PRINTF(2, 3);
static int wlerr(const klayer_t *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlayer_err(L, L->c->wfile, fmt, ap);
    va_end(ap);
    return -1;
}

static const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

/* A JSON integer (or a one-element list of one: Keras writes tuples) in [lo, hi]. */
static int as_int(const cJSON *v, long lo, long hi, int *out)
{
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo
        || v->valuedouble > (double)hi)
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

#define REQUIRED INT32_MIN
static int cfg_int(const klayer_t *L, const char *key, int def, long lo, long hi, int *out)
{
    const cJSON *v = item(L->cfg, key);
    if (!v) {
        if (def == REQUIRED) return lerr(L, "missing attribute '%s'", key);
        *out = def;
        return 0;
    }
    if (as_int(v, lo, hi, out) < 0) return lerr(L, "attribute '%s' must be an integer in [%ld, %ld]", key, lo, hi);
    return 0;
}

static int cfg_bool(const klayer_t *L, const char *key, int def, int *out)
{
    const cJSON *v = item(L->cfg, key);
    if (!v) return *out = def, 0;
    if (!cJSON_IsBool(v)) return lerr(L, "attribute '%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int cfg_num(const klayer_t *L, const char *key, double def, double *out)
{
    const cJSON *v = item(L->cfg, key);
    if (!v) return *out = def, 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return lerr(L, "attribute '%s' must be a number", key);
    *out = v->valuedouble;
    return 0;
}

/* String attribute, `def` when absent (NULL def: required). NULL on error (reported). */
static const char *cfg_str(const klayer_t *L, const char *key, const char *def)
{
    const cJSON *v = item(L->cfg, key);
    if (!v) {
        if (!def) lerr(L, "missing attribute '%s'", key);
        return def;
    }
    if (!cJSON_IsString(v)) {
        lerr(L, "attribute '%s' must be a string", key);
        return NULL;
    }
    return v->valuestring;
}

static int need_rank(const klayer_t *L, int rank)
{
    for (int i = 0; i < L->n_in; i++)
        if (L->in[i].rank != rank)
            return lerr(L, "input '%s' has rank %d, the layer needs a %s", L->in[i].name, L->in[i].rank,
                        rank == 3 ? "(length, channels) tensor" : "(features) vector");
    return 0;
}

static int need_inputs(const klayer_t *L, int lo, int hi)
{
    if (L->n_in < lo || L->n_in > hi) {
        if (lo == hi) return lerr(L, "has %d inputs, needs %d", L->n_in, lo);
        return lerr(L, "has %d inputs, needs %d or more", L->n_in, lo);
    }
    return 0;
}

/* ---- output: native layers and tensors ------------------------------------------ */

static cJSON *emit(kctx_t *c, const char *name, const char *op, const ktensor_t *in, int n_in)
{
    cJSON *o = cJSON_CreateObject(), *ins = cJSON_CreateArray();
    if (!o || !ins) goto oom;
    cJSON_AddItemToObject(o, "inputs", ins);
    for (int i = 0; i < n_in; i++)
        if (!cJSON_AddItemToArray(ins, cJSON_CreateString(in[i].name))) goto oom;
    if (!name || !cJSON_AddStringToObject(o, "name", name) || !cJSON_AddStringToObject(o, "op", op)) goto oom;
    cJSON_AddItemToArray(c->layers, o);
    return o;
oom:
    cJSON_Delete(o);
    if (!o) cJSON_Delete(ins);
    sl_log_error("%s: out of memory", c->file);
    return NULL;
}

static int add_num(cJSON *o, const char *k, double v) { return cJSON_AddNumberToObject(o, k, v) ? 0 : -1; }

/* Register tensor `name` (data owned from here) and name it in layer o under `key`. */
static int add_tensor(kctx_t *c, cJSON *o, const char *key, const char *name, int ndim, const long *shape,
                      float *data)
{
    if (c->nt == c->capt) {
        int cap = c->capt ? 2 * c->capt : 32;
        ktensor_data_t *t = sl_realloc(c->t, (size_t)cap * sizeof *t, "tensors");
        if (!t) goto fail;
        c->t = t, c->capt = cap;
    }
    char *nm = name ? sl_strdup(name) : NULL;
    if (!nm) goto fail;
    ktensor_data_t *t = &c->t[c->nt++];
    t->name = nm, t->ndim = ndim, t->data = data;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    return cJSON_AddStringToObject(o, key, name) ? 0 : -1;
fail:
    free(data);
    return -1;
}

/* ---- weights -------------------------------------------------------------------- */

static int is_model_class(const char *cls)
{
    return strcmp(cls, "Functional") == 0 || strcmp(cls, "Model") == 0 || strcmp(cls, "Sequential") == 0;
}

static const char *entry_class(const cJSON *e)
{
    const cJSON *v = item(e, "class_name");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *entry_name(const cJSON *e)
{
    const cJSON *v = item(item(e, "config"), "name");
    if (!cJSON_IsString(v)) v = item(e, "name");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The layer list of a model entry's config (Sequential: a list, or {layers: [...]}). */
static const cJSON *model_layers(const cJSON *cfg)
{
    if (cJSON_IsArray(cfg)) return cfg;
    const cJSON *l = item(cfg, "layers");
    return cJSON_IsArray(l) ? l : NULL;
}

/* Keras's weights of one layer that is not a model, in its order; *n_train of them
 * trainable (when the layer is). */
static int layer_kinds(const char *cls, const cJSON *cfg, const char **k, int *n_train)
{
    int n = 0;
    const cJSON *ub = item(cfg, "use_bias"), *sc = item(cfg, "scale"), *ce = item(cfg, "center");
    if (strcmp(cls, "Conv1D") == 0 || strcmp(cls, "Dense") == 0) {
        k[n++] = "kernel";
        if (!cJSON_IsFalse(ub)) k[n++] = "bias";
        *n_train = n;
    } else if (strcmp(cls, "BatchNormalization") == 0) {
        if (!cJSON_IsFalse(sc)) k[n++] = "gamma";
        if (!cJSON_IsFalse(ce)) k[n++] = "beta";
        *n_train = n;
        k[n++] = "moving_mean";
        k[n++] = "moving_variance";
    } else if (strcmp(cls, "PReLU") == 0) {
        k[n++] = "alpha";
        *n_train = n;
    } else {
        *n_train = 0;
    }
    return n;
}

static int ws_push(kwsrc_t *ws, const cJSON *owner, const char *kind, int trainable)
{
    if (ws->n == ws->cap) {
        int cap = ws->cap ? 2 * ws->cap : 16;
        kweight_t *w = sl_realloc(ws->w, (size_t)cap * sizeof *w, "weights");
        if (!w) return -1;
        ws->w = w, ws->cap = cap;
    }
    ws->w[ws->n++] = (kweight_t){owner, kind, trainable, NULL};
    return 0;
}

/* Expected weights of entry e in Keras order: pass 0 the trainable ones of trainable
 * layers, pass 1 the rest, recursing into nested models (flattened). */
static int expect_weights(kwsrc_t *ws, const cJSON *e, int pass, int depth)
{
    const char *cls = entry_class(e);
    const cJSON *cfg = item(e, "config");
    if (!cls || depth > 16) return 0;
    if (is_model_class(cls)) {
        const cJSON *ls = model_layers(cfg), *x;
        cJSON_ArrayForEach(x, ls) if (expect_weights(ws, x, pass, depth + 1) < 0) return -1;
        return 0;
    }
    const char *k[4];
    int nt, n = layer_kinds(cls, cfg, k, &nt);
    int trainable = !cJSON_IsFalse(item(cfg, "trainable"));
    if (!trainable) nt = 0;
    for (int i = pass ? nt : 0; i < (pass ? n : nt); i++)
        if (ws_push(ws, e, k[i], i < nt) < 0) return -1;
    return 0;
}

/* "a/b/kernel:0" -> is its kind "kernel"? */
static int name_has_kind(const char *name, const char *kind)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    size_t l = strlen(kind);
    return strncmp(b, kind, l) == 0 && (b[l] == ':' || b[l] == 0);
}

/* The weight group of top-level layer e (a layer or a nested model), matched against
 * what the architecture says it holds. NULL on error (reported); *ws NULL if the layer
 * has no weights. */
static int open_weights(kctx_t *c, const klayer_t *L, kwsrc_t **out)
{
    *out = NULL;
    kwsrc_t *ws = sl_calloc(1, sizeof *ws, "weights");
    if (!ws) return -1;
    ws->grp = -1;
    if (expect_weights(ws, L->e, 0, 0) < 0 || expect_weights(ws, L->e, 1, 0) < 0) goto oom;
    if (ws->n == 0) {
        free(ws->w), free(ws);
        return 0;
    }
    if (c->nsrcs == c->capsrcs) {
        int cap = c->capsrcs ? 2 * c->capsrcs : 16;
        kwsrc_t **v = sl_realloc(c->srcs, (size_t)cap * sizeof *v, "weights");
        if (!v) goto oom;
        c->srcs = v, c->capsrcs = cap;
    }
    c->srcs[c->nsrcs++] = ws;
    int has = kh5_has_group(c->wf, c->wroot, L->name);
    if (has < 0) return -1;
    if (!has) return wlerr(L, "no weights group '%s' in the weights file", L->name);
    if ((ws->grp = H5Gopen2(c->wroot, L->name, H5P_DEFAULT)) < 0)
        return wlerr(L, "cannot open weights group '%s'", L->name);
    const char *what = kstr(c, "%s: layer '%s' (%s)", c->wfile, L->name, L->cls);
    if (!what) return -1;
    int r = kh5_attr_strs(c->wf, ws->grp, "weight_names", what, &ws->names);
    if (r < 0) return -1;
    if (r == 0) return wlerr(L, "weights group '%s' has no 'weight_names' attribute", L->name);
    if (ws->names.n != ws->n) return wlerr(L, "weights group holds %d weights, the layer has %d", ws->names.n, ws->n);
    for (int i = 0; i < ws->n; i++) {
        if (!name_has_kind(ws->names.v[i], ws->w[i].kind))
            return wlerr(L, "weight %d is '%s', expected a '%s' (%s)", i, ws->names.v[i], ws->w[i].kind,
                        entry_name(ws->w[i].owner) ? entry_name(ws->w[i].owner) : "?");
        ws->w[i].dset = ws->names.v[i];
    }
    *out = ws;
    return 0;
oom:
    free(ws->w), free(ws);
    sl_log_error("%s: out of memory", c->file);
    return -1;
}

/* Weight `kind` of layer L with the given Keras shape, as floats (NULL: reported). */
static float *kweight(const klayer_t *L, const char *kind, int rank, const long *dims)
{
    const kweight_t *w = NULL;
    for (int i = 0; L->ws && i < L->ws->n; i++)
        if (L->ws->w[i].owner == L->e && strcmp(L->ws->w[i].kind, kind) == 0) w = &L->ws->w[i];
    if (!w) {
        wlerr(L, "no '%s' weight in the weights file", kind);
        return NULL;
    }
    const char *what = kstr(L->c, "%s: layer '%s' (%s)", L->c->wfile, L->name, L->cls);
    double *d = NULL;
    if (!what || kh5_read_floats(L->c->wf, L->ws->grp, w->dset, rank, dims, what, &d) < 0) return NULL;
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    float *f = sl_malloc((n ? n : 1) * sizeof(float), "weights");
    for (size_t i = 0; f && i < n; i++) {
        if (!isfinite(d[i]) || fabs(d[i]) > FLT_MAX) {
            wlerr(L, "dataset '%s' has a non-finite or out-of-range value at index %zu", w->dset, i);
            free(f), f = NULL;
            break;
        }
        f[i] = (float)d[i];
    }
    free(d);
    return f;
}

static float *filled(size_t n, float v)
{
    float *f = sl_malloc((n ? n : 1) * sizeof(float), "weights");
    for (size_t i = 0; f && i < n; i++) f[i] = v;
    return f;
}

/* ---- activations ------------------------------------------------------------------ */

/* Keras activation names and the engine's op (NULL: identity). */
static const struct {
    const char *keras, *op;
} ACTS[] = {
    {"linear", NULL}, {"relu", "relu"}, {"sigmoid", "sigmoid"}, {"tanh", "tanh"},
    {"softmax", "softmax"}, {"exponential", "exp"}, {"softplus", "softplus"}, {"elu", "elu"},
    {"gelu", "gelu"},
};

/* 0 and *op for a known activation; -1 (reported) otherwise. */
static int act_op(const klayer_t *L, const char *act, const char **op)
{
    for (size_t i = 0; i < sizeof ACTS / sizeof ACTS[0]; i++)
        if (strcmp(act, ACTS[i].keras) == 0) return *op = ACTS[i].op, 0;
    return lerr(L, "activation '%s' is not supported (supported: linear relu sigmoid tanh softmax "
                   "exponential softplus elu gelu)", act);
}

/* The activation attribute of L: its op (NULL: linear), or -1 (reported). */
static int layer_act(const klayer_t *L, const char **op)
{
    const char *act = cfg_str(L, "activation", "linear");
    return act ? act_op(L, act, op) : -1;
}

/* Native name of L's linear part: L's own name when no activation follows. */
static const char *linear_name(const klayer_t *L, const char *op)
{
    return op ? kstr(L->c, "%s/linear", L->nname) : L->nname;
}

/* Apply activation op (NULL: none) to x as native layer L->nname. */
static int emit_act(const klayer_t *L, const char *op, const ktensor_t *x, ktensor_t *out)
{
    *out = *x;
    if (!op) return 0;
    cJSON *o = emit(L->c, L->nname, op, x, 1);
    if (!o) return -1;
    out->name = L->nname;
    return 0;
}

/* ---- layers ------------------------------------------------------------------------ */

static int from_input(const klayer_t *L) { return L->c->input_name && strcmp(L->in[0].name, L->c->input_name) == 0; }

/* conv1d of Keras kernel kk [k][ci][co] (permuted to ACGT when fed by the input) */
static int emit_conv(const klayer_t *L, const char *name, const ktensor_t *x, int k, int s, int d, long pl,
                     long pr, int co, const float *kk, float *bias, ktensor_t *out)
{
    kctx_t *c = L->c;
    int ci = x->ch, perm = c->permute && from_input(L);
    long span = (long)d * (k - 1) + 1;
    if (x->len + pl + pr < span) {
        free(bias);
        return lerr(L, "kernel span %ld is longer than its (padded) input of %ld", span, x->len + pl + pr);
    }
    float *w = sl_malloc((size_t)co * ci * k * sizeof(float), "weights");
    if (!w) return free(bias), -1;
    for (int o = 0; o < co; o++)
        for (int j = 0; j < ci; j++)
            for (int t = 0; t < k; t++)
                w[((size_t)o * ci + j) * k + t] = kk[((size_t)t * ci + (perm ? c->perm[j] : j)) * co + o];
    cJSON *n = emit(c, name, "conv1d", x, 1), *pad = cJSON_CreateArray();
    long ws[3] = {co, ci, k}, bs[1] = {co};
    if (!n || !pad) return cJSON_Delete(pad), free(w), free(bias), -1;
    cJSON_AddItemToObject(n, "padding", pad);
    cJSON_AddItemToArray(pad, cJSON_CreateNumber((double)pl));
    cJSON_AddItemToArray(pad, cJSON_CreateNumber((double)pr));
    if (add_num(n, "in_channels", ci) || add_num(n, "out_channels", co) || add_num(n, "kernel_size", k)
        || add_num(n, "stride", s) || add_num(n, "dilation", d)
        || add_tensor(c, n, "weight", kstr(c, "%s.weight", name), 3, ws, w) < 0)
        return free(bias), -1;
    if (bias && add_tensor(c, n, "bias", kstr(c, "%s.bias", name), 1, bs, bias) < 0) return -1;
    *out = (ktensor_t){name, (int)((x->len + pl + pr - span) / s + 1), co, 3};
    return 0;
}

static int k_conv1d(klayer_t *L, ktensor_t *out)
{
    int f, k, s, d, g, ub;
    const char *op = NULL, *fmt, *pad;
    if (need_inputs(L, 1, 1) || need_rank(L, 3) || cfg_int(L, "filters", REQUIRED, 1, MAX_DIM, &f)
        || cfg_int(L, "kernel_size", REQUIRED, 1, MAX_DIM, &k) || cfg_int(L, "strides", 1, 1, MAX_DIM, &s)
        || cfg_int(L, "dilation_rate", 1, 1, MAX_DIM, &d) || cfg_int(L, "groups", 1, 1, MAX_DIM, &g)
        || cfg_bool(L, "use_bias", 1, &ub) || layer_act(L, &op) < 0)
        return -1;
    if (!(fmt = cfg_str(L, "data_format", "channels_last")) || !(pad = cfg_str(L, "padding", "valid"))) return -1;
    if (strcmp(fmt, "channels_last") != 0) return lerr(L, "data_format '%s' is not supported (channels_last only)", fmt);
    if (g != 1) return lerr(L, "groups %d is not supported", g);
    if (s > 1 && d > 1) return lerr(L, "strides > 1 with dilation_rate > 1 (Keras refuses it too)");
    const ktensor_t *x = &L->in[0];
    long span = (long)d * (k - 1) + 1, pl = 0, pr = 0;
    if (strcmp(pad, "same") == 0) { /* TF: output ceil(L/s), the odd pad on the right */
        long o = (x->len + s - 1) / s, tot = (o - 1) * s + span - x->len;
        if (tot < 0) tot = 0;
        pl = tot / 2, pr = tot - pl;
    } else if (strcmp(pad, "causal") == 0) {
        pl = span - 1;
    } else if (strcmp(pad, "valid") != 0) {
        return lerr(L, "padding '%s' is not valid, same or causal", pad);
    }
    long kd[3] = {k, x->ch, f}, bd[1] = {f};
    float *kk = kweight(L, "kernel", 3, kd), *b = kk && ub ? kweight(L, "bias", 1, bd) : NULL;
    if (!kk || (ub && !b)) return free(kk), -1;
    ktensor_t lin;
    int r = emit_conv(L, linear_name(L, op), x, k, s, d, pl, pr, f, kk, b, &lin);
    free(kk);
    return r < 0 ? -1 : emit_act(L, op, &lin, out);
}

static int k_dense(klayer_t *L, ktensor_t *out)
{
    int u, ub;
    const char *op = NULL;
    if (need_inputs(L, 1, 1) || cfg_int(L, "units", REQUIRED, 1, MAX_DIM, &u) || cfg_bool(L, "use_bias", 1, &ub)
        || layer_act(L, &op) < 0)
        return -1;
    const ktensor_t *x = &L->in[0];
    long kd[2] = {x->ch, u}, bd[1] = {u};
    float *kk = kweight(L, "kernel", 2, kd), *b = kk && ub ? kweight(L, "bias", 1, bd) : NULL;
    if (!kk || (ub && !b)) return free(kk), -1;
    ktensor_t lin;
    const char *name = linear_name(L, op);
    if (x->rank == 3) { /* Keras applies Dense at every position: a width-1 conv */
        int r = emit_conv(L, name, x, 1, 1, 1, 0, 0, u, kk, b, &lin);
        free(kk);
        if (r < 0) return -1;
        return emit_act(L, op, &lin, out);
    }
    float *w = sl_malloc((size_t)u * x->ch * sizeof(float), "weights");
    for (int o = 0; w && o < u; o++)
        for (int i = 0; i < x->ch; i++) w[(size_t)o * x->ch + i] = kk[(size_t)i * u + o];
    free(kk);
    cJSON *n = w ? emit(L->c, name, "linear", x, 1) : NULL;
    long ws[2] = {u, x->ch};
    if (!n) return free(w), free(b), -1;
    int bad = add_tensor(L->c, n, "weight", kstr(L->c, "%s.weight", name), 2, ws, w) < 0;
    bad |= b && add_tensor(L->c, n, "bias", kstr(L->c, "%s.bias", name), 1, bd, b) < 0;
    if (bad || add_num(n, "in_features", x->ch) || add_num(n, "out_features", u)) return -1;
    lin = (ktensor_t){name, 1, u, 2};
    return emit_act(L, op, &lin, out);
}

static int k_batchnorm(klayer_t *L, ktensor_t *out)
{
    int center, scale, axis;
    double eps;
    if (need_inputs(L, 1, 1) || cfg_bool(L, "center", 1, &center) || cfg_bool(L, "scale", 1, &scale)
        || cfg_num(L, "epsilon", 1e-3, &eps) || cfg_int(L, "axis", -1, -8, 8, &axis))
        return -1;
    const ktensor_t *x = &L->in[0];
    if (axis != -1 && axis != x->rank - 1) return lerr(L, "axis %d is not the channel axis (-1)", axis);
    if (!(eps > 0)) return lerr(L, "epsilon must be positive");
    long cd[1] = {x->ch};
    size_t C = (size_t)x->ch;
    float *g = scale ? kweight(L, "gamma", 1, cd) : filled(C, 1.0f);
    float *b = g ? (center ? kweight(L, "beta", 1, cd) : filled(C, 0.0f)) : NULL;
    float *m = b ? kweight(L, "moving_mean", 1, cd) : NULL;
    float *v = m ? kweight(L, "moving_variance", 1, cd) : NULL;
    cJSON *n = v ? emit(L->c, L->nname, "batchnorm", x, 1) : NULL;
    if (!n) return free(g), free(b), free(m), free(v), -1;
    const char *nm = L->nname;
    kctx_t *c = L->c;
    int bad = add_tensor(c, n, "weight", kstr(c, "%s.weight", nm), 1, cd, g) < 0; /* each takes its data */
    bad |= add_tensor(c, n, "bias", kstr(c, "%s.bias", nm), 1, cd, b) < 0;
    bad |= add_tensor(c, n, "running_mean", kstr(c, "%s.running_mean", nm), 1, cd, m) < 0;
    bad |= add_tensor(c, n, "running_var", kstr(c, "%s.running_var", nm), 1, cd, v) < 0;
    if (bad || add_num(n, "eps", eps)) return -1;
    *out = (ktensor_t){nm, x->len, x->ch, x->rank};
    return 0;
}

static int k_pool(klayer_t *L, ktensor_t *out)
{
    int k, s;
    const char *pad, *fmt;
    int is_max = strncmp(L->cls, "Max", 3) == 0;
    if (need_inputs(L, 1, 1) || need_rank(L, 3) || cfg_int(L, "pool_size", 2, 1, MAX_DIM, &k)) return -1;
    if (cfg_int(L, "strides", k, 1, MAX_DIM, &s) || !(pad = cfg_str(L, "padding", "valid"))
        || !(fmt = cfg_str(L, "data_format", "channels_last")))
        return -1;
    if (strcmp(fmt, "channels_last") != 0) return lerr(L, "data_format '%s' is not supported (channels_last only)", fmt);
    const ktensor_t *x = &L->in[0];
    long p = 0;
    if (strcmp(pad, "same") == 0) {
        long o = (x->len + s - 1) / s, tot = (o - 1) * s + k - x->len;
        if (tot < 0) tot = 0;
        if (tot % 2 || tot / 2 > k / 2)
            return lerr(L, "padding 'same' here pads %ld left and %ld right; only equal padding is supported",
                        tot / 2, tot - tot / 2);
        p = tot / 2;
    } else if (strcmp(pad, "valid") != 0) {
        return lerr(L, "padding '%s' is not valid or same", pad);
    }
    if (x->len + 2 * p < k) return lerr(L, "pool size %d is longer than its input of %d", k, x->len);
    cJSON *n = emit(L->c, L->nname, is_max ? "maxpool1d" : "avgpool1d", x, 1);
    if (!n || add_num(n, "kernel_size", k) || add_num(n, "stride", s) || add_num(n, "padding", (double)p)) return -1;
    if (!is_max && !cJSON_AddBoolToObject(n, "count_include_pad", 0)) return -1; /* Keras averages in-bounds values */
    *out = (ktensor_t){L->nname, (int)((x->len + 2 * p - k) / s + 1), x->ch, 3};
    return 0;
}

static int k_global_pool(klayer_t *L, ktensor_t *out)
{
    int keep;
    const char *fmt;
    if (need_inputs(L, 1, 1) || need_rank(L, 3) || cfg_bool(L, "keepdims", 0, &keep)
        || !(fmt = cfg_str(L, "data_format", "channels_last")))
        return -1;
    if (strcmp(fmt, "channels_last") != 0) return lerr(L, "data_format '%s' is not supported (channels_last only)", fmt);
    int is_max = strncmp(L->cls, "GlobalMax", 9) == 0;
    if (!emit(L->c, L->nname, is_max ? "global_maxpool" : "global_avgpool", L->in, 1)) return -1;
    *out = (ktensor_t){L->nname, 1, L->in[0].ch, keep ? 3 : 2};
    return 0;
}

/* [len][ch] to one vector: the memory is already Keras's row-major (t, c) order */
static int emit_flatten(const klayer_t *L, ktensor_t *out)
{
    const ktensor_t *x = &L->in[0];
    *out = *x;
    if (x->rank == 2) return 0;
    if ((long)x->len * x->ch > MAX_DIM) return lerr(L, "flattened size too large");
    cJSON *n = emit(L->c, L->nname, "flatten", x, 1);
    if (!n || !cJSON_AddStringToObject(n, "order", "channel_last")) return -1;
    *out = (ktensor_t){L->nname, 1, x->len * x->ch, 2};
    return 0;
}

static int k_flatten(klayer_t *L, ktensor_t *out)
{
    const char *fmt;
    if (need_inputs(L, 1, 1) || !(fmt = cfg_str(L, "data_format", "channels_last"))) return -1;
    if (strcmp(fmt, "channels_last") != 0) return lerr(L, "data_format '%s' is not supported (channels_last only)", fmt);
    return emit_flatten(L, out);
}

/* Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout: identity at inference */
static int k_identity(klayer_t *L, ktensor_t *out)
{
    if (need_inputs(L, 1, 1)) return -1;
    *out = L->in[0];
    return 0;
}

static int k_reshape(klayer_t *L, ktensor_t *out)
{
    const cJSON *ts = item(L->cfg, "target_shape");
    if (need_inputs(L, 1, 1)) return -1;
    int n = cJSON_IsArray(ts) ? cJSON_GetArraySize(ts) : -1, v[2] = {0, 0}, unknown = -1;
    const ktensor_t *x = &L->in[0];
    long total = (long)x->len * x->ch, known = 1;
    if (n < 1 || n > 2) return lerr(L, "target_shape must have one or two dimensions");
    for (int i = 0; i < n; i++) {
        if (as_int(cJSON_GetArrayItem(ts, i), -1, MAX_DIM, &v[i]) < 0 || v[i] == 0 || (v[i] == -1 && unknown >= 0))
            return lerr(L, "target_shape entries must be positive integers (one may be -1)");
        if (v[i] == -1) unknown = i;
        else known *= v[i];
    }
    if (unknown >= 0 && total % known == 0) v[unknown] = (int)(total / known), known = total;
    if (known != total) return lerr(L, "target_shape does not hold the %ld values of its input", total);
    if (n == 1) return emit_flatten(L, out);
    if (v[0] == x->len) { /* (len, ch) unchanged */
        *out = *x, out->rank = 3;
        return 0;
    }
    if (v[0] == 1) {
        if (emit_flatten(L, out) < 0) return -1;
        out->rank = 3;
        return 0;
    }
    return lerr(L, "reshape (%d, %d) -> (%d, %d) moves values between positions; not supported", x->len, x->ch,
                v[0], v[1]);
}

static int k_cropping(klayer_t *L, ktensor_t *out)
{
    const cJSON *cr = item(L->cfg, "cropping");
    int a = 1, b = 1;
    if (need_inputs(L, 1, 1) || need_rank(L, 3)) return -1;
    if (cJSON_IsArray(cr) && cJSON_GetArraySize(cr) == 2) {
        if (as_int(cJSON_GetArrayItem(cr, 0), 0, MAX_DIM, &a) || as_int(cJSON_GetArrayItem(cr, 1), 0, MAX_DIM, &b))
            return lerr(L, "cropping must be two non-negative integers");
    } else if (cr) {
        if (as_int(cr, 0, MAX_DIM, &a) < 0) return lerr(L, "cropping must be two non-negative integers");
        b = a;
    }
    const ktensor_t *x = &L->in[0];
    if ((long)a + b >= x->len) return lerr(L, "cropping %d + %d leaves nothing of its input of %d", a, b, x->len);
    cJSON *n = emit(L->c, L->nname, "crop", x, 1);
    if (!n || add_num(n, "start", a) || add_num(n, "stop", x->len - b)) return -1;
    *out = (ktensor_t){L->nname, x->len - a - b, x->ch, 3};
    return 0;
}

static int k_add(klayer_t *L, ktensor_t *out)
{
    if (need_inputs(L, 2, 64)) return -1;
    for (int i = 1; i < L->n_in; i++)
        if (L->in[i].len != L->in[0].len || L->in[i].ch != L->in[0].ch || L->in[i].rank != L->in[0].rank)
            return lerr(L, "inputs '%s' and '%s' differ in shape", L->in[0].name, L->in[i].name);
    if (!emit(L->c, L->nname, "add", L->in, L->n_in)) return -1;
    *out = L->in[0], out->name = L->nname;
    return 0;
}

static int k_concat(klayer_t *L, ktensor_t *out)
{
    int axis;
    if (need_inputs(L, 2, 64) || cfg_int(L, "axis", -1, -3, 2, &axis)) return -1;
    const ktensor_t *x = L->in;
    if (need_rank(L, x->rank)) return -1;
    int chan = axis == -1 || axis == x->rank - 1, len = x->rank == 3 && (axis == 1 || axis == -2);
    if (!chan && !len) return lerr(L, "axis %d is not the length or channel axis", axis);
    long sum = 0;
    for (int i = 0; i < L->n_in; i++) {
        if ((chan ? L->in[i].len != x->len : L->in[i].ch != x->ch))
            return lerr(L, "inputs '%s' and '%s' differ in %s", x->name, L->in[i].name, chan ? "length" : "channels");
        sum += chan ? L->in[i].ch : L->in[i].len;
    }
    if (sum > MAX_DIM) return lerr(L, "result too large");
    cJSON *n = emit(L->c, L->nname, "concat", L->in, L->n_in);
    if (!n || !cJSON_AddStringToObject(n, "axis", chan ? "channel" : "length")) return -1;
    *out = (ktensor_t){L->nname, chan ? x->len : (int)sum, chan ? (int)sum : x->ch, x->rank};
    return 0;
}

static int k_activation(klayer_t *L, ktensor_t *out)
{
    const char *act, *op = NULL;
    if (need_inputs(L, 1, 1) || !(act = cfg_str(L, "activation", NULL)) || act_op(L, act, &op) < 0) return -1;
    return emit_act(L, op, L->in, out);
}

static int k_relu(klayer_t *L, ktensor_t *out)
{
    double mv, ns, th;
    if (need_inputs(L, 1, 1) || cfg_num(L, "max_value", INFINITY, &mv) || cfg_num(L, "negative_slope", 0, &ns)
        || cfg_num(L, "threshold", 0, &th))
        return -1;
    if (!isinf(mv) || ns != 0 || th != 0)
        return lerr(L, "only max_value null, negative_slope 0 and threshold 0 are supported");
    return emit_act(L, "relu", L->in, out);
}

static int k_elu(klayer_t *L, ktensor_t *out)
{
    double a;
    if (need_inputs(L, 1, 1) || cfg_num(L, "alpha", 1.0, &a) < 0) return -1;
    if (emit_act(L, "elu", L->in, out) < 0) return -1;
    return add_num(cJSON_GetArrayItem(L->c->layers, cJSON_GetArraySize(L->c->layers) - 1), "alpha", a);
}

static int k_softmax(klayer_t *L, ktensor_t *out)
{
    int axis;
    if (need_inputs(L, 1, 1) || cfg_int(L, "axis", -1, -3, 2, &axis)) return -1;
    if (axis != -1 && axis != L->in[0].rank - 1) return lerr(L, "softmax over axis %d (channels only)", axis);
    return emit_act(L, "softmax", L->in, out);
}

/* Does the base64 text s (whitespace ignored) decode to bytes containing `needle`? */
static int b64_contains(const char *s, const char *needle)
{
    size_t n = strlen(s), m = strlen(needle), k = 0;
    unsigned char *buf = malloc(n / 4 * 3 + 4);
    if (!buf) return 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = s; *p && *p != '='; p++) {
        const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *q = strchr(al, *p);
        if (!q || !*p) continue;
        acc = (acc << 6) | (unsigned)(q - al), bits += 6;
        if (bits >= 8) buf[k++] = (unsigned char)(acc >> (bits - 8)), bits -= 8;
    }
    int found = 0;
    for (size_t i = 0; !found && i + m <= k; i++) found = memcmp(buf + i, needle, m) == 0;
    free(buf);
    return found;
}

/* Name of a nested model in the top graph whose name contains "wo_bias" (ChromBPNet's
 * bias-free model), or NULL. */
static const char *chrombpnet_submodel(const kctx_t *c)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, c->top)
    {
        const char *cls = entry_class(e), *nm = entry_name(e);
        if (cls && nm && is_model_class(cls) && strstr(nm, "wo_bias")) return nm;
    }
    return NULL;
}

/* A Lambda's body is Python bytecode. One is read: ChromBPNet's count head,
 * `tf.math.reduce_logsumexp(x, axis=-1, keepdims=True)` of the two concatenated counts
 * (chrombpnet_with_bias_model.py): the only reduction of a (2) vector to one value that
 * this bytecode can name. logsumexp(a, b) = b + softplus(a - b), all engine ops. */
static int k_lambda(klayer_t *L, ktensor_t *out)
{
    const cJSON *fn = item(L->cfg, "function");
    const char *ft = cfg_str(L, "function_type", "lambda");
    if (cJSON_IsArray(fn)) fn = cJSON_GetArrayItem(fn, 0);
    int lse = ft && strcmp(ft, "lambda") == 0 && cJSON_IsString(fn) && b64_contains(fn->valuestring, "reduce_logsumexp");
    if (!lse || L->n_in != 1 || L->in[0].rank != 2 || L->in[0].ch != 2) {
        const char *sub = chrombpnet_submodel(L->c);
        if (sub)
            return lerr(L, "a Lambda's body is Python code, which seqlift cannot read; explain the nested model "
                           "'%s' instead (chrombpnet_nobias.h5)", sub);
        return lerr(L, "a Lambda's body is Python code, which seqlift cannot read");
    }
    kctx_t *c = L->c;
    const ktensor_t *x = L->in;
    static const float dw[2] = {1, -1}, bw[2] = {0, 1};
    const char *dn = kstr(c, "%s/diff", L->nname), *bn = kstr(c, "%s/second", L->nname),
               *sn = kstr(c, "%s/softplus", L->nname);
    long ws[2] = {1, 2};
    cJSON *d = emit(c, dn, "linear", x, 1);
    float *w1 = sl_malloc(sizeof dw, "weights");
    if (!d || !w1) return free(w1), -1;
    memcpy(w1, dw, sizeof dw);
    if (add_num(d, "in_features", 2) || add_num(d, "out_features", 1)
        || add_tensor(c, d, "weight", kstr(c, "%s.weight", dn), 2, ws, w1) < 0)
        return -1;
    cJSON *b = emit(c, bn, "linear", x, 1);
    float *w2 = sl_malloc(sizeof bw, "weights");
    if (!b || !w2) return free(w2), -1;
    memcpy(w2, bw, sizeof bw);
    if (add_num(b, "in_features", 2) || add_num(b, "out_features", 1)
        || add_tensor(c, b, "weight", kstr(c, "%s.weight", bn), 2, ws, w2) < 0)
        return -1;
    ktensor_t t[2] = {{dn, 1, 1, 2}, {bn, 1, 1, 2}};
    if (!emit(c, sn, "softplus", &t[0], 1)) return -1;
    t[0].name = sn;
    if (!emit(c, L->nname, "add", t, 2)) return -1;
    *out = (ktensor_t){L->nname, 1, 1, 2};
    return 0;
}

typedef int (*kconv_f)(klayer_t *L, ktensor_t *out);

/* Every Keras layer class seqlift knows: its converter, or why it is refused. */
static const struct {
    const char *cls;
    kconv_f fn;
    const char *refused;
} CLASSES[] = {
    {"Conv1D", k_conv1d, NULL},
    {"Dense", k_dense, NULL},
    {"BatchNormalization", k_batchnorm, NULL},
    {"MaxPooling1D", k_pool, NULL},
    {"AveragePooling1D", k_pool, NULL},
    {"GlobalAveragePooling1D", k_global_pool, NULL},
    {"GlobalMaxPooling1D", k_global_pool, NULL},
    {"Flatten", k_flatten, NULL},
    {"Dropout", k_identity, NULL},
    {"SpatialDropout1D", k_identity, NULL},
    {"GaussianNoise", k_identity, NULL},
    {"GaussianDropout", k_identity, NULL},
    {"Reshape", k_reshape, NULL},
    {"Cropping1D", k_cropping, NULL},
    {"Add", k_add, NULL},
    {"Concatenate", k_concat, NULL},
    {"Activation", k_activation, NULL},
    {"ReLU", k_relu, NULL},
    {"ELU", k_elu, NULL},
    {"Softmax", k_softmax, NULL},
    {"Lambda", k_lambda, NULL},
    {"LeakyReLU", NULL, "seqlift's engine has no leaky ReLU op"},
    {"PReLU", NULL, "seqlift's engine has no parametric ReLU op"},
};

/* ---- graphs ----------------------------------------------------------------------- */

static int conv_entry(kctx_t *c, const cJSON *e, const char *prefix, const ktensor_t *in, int n_in, kwsrc_t *ws,
                      int depth, ktensor_t **outs, int *n_outs);

/* (length, 4) from an input shape [null, L, 4]; 0 / -1 (reported). */
static int input_shape(const klayer_t *L, const cJSON *shape, int *len)
{
    int ch;
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3)
        return lerr(L, "input shape must be (length, 4)");
    const cJSON *l = cJSON_GetArrayItem(shape, 1);
    if (cJSON_IsNull(l))
        return lerr(L, "input length is not fixed (None); seqlift needs a model built for one input length");
    if (as_int(l, 1, 1 << 28, len) < 0 || as_int(cJSON_GetArrayItem(shape, 2), 4, 4, &ch) < 0)
        return lerr(L, "input shape must be (length, 4) with a positive length");
    return 0;
}

static int set_input(kctx_t *c, const klayer_t *L, const cJSON *cfg, const char *name, ktensor_t *out)
{
    const cJSON *sh = item(cfg, "batch_input_shape");
    if (!sh) sh = item(cfg, "batch_shape");
    if (!sh) return lerr(L, "missing attribute 'batch_input_shape' (the input shape)");
    if (input_shape(L, sh, &c->in_len) < 0) return -1;
    c->input_name = name;
    *out = (ktensor_t){name, c->in_len, 4, 3};
    return 0;
}

static klayer_t layer_of(kctx_t *c, const cJSON *e, const char *prefix)
{
    klayer_t L = {c, e, entry_name(e), entry_class(e), item(e, "config"), NULL, NULL, 0, NULL};
    if (!L.name) L.name = "?";
    if (!L.cls) L.cls = "?";
    L.nname = kstr(c, "%s%s", prefix, L.name);
    return L;
}

static int conv_sequential(kctx_t *c, const klayer_t *M, const cJSON *ls, const char *prefix, const ktensor_t *in,
                           int n_in, kwsrc_t *ws, int depth, ktensor_t **outs, int *n_outs)
{
    ktensor_t cur = {0};
    int have = 0;
    if (in) {
        if (n_in != 1) return lerr(M, "a Sequential model takes one input, given %d", n_in);
        cur = in[0], have = 1;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, ls)
    {
        klayer_t L = layer_of(c, e, prefix);
        if (!L.nname) return -1;
        if (strcmp(L.cls, "InputLayer") == 0) {
            if (!have && set_input(c, &L, L.cfg, L.name, &cur) < 0) return -1;
            have = 1;
            continue;
        }
        if (!have) { /* Keras 2.1.6: the first layer carries batch_input_shape */
            const char *nm = kstr(c, "%s_input", L.name);
            if (!nm || set_input(c, &L, L.cfg, nm, &cur) < 0) return -1;
            have = 1;
        }
        ktensor_t *o = NULL;
        int no = 0;
        if (conv_entry(c, e, prefix, &cur, 1, ws, depth, &o, &no) < 0) return -1;
        if (no != 1) {
            free(o);
            return lerr(&L, "has %d outputs; a Sequential model needs one per layer", no);
        }
        cur = o[0];
        free(o);
    }
    if (!have) return lerr(M, "has no layers");
    if (!(*outs = sl_malloc(sizeof(ktensor_t), "outputs"))) return -1;
    (*outs)[0] = cur, *n_outs = 1;
    return 0;
}

typedef struct {
    const cJSON *e;
    const char *name;
    klayer_t L;  /* for messages (made once: the resolution passes below repeat) */
    ktensor_t *out;
    int n_out, done;
} knode_t;

static knode_t *find_node(knode_t *nodes, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(nodes[i].name, name) == 0) return &nodes[i];
    return NULL;
}

/* A [name, node_index, tensor_index, ...] reference: its tensor, NULL if not yet made
 * (*bad set when it can never be). */
static const ktensor_t *resolve_ref(const klayer_t *L, knode_t *nodes, int n, const cJSON *ref, int *bad)
{
    const cJSON *nm = cJSON_GetArrayItem(ref, 0);
    int ti;
    if (!cJSON_IsArray(ref) || cJSON_GetArraySize(ref) < 3 || !cJSON_IsString(nm)
        || as_int(cJSON_GetArrayItem(ref, 2), 0, 1 << 20, &ti) < 0) {
        *bad = 1, lerr(L, "an input reference is not [layer, node, tensor, ...]");
        return NULL;
    }
    knode_t *p = find_node(nodes, n, nm->valuestring);
    if (!p) {
        *bad = 1, lerr(L, "input '%s' is not a layer of the model", nm->valuestring);
        return NULL;
    }
    if (!p->done) return NULL;
    if (ti >= p->n_out) {
        *bad = 1, lerr(L, "input '%s' has no output %d", nm->valuestring, ti);
        return NULL;
    }
    return &p->out[ti];
}

/* One Functional graph being converted. */
typedef struct {
    kctx_t *c;
    knode_t *nodes;
    int n;
    const char *prefix;
    kwsrc_t *ws;
    int depth;
} kgraph_t;

/* Convert node k after its producers (depth first; each node once). */
static int resolve_node(kgraph_t *G, int k)
{
    knode_t *p = &G->nodes[k];
    if (p->done == 1) return 0;
    if (p->done == 2) return lerr(&p->L, "its inputs depend on itself (a cycle)");
    if (strcmp(p->L.cls, "InputLayer") == 0) return lerr(&p->L, "not listed in the model's input_layers");
    const cJSON *ib = item(p->e, "inbound_nodes"), *node = cJSON_GetArrayItem(ib, 0);
    int nn = cJSON_IsArray(ib) ? cJSON_GetArraySize(ib) : -1;
    if (nn != 1 || !cJSON_IsArray(node) || cJSON_GetArraySize(node) < 1 || cJSON_GetArraySize(node) > 64) {
        if (nn > 1) return lerr(&p->L, "called %d times (a shared layer); not supported", nn);
        return lerr(&p->L, "'inbound_nodes' must hold one call as a list of [layer, node, tensor] inputs");
    }
    int na = cJSON_GetArraySize(node), bad = 0, r = -1;
    ktensor_t *ins = sl_malloc((size_t)na * sizeof *ins, "inputs"); /* heap: the recursion may be deep */
    if (!ins) return -1;
    p->done = 2;
    for (int a = 0; a < na; a++) {
        const cJSON *ref = cJSON_GetArrayItem(node, a), *nm = cJSON_GetArrayItem(ref, 0);
        knode_t *q = cJSON_IsString(nm) ? find_node(G->nodes, G->n, nm->valuestring) : NULL;
        if (q && resolve_node(G, (int)(q - G->nodes)) < 0) goto done;
        const ktensor_t *t = resolve_ref(&p->L, G->nodes, G->n, ref, &bad);
        if (!t) {
            if (!bad) lerr(&p->L, "an input is not computed");
            goto done;
        }
        ins[a] = *t;
    }
    if (conv_entry(G->c, p->e, G->prefix, ins, na, G->ws, G->depth, &p->out, &p->n_out) < 0) goto done;
    p->done = 1, r = 0;
done:
    free(ins);
    return r;
}

static int conv_functional(kctx_t *c, const klayer_t *M, const char *prefix, const ktensor_t *in, int n_in,
                           kwsrc_t *ws, int depth, ktensor_t **outs, int *n_outs)
{
    const cJSON *ls = model_layers(M->cfg), *il = item(M->cfg, "input_layers"), *ol = item(M->cfg, "output_layers");
    int n = cJSON_GetArraySize(ls), ret = -1;
    if (!ls || !cJSON_IsArray(il) || !cJSON_IsArray(ol) || n < 1 || cJSON_GetArraySize(ol) < 1)
        return lerr(M, "config needs 'layers', 'input_layers' and 'output_layers'");
    if (n > 4096) return lerr(M, "more than 4096 layers"); /* resolution below is quadratic */
    knode_t *nodes = sl_calloc((size_t)n, sizeof *nodes, "layers");
    if (!nodes) return -1;
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, ls)
    {
        nodes[i].e = e, nodes[i].name = entry_name(e), nodes[i].L = layer_of(c, e, prefix);
        if (!nodes[i].L.nname) goto done;
        if (!nodes[i].name || !entry_class(e)) {
            lerr(&nodes[i].L, "a layer without 'class_name' or 'name'");
            goto done;
        }
        if (find_node(nodes, i, nodes[i].name)) {
            lerr(&nodes[i].L, "name used twice");
            goto done;
        }
        i++;
    }
    /* inputs: the model's input, or the tensors a nested model is called on */
    int n_il = cJSON_GetArraySize(il);
    if (n_il != (in ? n_in : 1)) {
        const cJSON *r = cJSON_GetArrayItem(il, n_il > 1 ? 1 : 0);
        knode_t *p = cJSON_IsArray(r) && cJSON_IsString(cJSON_GetArrayItem(r, 0))
                         ? find_node(nodes, n, cJSON_GetArrayItem(r, 0)->valuestring) : NULL;
        klayer_t L = p ? p->L : *M;
        if (!in && n_il > 1) lerr(&L, "a second model input; seqlift models take one sequence input");
        else lerr(&L, "the model has %d inputs, called with %d", n_il, in ? n_in : 1);
        goto done;
    }
    for (int k = 0; k < n_il; k++) {
        const cJSON *r = cJSON_GetArrayItem(il, k), *nm = cJSON_GetArrayItem(r, 0);
        knode_t *p = cJSON_IsString(nm) ? find_node(nodes, n, nm->valuestring) : NULL;
        if (!p || strcmp(entry_class(p->e), "InputLayer") != 0) {
            lerr(M, "input_layers entry %d is not an InputLayer of the model", k);
            goto done;
        }
        klayer_t L = p->L;
        if (!(p->out = sl_malloc(sizeof(ktensor_t), "tensor"))) goto done;
        if (in) p->out[0] = in[k];
        else if (set_input(c, &L, L.cfg, L.name, p->out) < 0) goto done;
        p->n_out = 1, p->done = 1;
    }
    /* the rest in dependency order (Keras lists them topologically; do not rely on it) */
    kgraph_t G = {c, nodes, n, prefix, ws, depth};
    for (int k = 0; k < n; k++)
        if (resolve_node(&G, k) < 0) goto done;
    int no = cJSON_GetArraySize(ol);
    if (!(*outs = sl_malloc((size_t)no * sizeof(ktensor_t), "outputs"))) goto done;
    for (int k = 0; k < no; k++) {
        int bad = 0;
        const ktensor_t *t = resolve_ref(M, nodes, n, cJSON_GetArrayItem(ol, k), &bad);
        if (!t) {
            if (!bad) lerr(M, "output %d is not computed", k);
            free(*outs), *outs = NULL;
            goto done;
        }
        (*outs)[k] = *t;
    }
    *n_outs = no;
    ret = 0;
done:
    for (int k = 0; k < n; k++) free(nodes[k].out);
    free(nodes);
    return ret;
}

/* Convert one layer entry (a layer or a nested model) applied to in[0..n_in). */
static int conv_entry(kctx_t *c, const cJSON *e, const char *prefix, const ktensor_t *in, int n_in, kwsrc_t *ws,
                      int depth, ktensor_t **outs, int *n_outs)
{
    klayer_t L = layer_of(c, e, prefix);
    if (!L.nname) return -1;
    L.in = in, L.n_in = n_in;
    if (!cJSON_IsObject(e)) return lerr(&L, "a layer entry must be a JSON object");
    int model = is_model_class(L.cls), k = -1;
    for (int i = 0; i < (int)(sizeof CLASSES / sizeof CLASSES[0]) && k < 0; i++)
        if (strcmp(L.cls, CLASSES[i].cls) == 0) k = i;
    if (!model && k < 0)
        return lerr(&L, "layer class not supported (a 2D/3D layer, a recurrent layer or a custom layer?)");
    if (k >= 0 && !CLASSES[k].fn) return lerr(&L, "not supported: %s", CLASSES[k].refused);
    if (!ws && depth > 0 && open_weights(c, &L, &ws) < 0) return -1;
    L.ws = ws;
    *outs = NULL, *n_outs = 0;
    if (model) {
        const cJSON *ls = model_layers(L.cfg);
        if (!ls) return lerr(&L, "config has no 'layers' list");
        if (depth > 16) return lerr(&L, "models nested too deeply");
        const char *pre = depth ? kstr(c, "%s/", L.nname) : "";
        if (!pre) return -1;
        if (strcmp(L.cls, "Sequential") == 0)
            return conv_sequential(c, &L, ls, pre, depth ? in : NULL, n_in, ws, depth + 1, outs, n_outs);
        return conv_functional(c, &L, pre, depth ? in : NULL, n_in, ws, depth + 1, outs, n_outs);
    }
    if (!L.cfg) return lerr(&L, "missing 'config'");
    for (int i = 0; c->permute && i < n_in; i++)
        if (c->input_name && strcmp(in[i].name, c->input_name) == 0 && CLASSES[k].fn != k_conv1d
            && CLASSES[k].fn != k_dense)
            return lerr(&L, "a channel order other than ACGT needs the input to feed Conv1D or Dense layers only");
    if (!(*outs = sl_malloc(sizeof(ktensor_t), "tensor"))) return -1;
    *n_outs = 1;
    if (CLASSES[k].fn(&L, *outs) < 0) {
        free(*outs), *outs = NULL;
        return -1;
    }
    return 0;
}

/* ---- safetensors ------------------------------------------------------------------ */

static int write_safetensors(kctx_t *c, sl_keras_conv_t *out)
{
    cJSON *h = cJSON_CreateObject();
    size_t off = 0;
    char *hs = NULL;
    for (int i = 0; h && i < c->nt; i++) {
        ktensor_data_t *t = &c->t[i];
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
        cJSON *o = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *of = cJSON_CreateArray();
        if (!o || !sh || !of) {
            cJSON_Delete(o), cJSON_Delete(sh), cJSON_Delete(of);
            goto fail;
        }
        cJSON_AddItemToObject(h, t->name, o);
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON_AddItemToObject(o, "shape", sh);
        cJSON_AddItemToObject(o, "data_offsets", of);
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += n * 4;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    if (!h || !(hs = cJSON_PrintUnformatted(h))) goto fail;
    size_t hl = strlen(hs), pad = (8 - hl % 8) % 8;
    out->st_len = 8 + hl + pad + off;
    if (!(out->st = sl_malloc(out->st_len, "safetensors"))) goto fail;
    unsigned char *p = out->st;
    uint64_t hlen = hl + pad;
    for (int b = 0; b < 8; b++) *p++ = (unsigned char)(hlen >> (8 * b));
    memcpy(p, hs, hl), p += hl;
    memset(p, ' ', pad), p += pad;
    for (int i = 0; i < c->nt; i++) {
        size_t n = 1;
        for (int d = 0; d < c->t[i].ndim; d++) n *= (size_t)c->t[i].shape[d];
        for (size_t j = 0; j < n; j++) { /* little-endian whatever the host */
            uint32_t u;
            memcpy(&u, &c->t[i].data[j], 4);
            for (int b = 0; b < 4; b++) *p++ = (unsigned char)(u >> (8 * b));
        }
    }
    free(hs);
    cJSON_Delete(h);
    return 0;
fail:
    free(hs);
    cJSON_Delete(h);
    sl_log_error("%s: out of memory", c->file);
    return -1;
}

/* ---- entry -------------------------------------------------------------------------- */

static int parse_alphabet(kctx_t *c, const char *a)
{
    static const char ACGT[] = "ACGT";
    if (!a || strcmp(a, ACGT) == 0) return 0;
    if (strlen(a) != 4) goto bad;
    for (int j = 0; j < 4; j++) {
        const char *p = strchr(a, ACGT[j]);
        if (!p) goto bad;
        c->perm[j] = (int)(p - a);
    }
    c->permute = 1;
    return 0;
bad:
    sl_log_error("%s: alphabet '%s' is not an order of the letters A, C, G, T", c->file, a);
    return -1;
}

int kconv_run(const char *file, const char *wfile, const char *arch, size_t arch_len, const kh5_file_t *wf,
              hid_t wroot, const char *keras_version, const char *alphabet, sl_keras_conv_t *out)
{
    kctx_t c;
    memset(&c, 0, sizeof c);
    c.file = file, c.wfile = wfile, c.wf = wf, c.wroot = wroot;
    memset(out, 0, sizeof *out);
    int ret = -1;
    ktensor_t *outs = NULL;
    int n_outs = 0;
    cJSON *root = cJSON_ParseWithLength(arch, arch_len), *doc = NULL;
    if (!root) {
        sl_log_error("%s: the Keras architecture is not valid JSON", file);
        goto done;
    }
    if (parse_alphabet(&c, alphabet) < 0) goto done;
    const char *cls = entry_class(root);
    if (!cls || !is_model_class(cls)) {
        sl_log_error("%s: the Keras architecture's class_name is %s%s%s, want Sequential, Functional or Model", file,
                     cls ? "'" : "", cls ? cls : "missing", cls ? "'" : "");
        goto done;
    }
    c.top = model_layers(item(root, "config"));
    if (!(c.layers = cJSON_CreateArray())) goto done;
    if (conv_entry(&c, root, "", NULL, 0, NULL, 0, &outs, &n_outs) < 0) goto done;
    /* outputs named after their Keras layers */
    if (!(doc = cJSON_CreateObject())) goto done;
    cJSON *inp = cJSON_CreateObject(), *ol = cJSON_CreateArray(), *src = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "seqlift-model");
    cJSON_AddNumberToObject(doc, "version", 1);
    cJSON_AddStringToObject(doc, "weights", "model.safetensors");
    if (inp) cJSON_AddItemToObject(doc, "input", inp);
    if (src) cJSON_AddItemToObject(doc, "converted_from", src);
    cJSON_AddItemToObject(doc, "layers", c.layers);
    cJSON *layers = c.layers;
    c.layers = NULL;
    if (ol) cJSON_AddItemToObject(doc, "outputs", ol);
    if (!inp || !ol || !src || !layers) goto done;
    cJSON_AddStringToObject(inp, "name", c.input_name);
    cJSON_AddNumberToObject(inp, "length", c.in_len);
    cJSON_AddStringToObject(inp, "alphabet", "ACGT");
    cJSON_AddStringToObject(src, "keras_file", file);
    if (keras_version) cJSON_AddStringToObject(src, "keras_version", keras_version);
    if (c.permute) cJSON_AddStringToObject(src, "keras_alphabet", alphabet);
    const cJSON *olist = item(item(root, "config"), "output_layers");
    for (int i = 0; i < n_outs; i++) {
        const cJSON *r = cJSON_GetArrayItem(olist, i), *nm = cJSON_GetArrayItem(r, 0);
        cJSON *o = cJSON_CreateObject();
        if (!o) goto done;
        cJSON_AddItemToArray(ol, o);
        /* Sequential: the last layer's name */
        const char *name = cJSON_IsString(nm) ? nm->valuestring : outs[i].name;
        if (!cJSON_IsString(nm)) {
            const cJSON *last = cJSON_GetArrayItem(c.top, cJSON_GetArraySize(c.top) - 1);
            if (entry_name(last)) name = entry_name(last);
        }
        int ti = 0;
        if (cJSON_IsString(nm) && as_int(cJSON_GetArrayItem(r, 2), 1, 1 << 20, &ti) == 0)
            name = kstr(&c, "%s_%d", name, ti);
        if (!name || !cJSON_AddStringToObject(o, "name", name) || !cJSON_AddStringToObject(o, "layer", outs[i].name))
            goto done;
    }
    if (!(out->json = cJSON_Print(doc))) goto done;
    out->json_len = strlen(out->json);
    if (write_safetensors(&c, out) < 0) goto done;
    ret = 0;
done:
    if (ret < 0 && out->json) free(out->json), out->json = NULL;
    free(outs);
    cJSON_Delete(c.layers);
    cJSON_Delete(doc);
    cJSON_Delete(root);
    for (int i = 0; i < c.nt; i++) free(c.t[i].name), free(c.t[i].data);
    free(c.t);
    for (int i = 0; i < c.nstrs; i++) free(c.strs[i]);
    free(c.strs);
    for (int i = 0; i < c.nsrcs; i++) {
        if (c.srcs[i]->grp >= 0) H5Gclose(c.srcs[i]->grp);
        kh5_strs_free(&c.srcs[i]->names);
        free(c.srcs[i]->w);
        free(c.srcs[i]);
    }
    free(c.srcs);
    return ret;
}
