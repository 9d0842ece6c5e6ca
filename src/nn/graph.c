/* graph.c — the model JSON (cJSON): format and version, the input, the layers and the
 * outputs, into an sl_net_t; the weights come from the safetensors reader.
 *
 * Nothing is trusted: every name, reference and attribute is checked, and a bad file
 * gets one error line naming the file and the layer or tensor. Each layer's op is
 * looked up in the op table (ops.c), which gives its arity and the function that reads
 * its attributes and weights and infers its shape; weights are converted to float32
 * and repacked to seqlift's layouts there, so the forward pass never looks at the
 * files again.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <htslib/khash.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

KHASH_MAP_INIT_STR(sl_name, int)

typedef struct {
    sl_nn_ctx_t c;
    khash_t(sl_name) *names; /* layer name -> index */
} graph_t;

/* ---- attribute helpers for the ops' parse functions --------------------------- */

/* Integer attribute `key` of layer object o within [lo, hi]; `def` when absent and
 * has_def, else an error. A JSON null counts as absent. */
int sl_nn_get_int(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, int has_def,
                  int def, int lo, int hi, int *out)
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

int sl_nn_get_float(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, double def,
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
 * shape and finite: *view points at its float32 values, in the file's buffer when they
 * are float32 there and aligned (view_ok), else in *owned (converted; the caller frees).
 * Both NULL when optional and absent/null. */
static int get_tensor(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, int optional,
                      int ndim, const int64_t *shape, int view_ok, const float **view, float **owned)
{
    *view = NULL, *owned = NULL;
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
    const sl_st_tensor_t *t = sl_st_find(c->st, v->valuestring);
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
    const uint8_t *raw = c->st->data + t->begin;
    const float *f = (const float *)(const void *)raw;
    if (!view_ok || t->dtype != SL_ST_F32 || (uintptr_t)raw % _Alignof(float)) {
        if (!(*owned = sl_st_to_float(c->st, t))) return -1;
        f = *owned;
    }
    for (size_t i = 0; i < t->numel; i++) {
        if (!isfinite(f[i])) {
            sl_log_error("%s: tensor '%s' (layer '%s' %s) has a non-finite value at element %zu", c->st->label,
                         t->name, L->name, key, i);
            free(*owned);
            *owned = NULL;
            return -1;
        }
    }
    *view = f;
    return 0;
}

int sl_nn_get_tensor(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key,
                     int optional, int ndim, const int64_t *shape, float **out)
{
    const float *v;
    return get_tensor(c, L, o, key, optional, ndim, shape, 0, &v, out);
}

int sl_nn_get_tensor_view(const sl_nn_ctx_t *c, const sl_layer_t *L, const cJSON *o, const char *key, int ndim,
                          const int64_t *shape, const float **view, float **owned)
{
    return get_tensor(c, L, o, key, 0, ndim, shape, 1, view, owned);
}

int sl_nn_set_shape(const sl_nn_ctx_t *c, sl_layer_t *L, int64_t len, int64_t ch)
{
    if (len < 1 || ch < 1) {
        sl_log_error("%s: layer '%s': output shape [%lld][%lld] is empty", c->file, L->name, (long long)len,
                     (long long)ch);
        return -1;
    }
    if (len > SL_NN_MAX_DIM || ch > SL_NN_MAX_DIM || (size_t)len * (size_t)ch > SL_NN_MAX_ACT_SIZE) {
        sl_log_error("%s: layer '%s': output shape [%lld][%lld] is too large", c->file, L->name, (long long)len,
                     (long long)ch);
        return -1;
    }
    L->len = (int)len, L->ch = (int)ch;
    return 0;
}

/* ---- layers --------------------------------------------------------------------- */

/* Table index of op name or alias s, -1 if none (the input is not a layer op). */
static int op_find(const char *s)
{
    for (int k = 0; k < SL_OP_COUNT; k++) {
        const sl_op_info_t *o = &sl_ops[k];
        if (!o->parse) continue;
        if (strcmp(o->name, s) == 0) return k;
        for (int a = 0; a < 2 && o->alias[a]; a++)
            if (strcmp(o->alias[a], s) == 0) return k;
    }
    return -1;
}

static int parse_layer(graph_t *c, int li, const cJSON *o)
{
    sl_net_t *net = c->c.net;
    sl_layer_t *L = &net->layers[li];
    if (!cJSON_IsObject(o)) {
        sl_log_error("%s: layer %d is not a JSON object", c->c.file, li - 1);
        return -1;
    }
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!cJSON_IsString(nm) || !nm->valuestring[0]) {
        sl_log_error("%s: layer %d has no name", c->c.file, li - 1);
        return -1;
    }
    if (!(L->name = sl_strdup(nm->valuestring))) return -1;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    if (!cJSON_IsString(op)) {
        sl_log_error("%s: layer '%s': missing 'op' (a string)", c->c.file, L->name);
        return -1;
    }
    int k = op_find(op->valuestring);
    if (k < 0) {
        sl_log_error("%s: layer '%s': unknown op '%s'", c->c.file, L->name, op->valuestring);
        return -1;
    }
    L->op = (sl_op_t)k;
    const sl_op_info_t *info = &sl_ops[k];
    char why[96];
    if (sl_op_check(L->op, why, sizeof why) < 0) { /* never a silent identity */
        sl_log_error("%s: layer '%s': op '%s' cannot run: %s", c->c.file, L->name, op->valuestring, why);
        return -1;
    }

    /* inputs: names of earlier layers */
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(o, "inputs");
    int n_in = cJSON_IsString(ins) ? 1 : cJSON_IsArray(ins) ? cJSON_GetArraySize(ins) : -1;
    if (n_in < 1) {
        sl_log_error("%s: layer '%s': 'inputs' must list one or more layer names", c->c.file, L->name);
        return -1;
    }
    if (n_in < info->min_in || (info->max_in && n_in > info->max_in)) {
        char want[48];
        if (info->max_in == info->min_in) snprintf(want, sizeof want, "%d input%s", info->min_in,
                                                   info->min_in == 1 ? "" : "s");
        else if (!info->max_in) snprintf(want, sizeof want, "%d or more inputs", info->min_in);
        else snprintf(want, sizeof want, "%d to %d inputs", info->min_in, info->max_in);
        sl_log_error("%s: layer '%s': op '%s' takes %s, got %d", c->c.file, L->name, op->valuestring, want, n_in);
        return -1;
    }
    if (!(L->in = sl_malloc((size_t)n_in * sizeof *L->in, L->name))) return -1;
    L->n_in = n_in;
    const cJSON *e = cJSON_IsString(ins) ? ins : ins->child;
    for (int i = 0; i < n_in; i++, e = e->next) {
        khint_t it = cJSON_IsString(e) ? kh_get(sl_name, c->names, e->valuestring) : kh_end(c->names);
        if (it == kh_end(c->names)) {
            sl_log_error("%s: layer '%s': input '%s' is not an earlier layer", c->c.file, L->name,
                         cJSON_IsString(e) ? e->valuestring : "(not a string)");
            return -1;
        }
        L->in[i] = kh_val(c->names, it);
    }
    int ret;
    khint_t it = kh_put(sl_name, c->names, L->name, &ret);
    if (ret < 0) {
        sl_log_error("%s: out of memory", c->c.file);
        return -1;
    }
    if (ret == 0) {
        sl_log_error("%s: layer name '%s' is used twice", c->c.file, L->name);
        return -1;
    }
    kh_val(c->names, it) = li;

    L->kernel = L->stride = L->dilation = 1;
    L->in_len = net->layers[L->in[0]].len;
    return info->parse(&c->c, L, o);
}

static sl_net_t *net_build(const cJSON *root, const void *st_buf, size_t st_len, const char *file,
                           const char *st_label)
{
    sl_st_file_t st;
    sl_net_t *net = NULL;
    graph_t c = {{file, &st, NULL}, NULL};
    if (sl_st_parse(&st, st_buf, st_len, st_label) < 0) return NULL;
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
    c.c.net = net;
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
    if (sl_nn_get_int(&c.c, L0, input, "length", 0, 0, 1, SL_NN_MAX_DIM, &net->in_len) < 0) goto fail;
    if (sl_nn_set_shape(&c.c, L0, net->in_len, 4) < 0) goto fail;
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
    sl_st_free(&st);
    return net;
fail:
    if (c.names) kh_destroy(sl_name, c.names);
    sl_st_free(&st);
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

sl_net_t *sl_net_load(const char *json_path)
{
    size_t jlen = 0, slen = 0;
    char *json = NULL, *wpath = NULL;
    const void *st = NULL;
    int mapped = 0;
    cJSON *root = NULL;
    sl_net_t *net = NULL;
    if (!(json = sl_read_file(json_path, &jlen))) goto fail;
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
    if (!(st = sl_map_file(wpath, &slen, &mapped))) goto fail;
    net = net_build(root, st, slen, json_path, wpath);
fail:
    cJSON_Delete(root);
    free(json);
    if (st) sl_unmap_file(st, slen, mapped);
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
