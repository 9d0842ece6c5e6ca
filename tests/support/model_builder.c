/* model_builder.c — in-memory seqlift model files for tests (see model_builder.h). */
#undef NDEBUG /* the asserts are the checks (and some hold the fwrite/mkdir calls): keep them */
#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/model_builder.h"

typedef struct {
    char *name;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;
} mb_tensor_t;

struct sl_mb_s {
    int in_len;
    uint64_t rng;
    float scale;
    char dtype[8];
    int n_t;
    mb_tensor_t t[256];
    cJSON *layers, *outputs;
};

sl_mb_t *sl_mb_create(int in_len, uint64_t seed)
{
    sl_mb_t *mb = calloc(1, sizeof *mb);
    assert(mb);
    mb->in_len = in_len;
    mb->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    mb->scale = 0.5f;
    strcpy(mb->dtype, "F32");
    mb->layers = cJSON_CreateArray();
    mb->outputs = cJSON_CreateArray();
    return mb;
}

void sl_mb_destroy(sl_mb_t *mb)
{
    if (!mb) return;
    for (int i = 0; i < mb->n_t; i++) {
        free(mb->t[i].name);
        free(mb->t[i].data);
    }
    cJSON_Delete(mb->layers);
    cJSON_Delete(mb->outputs);
    free(mb);
}

float sl_mb_rand(sl_mb_t *mb)
{
    mb->rng ^= mb->rng << 13, mb->rng ^= mb->rng >> 7, mb->rng ^= mb->rng << 17;
    return (float)((int)(mb->rng >> 40 & 2047) - 1024) / 1024.0f;
}

void sl_mb_set_scale(sl_mb_t *mb, float scale) { mb->scale = scale; }

void sl_mb_set_dtype(sl_mb_t *mb, const char *dtype)
{
    assert(strlen(dtype) < sizeof mb->dtype);
    strcpy(mb->dtype, dtype);
}

float *sl_mb_tensor(sl_mb_t *mb, const char *name, int ndim, const int64_t *shape, const float *data)
{
    assert(mb->n_t < 256 && ndim <= 4);
    mb_tensor_t *t = &mb->t[mb->n_t++];
    t->name = strdup(name);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i], t->numel *= (size_t)shape[i];
    t->data = malloc((t->numel ? t->numel : 1) * sizeof(float));
    assert(t->name && t->data);
    for (size_t i = 0; i < t->numel; i++) {
        /* multiples of scale/64: exact in F16/BF16 when scale is a power of two */
        t->data[i] = data ? data[i] : roundf(sl_mb_rand(mb) * 64.0f) / 64.0f * mb->scale;
    }
    return t->data;
}

float *sl_mb_data(sl_mb_t *mb, const char *name)
{
    for (int i = 0; i < mb->n_t; i++)
        if (strcmp(mb->t[i].name, name) == 0) return mb->t[i].data;
    return NULL;
}

void sl_mb_layer(sl_mb_t *mb, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert(n > 0 && n < (int)sizeof buf);
    cJSON *o = cJSON_Parse(buf);
    assert(o);
    cJSON_AddItemToArray(mb->layers, o);
}

void sl_mb_conv1d(sl_mb_t *mb, const char *name, const char *input, int ci, int co, int k, int stride,
                  int dilation, const char *padding_json, int bias)
{
    char w[256], b[256], pad[128] = "";
    int64_t ws[3] = {co, ci, k}, bs[1] = {co};
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    sl_mb_tensor(mb, w, 3, ws, NULL);
    if (bias) sl_mb_tensor(mb, b, 1, bs, NULL);
    if (padding_json) snprintf(pad, sizeof pad, ",\"padding\":%s", padding_json);
    sl_mb_layer(mb,
                "{\"name\":\"%s\",\"op\":\"conv1d\",\"inputs\":[\"%s\"],\"in_channels\":%d,\"out_channels\":%d,"
                "\"kernel_size\":%d,\"stride\":%d,\"dilation\":%d%s,\"weight\":\"%s\"%s%s%s}",
                name, input, ci, co, k, stride, dilation, pad, w, bias ? ",\"bias\":\"" : "", bias ? b : "",
                bias ? "\"" : "");
}

void sl_mb_dense(sl_mb_t *mb, const char *name, const char *input, int ni, int no, int bias)
{
    char w[256], b[256];
    int64_t ws[2] = {no, ni}, bs[1] = {no};
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    sl_mb_tensor(mb, w, 2, ws, NULL);
    if (bias) sl_mb_tensor(mb, b, 1, bs, NULL);
    sl_mb_layer(mb,
                "{\"name\":\"%s\",\"op\":\"linear\",\"inputs\":[\"%s\"],\"in_features\":%d,\"out_features\":%d,"
                "\"weight\":\"%s\"%s%s%s}",
                name, input, ni, no, w, bias ? ",\"bias\":\"" : "", bias ? b : "", bias ? "\"" : "");
}

void sl_mb_batchnorm(sl_mb_t *mb, const char *name, const char *input, int ch, double eps)
{
    static const char *keys[4] = {"weight", "bias", "running_mean", "running_var"};
    char t[4][256];
    int64_t s[1] = {ch};
    for (int i = 0; i < 4; i++) {
        snprintf(t[i], sizeof t[i], "%s.%s", name, keys[i]);
        float *d = sl_mb_tensor(mb, t[i], 1, s, NULL);
        if (i == 3)
            for (int c = 0; c < ch; c++) d[c] = 0.5f + roundf(fabsf(sl_mb_rand(mb)) * 64.0f) / 64.0f;
    }
    sl_mb_layer(mb,
                "{\"name\":\"%s\",\"op\":\"batchnorm\",\"inputs\":[\"%s\"],\"eps\":%.17g,\"weight\":\"%s\","
                "\"bias\":\"%s\",\"running_mean\":\"%s\",\"running_var\":\"%s\"}",
                name, input, eps, t[0], t[1], t[2], t[3]);
}

void sl_mb_op(sl_mb_t *mb, const char *name, const char *op, const char *input, const char *extra_json)
{
    sl_mb_layer(mb, "{\"name\":\"%s\",\"op\":\"%s\",\"inputs\":[\"%s\"]%s%s}", name, op, input,
                extra_json && *extra_json ? "," : "", extra_json ? extra_json : "");
}

void sl_mb_output(sl_mb_t *mb, const char *name, const char *layer)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "layer", layer);
    cJSON_AddItemToArray(mb->outputs, o);
}

static uint16_t float_to_half(float f) /* exact for the builder's values */
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int e = (int)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    if ((x & 0x7fffffff) == 0) return (uint16_t)sign;
    if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (m ? 0x200 : 0)); /* Inf, NaN */
    if (e <= 0) { /* subnormal half */
        m |= 0x800000;
        return (uint16_t)(sign | (m >> (14 - e)));
    }
    assert(e < 31);
    return (uint16_t)(sign | (uint32_t)e << 10 | m >> 13);
}

uint8_t *sl_mb_safetensors_raw(const char *header, const void *data, size_t data_len, size_t *out_len)
{
    size_t h = strlen(header);
    uint8_t *buf = malloc(8 + h + data_len + 1);
    assert(buf);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    if (data_len) memcpy(buf + 8 + h, data, data_len);
    *out_len = 8 + h + data_len;
    return buf;
}

void sl_mb_build(sl_mb_t *mb, char **json, size_t *json_len, uint8_t **st, size_t *st_len)
{
    size_t esize = strcmp(mb->dtype, "F32") == 0 ? 4 : 2, total = 0;
    cJSON *hdr = cJSON_CreateObject();
    for (int i = 0; i < mb->n_t; i++) {
        mb_tensor_t *t = &mb->t[i];
        cJSON *e = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *off = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", mb->dtype);
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)total));
        total += t->numel * esize;
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)total));
        cJSON_AddItemToObject(e, "data_offsets", off);
        cJSON_AddItemToObject(hdr, t->name, e);
    }
    char *htext = cJSON_PrintUnformatted(hdr);
    uint8_t *data = malloc(total + 1), *p = data;
    assert(htext && data);
    for (int i = 0; i < mb->n_t; i++) {
        mb_tensor_t *t = &mb->t[i];
        for (size_t j = 0; j < t->numel; j++) {
            if (esize == 4) {
                memcpy(p, &t->data[j], 4);
                p += 4;
                continue;
            }
            uint32_t x;
            memcpy(&x, &t->data[j], 4);
            uint16_t h = strcmp(mb->dtype, "BF16") == 0 ? (uint16_t)(x >> 16) : float_to_half(t->data[j]);
            *p++ = (uint8_t)(h & 0xff), *p++ = (uint8_t)(h >> 8);
        }
    }
    *st = sl_mb_safetensors_raw(htext, data, total, st_len);
    free(htext);
    free(data);
    cJSON_Delete(hdr);

    cJSON *root = cJSON_CreateObject(), *in = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "seqlift-model");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "weights", "model.safetensors");
    cJSON_AddStringToObject(in, "name", "input");
    cJSON_AddNumberToObject(in, "length", mb->in_len);
    cJSON_AddStringToObject(in, "alphabet", "ACGT");
    cJSON_AddItemToObject(root, "input", in);
    cJSON_AddItemReferenceToObject(root, "layers", mb->layers);
    cJSON_AddItemReferenceToObject(root, "outputs", mb->outputs);
    *json = cJSON_Print(root);
    assert(*json);
    *json_len = strlen(*json);
    cJSON_Delete(root);
}

sl_net_t *sl_mb_load(sl_mb_t *mb)
{
    char *json;
    uint8_t *st;
    size_t jl, sl;
    sl_mb_build(mb, &json, &jl, &st, &sl);
    sl_net_t *net = sl_net_load_mem(json, jl, st, sl, "test-model");
    free(json);
    free(st);
    return net;
}

static void write_all(const char *path, const void *buf, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert(fp);
    assert(fwrite(buf, 1, n, fp) == n);
    assert(fclose(fp) == 0);
}

char *sl_mb_write(sl_mb_t *mb, const char *dir, const char *prefix)
{
    char *json, *path = malloc(strlen(dir) + strlen(prefix) + 32);
    uint8_t *st;
    size_t jl, sl;
    assert(path);
    assert(mkdir(dir, 0777) == 0 || errno == EEXIST);
    sl_mb_build(mb, &json, &jl, &st, &sl);
    /* point "weights" at PREFIX.safetensors */
    cJSON *root = cJSON_Parse(json);
    char wname[512];
    snprintf(wname, sizeof wname, "%s.safetensors", prefix);
    cJSON_ReplaceItemInObject(root, "weights", cJSON_CreateString(wname));
    free(json);
    json = cJSON_Print(root);
    cJSON_Delete(root);
    sprintf(path, "%s/%s.safetensors", dir, prefix);
    write_all(path, st, sl);
    sprintf(path, "%s/%s.json", dir, prefix);
    write_all(path, json, strlen(json));
    free(json);
    free(st);
    return path;
}

float *sl_mb_random_onehot(sl_mb_t *mb, int n, int len)
{
    float *x = calloc((size_t)n * len * 4, sizeof(float));
    assert(x);
    for (size_t p = 0; p < (size_t)n * len; p++) {
        mb->rng ^= mb->rng << 13, mb->rng ^= mb->rng >> 7, mb->rng ^= mb->rng << 17;
        unsigned r = (unsigned)(mb->rng >> 50) & 63;
        if (r >= 4 * 15) continue; /* N */
        x[p * 4 + r % 4] = 1.0f;
    }
    return x;
}
