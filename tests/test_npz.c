/* test_npz.c — npz writer/reader: round trips (any row order, threads, forced ZIP64),
 * hostile files (truncated at every length, corrupt bytes, bad headers).
 * Also a driver for tests/py/test_npz.py (numpy on the other side):
 *   test_npz write FILE [--zip64] [--shuffle] [--note TEXT] D0 [D1 ...]   values npz_test_value(i)
 *   test_npz dump FILE [NAME]                                 "ndim d0 ..." then values */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqlift/npz.h"
#include "seqlift/util.h"
#include "support/test_support.h"

/* Known values, reproduced in numpy as ((i % 1000) * 0.001 - 0.5).astype(float32). */
static float npz_test_value(int64_t i) { return (float)((double)(i % 1000) * 0.001 - 0.5); }

static char *tmp_file(const char *name) { return sl_test_tmp_path("test_npz_c", name); }

/* Write an array of shape with rows in the given order (NULL: in order). */
static const char *driver_note; /* write --note TEXT: sl_npz_set_note(w, "seqlift", TEXT) */

static int write_array(const char *path, int ndim, const int64_t *shape, const int64_t *order,
                       unsigned flags)
{
    sl_npz_writer_t *w = sl_npz_open_flags(path, NULL, ndim, shape, flags);
    if (!w) return -1;
    if (driver_note && sl_npz_set_note(w, "seqlift", driver_note) < 0) {
        sl_npz_abort(w);
        return -1;
    }
    int64_t rs = sl_npz_row_size(w);
    float *row = malloc((size_t)(rs ? rs : 1) * sizeof(float));
    for (int64_t k = 0; k < shape[0]; k++) {
        int64_t r = order ? order[k] : k;
        for (int64_t j = 0; j < rs; j++) row[j] = npz_test_value(r * rs + j);
        if (sl_npz_write_rows(w, r, 1, row) < 0) {
            free(row);
            sl_npz_abort(w);
            return -1;
        }
    }
    free(row);
    return sl_npz_close(w);
}

static void check_array(const char *path, int ndim, const int64_t *shape)
{
    int nd = 0;
    int64_t sh[SL_NPZ_MAX_DIM];
    float *data = NULL;
    assert_int_equal(sl_npz_read(path, "arr_0", &nd, sh, &data), 0);
    assert_int_equal(nd, ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(sh[i], shape[i]);
        n *= shape[i];
    }
    for (int64_t i = 0; i < n; i++) assert_true(data[i] == npz_test_value(i));
    free(data);
}

static void test_roundtrip_any_order(void **state)
{
    (void)state;
    const char *path = tmp_file("order.npz");
    int64_t shape[3] = {7, 4, 5};
    int64_t order[7] = {6, 0, 3, 1, 5, 2, 4};
    assert_int_equal(write_array(path, 3, shape, order, 0), 0);
    check_array(path, 3, shape);
    /* by NULL name and by full entry name too */
    int nd;
    int64_t sh[SL_NPZ_MAX_DIM];
    float *d = NULL;
    assert_int_equal(sl_npz_read(path, NULL, &nd, sh, &d), 0);
    free(d);
    assert_int_equal(sl_npz_read(path, "arr_0.npy", &nd, sh, &d), 0);
    free(d);
    assert_int_equal(sl_npz_read(path, "arr_1", &nd, sh, &d), -1);
    remove(path);
}

static void test_roundtrip_zip64(void **state)
{
    (void)state;
    const char *path = tmp_file("zip64.npz");
    int64_t shape[2] = {3, 10};
    assert_int_equal(write_array(path, 2, shape, NULL, SL_NPZ_FORCE_ZIP64), 0);
    check_array(path, 2, shape);
    /* the ZIP64 end record is really there */
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    int found = 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(buf + i, "PK\x06\x06", 4) == 0) found = 1;
    assert_true(found);
    remove(path);
}

static void test_empty_and_1d(void **state)
{
    (void)state;
    const char *path = tmp_file("one.npz");
    int64_t s1[1] = {13};
    assert_int_equal(write_array(path, 1, s1, NULL, 0), 0);
    check_array(path, 1, s1);
    int64_t s0[3] = {0, 4, 9};
    assert_int_equal(write_array(path, 3, s0, NULL, 0), 0);
    check_array(path, 3, s0);
    remove(path);
}

/* The writer renames a temporary file onto its path: an existing FIFO or device
 * (as root, /dev/null) would be replaced. It is refused and left in place. */
static void test_special_path_refused(void **state)
{
    (void)state;
    const char *fifo = sl_test_fifo("test_npz_c", "fifo.npz");
    int64_t shape[2] = {2, 3};
    sl_npz_writer_t *w = sl_npz_open(fifo, "arr_0", 2, shape);
    if (w) sl_npz_close(w);
    assert_null(w);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    remove(fifo);
}

static void test_unwritten_rows_zero_and_range(void **state)
{
    (void)state;
    const char *path = tmp_file("partial.npz");
    int64_t shape[2] = {4, 3};
    sl_npz_writer_t *w = sl_npz_open(path, "arr_0", 2, shape);
    assert_non_null(w);
    float row[3] = {1, 2, 3};
    assert_int_equal(sl_npz_write_rows(w, 2, 1, row), 0);
    assert_int_equal(sl_npz_write_rows(w, 4, 1, row), -1);
    assert_int_equal(sl_npz_write_rows(w, 3, 2, row), -1);
    assert_int_equal(sl_npz_write_rows(w, -1, 1, row), -1);
    assert_int_equal(access(path, F_OK), -1); /* nothing visible before close */
    assert_int_equal(sl_npz_close(w), 0);
    int nd;
    int64_t sh[SL_NPZ_MAX_DIM];
    float *d = NULL;
    assert_int_equal(sl_npz_read(path, NULL, &nd, sh, &d), 0);
    for (int i = 0; i < 12; i++) assert_true(d[i] == (i >= 6 && i < 9 ? (float)(i - 5) : 0.0f));
    free(d);
    remove(path);

    w = sl_npz_open(path, "arr_0", 2, shape);
    assert_non_null(w);
    sl_npz_abort(w);
    assert_int_equal(access(path, F_OK), -1);
    char *tmp = sl_tmp_path(path);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
    int64_t bad[2] = {-1, 3};
    assert_null(sl_npz_open(path, "arr_0", 2, bad));
    assert_null(sl_npz_open(path, "arr_0", 0, bad));
}

typedef struct {
    sl_npz_writer_t *w;
    int64_t first, step, rows;
} thr_arg_t;

static void *write_thread(void *p)
{
    thr_arg_t *a = p;
    int64_t rs = sl_npz_row_size(a->w);
    float *row = malloc((size_t)rs * sizeof(float));
    for (int64_t r = a->first; r < a->rows; r += a->step) {
        for (int64_t j = 0; j < rs; j++) row[j] = npz_test_value(r * rs + j);
        if (sl_npz_write_rows(a->w, r, 1, row) < 0) break;
    }
    free(row);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    const char *path = tmp_file("threads.npz");
    int64_t shape[3] = {64, 4, 33};
    sl_npz_writer_t *w = sl_npz_open(path, NULL, 3, shape);
    assert_non_null(w);
    pthread_t t[3];
    thr_arg_t a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (thr_arg_t){w, i, 3, shape[0]};
        pthread_create(&t[i], NULL, write_thread, &a[i]);
    }
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    assert_int_equal(sl_npz_close(w), 0);
    check_array(path, 3, shape);
    remove(path);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static void test_hostile_files(void **state)
{
    (void)state;
    const char *good = tmp_file("good.npz"), *bad = tmp_file("bad.npz");
    int64_t shape[2] = {5, 6};
    sl_log_level_t v = sl_log_get_level();
    for (int z64 = 0; z64 < 2; z64++) {
        assert_int_equal(write_array(good, 2, shape, NULL, z64 ? SL_NPZ_FORCE_ZIP64 : 0), 0);
        size_t n;
        unsigned char *b = slurp(good, &n);
        int nd;
        int64_t sh[SL_NPZ_MAX_DIM];
        float *d;
        sl_log_set_level(SL_LOG_NONE);
        /* every truncation is rejected */
        for (size_t len = 0; len < n; len++) {
            spit(bad, b, len);
            d = NULL;
            assert_int_equal(sl_npz_read(bad, NULL, &nd, sh, &d), -1);
            assert_null(d);
        }
        /* any single flipped byte either fails cleanly or (ZIP fields not checked, e.g.
         * the version or time) still gives the right array */
        for (size_t i = 0; i < n; i++) {
            b[i] ^= 0x5a;
            spit(bad, b, n);
            d = NULL;
            if (sl_npz_read(bad, NULL, &nd, sh, &d) == 0) {
                assert_int_equal(nd, 2);
                for (int k = 0; k < 30; k++) assert_true(d[k] == npz_test_value(k));
                free(d);
            }
            b[i] ^= 0x5a;
        }
        sl_log_set_level(v);
        free(b);
    }
    /* not a zip at all */
    spit(bad, (const unsigned char *)"hello world, not a zip file at all", 34);
    float *d = NULL;
    int nd;
    int64_t sh[SL_NPZ_MAX_DIM];
    assert_int_equal(sl_npz_read(bad, NULL, &nd, sh, &d), -1);
    assert_int_equal(sl_npz_read(tmp_file("missing.npz"), NULL, &nd, sh, &d), -1);
    remove(good);
    remove(bad);
}

/* ---- driver for the Python tests ------------------------------------------------- */
static int driver(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "write") == 0) {
        unsigned flags = 0;
        int shuffle = 0, ndim = 0;
        int64_t shape[SL_NPZ_MAX_DIM];
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--zip64") == 0) flags |= SL_NPZ_FORCE_ZIP64;
            else if (strcmp(argv[i], "--shuffle") == 0) shuffle = 1;
            else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc) driver_note = argv[++i];
            else if (ndim < SL_NPZ_MAX_DIM) shape[ndim++] = atoll(argv[i]);
        }
        int64_t *order = NULL;
        if (shuffle && ndim > 0) { /* a fixed permutation: odd rows backwards, then even */
            order = malloc((size_t)(shape[0] + 1) * sizeof(int64_t));
            int64_t k = 0;
            for (int64_t r = shape[0] - 1; r >= 0; r--)
                if (r % 2) order[k++] = r;
            for (int64_t r = 0; r < shape[0]; r++)
                if (r % 2 == 0) order[k++] = r;
        }
        int r = write_array(argv[2], ndim, shape, order, flags);
        free(order);
        return r < 0 ? 1 : 0;
    }
    if (argc >= 3 && strcmp(argv[1], "dump") == 0) {
        int nd;
        int64_t sh[SL_NPZ_MAX_DIM];
        float *d = NULL;
        if (sl_npz_read(argv[2], argc > 3 ? argv[3] : NULL, &nd, sh, &d) < 0) return 1;
        int64_t n = 1;
        printf("%d", nd);
        for (int i = 0; i < nd; i++) printf(" %lld", (long long)sh[i]), n *= sh[i];
        printf("\n");
        for (int64_t i = 0; i < n; i++) printf("%.9g\n", (double)d[i]);
        free(d);
        return 0;
    }
    fprintf(stderr, "usage: test_npz [write FILE [--zip64] [--shuffle] D0 ... | dump FILE [NAME]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1) return driver(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_any_order),
        cmocka_unit_test(test_roundtrip_zip64),
        cmocka_unit_test(test_empty_and_1d),
        cmocka_unit_test(test_special_path_refused),
        cmocka_unit_test(test_unwritten_rows_zero_and_range),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_hostile_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
