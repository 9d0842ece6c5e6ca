/* test_util.c — atomic output files, strict parsing, hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqlift/util.h"

static void test_ofile_commit_and_abort(void **state)
{
    (void)state;
    const char *path = "build/test_tmp_util_out.txt";
    remove(path);
    sl_ofile_t *f = sl_ofile_open(path, "w");
    assert_non_null(f);
    fputs("hello\n", f->fp);
    assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
    assert_int_equal(sl_ofile_commit(f), 0);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "hello\n");
    remove(path);

    f = sl_ofile_open(path, "w");
    assert_non_null(f);
    fputs("half", f->fp);
    sl_ofile_abort(f);
    assert_int_equal(access(path, F_OK), -1);
}

/* Two phases: prepare finishes and checks the temporary, which stays invisible until
 * commit; abort after prepare removes it. Temporaries are registered while they exist
 * (what the signal handler removes) and unregistered by rename or removal. */
static void test_ofile_two_phase_and_registry(void **state)
{
    (void)state;
    const char *path = "build/test_tmp_util_2p.txt";
    remove(path);
    int n0 = sl_tmp_count();
    sl_ofile_t *f = sl_ofile_open(path, "w");
    assert_non_null(f);
    assert_int_equal(sl_tmp_count(), n0 + 1);
    fputs("x\n", f->fp);
    assert_int_equal(sl_ofile_prepare(f), 0);
    assert_null(f->fp);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(f->tmp, F_OK), 0);
    sl_ofile_abort(f);
    assert_int_equal(sl_tmp_count(), n0);
    assert_int_equal(access(path, F_OK), -1);

    f = sl_ofile_open(path, "w");
    assert_non_null(f);
    assert_int_equal(sl_ofile_prepare(f), 0);
    assert_int_equal(sl_ofile_commit(f), 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(sl_tmp_count(), n0);
    remove(path);

    /* what the handler of SIGTERM does: every registered temporary is unlinked */
    char *t = sl_tmp_path(path);
    assert_non_null(t);
    FILE *fp = fopen(t, "w");
    assert_non_null(fp);
    fclose(fp);
    sl_tmp_cleanup();
    assert_int_equal(access(t, F_OK), -1);
    sl_tmp_remove(t);
    assert_int_equal(sl_tmp_count(), n0);
    free(t);
}

static void test_parse(void **state)
{
    (void)state;
    long long v;
    double d;
    assert_int_equal(sl_parse_long("123", &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(sl_parse_long("-5", &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(sl_parse_long("12x", &v), -1);
    assert_int_equal(sl_parse_long("", &v), -1);
    assert_int_equal(sl_parse_double("0.25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(sl_parse_double("nan", &d), -1);
    assert_int_equal(sl_parse_double("1e999", &d), -1);
}

static void test_hash(void **state)
{
    (void)state;
    uint64_t a = sl_hash64("chr1:100-200", 12, 1);
    uint64_t b = sl_hash64("chr1:100-200", 12, 1);
    uint64_t c = sl_hash64("chr1:100-201", 12, 1);
    uint64_t d = sl_hash64("chr1:100-200", 12, 2);
    assert_true(a == b);
    assert_true(a != c);
    assert_true(a != d);
}

/* stdout ("-") is held until prepare: an aborted output writes nothing, a committed one
 * everything; past SL_OFILE_HOLD bytes it streams (the held bytes go out first). */
static long stdout_bytes(FILE *cap)
{
    fflush(stdout);
    fseek(cap, 0, SEEK_END);
    return ftell(cap);
}

static void test_ofile_stdout_held(void **state)
{
    (void)state;
    FILE *cap = tmpfile();
    assert_non_null(cap);
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0 && dup2(fileno(cap), 1) == 1);
    sl_ofile_t *f = sl_ofile_open("-", "w");
    assert_non_null(f);
    fputs("header\n", f->fp);
    fflush(f->fp);
    long before = stdout_bytes(cap);
    sl_ofile_abort(f);
    long aborted = stdout_bytes(cap);
    f = sl_ofile_open("-", "w");
    fputs("header\nrow\n", f->fp);
    long held = stdout_bytes(cap);
    int rc = sl_ofile_commit(f);
    long committed = stdout_bytes(cap);
    f = sl_ofile_open("-", "w");
    size_t big = SL_OFILE_HOLD + 1000;
    char *buf = malloc(big);
    memset(buf, 'x', big);
    fwrite(buf, 1, big, f->fp);
    fflush(f->fp);
    long streamed = stdout_bytes(cap);
    sl_ofile_abort(f); /* what streamed stays: the run was too big to hold */
    free(buf);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(cap);
    assert_int_equal(before, 0);
    assert_int_equal(aborted, 0);
    assert_int_equal(held, 0);
    assert_int_equal(rc, 0);
    assert_int_equal(committed, 11);
    assert_int_equal(streamed, 11 + (long)big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ofile_commit_and_abort),
        cmocka_unit_test(test_ofile_two_phase_and_registry),
        cmocka_unit_test(test_ofile_stdout_held),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
