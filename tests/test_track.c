/* test_track.c — streaming bedGraph/bigWig writer: '-' strand mapping, a naive dense
 * computation on overlapping both-strand regions for every option, order checks,
 * clipping, file naming. Also a driver for tests/py/test_tracks.py:
 *   test_track drive INPUT BEDGRAPH|none BIGWIG|none
 * INPUT lines: "O overlap track_width merge_runs", "C name size",
 * "R chrom start end strand v0 v1 ..." ("nan" allowed), regions in any order (the
 * driver sorts them with sl_track_sort_order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bigWig.h>

#include "seqlift/track.h"
#include "seqlift/util.h"
#include "support/test_support.h"

static char *tmp_file(const char *name) { return sl_test_tmp_path("test_track_c", name); }

typedef struct {
    char chrom[64];
    long long start, end;
    char text[64];
} bg_line_t;

/* Parse a bedGraph written by the writer; checks the format and the order rules. */
static bg_line_t *read_bedgraph(const char *path, int *n_out)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int n = 0, m = 64;
    bg_line_t *l = malloc((size_t)m * sizeof(*l));
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        if (n == m) l = realloc(l, (size_t)(m *= 2) * sizeof(*l));
        bg_line_t *e = &l[n];
        assert_int_equal(sscanf(line, "%63s\t%lld\t%lld\t%63s", e->chrom, &e->start, &e->end, e->text), 4);
        assert_true(e->start >= 0 && e->start < e->end);
        if (n > 0) {
            int c = strcmp(l[n - 1].chrom, e->chrom);
            assert_true(c <= 0);
            if (c == 0) assert_true(l[n - 1].end <= e->start);
        }
        n++;
    }
    fclose(fp);
    *n_out = n;
    return l;
}

static void test_minus_strand_known_values(void **state)
{
    (void)state;
    const char *bg = tmp_file("minus.bedGraph");
    const char *names[] = {"chr1"};
    int64_t sizes[] = {100};
    sl_track_t *w = sl_track_open(bg, NULL, 1, names, sizes, NULL);
    assert_non_null(w);
    float v[10];
    for (int p = 0; p < 10; p++) v[p] = (float)(p + 1); /* model position p has value p+1 */
    v[3] = NAN;                                         /* an N base: absent */
    sl_region_t r = {.chrom = "chr1", .start = 10, .end = 20, .strand = '-', .line = 1};
    assert_int_equal(sl_track_add(w, &r, v), 0);
    assert_int_equal(sl_track_close(w), 0);
    int n;
    bg_line_t *l = read_bedgraph(bg, &n);
    assert_int_equal(n, 9);
    for (int i = 0; i < n; i++) {
        /* genome base g holds model position end-1-g */
        long long p = 19 - l[i].start;
        assert_int_equal(l[i].end, l[i].start + 1);
        assert_true(p != 3);
        assert_true(strtof(l[i].text, NULL) == (float)(p + 1));
    }
    assert_int_equal(l[0].start, 10); /* position 9 */
    assert_string_equal(l[0].text, "10");
    free(l);
    remove(bg);
}

/* ---- naive dense computation ----------------------------------------------------- */
#define NC 3
static const char *tnames[NC] = {"chr2", "chr10", "chrX"}; /* not byte order on purpose */
static const int64_t tsizes[NC] = {500, 300, 250};

typedef struct {
    sl_region_t r;
    float *v;
} treg_t;

static uint64_t rng_state = 42;
static double urand(void) { return (double)(sl_splitmix64(&rng_state) >> 11) / 9007199254740992.0; }

static int make_regions(treg_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        int c = (int)(urand() * NC);
        int64_t len = 20 + (int64_t)(urand() * 40);
        int64_t start = (int64_t)(urand() * (double)(tsizes[c] + 20)) - 20; /* some run off the ends */
        t[i].r = (sl_region_t){.chrom = (char *)tnames[c], .start = start, .end = start + len,
                               .strand = urand() < 0.5 ? '-' : '+', .line = i + 1, .index = i};
        t[i].v = malloc((size_t)len * sizeof(float));
        for (int64_t p = 0; p < len; p++) {
            double u = urand();
            /* few distinct values so that merge_runs has runs to merge */
            t[i].v[p] = u < 0.05 ? NAN : (float)((int)(u * 6) - 2) * 0.25f;
        }
    }
    return n;
}

/* expected per-base value (NaN = absent) for contig c, by brute force over all regions */
static void naive(const treg_t *t, int n, int c, const sl_track_opts_t *o, float *out)
{
    int64_t size = tsizes[c];
    double *sum = calloc((size_t)size, sizeof(double));
    int *cnt = calloc((size_t)size, sizeof(int));
    /* "first" and ties of max-abs follow the genome order of the windows */
    int64_t *order = malloc((size_t)n * sizeof(int64_t));
    sl_regions_t rl = {0};
    rl.n = n;
    rl.r = malloc((size_t)n * sizeof(sl_region_t));
    for (int i = 0; i < n; i++) rl.r[i] = t[i].r;
    assert_int_equal(sl_track_sort_order(&rl, order), 0);
    for (int64_t g = 0; g < size; g++) out[g] = NAN;
    for (int k = 0; k < n; k++) {
        const treg_t *x = &t[order[k]];
        if (strcmp(x->r.chrom, tnames[c]) != 0) continue;
        int64_t len = x->r.end - x->r.start;
        for (int64_t p = 0; p < len; p++) {
            int64_t g = x->r.strand == '-' ? x->r.end - 1 - p : x->r.start + p;
            int64_t off = g - x->r.start; /* genome offset in the window */
            if (o->track_width > 0 && o->track_width < len) {
                int64_t lo = (len - o->track_width) / 2;
                if (off < lo || off >= lo + o->track_width) continue;
            }
            if (g < 0 || g >= size || isnan(x->v[p])) continue;
            float v = x->v[p];
            if (o->overlap == SL_OVERLAP_MEAN) sum[g] += v;
            else if (o->overlap == SL_OVERLAP_FIRST && cnt[g] == 0) out[g] = v;
            else if (o->overlap == SL_OVERLAP_MAX_ABS && (cnt[g] == 0 || fabsf(v) > fabsf(out[g]))) out[g] = v;
            cnt[g]++;
        }
    }
    if (o->overlap == SL_OVERLAP_MEAN)
        for (int64_t g = 0; g < size; g++) out[g] = cnt[g] ? (float)(sum[g] / cnt[g]) : NAN;
    free(rl.r);
    free(order);
    free(sum);
    free(cnt);
}

static void run_naive_case(const sl_track_opts_t *o)
{
    enum { NR = 60 };
    treg_t t[NR];
    make_regions(t, NR);
    const char *bg = tmp_file("naive.bedGraph");
    sl_track_t *w = sl_track_open(bg, NULL, NC, tnames, tsizes, o);
    assert_non_null(w);
    sl_regions_t rl = {0};
    rl.n = NR;
    rl.r = malloc(NR * sizeof(sl_region_t));
    for (int i = 0; i < NR; i++) rl.r[i] = t[i].r;
    int64_t order[NR];
    assert_int_equal(sl_track_sort_order(&rl, order), 0);
    for (int k = 0; k < NR; k++) assert_int_equal(sl_track_add(w, &t[order[k]].r, t[order[k]].v), 0);
    int64_t n_entries = sl_track_n_entries(w);
    assert_int_equal(sl_track_close(w), 0);

    int n;
    bg_line_t *l = read_bedgraph(bg, &n);
    assert_true(n >= n_entries && n > 0);
    for (int c = 0; c < NC; c++) {
        float *exp = malloc((size_t)tsizes[c] * sizeof(float));
        float *got = malloc((size_t)tsizes[c] * sizeof(float));
        naive(t, NR, c, o, exp);
        for (int64_t g = 0; g < tsizes[c]; g++) got[g] = NAN;
        const bg_line_t *prev = NULL;
        for (int i = 0; i < n; i++) {
            if (strcmp(l[i].chrom, tnames[c]) != 0) continue;
            assert_true(l[i].end <= tsizes[c]);
            if (!o->merge_runs) assert_int_equal(l[i].end - l[i].start, 1);
            /* maximal runs: touching entries differ */
            else if (prev && prev->end == l[i].start) assert_string_not_equal(prev->text, l[i].text);
            for (long long g = l[i].start; g < l[i].end; g++) got[g] = strtof(l[i].text, NULL);
            prev = &l[i];
        }
        for (int64_t g = 0; g < tsizes[c]; g++) {
            if (isnan(exp[g])) {
                assert_true(isnan(got[g]));
            } else {
                assert_false(isnan(got[g]));
                assert_true(fabsf(got[g] - exp[g]) <= 1e-6f * fmaxf(1.0f, fabsf(exp[g])));
            }
        }
        free(exp);
        free(got);
    }
    free(l);
    free(rl.r);
    for (int i = 0; i < NR; i++) free(t[i].v);
    remove(bg);
}

static void test_naive_all_options(void **state)
{
    (void)state;
    sl_track_opts_t o;
    for (int ov = 0; ov < 3; ov++)
        for (int tw = 0; tw < 3; tw++)
            for (int mr = 0; mr < 2; mr++) {
                sl_track_opts_init(&o);
                o.overlap = (sl_overlap_t)ov;
                o.track_width = tw == 0 ? 0 : (tw == 1 ? 10 : 25);
                o.merge_runs = mr;
                run_naive_case(&o);
            }
}

/* A contig whose only window starts before position 0 (a peak at a chromosome start,
 * chrM, a small scaffold) keeps its bases 0.. (flush_until(INT64_MAX) with a negative
 * buffer start overflowed, and the contig had no entries). */
static void test_window_before_zero(void **state)
{
    (void)state;
    const char *bg = tmp_file("before0.bedGraph");
    sl_track_t *w = sl_track_open(bg, NULL, NC, tnames, tsizes, NULL);
    assert_non_null(w);
    float v[100];
    for (int i = 0; i < 100; i++) v[i] = (float)(i + 1);
    sl_region_t a = {.chrom = "chr10", .start = -20, .end = 80, .strand = '+'};
    sl_region_t b = {.chrom = "chr2", .start = -30, .end = 70, .strand = '-'};
    assert_int_equal(sl_track_add(w, &a, v), 0);
    assert_int_equal(sl_track_add(w, &b, v), 0);
    assert_int_equal(sl_track_close(w), 0);
    int n;
    bg_line_t *l = read_bedgraph(bg, &n);
    assert_int_equal(n, 80 + 70);
    assert_string_equal(l[0].chrom, "chr10");
    assert_int_equal(l[0].start, 0);
    assert_string_equal(l[0].text, "21");  /* window position 20 is base 0 */
    assert_string_equal(l[80].chrom, "chr2");
    assert_int_equal(l[80].start, 0);
    assert_string_equal(l[80].text, "70"); /* minus strand: base 0 is model position 69 */
    free(l);
    remove(bg);
}

static void test_order_errors(void **state)
{
    (void)state;
    const char *bg = tmp_file("order.bedGraph");
    float v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    sl_track_t *w = sl_track_open(bg, NULL, NC, tnames, tsizes, NULL);
    assert_non_null(w);
    sl_region_t a = {.chrom = "chr2", .start = 50, .end = 60, .strand = '+'};
    sl_region_t b = {.chrom = "chr10", .start = 0, .end = 10, .strand = '+'}; /* chr10 < chr2 */
    assert_int_equal(sl_track_add(w, &a, v), 0);
    assert_int_equal(sl_track_add(w, &b, v), -1);
    assert_int_equal(sl_track_add(w, &a, v), -1); /* unusable after an error */
    sl_track_abort(w);
    assert_int_equal(access(bg, F_OK), -1);

    w = sl_track_open(bg, NULL, NC, tnames, tsizes, NULL);
    sl_region_t c = {.chrom = "chr2", .start = 40, .end = 50, .strand = '+'};
    assert_int_equal(sl_track_add(w, &a, v), 0);
    assert_int_equal(sl_track_add(w, &c, v), -1);
    sl_track_abort(w);

    w = sl_track_open(bg, NULL, NC, tnames, tsizes, NULL);
    sl_region_t d = {.chrom = "chrY", .start = 40, .end = 50, .strand = '+'};
    assert_int_equal(sl_track_add(w, &d, v), -1);
    sl_track_abort(w);
    w = sl_track_open(bg, NULL, NC, tnames, tsizes, NULL);
    sl_region_t e = {.chrom = NULL, .name = "seq1", .start = 0, .end = 10};
    assert_int_equal(sl_track_add(w, &e, v), -1);
    sl_track_abort(w);

    assert_null(sl_track_open(NULL, NULL, NC, tnames, tsizes, NULL));
    const char *dup[] = {"chr1", "chr1"};
    assert_null(sl_track_open(bg, NULL, 2, dup, tsizes, NULL));
    assert_null(sl_track_open("/nonexistent/dir/x.bedGraph", NULL, NC, tnames, tsizes, NULL));
}

static void test_sort_order(void **state)
{
    (void)state;
    sl_region_t r[6] = {
        {.chrom = "chr2", .start = 5, .end = 10, .index = 0},
        {.chrom = "chr10", .start = 7, .end = 10, .index = 1},
        {.chrom = "chr2", .start = 1, .end = 10, .index = 2},
        {.chrom = "Chr3", .start = 9, .end = 10, .index = 3},
        {.chrom = "chr10", .start = 7, .end = 9, .index = 4},
        {.chrom = "chr1", .start = 100, .end = 110, .index = 5},
    };
    sl_regions_t rl = {.r = r, .n = 6};
    int64_t order[6];
    assert_int_equal(sl_track_sort_order(&rl, order), 0);
    /* LC_ALL=C sort -k1,1 -k2,2n: Chr3 chr1 chr10(7,9) chr10(7,10) chr2(1) chr2(5) */
    const int64_t want[6] = {3, 5, 4, 1, 2, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(order[i], want[i]);
}

static void test_clip_and_nan(void **state)
{
    (void)state;
    const char *bg = tmp_file("clip.bedGraph");
    const char *names[] = {"c"};
    int64_t sizes[] = {8};
    sl_track_opts_t o;
    sl_track_opts_init(&o);
    o.merge_runs = 1;
    sl_track_t *w = sl_track_open(bg, NULL, 1, names, sizes, &o);
    float v[12];
    for (int i = 0; i < 12; i++) v[i] = 0.5f;
    v[0] = -0.0f;
    sl_region_t a = {.chrom = "c", .start = -2, .end = 10, .strand = '+'};
    assert_int_equal(sl_track_add(w, &a, v), 0);
    float nan4[4] = {NAN, NAN, NAN, NAN};
    sl_region_t b = {.chrom = "c", .start = 6, .end = 10, .strand = '+'};
    assert_int_equal(sl_track_add(w, &b, nan4), 0); /* no value: does not change the mean */
    assert_int_equal(sl_track_close(w), 0);
    int n;
    bg_line_t *l = read_bedgraph(bg, &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].chrom, "c");
    assert_int_equal(l[0].start, 0);
    assert_int_equal(l[0].end, 8);
    assert_string_equal(l[0].text, "0.5");
    free(l);
    remove(bg);
}

static void test_target_path_and_options(void **state)
{
    (void)state;
    struct { const char *path, *target; int n; const char *want; } c[] = {
        {"out.bedGraph", "CTCF", 1, "out.bedGraph"},
        {"out.bedGraph", "CTCF", 2, "out.CTCF.bedGraph"},
        {"out.bedGraph.gz", "CTCF", 2, "out.CTCF.bedGraph.gz"},
        {"dir.v1/out.bw", "task/0 x", 3, "dir.v1/out.task_0_x.bw"},
        {"dir.v1/out", "t", 3, "dir.v1/out.t"},
        {"out.gz", "t", 3, "out.t.gz"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *p = sl_track_target_path(c[i].path, c[i].target, c[i].n);
        assert_string_equal(p, c[i].want);
        free(p);
    }
    sl_overlap_t o;
    assert_int_equal(sl_track_parse_overlap("max-abs", &o), 0);
    assert_int_equal(o, SL_OVERLAP_MAX_ABS);
    assert_string_equal(sl_track_overlap_name(o), "max-abs");
    assert_int_equal(sl_track_parse_overlap("median", &o), -1);
}

static void test_project(void **state)
{
    (void)state;
    float x[3][4] = {{1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 1}};
    float c[3][4] = {{0.5f, -0.25f, 0, 0}, {1, 1, 1, 1}, {0, 0.125f, 0, 2}};
    float out[3];
    sl_track_project(&c[0][0], &x[0][0], 3, 0, out);
    assert_true(out[0] == 0.25f && out[1] == 4.0f && out[2] == 2.125f);
    sl_track_project(&c[0][0], &x[0][0], 3, 1, out);
    assert_true(out[0] == 0.25f && isnan(out[1]) && out[2] == 2.125f);
}

static void test_empty_bigwig(void **state)
{
    (void)state;
    const char *bw = tmp_file("empty.bw"), *bg = tmp_file("empty.bedGraph.gz");
    sl_track_t *w = sl_track_open(bg, bw, NC, tnames, tsizes, NULL);
    assert_non_null(w);
    assert_int_equal(sl_track_close(w), 0);
    assert_int_equal(access(bw, F_OK), 0);
    assert_int_equal(access(bg, F_OK), 0);
    remove(bw);
    remove(bg);
}

/* An existing FIFO (or device) is written in place, like sl_ofile_open does: renaming
 * a temporary file onto it would replace it (as root, even /dev/null). A bigWig needs
 * a seekable regular file, so a FIFO there is refused and left alone. */
static void test_fifo_in_place(void **state)
{
    (void)state;
    const char *fifo = sl_test_fifo("test_track_c", "fifo.bedGraph");
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open succeeds */
    assert_true(rfd >= 0);
    const char *names[] = {"chr1"};
    int64_t sizes[] = {100};
    sl_track_t *w = sl_track_open(fifo, NULL, 1, names, sizes, NULL);
    assert_non_null(w);
    float v[2] = {1.5f, -2.0f};
    sl_region_t r = {.chrom = "chr1", .start = 10, .end = 12, .strand = '+', .line = 1};
    assert_int_equal(sl_track_add(w, &r, v), 0);
    assert_int_equal(sl_track_close(w), 0);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    char buf[256];
    ssize_t n = read(rfd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = 0;
    assert_string_equal(buf, "chr1\t10\t11\t1.5\nchr1\t11\t12\t-2\n");
    close(rfd);
    assert_null(sl_track_open(NULL, fifo, 1, names, sizes, NULL));
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    remove(fifo);
}

/* Contigs from a real genome's .fai: clipping at the contig end, bigWig header read
 * back with libBigWig (names in byte order, sizes from the .fai). */
static void test_open_genome(void **state)
{
    (void)state;
    const char *bg = tmp_file("genome.bedGraph"), *bw = tmp_file("genome.bw");
    sl_genome_t *g = sl_genome_open("test_data/genome.fa");
    assert_non_null(g);
    sl_track_t *w = sl_track_open_genome(bg, bw, g, NULL);
    assert_non_null(w);
    float v[100];
    for (int i = 0; i < 100; i++) v[i] = (float)i;
    sl_region_t r = {.chrom = "chrM", .start = 300, .end = 400, .strand = '+'};
    assert_int_equal(sl_track_add(w, &r, v), 0);
    assert_int_equal(sl_track_close(w), 0);
    int n;
    bg_line_t *l = read_bedgraph(bg, &n);
    assert_int_equal(n, 33); /* chrM is 333 bp */
    assert_int_equal(l[n - 1].end, 333);
    free(l);

    bigWigFile_t *f = bwOpen((char *)bw, NULL, "r");
    assert_non_null(f);
    int nc = sl_genome_n_contigs(g);
    assert_int_equal(f->cl->nKeys, nc);
    for (int i = 0; i < nc; i++) {
        if (i > 0) assert_true(strcmp(f->cl->chrom[i - 1], f->cl->chrom[i]) < 0);
        assert_int_equal(f->cl->len[i], sl_genome_contig_len(g, f->cl->chrom[i]));
    }
    assert_true(f->hdr->nLevels > 0);
    bwClose(f);
    sl_genome_close(g);
    remove(bg);
    remove(bw);
}

/* ---- driver for the Python tests ------------------------------------------------- */
static int drive(const char *input, const char *bg, const char *bw)
{
    FILE *fp = fopen(input, "r");
    if (!fp) return 1;
    sl_track_opts_t o;
    sl_track_opts_init(&o);
    int nc = 0, nr = 0, ret = 1;
    char *names[64];
    int64_t sizes[64];
    sl_regions_t rl = {0};
    float **vals = NULL;
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    while (fgets(line, (int)cap, fp)) {
        char *s = line, *e;
        if (line[0] == 'O') {
            char ov[32];
            long long tw;
            int mr;
            if (sscanf(line + 1, "%31s %lld %d", ov, &tw, &mr) != 3 || sl_track_parse_overlap(ov, &o.overlap) < 0)
                goto done;
            o.track_width = tw, o.merge_runs = mr;
        } else if (line[0] == 'C' && nc < 64) {
            char nm[256];
            long long sz;
            if (sscanf(line + 1, "%255s %lld", nm, &sz) != 2) goto done;
            names[nc] = strdup(nm), sizes[nc++] = sz;
        } else if (line[0] == 'R') {
            char nm[256], st;
            long long a, b;
            int k;
            if (sscanf(line + 1, "%255s %lld %lld %c%n", nm, &a, &b, &st, &k) != 4) goto done;
            rl.r = realloc(rl.r, (size_t)(nr + 1) * sizeof(sl_region_t));
            vals = realloc(vals, (size_t)(nr + 1) * sizeof(float *));
            rl.r[nr] = (sl_region_t){.chrom = strdup(nm), .start = a, .end = b, .strand = st,
                                     .line = nr + 1, .index = nr};
            vals[nr] = malloc((size_t)(b - a) * sizeof(float));
            s = line + 1 + k;
            for (long long p = 0; p < b - a; p++) {
                vals[nr][p] = strtof(s, &e);
                if (e == s) goto done;
                s = e;
            }
            rl.n = ++nr;
        }
    }
    int64_t *order = malloc((size_t)(nr + 1) * sizeof(int64_t));
    sl_track_sort_order(&rl, order);
    sl_track_t *w = sl_track_open(strcmp(bg, "none") ? bg : NULL, strcmp(bw, "none") ? bw : NULL, nc,
                                  (const char *const *)names, sizes, &o);
    if (w) {
        int ok = 1;
        for (int i = 0; i < nr && ok; i++) ok = sl_track_add(w, &rl.r[order[i]], vals[order[i]]) == 0;
        if (ok) ret = sl_track_close(w) == 0 ? 0 : 1;
        else sl_track_abort(w);
    }
    free(order);
done:
    fclose(fp);
    free(line);
    for (int i = 0; i < nc; i++) free(names[i]);
    for (int i = 0; i < nr; i++) free(rl.r[i].chrom), free(vals[i]);
    free(rl.r);
    free(vals);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "drive") == 0) return drive(argv[2], argv[3], argv[4]);
    if (argc > 1) {
        fprintf(stderr, "usage: test_track [drive INPUT BEDGRAPH|none BIGWIG|none]\n");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minus_strand_known_values),
        cmocka_unit_test(test_naive_all_options),
        cmocka_unit_test(test_window_before_zero),
        cmocka_unit_test(test_order_errors),
        cmocka_unit_test(test_sort_order),
        cmocka_unit_test(test_clip_and_nan),
        cmocka_unit_test(test_target_path_and_options),
        cmocka_unit_test(test_project),
        cmocka_unit_test(test_empty_bigwig),
        cmocka_unit_test(test_fifo_in_place),
        cmocka_unit_test(test_open_genome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
