/* test_keras.c — the Keras reader's from-memory entry point (sl_keras_convert_mem, the
 * one the fuzzers use) on the real Keras 2.1.6 model of test_data/keras/: it converts
 * to the same safetensors bytes as the file path, the result loads and runs, and
 * truncated or byte-flipped HDF5 images and broken JSON fail cleanly (or, when the flip
 * hits a weight's bytes, give a model that loads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/keras.h"
#include "seqlift/model.h"

#define DIR "test_data/keras/"
#define ARCH DIR "keras2_conv1d_record_5_model_PQzyq_modelJson.json"
#define WEIGHTS DIR "keras2_conv1d_record_5_model_PQzyq_modelWeights.h5"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    b[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return b;
}

/* stderr to /dev/null around the noisy cases (every failure prints its one line) */
static FILE *quiet(void) { return freopen("/dev/null", "w", stderr); }

static void test_mem_matches_file(void **state)
{
    (void)state;
    size_t al, wl;
    unsigned char *arch = slurp(ARCH, &al), *w = slurp(WEIGHTS, &wl);
    sl_keras_conv_t a, b;
    assert_int_equal(sl_keras_convert_mem(w, wl, (char *)arch, al, NULL, "mem", &a), 0);
    assert_int_equal(sl_keras_convert(ARCH, WEIGHTS, NULL, &b), 0);
    assert_int_equal(a.st_len, b.st_len);
    assert_memory_equal(a.st, b.st, a.st_len);
    sl_net_t *net = sl_net_load_mem(a.json, a.json_len, a.st, a.st_len, "mem");
    assert_non_null(net);
    assert_int_equal(net->in_len, 200);
    assert_int_equal(net->n_outputs, 1);
    sl_acts_t *acts = sl_acts_create(net, 1);
    float x[200 * 4] = {0};
    for (int t = 0; t < 200; t++) x[t * 4 + (t * 7) % 4] = 1;
    assert_int_equal(sl_net_forward(net, acts, x, 1), 0);
    const float *y = acts->act[net->output_layer[0]];
    for (int i = 0; i < 3; i++) assert_true(y[i] > 0 && y[i] < 1); /* sigmoid outputs */
    sl_acts_destroy(acts);
    sl_net_destroy(net);
    /* the loader dispatch reads the same model from the files */
    net = sl_model_load(ARCH, WEIGHTS, NULL);
    assert_non_null(net);
    sl_net_destroy(net);
    sl_keras_conv_free(&a);
    sl_keras_conv_free(&b);
    free(arch);
    free(w);
}

static void test_mem_broken(void **state)
{
    (void)state;
    size_t al, wl;
    unsigned char *arch = slurp(ARCH, &al), *w = slurp(WEIGHTS, &wl);
    sl_keras_conv_t c;
    FILE *keep = quiet();
    assert_non_null(keep);
    /* truncated images */
    size_t cuts[] = {0, 7, 8, 96, 512, 2048, wl / 2, wl - 4096};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        assert_int_equal(sl_keras_convert_mem(w, cuts[i], (char *)arch, al, NULL, "cut", &c), -1);
    /* a weights-only file is not a full model */
    assert_int_equal(sl_keras_convert_mem(w, wl, NULL, 0, NULL, "weights", &c), -1);
    /* truncated architecture JSON */
    for (size_t cut = 0; cut < al; cut += al / 17 + 1)
        assert_int_equal(sl_keras_convert_mem(w, wl, (char *)arch, cut, NULL, "json", &c), -1);
    /* byte flips anywhere in the image: fail cleanly, or convert to a model that loads
     * or is refused by the native loader (a flipped weight may become NaN) */
    uint64_t s = 12345;
    unsigned char *m = malloc(wl);
    assert_non_null(m);
    for (int k = 0; k < 300; k++) {
        memcpy(m, w, wl);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t pos = (size_t)(s >> 33) % wl;
        m[pos] ^= (unsigned char)(1u << ((s >> 20) % 8));
        if (sl_keras_convert_mem(m, wl, (char *)arch, al, NULL, "flip", &c) == 0) {
            sl_net_destroy(sl_net_load_mem(c.json, c.json_len, c.st, c.st_len, "flip"));
            sl_keras_conv_free(&c);
        }
    }
    free(m);
    assert_int_equal(sl_keras_convert_mem(w, wl, (char *)arch, al, "TGCX", "alphabet", &c), -1);
    free(arch);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_matches_file),
        cmocka_unit_test(test_mem_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
