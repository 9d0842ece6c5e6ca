/* safetensors.c — the safetensors reader: 8-byte little-endian header length, a JSON
 * header of name -> dtype / shape / data_offsets, then the raw little-endian data.
 *
 * Nothing is trusted: every size, offset and shape is checked (offsets inside the data,
 * byte counts matching the shape, no two tensors sharing bytes) before any tensor is
 * read, and a bad file gets one error line naming the file and the tensor. F16 and BF16
 * are converted to float32 on read.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

int sl_nn_json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const sl_st_tensor_t *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

void sl_st_free(sl_st_file_t *st)
{
    cJSON_Delete(st->hdr);
    free(st->t);
}

int sl_st_parse(sl_st_file_t *st, const void *buf, size_t len, const char *label)
{
    const uint8_t *p = buf;
    sl_st_tensor_t *sorted = NULL;
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
        sl_st_tensor_t *t = &st->t[st->n];
        t->name = e->string ? e->string : "";
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off)) {
            sl_log_error("%s: tensor '%s': header entry needs dtype, shape and data_offsets", label, t->name);
            goto fail;
        }
        size_t esize;
        if (strcmp(dt->valuestring, "F32") == 0) t->dtype = SL_ST_F32, esize = 4;
        else if (strcmp(dt->valuestring, "F16") == 0) t->dtype = SL_ST_F16, esize = 2;
        else if (strcmp(dt->valuestring, "BF16") == 0) t->dtype = SL_ST_BF16, esize = 2;
        else {
            sl_log_error("%s: tensor '%s': unsupported dtype '%s' (F32, F16 or BF16)", label, t->name,
                         dt->valuestring);
            goto fail;
        }
        t->ndim = cJSON_GetArraySize(sh);
        if (t->ndim > SL_ST_MAX_DIMS) {
            sl_log_error("%s: tensor '%s': %d dimensions (at most %d)", label, t->name, t->ndim, SL_ST_MAX_DIMS);
            goto fail;
        }
        size_t numel = 1;
        int d = 0;
        for (const cJSON *s = sh->child; s; s = s->next, d++) {
            uint64_t v;
            if (sl_nn_json_uint(s, &v) < 0) {
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
        if (cJSON_GetArraySize(off) != 2 || sl_nn_json_uint(off->child, &b) < 0 || sl_nn_json_uint(off->child->next, &en) < 0
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
    sl_st_free(st);
    return -1;
}

const sl_st_tensor_t *sl_st_find(const sl_st_file_t *st, const char *name)
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
float *sl_st_to_float(const sl_st_file_t *st, const sl_st_tensor_t *t)
{
    float *out = sl_malloc((t->numel ? t->numel : 1) * sizeof(float), t->name);
    if (!out) return NULL;
    const uint8_t *p = st->data + t->begin;
    if (t->dtype == SL_ST_F32) { /* one copy (an element at a time was 1.5 % of a short run) */
        memcpy(out, p, t->numel * 4);
        return out;
    }
    for (size_t i = 0; i < t->numel; i++) { /* F16 or BF16 */
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        if (t->dtype == SL_ST_F16) {
            out[i] = half_to_float(h);
        } else {
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
        }
    }
    return out;
}
