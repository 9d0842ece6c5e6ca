/* test_log.c — log levels, the callback, the default stderr format, and sl_version(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "seqlift/log.h"
#include "seqlift/version.h"

typedef struct {
    int n;
    sl_log_level_t level[8];
    char msg[8][4096];
} captured_t;

static void capture(sl_log_level_t level, const char *msg, void *ud)
{
    captured_t *c = ud;
    if (c->n < 8) {
        c->level[c->n] = level;
        snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", msg);
    }
    c->n++;
}

static void all_levels(void)
{
    sl_log_error("e %d", 1);
    sl_log_warn("w %s", "2");
    sl_log_info("i %d", 3);
    sl_log_debug("d %d", 4);
}

static void test_levels_and_callback(void **state)
{
    (void)state;
    captured_t c = {0};
    assert_int_equal(sl_log_get_level(), SL_LOG_WARN); /* the default */
    sl_log_set_callback(capture, &c);
    all_levels();
    assert_int_equal(c.n, 2);
    assert_int_equal(c.level[0], SL_LOG_ERROR);
    assert_string_equal(c.msg[0], "e 1"); /* no prefix, no newline */
    assert_int_equal(c.level[1], SL_LOG_WARN);
    assert_string_equal(c.msg[1], "w 2");
    const sl_log_level_t lv[] = {SL_LOG_NONE, SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG};
    for (int k = 0; k < 5; k++) {
        c.n = 0;
        sl_log_set_level(lv[k]);
        assert_int_equal(sl_log_get_level(), lv[k]);
        all_levels();
        assert_int_equal(c.n, k);
        if (k == 4) assert_string_equal(c.msg[3], "d 4");
    }
    sl_log_set_level((sl_log_level_t)99); /* clamped */
    assert_int_equal(sl_log_get_level(), SL_LOG_DEBUG);
    /* a message longer than the formatting buffer arrives whole */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    c.n = 0;
    sl_log_error("%s|", big);
    assert_int_equal(c.n, 1);
    assert_int_equal(strlen(c.msg[0]), sizeof(big));
    assert_int_equal(c.msg[0][sizeof(big) - 1], '|');
    sl_log_set_callback(NULL, NULL);
    sl_log_set_level(SL_LOG_WARN);
}

static void test_default_stderr(void **state)
{
    (void)state;
    FILE *saved = stderr, *f = tmpfile();
    assert_non_null(f);
    stderr = f;
    sl_log_set_level(SL_LOG_INFO);
    all_levels();
    sl_log_set_level(SL_LOG_WARN);
    stderr = saved;
    rewind(f);
    char buf[256] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    assert_string_equal(buf, "seqlift: error: e 1\nseqlift: warning: w 2\nseqlift: i 3\n");
}

static void test_version(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof(want), "%d.%d.%d", SEQLIFT_VERSION_MAJOR, SEQLIFT_VERSION_MINOR, SEQLIFT_VERSION_PATCH);
    assert_string_equal(sl_version(), want);
    assert_string_equal(sl_version(), SEQLIFT_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_callback),
        cmocka_unit_test(test_default_stderr),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
