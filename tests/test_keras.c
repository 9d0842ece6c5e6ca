/* test_keras.c — the Keras reader's from-memory entry point (sl_keras_convert_mem, the
 * one the fuzzers use) on the real Keras 2.1.6 model of test_data/keras/: it converts
 * to the same safetensors bytes as the file path, the result loads and runs, and
 * truncated or byte-flipped HDF5 images and broken JSON fail cleanly (or, when the flip
 * hits a weight's bytes, give a model that loads). Its variable-length `keras_version`
 * string, patched into every form of corrupt global heap the reader checks for
 * (libhdf5 1.10 would spin or read out of bounds on them), fails fast with one line,
 * as do corrupt attribute messages and object headers (read by the reader itself); no
 * HDF5 object stays open after any conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras/keras_priv.h"
#include "seqlift/keras.h"
#include "seqlift/log.h"
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

/* every HDF5 object of every file closed */
static void assert_nothing_open(void) { assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0); }

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
    assert_nothing_open();
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
    assert_nothing_open();
}

/* the last error line */
static char last_err[512];
static void keep_error(sl_log_level_t level, const char *msg, void *ud)
{
    (void)ud;
    if (level == SL_LOG_ERROR) snprintf(last_err, sizeof last_err, "%s", msg);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> 8 * i);
}
static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The real model (architecture, weights) and a copy of the weights to patch. */
typedef struct {
    unsigned char *arch, *w, *m;
    size_t al, wl;
} real_t;

static void real_load(real_t *r)
{
    r->arch = slurp(ARCH, &r->al), r->w = slurp(WEIGHTS, &r->wl), r->m = malloc(r->wl);
    assert_non_null(r->m);
    sl_log_set_callback(keep_error, NULL);
}

static void real_free(real_t *r)
{
    sl_log_set_callback(NULL, NULL);
    free(r->m), free(r->arch), free(r->w);
    assert_nothing_open();
}

/* offset of the first n bytes s in the weights file */
static size_t real_find(const real_t *r, const void *s, size_t n)
{
    size_t i = 0;
    while (i + n <= r->wl && memcmp(r->w + i, s, n) != 0) i++;
    assert_true(i + n <= r->wl);
    return i;
}

static void test_vlen_heap_checks(void **state)
{
    (void)state;
    real_t r;
    real_load(&r);
    /* the file's one global heap collection (no user block: addresses are offsets) */
    size_t G = real_find(&r, "GCOL", 4);
    assert_true(G + 4096 <= r.wl);
    assert_int_equal(get_le(r.w + G + 8, 8), 4096);
    /* objects from G + 16: 16-byte header (index, refs, reserved, size), data padded to 8 */
    size_t obj[3] = {0}, p = G + 16;
    for (int k = 0; k < 3; k++) {
        unsigned idx = (unsigned)get_le(r.w + p, 2);
        assert_true(idx < 3);
        obj[idx] = p;
        p += idx ? 16 + ((get_le(r.w + p + 8, 8) + 7) & ~7ull) : get_le(r.w + p + 8, 8);
    }
    assert_memory_equal(r.w + obj[2] + 16, "2.1.6", 5); /* keras_version: index 2, then the free space */
    assert_int_equal(p, G + 4096);
    /* the attribute's (length, address, index) */
    unsigned char t[16];
    put_le(t, 5, 4), put_le(t + 4, G, 8), put_le(t + 12, 2, 4);
    size_t T = real_find(&r, t, 16);

    const struct {
        size_t at;
        uint64_t v;
        int n;
        const char *words; /* NULL: converts */
    } cases[] = {
        {0, 0, 0, NULL},                                               /* as written */
        {T + 4, 0, 8, NULL},                                           /* a null string (address 0) */
        {0, 0, 0, "do not fill"},                                      /* free space of size 0 (obj[0] below) */
        {0, 6, 8, "length is not its heap object's"},                  /* obj[2] size 6 */
        {0, 5000, 8, "runs past its collection"},                      /* obj[2] size 5000 */
        {T + 12, 9, 4, "no such object"},                              /* index 9 */
        {T + 12, 0, 4, "no such object"},                              /* index 0 (free space) */
        {T, 4, 4, "length is not its heap object's"},                  /* length 4 */
        {T + 4, G + 8, 8, "no global heap collection"},                /* address inside the collection */
        {T + 4, (uint64_t)1 << 40, 8, "outside the file"},             /* address past the end */
        {G + 8, 100, 8, "impossible size"},                            /* collection smaller than 4096 */
        {G + 8, (uint64_t)1 << 40, 8, "impossible size"},              /* collection past the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(r.m, r.w, r.wl);
        size_t at = cases[i].at;
        if (i == 2) at = obj[0] + 8, put_le(r.m + at, 0, 8);
        else if (i == 3 || i == 4) at = obj[2] + 8, put_le(r.m + at, cases[i].v, 8);
        else if (cases[i].n) put_le(r.m + at, cases[i].v, cases[i].n);
        sl_keras_conv_t c;
        last_err[0] = 0;
        int ret = sl_keras_convert_mem(r.m, r.wl, (char *)r.arch, r.al, NULL, "heap.h5", &c);
        if (!cases[i].words) {
            assert_int_equal(ret, 0);
            sl_keras_conv_free(&c);
            continue;
        }
        assert_int_equal(ret, -1);
        assert_non_null(strstr(last_err, "heap.h5: attribute 'keras_version': corrupt variable-length string: "));
        assert_non_null(strstr(last_err, cases[i].words));
    }
    real_free(&r);
}

/* The attribute reader bounds every part of an attribute message (libhdf5 1.10's
 * H5Aexists read freed memory on a dataspace size past its message), and every chunk
 * and message of the object headers libhdf5 will load. */
static void test_attribute_checks(void **state)
{
    (void)state;
    real_t r;
    real_load(&r);
    /* keras_version's attribute message (version 1: version, reserved, name, datatype
     * and dataspace sizes, then the name) and the message header 8 bytes before it */
    size_t A = real_find(&r, "keras_version", 14) - 8;
    assert_int_equal(r.w[A], 1);
    assert_int_equal(get_le(r.w + A - 8, 2), 0x0C);
    size_t ds = A + 8 + 16 + ((get_le(r.w + A + 4, 2) + 7) & ~7ull); /* name (14, padded), datatype */
    assert_int_equal(r.w[ds], 1);                                      /* dataspace version 1 */
    const struct {
        size_t at;
        uint64_t v;
        int n;
        const char *words;
    } cases[] = {
        {A + 6, 65304, 2, "corrupt attribute: dataspace does not fit its message"},
        {A + 4, 65000, 2, "corrupt attribute: datatype does not fit its message"},
        {A + 4, 4, 2, "corrupt attribute: datatype does not fit its message"},
        {ds + 1, 40, 1, "corrupt attribute: dataspace does not fit its message"},       /* rank 40 */
        {ds, 7, 1, "corrupt attribute: unknown dataspace"},
        {A, 9, 1, "corrupt attribute: unknown attribute message"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(r.m, r.w, r.wl);
        put_le(r.m + cases[i].at, cases[i].v, cases[i].n);
        sl_keras_conv_t c;
        last_err[0] = 0;
        assert_int_equal(sl_keras_convert_mem(r.m, r.wl, (char *)r.arch, r.al, NULL, "attr.h5", &c), -1);
        assert_non_null(strstr(last_err, "attr.h5: attribute 'keras_version': "));
        assert_non_null(strstr(last_err, cases[i].words));
    }
    /* the root group's object header (version 1, at the superblock's root entry): its
     * continuation message's chunk past the file (libhdf5 1.10 allocated the stated
     * 16 GiB in H5Fopen: fuzz regression hdf5_continuation_chunk_16gib), and a message
     * running past its chunk, are refused before libhdf5 opens the file */
    size_t R = (size_t)get_le(r.w + 64, 8);
    assert_int_equal(r.w[R], 1);
    assert_int_equal(get_le(r.w + R + 16, 2), 0x10);
    const size_t oh_at[] = {R + 24 + 8, R + 24, R + 18};

    const uint64_t oh_v[] = {(uint64_t)1 << 34, (uint64_t)1 << 40, 60000};
    const char *oh_words[] = {"a chunk runs past the file", "a chunk runs past the file",
                              "a message runs past its chunk"};
    for (int i = 0; i < 3; i++) {
        memcpy(r.m, r.w, r.wl);
        put_le(r.m + oh_at[i], oh_v[i], i < 2 ? 8 : 2);
        assert_int_equal(sl_keras_convert_mem(r.m, r.wl, (char *)r.arch, r.al, NULL, "attr.h5", &(sl_keras_conv_t){0}), -1);
        assert_non_null(strstr(last_err, "attr.h5: corrupt object header: "));
        assert_non_null(strstr(last_err, oh_words[i]));
    }
    /* a dataspace of 2 strings (rank 1, in 16 bytes) where the data holds one */
    memcpy(r.m, r.w, r.wl);
    r.m[ds + 1] = 1, put_le(r.m + ds + 8, 2, 8), put_le(r.m + A + 6, 16, 2);
    assert_int_equal(sl_keras_convert_mem(r.m, r.wl, (char *)r.arch, r.al, NULL, "attr.h5", &(sl_keras_conv_t){0}), -1);
    assert_non_null(strstr(last_err, "data does not fit its message"));
    real_free(&r);
}

/* kh5_close fails when the reader left an object of the file open; the EOA the reader
 * takes from the superblock is libhdf5's. */
static void test_close_checks_objects(void **state)
{
    (void)state;
    kh5_file_t f;
    assert_int_equal(kh5_open(&f, WEIGHTS, NULL, 0), 0);
    haddr_t eoa = 0;
    assert_true(H5Fget_eoa(f.id, &eoa) >= 0); /* sec2 only; the absolute EOA */
    assert_int_equal(f.base, 0);
    assert_int_equal(f.eoa, eoa);
    hid_t g = H5Gopen2(f.id, "conv1d_1", H5P_DEFAULT);
    assert_true(g >= 0);
    sl_log_set_callback(keep_error, NULL);
    assert_int_equal(kh5_close(&f), -1);
    sl_log_set_callback(NULL, NULL);
    assert_non_null(strstr(last_err, "1 HDF5 objects left open"));
    H5Gclose(g); /* the file closes with its last object */
    assert_nothing_open();
    assert_int_equal(kh5_open(&f, WEIGHTS, NULL, 0), 0);
    assert_int_equal(kh5_close(&f), 0);
    assert_nothing_open();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_matches_file),
        cmocka_unit_test(test_mem_broken),
        cmocka_unit_test(test_vlen_heap_checks),
        cmocka_unit_test(test_attribute_checks),
        cmocka_unit_test(test_close_checks_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
