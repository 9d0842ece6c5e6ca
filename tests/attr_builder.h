/* attr_builder.h — the attribution tests' model shorthand: layers as JSON text and
 * tensors drawn from their own seeded stream (the tests' expected properties were set
 * on these weights), serialised and loaded by tests/support/model_builder. */
#ifndef SEQLIFT_TEST_ATTR_BUILDER_H
#define SEQLIFT_TEST_ATTR_BUILDER_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "seqlift/model.h"
#include "support/model_builder.h"

#define AB_MAX_T 128

typedef struct {
    char layers[32768];
    size_t ln;
    int n_layers;
    char tname[AB_MAX_T][64];
    int nd[AB_MAX_T];
    int64_t shape[AB_MAX_T][3];
    float *data[AB_MAX_T];
    size_t n[AB_MAX_T];
    int nt;
    uint64_t rng;
} ab_t;

static inline void ab_init(ab_t *b, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

static inline void ab_free(ab_t *b)
{
    for (int i = 0; i < b->nt; i++) free(b->data[i]);
}

/* uniform in [-1, 1) */
static inline float ab_unif(ab_t *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return (float)((double)(b->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Append one layer object (printf format of its body without braces). */
static inline void ab_layer(ab_t *b, const char *fmt, ...)
{
    va_list ap;
    b->ln += (size_t)snprintf(b->layers + b->ln, sizeof(b->layers) - b->ln, "%s{", b->n_layers ? "," : "");
    va_start(ap, fmt);
    b->ln += (size_t)vsnprintf(b->layers + b->ln, sizeof(b->layers) - b->ln, fmt, ap);
    va_end(ap);
    b->ln += (size_t)snprintf(b->layers + b->ln, sizeof(b->layers) - b->ln, "}");
    b->n_layers++;
}

/* Add a tensor (copied, or random in [-scale, scale) when data is NULL). */
static inline const char *ab_tensor(ab_t *b, const char *name, const float *data, float scale, int nd,
                                    int64_t d0, int64_t d1, int64_t d2)
{
    int i = b->nt++;
    size_t k = strlen(name) < sizeof(b->tname[i]) - 1 ? strlen(name) : sizeof(b->tname[i]) - 1;
    memcpy(b->tname[i], name, k);
    b->tname[i][k] = 0;
    b->nd[i] = nd;
    b->shape[i][0] = d0;
    b->shape[i][1] = d1;
    b->shape[i][2] = d2;
    size_t n = (size_t)d0 * (nd > 1 ? (size_t)d1 : 1) * (nd > 2 ? (size_t)d2 : 1);
    b->n[i] = n;
    b->data[i] = malloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++) b->data[i][j] = data ? data[j] : scale * ab_unif(b);
    return b->tname[i];
}

/* Conv1d with random weights (name.w, name.b). */
static inline void ab_conv(ab_t *b, const char *name, const char *in, int ci, int co, int k, int stride,
                           int dil, const char *padding, float scale)
{
    char wn[56], bn[56];
    snprintf(wn, sizeof wn, "%.40s.w", name);
    snprintf(bn, sizeof bn, "%.40s.b", name);
    ab_tensor(b, wn, NULL, scale, 3, co, ci, k);
    ab_tensor(b, bn, NULL, scale, 1, co, 0, 0);
    ab_layer(b,
             "\"name\":\"%s\",\"op\":\"conv1d\",\"inputs\":[\"%s\"],\"in_channels\":%d,\"out_channels\":%d,"
             "\"kernel_size\":%d,\"stride\":%d,\"dilation\":%d,\"padding\":%s,\"weight\":\"%s\",\"bias\":\"%s\"",
             name, in, ci, co, k, stride, dil, padding, wn, bn);
}

static inline void ab_dense(ab_t *b, const char *name, const char *in, int ni, int no, float scale)
{
    char wn[56], bn[56];
    snprintf(wn, sizeof wn, "%.40s.w", name);
    snprintf(bn, sizeof bn, "%.40s.b", name);
    ab_tensor(b, wn, NULL, scale, 2, no, ni, 0);
    ab_tensor(b, bn, NULL, scale, 1, no, 0, 0);
    ab_layer(b,
             "\"name\":\"%s\",\"op\":\"linear\",\"inputs\":[\"%s\"],\"in_features\":%d,\"out_features\":%d,"
             "\"weight\":\"%s\",\"bias\":\"%s\"",
             name, in, ni, no, wn, bn);
}

static inline void ab_bn(ab_t *b, const char *name, const char *in, int ch)
{
    char n[4][60];
    static const char *suf[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        snprintf(n[i], sizeof n[i], "%.40s.%s", name, suf[i]);
        float *v = malloc((size_t)ch * sizeof(float));
        for (int c = 0; c < ch; c++) {
            float u = ab_unif(b);
            v[c] = i == 3 ? 0.5f + 0.5f * (u + 1.0f) : i == 0 ? u * 1.5f : 0.5f * u; /* scale may be < 0 */
        }
        ab_tensor(b, n[i], v, 0, 1, ch, 0, 0);
        free(v);
    }
    ab_layer(b,
             "\"name\":\"%s\",\"op\":\"batchnorm\",\"inputs\":[\"%s\"],\"weight\":\"%s\",\"bias\":\"%s\","
             "\"running_mean\":\"%s\",\"running_var\":\"%s\"",
             name, in, n[0], n[1], n[2], n[3]);
}

static inline void ab_act(ab_t *b, const char *name, const char *op, const char *in)
{
    ab_layer(b, "\"name\":\"%s\",\"op\":\"%s\",\"inputs\":[\"%s\"]", name, op, in);
}

/* Build and load through the shared test builder (tests/support/model_builder.h), which
 * serialises the JSON graph and the safetensors; outputs_json is the "outputs" array
 * body, e.g. "{\"name\":\"y\",\"layer\":\"d1\"}". */
static inline sl_net_t *ab_build(ab_t *b, int in_len, const char *outputs_json)
{
    sl_mb_t *mb = sl_mb_create(in_len, 0);
    for (int i = 0; i < b->nt; i++) sl_mb_tensor(mb, b->tname[i], b->nd[i], b->shape[i], b->data[i]);
    size_t cap = b->ln + strlen(outputs_json) + 8;
    char *text = malloc(cap);
    snprintf(text, cap, "[%s]", b->layers);
    cJSON *arr = cJSON_Parse(text), *it;
    cJSON_ArrayForEach(it, arr)
    {
        char *layer = cJSON_PrintUnformatted(it);
        sl_mb_layer(mb, "%s", layer);
        cJSON_free(layer);
    }
    cJSON_Delete(arr);
    snprintf(text, cap, "[%s]", outputs_json);
    arr = cJSON_Parse(text);
    cJSON_ArrayForEach(it, arr)
    sl_mb_output(mb, cJSON_GetObjectItem(it, "name")->valuestring, cJSON_GetObjectItem(it, "layer")->valuestring);
    cJSON_Delete(arr);
    free(text);
    sl_net_t *net = sl_mb_load(mb);
    sl_mb_destroy(mb);
    return net;
}

/* Random one-hot sequence [len][4] (with an N row every `n_every` positions if > 0). */
static inline void ab_onehot(ab_t *b, int len, float *x, int n_every)
{
    for (int p = 0; p < len; p++) {
        int k = (int)((ab_unif(b) + 1.0f) * 2.0f);
        if (k > 3) k = 3;
        for (int c = 0; c < 4; c++) x[4 * p + c] = c == k;
        if (n_every > 0 && p % n_every == n_every - 1)
            for (int c = 0; c < 4; c++) x[4 * p + c] = 0;
    }
}

#endif
