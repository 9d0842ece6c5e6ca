/* test_report.c — report builder: planted motifs labelled, kept regions chosen by
 * prediction whatever the arrival order (threads), genome coordinates on both
 * strands, escaping of user strings, byte-identical output across orders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seqlift/browser.h"
#include "seqlift/report.h"
#include "seqlift/util.h"
#include "support/test_support.h"

enum { N = 12, L = 160 };

static float ohe[N][L * 4], contrib[N][L * 4], hyp[N][L * 4];
static sl_region_t reg[N];
static char names[N][64];
static double pred[N];
static sl_motif_db_t *db;
static char tmpdir[256];

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, fp) != (size_t)n) n = 0;
    s[n] = 0;
    fclose(fp);
    return s;
}

/* Region i: GATA_like (motif 0) planted at 30 in even regions, EBOX_like (motif 1)
 * at 100 in every third; region 5 has a hostile name; odd regions on '-'. */
static int setup(void **state)
{
    (void)state;
    const char *t = getenv("SEQLIFT_TMP") ? getenv("SEQLIFT_TMP") : "build/test_tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s", t);
    mkdir(tmpdir, 0755);
    db = sl_motif_db_read("test_data/motifs/jaspar_style.meme");
    if (!db) return -1;
    uint64_t st = 3;
    for (int i = 0; i < N; i++) {
        for (int p = 0; p < L; p++) {
            int base = (int)(sl_splitmix64(&st) % 4);
            const double *row = NULL;
            if (i % 2 == 0 && p >= 30 && p < 30 + db->m[0].w) row = db->m[0].p + 4 * (p - 30);
            if (i % 3 == 0 && p >= 100 && p < 100 + db->m[1].w) row = db->m[1].p + 4 * (p - 100);
            for (int b = 0; b < 4; b++) hyp[i][4 * p + b] = (float)(0.01 * sl_test_gauss(&st));
            if (row) {
                base = 0;
                for (int b = 1; b < 4; b++)
                    if (row[b] > row[base]) base = b;
                for (int b = 0; b < 4; b++) hyp[i][4 * p + b] += (float)(0.3 * (row[b] - 0.25));
            }
            for (int b = 0; b < 4; b++) {
                ohe[i][4 * p + b] = b == base;
                contrib[i][4 * p + b] = b == base ? hyp[i][4 * p + b] : 0;
            }
        }
        snprintf(names[i], sizeof names[i], i == 5 ? "<script>alert(\"x&y\")</script>" : "peak%d", i);
        reg[i] = (sl_region_t){.chrom = "chr2", .start = 1000 * i, .end = 1000 * i + L, .bed_start = 1000 * i,
                               .bed_end = 1000 * i + L, .strand = i % 2 ? '-' : '+', .name = names[i],
                               .line = i + 1, .index = i, .summit = -1};
        pred[i] = (i * 7) % N; /* a permutation of 0..N-1 */
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_motif_db_destroy(db);
    return 0;
}

typedef struct {
    sl_report_t *rep;
    int first, step;
} job_t;

static void *add_some(void *arg)
{
    job_t *j = arg;
    for (int k = j->first; k < N; k += j->step) {
        int i = N - 1 - k; /* reverse order */
        if (sl_report_add_region(j->rep, &reg[i], L, ohe[i], contrib[i], hyp[i], pred[i]) < 0) return arg;
    }
    return NULL;
}

static sl_report_t *build(int threads)
{
    sl_report_opts_t o;
    sl_report_opts_default(&o);
    o.max_regions = 3;
    o.order = SL_REPORT_ORDER_PREDICTION;
    o.title = "test <report>";
    sl_report_t *rep = sl_report_create(&o, db);
    assert_non_null(rep);
    if (threads == 1) {
        for (int i = 0; i < N; i++)
            assert_int_equal(sl_report_add_region(rep, &reg[i], L, ohe[i], contrib[i], hyp[i], pred[i]), 0);
    } else {
        pthread_t th[2];
        job_t jobs[2] = {{rep, 0, 2}, {rep, 1, 2}};
        for (int t = 0; t < 2; t++) pthread_create(&th[t], NULL, add_some, &jobs[t]);
        for (int t = 0; t < 2; t++) {
            void *r;
            pthread_join(th[t], &r);
            assert_null(r);
        }
    }
    return rep;
}

static void test_report_content(void **state)
{
    (void)state;
    char html[512], json[512], bed[512], tsv[512];
    snprintf(html, sizeof html, "%s/test_report.html", tmpdir);
    snprintf(json, sizeof json, "%s/test_report.json", tmpdir);
    snprintf(bed, sizeof bed, "%s/test_report.bed", tmpdir);
    snprintf(tsv, sizeof tsv, "%s/test_report.tsv", tmpdir);
    sl_report_t *rep = build(1);
    assert_int_equal(sl_report_n_regions(rep), N);
    assert_int_equal(sl_report_write(rep, html, json), 0);
    assert_int_equal(sl_report_write_seqlets(rep, bed, tsv), 0);
    sl_report_destroy(rep);

    char *js = slurp(json);
    assert_non_null(js);
    cJSON *root = cJSON_Parse(js);
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItem(root, "n_regions")->valueint, N);
    /* the three highest predictions, highest first: pred = 7i mod 12 -> 11, 10, 9 */
    cJSON *regs = cJSON_GetObjectItem(root, "regions");
    assert_int_equal(cJSON_GetArraySize(regs), 3);
    static const int want_idx[3] = {5, 10, 3}; /* 7*5=35%12=11, 70%12=10, 21%12=9 */
    for (int r = 0; r < 3; r++) {
        cJSON *x = cJSON_GetArrayItem(regs, r);
        assert_int_equal(cJSON_GetObjectItem(x, "index")->valueint, want_idx[r]);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(x, "contribution")), L);
        assert_int_equal(strlen(cJSON_GetObjectItem(x, "sequence")->valuestring), L);
    }
    /* every planted instance is a seqlet labelled with the planted motif */
    cJSON *sq = cJSON_GetObjectItem(root, "seqlets");
    int found_gata = 0, found_ebox = 0, other = 0;
    for (int i = 0; i < cJSON_GetArraySize(sq); i++) {
        cJSON *s = cJSON_GetArrayItem(sq, i);
        int ri = cJSON_GetObjectItem(s, "region_index")->valueint;
        int ms = cJSON_GetObjectItem(s, "model_start")->valueint, me = cJSON_GetObjectItem(s, "model_end")->valueint;
        cJSON *m = cJSON_GetObjectItem(s, "motif");
        const char *mid = cJSON_IsString(m) ? m->valuestring : "";
        if (ri % 2 == 0 && ms < 38 && me > 30) {
            assert_string_equal(mid, "MA9001.1");
            found_gata++;
        } else if (ri % 3 == 0 && ms < 110 && me > 100) {
            assert_string_equal(mid, "MA9002.1");
            found_ebox++;
        } else {
            other++;
        }
        /* genome coordinates from the model span, independently of the library */
        int64_t gs = cJSON_GetObjectItem(s, "start")->valuedouble, ge = cJSON_GetObjectItem(s, "end")->valuedouble;
        if (ri % 2) {
            assert_int_equal(gs, 1000 * ri + L - me);
            assert_int_equal(ge, 1000 * ri + L - ms);
        } else {
            assert_int_equal(gs, 1000 * ri + ms);
            assert_int_equal(ge, 1000 * ri + me);
        }
    }
    assert_int_equal(found_gata, N / 2);
    assert_int_equal(found_ebox, N / 3);
    assert_true(other <= 2); /* noise */
    /* motif summary counts agree with the labels */
    cJSON *mt = cJSON_GetObjectItem(root, "motifs");
    for (int i = 0; i < cJSON_GetArraySize(mt); i++) {
        cJSON *x = cJSON_GetArrayItem(mt, i);
        const char *id = cJSON_GetObjectItem(x, "motif")->valuestring;
        int n = cJSON_GetObjectItem(x, "n_seqlets")->valueint;
        if (!strcmp(id, "MA9001.1")) assert_int_equal(n, N / 2);
        if (!strcmp(id, "MA9002.1")) assert_int_equal(n, N / 3);
    }
    /* the hostile name survives JSON intact */
    assert_non_null(strstr(js, "\"name\":\"<script>alert(\\\"x&y\\\")</script>\""));
    cJSON_Delete(root);
    free(js);

    /* HTML: escaped everywhere, one logo per drawn region, no external resources */
    char *h = slurp(html);
    assert_non_null(h);
    assert_null(strstr(h, "<script>alert"));
    assert_non_null(strstr(h, "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"));
    assert_non_null(strstr(h, "<title>test &lt;report&gt;</title>"));
    int logos = 0;
    for (const char *p = h; (p = strstr(p, "<svg class=\"logo\"")); p++) logos++;
    assert_int_equal(logos, 3);
    assert_null(strstr(h, "src=\"http"));
    assert_null(strstr(h, "<link"));
    assert_null(strstr(h, "@import"));
    free(h);

    /* BED9: MOTIF#rank names (or unlabelled#rank), score 0..1000, motif strand ('.'
     * unlabelled), thick = the seqlet, itemRgb by sign, sorted by chrom then start */
    char *b = slurp(bed);
    assert_non_null(b);
    assert_non_null(strstr(b, "chr2\t"));
    assert_non_null(strstr(b, "\tGATA_like#"));
    char line[512], prev_chrom[64] = "";
    long long prev_start = -1;
    int max_score = 0;
    FILE *fp = fopen(bed, "r");
    while (fgets(line, sizeof line, fp)) {
        char chrom[64], name[256], strand, rgb[32];
        long long s, e, ts, te;
        int score;
        assert_int_equal(sscanf(line, "%63s %lld %lld %255s %d %c %lld %lld %31s", chrom, &s, &e, name, &score,
                                &strand, &ts, &te, rgb),
                         9);
        assert_true(s < e);
        assert_true(ts == s && te == e);
        assert_true(score >= 0 && score <= 1000);
        max_score = score > max_score ? score : max_score;
        assert_true(strchr("+-.", strand) != NULL);
        assert_int_equal(strand == '.', strncmp(name, "unlabelled#", 11) == 0);
        assert_true(strcmp(rgb, SL_BROWSER_RGB_POS) == 0 || strcmp(rgb, SL_BROWSER_RGB_NEG) == 0);
        int c = strcmp(prev_chrom, chrom);
        assert_true(c < 0 || (c == 0 && prev_start <= s));
        snprintf(prev_chrom, sizeof prev_chrom, "%s", chrom);
        prev_start = s;
    }
    assert_int_equal(max_score, 1000);
    fclose(fp);
    free(b);
    char *t = slurp(tsv);
    assert_non_null(t);
    assert_non_null(strstr(t, "\tMA9001.1\t"));
    free(t);
}

/* Same regions, two threads, reversed arrival: byte-identical JSON. */
static void test_order_independent(void **state)
{
    (void)state;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/test_report_a.json", tmpdir);
    snprintf(b, sizeof b, "%s/test_report_b.json", tmpdir);
    sl_report_t *r1 = build(1), *r2 = build(2);
    assert_int_equal(sl_report_write(r1, NULL, a), 0);
    assert_int_equal(sl_report_write(r2, NULL, b), 0);
    sl_report_destroy(r1);
    sl_report_destroy(r2);
    char *x = slurp(a), *y = slurp(b);
    assert_non_null(x);
    assert_non_null(y);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

/* Many regions in a shuffled order, few drawn: the kept set is exactly the first
 * max_regions of a full sort (prediction, NaN last, ties by input index; or input). */
static void test_kept_selection(void **state)
{
    (void)state;
    enum { NR = 600, K = 23, LL = 8 };
    static float z[4 * LL];
    double pr[NR];
    int perm[NR];
    uint64_t st = 17;
    for (int i = 0; i < NR; i++) {
        uint64_t u = sl_splitmix64(&st);
        pr[i] = u % 7 == 0 ? NAN : (double)(u % 50); /* ties and NaNs */
        perm[i] = i;
    }
    for (int i = NR - 1; i > 0; i--) {
        int j = (int)(sl_splitmix64(&st) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int ord = 0; ord < 2; ord++) {
        sl_report_opts_t o;
        sl_report_opts_default(&o);
        o.max_regions = K;
        o.order = ord ? SL_REPORT_ORDER_PREDICTION : SL_REPORT_ORDER_INPUT;
        sl_report_t *rep = sl_report_create(&o, NULL);
        assert_non_null(rep);
        for (int i = 0; i < NR; i++) {
            sl_region_t r = {.start = 0, .end = LL, .strand = '.', .line = 1, .index = perm[i], .summit = -1};
            assert_int_equal(sl_report_add_region(rep, &r, LL, z, z, NULL, pr[perm[i]]), 0);
        }
        char js[512];
        snprintf(js, sizeof js, "%s/test_report_kept.json", tmpdir);
        assert_int_equal(sl_report_write(rep, NULL, js), 0);
        sl_report_destroy(rep);
        /* expected: selection sort by the report order */
        int want[K], used[NR] = {0};
        for (int k = 0; k < K; k++) {
            int b = -1;
            for (int i = 0; i < NR; i++) {
                if (used[i]) continue;
                if (b < 0) { b = i; continue; }
                int better = i < b;
                if (ord && isnan(pr[i]) != isnan(pr[b])) better = !isnan(pr[i]);
                else if (ord && !isnan(pr[i]) && pr[i] != pr[b]) better = pr[i] > pr[b];
                if (better) b = i;
            }
            used[b] = 1;
            want[k] = b;
        }
        char *t = slurp(js);
        cJSON *root = cJSON_Parse(t), *regs = cJSON_GetObjectItem(root, "regions");
        assert_int_equal(cJSON_GetArraySize(regs), K);
        for (int k = 0; k < K; k++)
            assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(regs, k), "index")->valuedouble, want[k]);
        cJSON_Delete(root);
        free(t);
    }
}

static void test_edge_inputs(void **state)
{
    (void)state;
    sl_report_opts_t o;
    sl_report_opts_default(&o);
    o.top_matches = 0;
    assert_null(sl_report_create(&o, db));
    sl_report_opts_default(&o);
    o.seqlet.min_len = 30;
    o.seqlet.max_len = 10;
    assert_null(sl_report_create(&o, NULL));
    /* no database, a flat region, a region shorter than min_len, FASTA-like regions */
    sl_report_opts_default(&o);
    sl_report_t *rep = sl_report_create(&o, NULL);
    assert_non_null(rep);
    static float zero[4 * L];
    sl_region_t r = {.start = 0, .end = L, .strand = '.', .name = "rec1", .line = 1, .index = 0, .summit = -1};
    assert_int_equal(sl_report_add_region(rep, &r, L, zero, zero, NULL, NAN), 0);
    r.index = 1;
    r.name = NULL;
    assert_int_equal(sl_report_add_region(rep, &r, 3, ohe[0], contrib[0], NULL, NAN), 0);
    r.index = 2;
    assert_int_equal(sl_report_add_region(rep, &r, L, ohe[0], contrib[0], NULL, 1.0), 0);
    assert_true(sl_report_n_seqlets(rep) >= 1);
    char html[512];
    snprintf(html, sizeof html, "%s/test_report_nodb.html", tmpdir);
    assert_int_equal(sl_report_write(rep, html, NULL), 0);
    char *h = slurp(html);
    assert_non_null(strstr(h, "region2#1"));
    free(h);
    /* non-finite contributions (a hostile npz) are not drawn and never reach the SVG
     * as "nan" / "inf" attribute values */
    static float bad[4 * L];
    memcpy(bad, contrib[0], sizeof bad);
    bad[4 * 40] = INFINITY;
    bad[4 * 41 + 1] = NAN;
    bad[4 * 42 + 2] = -INFINITY;
    sl_report_t *rb = sl_report_create(&o, db);
    assert_non_null(rb);
    r.index = 3;
    assert_int_equal(sl_report_add_region(rb, &r, L, ohe[0], bad, NULL, NAN), 0);
    snprintf(html, sizeof html, "%s/test_report_nonfinite.html", tmpdir);
    assert_int_equal(sl_report_write(rb, html, NULL), 0);
    h = slurp(html);
    char *svg = strstr(h, "<svg class=\"logo\"");
    assert_non_null(svg);
    *strstr(svg, "</svg>") = 0;
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
    assert_non_null(strstr(svg, "<use href=\"#g")); /* the finite letters are still drawn */
    free(h);
    sl_report_destroy(rb);
    /* unwritable output: error, no crash */
    assert_int_equal(sl_report_write(rep, "/nonexistent-dir/x.html", NULL), -1);
    sl_report_destroy(rep);
    /* option parsing */
    sl_report_opts_default(&o);
    assert_int_equal(sl_report_opt(&o, "top", "7"), 1);
    assert_int_equal(o.top_matches, 7);
    assert_int_equal(sl_report_opt(&o, "report-order", "prediction"), 2); /* a drawing option */
    assert_int_equal(o.order, SL_REPORT_ORDER_PREDICTION);
    assert_int_equal(sl_report_opt(&o, "min-len", "x"), -1);
    assert_int_equal(sl_report_opt(&o, "scan-pvalue", "0.5"), -1);
    assert_int_equal(sl_report_opt(&o, "threads", "2"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_content),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_kept_selection),
        cmocka_unit_test(test_edge_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
