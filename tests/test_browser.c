/* test_browser.c — browser.h: relative paths (the session and hub find their files from
 * their own directory), and the IGV session's structure for grouped tracks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seqlift/browser.h"

static void check_rel(const char *dir, const char *path, const char *want)
{
    char *r = sl_browser_relpath(dir, path);
    assert_non_null(r);
    if (strcmp(r, want) != 0) fail_msg("relpath(%s, %s) = %s, want %s", dir, path, r, want);
    free(r);
}

static void test_relpath(void **state)
{
    (void)state;
    check_rel("/o", "/o/a.bw", "a.bw");
    check_rel("/o/hub", "/o/a.bw", "../a.bw");
    check_rel("/a/b", "/a/c/d", "../c/d");
    check_rel("/", "/x", "x");
    check_rel("/ab", "/abc/d", "../abc/d"); /* shared characters are not a shared directory */
    check_rel("/a/./b/../c//", "/a/c/f", "f");
    check_rel("/a/b/c", "/x", "../../../x");
    check_rel("/../a", "/a/f", "f"); /* ".." above the root stays at the root */
    check_rel("/t", "/t", "../t");
    /* relative paths are taken from the working directory */
    check_rel("out", "out/x/y.bed", "x/y.bed");
    check_rel(".", "y.bed", "y.bed");
    check_rel("out/hub", "genome.fa", "../../genome.fa");
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, fp);
    b[n] = 0;
    fclose(fp);
    return b;
}

static void test_igv_groups(void **state)
{
    (void)state;
    char xml[512];
    const char *tmp = getenv("SEQLIFT_TMP") ? getenv("SEQLIFT_TMP") : "/tmp";
    mkdir(tmp, 0755); /* this test may run before any other made the folder */
    snprintf(xml, sizeof xml, "%s/test_browser_session.xml", tmp);
    sl_browser_track_t t[] = {{"a.gata.bw", "gata <&>", "gata", SL_BROWSER_SIGNAL},
                              {"a.ebox.bw", "ebox", "ebox", SL_BROWSER_SIGNAL},
                              {"a.gata.bedGraph", "gata bg", "gata", SL_BROWSER_SIGNAL},
                              {"free.bw", "free", NULL, SL_BROWSER_SIGNAL},
                              {"s.bed", "seqlets", "gata", SL_BROWSER_FEATURES}};
    sl_browser_view_t v = {"genome.fa", NULL, "chr1:1-100", t, 5};
    assert_int_equal(sl_browser_write_igv(&v, xml), 0);
    char *s = slurp(xml);
    assert_non_null(s);
    /* ungrouped first, then one panel per group in order of appearance, features last */
    const char *dp = strstr(s, "<Panel name=\"DataPanel\">"), *g = strstr(s, "<Panel name=\"gata\">"),
               *e = strstr(s, "<Panel name=\"ebox\">"), *f = strstr(s, "<Panel name=\"FeaturePanel\">");
    assert_true(dp && g && e && f && dp < g && g < e && e < f);
    assert_non_null(strstr(s, "name=\"gata &lt;&amp;&gt;\""));
    /* both gata tracks autoscaled together, the next group separately */
    const char *a1 = strstr(s, "autoscaleGroup=\"1\""), *a2 = a1 ? strstr(a1 + 1, "autoscaleGroup=\"1\"") : NULL;
    assert_true(a1 && a2 && a2 < e && strstr(s, "autoscaleGroup=\"2\"") > e);
    assert_non_null(strstr(s, "a.gata.bedGraph\" name=\"gata bg\""));
    assert_non_null(strstr(s, "type=\"bedgraph\""));
    assert_non_null(strstr(s, "nextAutoscaleGroup=\"3\""));
    free(s);
    /* no genome: refused */
    v.genome_fasta = NULL;
    assert_int_equal(sl_browser_write_igv(&v, xml), -1);
    /* a hub needs an assembly name */
    char hub[512];
    snprintf(hub, sizeof hub, "%s/test_browser_hub", tmp);
    assert_int_equal(sl_browser_write_hub(&v, hub), -1);
    v.genome_name = "hg38";
    assert_int_equal(sl_browser_write_hub(&v, hub), 0);
    snprintf(hub, sizeof hub, "%s/test_browser_hub/trackDb.txt", tmp);
    s = slurp(hub);
    assert_non_null(s);
    assert_non_null(strstr(s, "track seqlift_gata\ncompositeTrack on\n"));
    assert_null(strstr(s, "bigDataUrl ../../../a.gata.bedGraph")); /* text formats only as comments */
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_relpath), cmocka_unit_test(test_igv_groups)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
