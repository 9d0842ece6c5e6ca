/* test_support.c — helpers shared by the cmocka tests. */
#include "support/test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqlift/util.h"

double sl_test_gauss(uint64_t *state)
{
    double u1 = ((sl_splitmix64(state) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((sl_splitmix64(state) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

char *sl_test_tmp_path(const char *prefix, const char *name)
{
    static char buf[4][1024];
    static int k;
    const char *dir = getenv("SEQLIFT_TMP");
    if (!dir) dir = "build/test_tmp";
    mkdir(dir, 0755);
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s.%ld.%s", dir, prefix, (long)getpid(), name);
    return b;
}

char *sl_test_fifo(const char *prefix, const char *name)
{
    char *p = sl_test_tmp_path(prefix, name);
    remove(p);
    assert_int_equal(mkfifo(p, 0600), 0);
    return p;
}
