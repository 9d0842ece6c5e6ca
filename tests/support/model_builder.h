/* model_builder.h — build seqlift models (JSON graph + safetensors) in memory, for tests.
 *
 * Typical use:
 *   sl_mb_t *mb = sl_mb_create(100, 1);                  // input length 100, seed 1
 *   sl_mb_conv1d(mb, "c1", "input", 4, 8, 5, 1, 1, "\"same\"", 1);  // random weights
 *   sl_mb_layer(mb, "{\"name\":\"r1\",\"op\":\"relu\",\"inputs\":[\"c1\"]}");
 *   sl_mb_output(mb, "out", "r1");
 *   sl_net_t *net = sl_mb_load(mb);                       // via sl_net_load_mem
 *   const float *w = sl_mb_data(mb, "c1.weight");         // PyTorch layout [8][4][5]
 *   sl_mb_destroy(mb);
 *
 * Random weights are uniform in [-scale, scale] (scale 0.5 unless set) from a seeded
 * generator, rounded to multiples of scale/64 so that F16/BF16 exports are exact when
 * scale is a power of two.
 * Every function aborts the test (assert) on misuse; nothing here is for production.
 */
#ifndef SEQLIFT_TEST_MODEL_BUILDER_H
#define SEQLIFT_TEST_MODEL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "seqlift/model.h"

typedef struct sl_mb_s sl_mb_t;

sl_mb_t *sl_mb_create(int in_len, uint64_t seed);
void sl_mb_destroy(sl_mb_t *mb);

/* Uniform random number in [-1, 1) on the builder's generator (multiples of 2^-10). */
float sl_mb_rand(sl_mb_t *mb);
void sl_mb_set_scale(sl_mb_t *mb, float scale);
/* dtype of every tensor in the written safetensors: "F32" (default), "F16", "BF16". */
void sl_mb_set_dtype(sl_mb_t *mb, const char *dtype);

/* Add a tensor (data copied; NULL = random values). Returns the builder's copy. */
float *sl_mb_tensor(sl_mb_t *mb, const char *name, int ndim, const int64_t *shape, const float *data);
/* The data of tensor `name` (PyTorch layout), NULL if absent. */
float *sl_mb_data(sl_mb_t *mb, const char *name);

/* Add a layer given as a JSON object text (printf-style). */
void sl_mb_layer(sl_mb_t *mb, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Common layers with random tensors named "<name>.weight" / "<name>.bias" etc.
 * padding_json is the JSON text of the padding attribute ("\"valid\"", "\"same\"", "3",
 * "[1,2]") or NULL to omit it. */
void sl_mb_conv1d(sl_mb_t *mb, const char *name, const char *input, int ci, int co, int k, int stride,
                  int dilation, const char *padding_json, int bias);
void sl_mb_dense(sl_mb_t *mb, const char *name, const char *input, int ni, int no, int bias);
/* batchnorm with random weight/bias/mean and running_var in [0.5, 1.5) */
void sl_mb_batchnorm(sl_mb_t *mb, const char *name, const char *input, int ch, double eps);
/* single-input op without tensors, extra attributes as JSON members text (may be "") */
void sl_mb_op(sl_mb_t *mb, const char *name, const char *op, const char *input, const char *extra_json);
void sl_mb_output(sl_mb_t *mb, const char *name, const char *layer);

/* Serialise: *json (NUL-terminated) and *st are malloc'd, the caller frees them. */
void sl_mb_build(sl_mb_t *mb, char **json, size_t *json_len, uint8_t **st, size_t *st_len);
/* Build and load through sl_net_load_mem (label "test-model"); NULL if the loader refused. */
sl_net_t *sl_mb_load(sl_mb_t *mb);
/* Write DIR/PREFIX.json and DIR/PREFIX.safetensors (DIR is created); returns the
 * malloc'd JSON path. */
char *sl_mb_write(sl_mb_t *mb, const char *dir, const char *prefix);

/* A raw safetensors file from a header text and data bytes (malloc'd, caller frees). */
uint8_t *sl_mb_safetensors_raw(const char *header, const void *data, size_t data_len, size_t *out_len);

/* A random one-hot batch [n][len][4] (malloc'd): each position one base, or an all-zero
 * row (N) with probability 1/16. */
float *sl_mb_random_onehot(sl_mb_t *mb, int n, int len);

#endif
