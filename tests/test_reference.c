/* test_reference.c — k-mer shuffles (counts, N mask, uniformity by chi-square),
 * seeding and determinism across orders and threads, GC / background / expected
 * frequencies, fasta references, and bad specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqlift/reference.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

/* ---- helpers ---------------------------------------------------------------- */

static char g_err[8192];
static int g_saved_fd = -1;
static FILE *g_errfp;

/* Capture stderr, to check that an error is ONE clear line. */
static void capture_start(void)
{
    fflush(stderr);
    g_errfp = tmpfile();
    assert_non_null(g_errfp);
    g_saved_fd = dup(2);
    dup2(fileno(g_errfp), 2);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(g_saved_fd, 2);
    close(g_saved_fd);
    rewind(g_errfp);
    size_t n = fread(g_err, 1, sizeof g_err - 1, g_errfp);
    g_err[n] = 0;
    fclose(g_errfp);
    return g_err;
}

/* Exactly one line on stderr, containing want. */
static void assert_one_error_line(const char *want)
{
    const char *e = capture_end();
    if (!strstr(e, want)) fail_msg("stderr was: %s (wanted '%s')", e, want);
    assert_non_null(strstr(e, "error"));
    const char *nl = strchr(e, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], 0);
}

static const char *tmp_dir(void)
{
    const char *d = getenv("SEQLIFT_TMP");
    if (!d) d = "build/test_tmp";
    mkdir(d, 0777);
    return d;
}

static char *tmp_file(const char *name, const char *content)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ & 3];
    snprintf(p, 512, "%s/test_reference_%s", tmp_dir(), name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
    return p;
}

static void random_codes(sl_rng_t *rng, uint8_t *c, int64_t len, double pn)
{
    for (int64_t i = 0; i < len; i++) {
        if (sl_rng_uniform(rng) < pn) {
            /* N runs of 1..5 */
            int64_t r = 1 + (int64_t)sl_rng_below(rng, 5);
            for (; r > 0 && i < len; r--, i++) c[i] = SL_REF_CODE_N;
            i--;
        } else {
            c[i] = (uint8_t)sl_rng_below(rng, 4);
        }
    }
}

static void codes_onehot(const uint8_t *c, int64_t len, float *x)
{
    memset(x, 0, (size_t)len * 4 * sizeof(float));
    for (int64_t i = 0; i < len; i++)
        if (c[i] < 4) x[i * 4 + c[i]] = 1;
}

/* k-mer counts of s[0..m) into cnt[4^k] (cleared by the caller). */
static void count_kmers(const uint8_t *s, int64_t m, int k, int *cnt)
{
    for (int64_t i = 0; i + k <= m; i++) {
        int v = 0;
        for (int j = 0; j < k; j++) v = v * 4 + s[i + j];
        cnt[v]++;
    }
}

/* ---- k-mer counts, N mask, run ends -------------------------------------------- */

static void check_shuffle(const uint8_t *in, const uint8_t *out, int64_t len, int k)
{
    static int ca[256], cb[256];
    /* N mask */
    for (int64_t i = 0; i < len; i++) assert_int_equal(in[i] == SL_REF_CODE_N, out[i] == SL_REF_CODE_N);
    /* each run: same k-mer counts, same first/last k-1 bases (k >= 2) */
    for (int64_t i = 0, b = 0; i <= len; i++) {
        if (i < len && in[i] != SL_REF_CODE_N) continue;
        int64_t m = i - b;
        memset(ca, 0, sizeof ca);
        memset(cb, 0, sizeof cb);
        count_kmers(in + b, m, k, ca);
        count_kmers(out + b, m, k, cb);
        assert_memory_equal(ca, cb, sizeof ca);
        if (k == 1) { /* composition */
            assert_true(m == 0 || memcmp(ca, cb, 4 * sizeof(int)) == 0);
        } else if (m >= k - 1) {
            assert_memory_equal(in + b, out + b, (size_t)(k - 1));
            assert_memory_equal(in + i - (k - 1), out + i - (k - 1), (size_t)(k - 1));
        } else {
            assert_memory_equal(in + b, out + b, (size_t)m); /* too short: unchanged */
        }
        b = i + 1;
    }
}

static void test_kmer_counts_preserved(void **state)
{
    (void)state;
    sl_rng_t gen, rng;
    sl_rng_seed(&gen, 12345);
    sl_rng_seed(&rng, 777);
    enum { MAXL = 3000 };
    uint8_t *in = malloc(MAXL), *out = malloc(MAXL);
    int64_t lens[80];
    int nl = 0;
    for (int64_t l = 1; l <= 12; l++) lens[nl++] = l;
    lens[nl++] = 3000;
    lens[nl++] = 2999;
    while (nl < 80) lens[nl++] = 1 + (int64_t)sl_rng_below(&gen, MAXL);
    int64_t changed = 0, long_cases = 0;
    for (int li = 0; li < nl; li++) {
        int64_t len = lens[li];
        for (int k = 1; k <= 4; k++) {
            for (int withn = 0; withn < 2; withn++) {
                random_codes(&gen, in, len, withn ? 0.01 : 0);
                if (len < k) {
                    capture_start();
                    assert_int_equal(sl_ref_kmer_shuffle(in, len, k, &rng, out, NULL), -1);
                    assert_one_error_line("shorter than k");
                    continue;
                }
                for (int rep = 0; rep < 3; rep++) {
                    assert_int_equal(sl_ref_kmer_shuffle(in, len, k, &rng, out, NULL), 0);
                    check_shuffle(in, out, len, k);
                    if (len >= 500) {
                        long_cases++;
                        changed += memcmp(in, out, (size_t)len) != 0;
                    }
                }
            }
        }
    }
    /* a shuffle that returns its input would pass the count checks */
    assert_true(long_cases > 100);
    assert_int_equal(changed, long_cases);
    /* all-N and low-complexity inputs */
    memset(in, SL_REF_CODE_N, 50);
    assert_int_equal(sl_ref_kmer_shuffle(in, 50, 2, &rng, out, NULL), 0);
    assert_memory_equal(in, out, 50);
    memset(in, 2, 200);
    assert_int_equal(sl_ref_kmer_shuffle(in, 200, 3, &rng, out, NULL), 0);
    assert_memory_equal(in, out, 200);
    free(in);
    free(out);
}

/* ---- uniformity --------------------------------------------------------------- */

/* Regularized upper incomplete gamma Q(a, x) (series / continued fraction, as in
 * Numerical Recipes): the chi-square p-value is Q(df/2, x/2). */
static double gamma_q(double a, double x)
{
    if (x <= 0) return 1;
    double lg = lgamma(a);
    if (x < a + 1) {
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 10000; n++) {
            del *= x / ++ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-15) break;
        }
        return 1 - sum * exp(-x + a * log(x) - lg);
    }
    double b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < 1e-300) d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

static double chi2_pvalue(double x, int df)
{
    return gamma_q(df / 2.0, x / 2.0);
}

static void test_chi2_pvalue(void **state)
{
    (void)state;
    /* textbook table values */
    assert_true(fabs(chi2_pvalue(18.307, 10) - 0.05) < 1e-4);
    assert_true(fabs(chi2_pvalue(3.841, 1) - 0.05) < 1e-4);
    assert_true(fabs(chi2_pvalue(124.342, 100) - 0.05) < 1e-4);
    assert_true(fabs(chi2_pvalue(6.635, 1) - 0.01) < 1e-4);
}

/* Every length-L sequence starting with `first` whose dinucleotide counts equal cnt
 * (depth-first, consuming the counts): an enumeration independent of the shuffle. */
typedef struct {
    char (*seqs)[32];
    int n, cap;
} seqset_t;

static void enum_dfs(int *cnt, int k, char *cur, int pos, int L, seqset_t *set)
{
    if (pos == L) {
        assert_true(set->n < set->cap);
        memcpy(set->seqs[set->n], cur, (size_t)L);
        set->seqs[set->n++][L] = 0;
        return;
    }
    for (int b = 0; b < 4; b++) {
        int v = 0;
        for (int j = pos - k + 1; j < pos; j++) v = v * 4 + (int)(strchr(SL_ALPHABET, cur[j]) - SL_ALPHABET);
        v = v * 4 + b;
        if (!cnt[v]) continue;
        cnt[v]--;
        cur[pos] = SL_ALPHABET[b];
        enum_dfs(cnt, k, cur, pos + 1, L, set);
        cnt[v]++;
    }
}

static int enumerate_class(const char *s, int k, const char *prefix, seqset_t *set)
{
    int L = (int)strlen(s), cnt[256] = {0};
    uint8_t c[32];
    for (int i = 0; i < L; i++) c[i] = (uint8_t)(strchr(SL_ALPHABET, s[i]) - SL_ALPHABET);
    count_kmers(c, L, k, cnt);
    char cur[32];
    memcpy(cur, prefix, (size_t)(k - 1));
    set->n = 0;
    enum_dfs(cnt, k, cur, k - 1, L, set);
    return set->n;
}

/* Chi-square of `draws` shuffles of s over its enumerated class; returns the p-value. */
static double shuffle_chi2(const char *s, int k, int draws, int expect_classes)
{
    seqset_t set = {malloc(4096 * 32), 0, 4096};
    int L = (int)strlen(s);
    char prefix[32];
    memcpy(prefix, s, (size_t)(k - 1));
    int ncls = enumerate_class(s, k, prefix, &set);
    assert_int_equal(ncls, expect_classes);
    int *hits = calloc((size_t)ncls, sizeof(int));
    uint8_t in[32], out[32];
    for (int i = 0; i < L; i++) in[i] = (uint8_t)(strchr(SL_ALPHABET, s[i]) - SL_ALPHABET);
    sl_rng_t rng;
    sl_rng_seed(&rng, 20240601);
    for (int d = 0; d < draws; d++) {
        assert_int_equal(sl_ref_kmer_shuffle(in, L, k, &rng, out, NULL), 0);
        char o[32];
        for (int i = 0; i < L; i++) o[i] = SL_ALPHABET[out[i]];
        o[L] = 0;
        int j = 0;
        while (j < ncls && strcmp(set.seqs[j], o) != 0) j++;
        assert_true(j < ncls); /* every shuffle is in the class */
        hits[j]++;
    }
    double e = (double)draws / ncls, x2 = 0;
    for (int j = 0; j < ncls; j++) {
        assert_true(hits[j] > 0);
        x2 += (hits[j] - e) * (hits[j] - e) / e;
    }
    double p = chi2_pvalue(x2, ncls - 1);
    print_message("  %s k=%d: %d sequences, %d shuffles, chi2=%.1f df=%d p=%.3g\n", s, k, ncls, draws, x2,
                  ncls - 1, p);
    free(hits);
    free(set.seqs);
    return p;
}

static void test_uniformity(void **state)
{
    (void)state;
    seqset_t set = {malloc(4096 * 32), 0, 4096};
    /* first != last base: the counts fix both ends, so sequences starting with any
     * other base cannot have these dinucleotide counts — the class is complete */
    for (const char *pre = SL_ALPHABET; *pre; pre++)
        if (*pre != 'A') assert_int_equal(enumerate_class("ACGTTGCAAGCT", 2, pre, &set), 0);
    free(set.seqs);
    /* 100k shuffles over the 72 sequences with ACGTTGCAAGCT's dinucleotide counts */
    assert_true(shuffle_chi2("ACGTTGCAAGCT", 2, 100000, 72) > 1e-3);
    /* balanced (first == last): uniform among those starting with the same base */
    assert_true(shuffle_chi2("ACAGTTGCATGCA", 2, 50000, 24) > 1e-3);
    /* trinucleotides (96 sequences, also counted by a separate Python DFS) and
     * single bases (6!/(2!2!) = 180 permutations) */
    assert_true(shuffle_chi2("AGGACGCGGAGACCGAAG", 3, 50000, 96) > 1e-3);
    assert_true(shuffle_chi2("AACGTT", 1, 50000, 180) > 1e-3);
}

/* ---- generation: the CLI contract, determinism ----------------------------------- */

static sl_refspec_t *ready(const char *spec)
{
    sl_refspec_t *rs = sl_refspec_parse(spec);
    assert_non_null(rs);
    assert_int_equal(sl_refspec_finalize(rs, 1), 0);
    return rs;
}

/* kmer:K:N references are N successive sl_ref_kmer_shuffle draws of a generator
 * seeded with the region seed (what `seqlift shuffle` writes). */
static void test_generate_matches_shuffle(void **state)
{
    (void)state;
    enum { L = 300, N = 4 };
    uint8_t in[L], out[L], got[L];
    float x[L * 4], refs[N * L * 4];
    sl_rng_t gen, rng;
    sl_rng_seed(&gen, 9);
    random_codes(&gen, in, L, 0.02);
    codes_onehot(in, L, x);
    sl_refspec_t *rs = ready("kmer:3:4");
    assert_int_equal(sl_refspec_n(rs), N);
    assert_int_equal(sl_refspec_kind(rs), SL_REF_SHUFFLE);
    assert_string_equal(sl_refspec_str(rs), "kmer:3:4");
    assert_int_equal(sl_ref_generate(rs, x, L, 4242, 0, "r", refs, NULL), 0);
    sl_rng_seed(&rng, 4242);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sl_ref_kmer_shuffle(in, L, 3, &rng, out, NULL), 0);
        assert_int_equal(sl_ref_onehot_codes(refs + i * L * 4, L, got, "ref"), 0);
        assert_memory_equal(out, got, L);
        check_shuffle(in, got, L, 3);
    }
    sl_refspec_destroy(rs);
    /* default spec */
    rs = sl_refspec_parse(NULL);
    assert_non_null(rs);
    assert_string_equal(sl_refspec_str(rs), "kmer:2:20");
    assert_int_equal(sl_refspec_n(rs), 20);
    sl_refspec_destroy(rs);
}

enum { DET_R = 24, DET_L = 200, DET_N = 5 };
typedef struct {
    const sl_refspec_t *rs;
    const sl_region_t *reg;
    const float *x;
    float *out;
    int from, step;
} det_job_t;

/* one workspace per thread, reused across its regions (as in `seqlift score`) */
static void *det_worker(void *arg)
{
    det_job_t *j = arg;
    void *ret = NULL;
    sl_ref_ws_t *ws = sl_ref_ws_create();
    if (!ws) return arg;
    for (int i = j->from; i < DET_R && !ret; i += j->step)
        if (sl_ref_generate(j->rs, j->x + (int64_t)i * DET_L * 4, DET_L, sl_region_seed(1, &j->reg[i]), i, NULL,
                            j->out + (int64_t)i * DET_N * DET_L * 4, ws) < 0)
            ret = arg;
    sl_ref_ws_destroy(ws);
    return ret;
}

/* A reused workspace (long, then short, then long again, k changing too) gives the
 * same shuffles and references as a fresh workspace per call and as NULL. */
static void test_workspace_reuse(void **state)
{
    (void)state;
    enum { LONG = 2114, LONG2 = 3000, SHORT = 60, N = 3 };
    const int lens[] = {LONG, SHORT, LONG2, SHORT, LONG};
    const int ks[] = {2, 3, 1, 4}; /* check_shuffle counts k <= 4 */
    static uint8_t in[LONG2], a[LONG2], b[LONG2], c[LONG2];
    static float x[LONG2 * 4], ra[N * LONG2 * 4], rb[N * LONG2 * 4];
    sl_rng_t gen;
    sl_rng_seed(&gen, 31);
    sl_ref_ws_t *ws = sl_ref_ws_create();
    assert_non_null(ws);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        const int k = ks[ki];
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            const int len = lens[li];
            random_codes(&gen, in, len, li == 2 ? 0.01 : 0); /* one with N runs */
            sl_rng_t r1, r2, r3;
            sl_rng_seed(&r1, 100 + li), sl_rng_seed(&r2, 100 + li), sl_rng_seed(&r3, 100 + li);
            for (int d = 0; d < 2; d++) { /* two draws per sequence */
                sl_ref_ws_t *fresh = sl_ref_ws_create();
                assert_non_null(fresh);
                assert_int_equal(sl_ref_kmer_shuffle(in, len, k, &r1, a, ws), 0);
                assert_int_equal(sl_ref_kmer_shuffle(in, len, k, &r2, b, fresh), 0);
                assert_int_equal(sl_ref_kmer_shuffle(in, len, k, &r3, c, NULL), 0);
                sl_ref_ws_destroy(fresh);
                assert_memory_equal(a, b, (size_t)len);
                assert_memory_equal(a, c, (size_t)len);
                check_shuffle(in, a, len, k);
            }
        }
    }
    /* sl_ref_generate with the same workspace, after the shuffles above */
    sl_refspec_t *rs = ready("dinuc:3");
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        const int len = lens[li];
        random_codes(&gen, in, len, 0.005);
        codes_onehot(in, len, x);
        assert_int_equal(sl_ref_generate(rs, x, len, 7 + li, 0, "r", ra, ws), 0);
        assert_int_equal(sl_ref_generate(rs, x, len, 7 + li, 0, "r", rb, NULL), 0);
        assert_memory_equal(ra, rb, (size_t)N * len * 4 * sizeof(float));
    }
    sl_refspec_destroy(rs);
    sl_ref_ws_destroy(ws);
    sl_ref_ws_destroy(NULL);
}

static void test_determinism(void **state)
{
    (void)state;
    const char *specs[] = {"dinuc:5", "kmer:1:5", "gc:5", "background-global:5"};
    sl_region_t reg[DET_R];
    char chrom[DET_R][8];
    const size_t per = (size_t)DET_N * DET_L * 4;
    float *x = malloc(DET_R * DET_L * 4 * sizeof(float));
    float *a = malloc(DET_R * per * sizeof(float)), *b = malloc(DET_R * per * sizeof(float));
    sl_rng_t gen;
    sl_rng_seed(&gen, 5);
    for (int i = 0; i < DET_R; i++) {
        memset(&reg[i], 0, sizeof reg[i]);
        snprintf(chrom[i], sizeof chrom[i], "chr%d", 1 + i % 3);
        reg[i].chrom = chrom[i];
        reg[i].start = 1000 + 37 * (i / 2);
        reg[i].end = reg[i].start + DET_L;
        reg[i].strand = i % 2 ? '-' : '+'; /* pairs differ only by strand */
        reg[i].index = i;
        uint8_t c[DET_L];
        random_codes(&gen, c, DET_L, 0.01);
        codes_onehot(c, DET_L, x + i * DET_L * 4);
    }
    /* same sequence for pairs: references then differ only through the seed */
    for (int i = 1; i < DET_R; i += 2) memcpy(x + i * DET_L * 4, x + (i - 1) * DET_L * 4, DET_L * 4 * sizeof(float));
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        sl_refspec_t *rs = sl_refspec_parse(specs[s]);
        assert_non_null(rs);
        for (int i = 0; i < DET_R; i++) assert_int_equal(sl_refspec_observe(rs, x + i * DET_L * 4, DET_L), 0);
        assert_int_equal(sl_refspec_finalize(rs, DET_R), 0);
        /* forward order, one thread */
        det_job_t j1 = {rs, reg, x, a, 0, 1};
        assert_null(det_worker(&j1));
        /* reverse order, a temporary workspace per call */
        memset(b, 0, DET_R * per * sizeof(float));
        for (int i = DET_R - 1; i >= 0; i--)
            assert_int_equal(sl_ref_generate(rs, x + i * DET_L * 4, DET_L, sl_region_seed(1, &reg[i]), i, NULL,
                                             b + i * per, NULL), 0);
        assert_memory_equal(a, b, DET_R * per * sizeof(float));
        /* three threads, interleaved */
        memset(b, 0, DET_R * per * sizeof(float));
        pthread_t th[3];
        det_job_t jobs[3];
        for (int t = 0; t < 3; t++) {
            jobs[t] = (det_job_t){rs, reg, x, b, t, 3};
            assert_int_equal(pthread_create(&th[t], NULL, det_worker, &jobs[t]), 0);
        }
        for (int t = 0; t < 3; t++) {
            void *r;
            pthread_join(th[t], &r);
            assert_null(r);
        }
        assert_memory_equal(a, b, DET_R * per * sizeof(float));
        /* different regions (here: same sequence, other strand) -> different references */
        for (int i = 0; i + 1 < DET_R; i += 2) assert_memory_not_equal(a + i * per, a + (i + 1) * per, per * sizeof(float));
        /* a different global seed changes them */
        assert_int_equal(sl_ref_generate(rs, x, DET_L, sl_region_seed(2, &reg[0]), 0, NULL, b, NULL), 0);
        assert_memory_not_equal(a, b, per * sizeof(float));
        sl_refspec_destroy(rs);
    }
    free(x);
    free(a);
    free(b);
}

static void test_region_seed(void **state)
{
    (void)state;
    sl_region_t r = {0};
    r.chrom = "chr1";
    r.start = 100;
    r.end = 200;
    r.strand = '+';
    r.index = 3;
    uint64_t s0 = sl_region_seed(1, &r);
    r.index = 99; /* genome regions: the index (input order) does not matter */
    assert_true(sl_region_seed(1, &r) == s0);
    r.start = 101;
    assert_true(sl_region_seed(1, &r) != s0);
    r.start = 100;
    r.end = 201;
    assert_true(sl_region_seed(1, &r) != s0);
    r.end = 200;
    r.strand = '-';
    assert_true(sl_region_seed(1, &r) != s0);
    r.strand = '+';
    r.chrom = "chr2";
    assert_true(sl_region_seed(1, &r) != s0);
    r.chrom = "chr1";
    assert_true(sl_region_seed(2, &r) != s0);
    assert_true(sl_region_seed(1, &r) == s0);
    /* FASTA records: name and index */
    sl_region_t f = {0};
    f.name = "seq1";
    f.index = 0;
    uint64_t t0 = sl_region_seed(1, &f);
    f.index = 1;
    assert_true(sl_region_seed(1, &f) != t0);
    f.index = 0;
    f.name = "seq2";
    assert_true(sl_region_seed(1, &f) != t0);
}

/* ---- GC / background / expected frequencies ------------------------------------- */

/* Base frequencies of refs [n][len][4] at non-N rows (column sums / rows). */
static void ref_freqs(const float *refs, int n, int64_t len, int64_t pos, double *f)
{
    double c[4] = {0, 0, 0, 0}, tot = 0;
    for (int i = 0; i < n; i++)
        for (int64_t p = (pos < 0 ? 0 : pos); p < (pos < 0 ? len : pos + 1); p++)
            for (int b = 0; b < 4; b++) {
                float v = refs[((int64_t)i * len + p) * 4 + b];
                assert_true(v == 0 || v == 1);
                c[b] += v, tot += v;
            }
    for (int b = 0; b < 4; b++) f[b] = c[b] / tot;
}

static void assert_close(double got, double want, double tol)
{
    if (fabs(got - want) > tol) fail_msg("%g is not within %g of %g", got, tol, want);
}

static void test_gc(void **state)
{
    (void)state;
    enum { L = 3000, N = 20 };
    uint8_t c[L];
    float *x = malloc(L * 4 * sizeof(float)), *refs = malloc((size_t)N * L * 4 * sizeof(float));
    /* input: GC 0.7 exactly, with an N block */
    for (int i = 0; i < L; i++) c[i] = (uint8_t)(i % 10 < 7 ? 1 + i % 2 : (i % 2 ? 3 : 0));
    for (int i = 100; i < 200; i++) c[i] = SL_REF_CODE_N;
    codes_onehot(c, L, x);
    double own = 0, acgt = 0;
    for (int i = 0; i < L; i++) own += c[i] == 1 || c[i] == 2, acgt += c[i] < 4;
    own /= acgt;
    /* sd of a GC fraction over 20 x 2900 bases is ~0.0027: tolerance 5 sd */
    const double tol = 5 * sqrt(0.25 / (N * (L - 100)));
    double f[4];
    sl_refspec_t *rs = ready("gc:20");
    assert_int_equal(sl_ref_generate(rs, x, L, 77, 0, NULL, refs, NULL), 0);
    for (int i = 0; i < N; i++)
        for (int p = 100; p < 200; p++) assert_int_equal(refs[((int64_t)i * L + p) * 4] + refs[((int64_t)i * L + p) * 4 + 1] + refs[((int64_t)i * L + p) * 4 + 2] + refs[((int64_t)i * L + p) * 4 + 3], 0);
    ref_freqs(refs, N, L, -1, f);
    assert_close(f[1] + f[2], own, tol);
    assert_close(f[1], f[2], 2 * tol);
    assert_close(f[0], f[3], 2 * tol);
    sl_refspec_destroy(rs);
    rs = ready("gc=0.41:20");
    assert_int_equal(sl_ref_generate(rs, x, L, 77, 0, NULL, refs, NULL), 0);
    ref_freqs(refs, N, L, -1, f);
    assert_close(f[1] + f[2], 0.41, tol);
    sl_refspec_destroy(rs);
    free(x);
    free(refs);
}

static void test_background(void **state)
{
    (void)state;
    enum { R = 400, L = 6, N = 50 };
    /* per-position truth: pos0 always A; pos1 C/G 50:50; pos2 uniform; pos3 T 0.9 / A 0.1;
     * pos4 N in every input; pos5 G */
    float *x = calloc((size_t)R * L * 4, sizeof(float));
    sl_rng_t gen;
    sl_rng_seed(&gen, 31);
    double glob[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) {
        float *y = x + r * L * 4;
        int b1 = sl_rng_below(&gen, 2) ? 1 : 2, b2 = (int)sl_rng_below(&gen, 4), b3 = r % 10 == 0 ? 0 : 3;
        y[0 * 4 + 0] = 1, y[1 * 4 + b1] = 1, y[2 * 4 + b2] = 1, y[3 * 4 + b3] = 1, y[5 * 4 + 2] = 1;
        glob[0] += 1 + (b2 == 0) + (b3 == 0), glob[1] += (b1 == 1) + (b2 == 1), glob[2] += (b1 == 2) + (b2 == 2) + 1,
            glob[3] += (b2 == 3) + (b3 == 3);
    }
    for (int b = 0; b < 4; b++) glob[b] /= 5.0 * R;
    sl_refspec_t *rs = sl_refspec_parse("background:50");
    assert_non_null(rs);
    assert_true(sl_refspec_needs_fit(rs));
    for (int r = 0; r < R; r++) assert_int_equal(sl_refspec_observe(rs, x + r * L * 4, L), 0);
    assert_int_equal(sl_refspec_finalize(rs, R), 0);
    /* sample for a fully-ACGT input, many regions' worth */
    enum { REP = 40 };
    float full[L * 4] = {0};
    for (int p = 0; p < L; p++) full[p * 4] = 1;
    float *refs = malloc((size_t)REP * N * L * 4 * sizeof(float));
    for (int k = 0; k < REP; k++)
        assert_int_equal(sl_ref_generate(rs, full, L, 1000 + k, k, NULL, refs + (size_t)k * N * L * 4, NULL), 0);
    const int M = REP * N; /* 2000 draws per position: sd <= 0.011 */
    double f[4];
    const double tol = 5 * sqrt(0.25 / M);
    ref_freqs(refs, M, L, 0, f);
    assert_close(f[0], 1, 0);
    ref_freqs(refs, M, L, 1, f);
    assert_close(f[0] + f[3], 0, 0);
    assert_close(f[1], 0.5, tol);
    ref_freqs(refs, M, L, 2, f);
    for (int b = 0; b < 4; b++) assert_close(f[b], 0.25, tol);
    ref_freqs(refs, M, L, 3, f);
    assert_close(f[0], 0.1, tol);
    assert_close(f[3], 0.9, tol);
    ref_freqs(refs, M, L, 4, f); /* never observed: uniform */
    for (int b = 0; b < 4; b++) assert_close(f[b], 0.25, tol);
    ref_freqs(refs, M, L, 5, f);
    assert_close(f[2], 1, 0);
    /* expected: rows are the frequencies themselves; N rows stay zero */
    sl_refspec_t *ex = sl_refspec_parse("expected");
    assert_non_null(ex);
    for (int r = 0; r < R; r++) assert_int_equal(sl_refspec_observe(ex, x + r * L * 4, L), 0);
    assert_int_equal(sl_refspec_finalize(ex, R), 0);
    assert_int_equal(sl_refspec_n(ex), 1);
    float e[L * 4];
    assert_int_equal(sl_ref_generate(ex, x, L, 1, 0, NULL, e, NULL), 0); /* x[0] has N at pos 4 */
    assert_close(e[0], 1, 1e-6);
    assert_close(e[1 * 4 + 0], 0, 0);
    assert_close(e[3 * 4 + 0], 0.1, 1e-6);
    assert_close(e[3 * 4 + 3], 0.9, 1e-6);
    for (int b = 0; b < 4; b++) assert_close(e[4 * 4 + b], 0, 0);
    assert_close(e[5 * 4 + 2], 1, 1e-6);
    sl_refspec_destroy(ex);
    /* global kinds */
    ex = sl_refspec_parse("expected-global");
    assert_non_null(ex);
    for (int r = 0; r < R; r++) assert_int_equal(sl_refspec_observe(ex, x + r * L * 4, L), 0);
    assert_int_equal(sl_refspec_finalize(ex, R), 0);
    assert_int_equal(sl_ref_generate(ex, full, L, 1, 0, NULL, e, NULL), 0);
    for (int p = 0; p < L; p++)
        for (int b = 0; b < 4; b++) assert_close(e[p * 4 + b], glob[b], 1e-6);
    sl_refspec_destroy(ex);
    sl_refspec_t *bg = sl_refspec_parse("background-global:50");
    assert_non_null(bg);
    for (int r = 0; r < R; r++) assert_int_equal(sl_refspec_observe(bg, x + r * L * 4, L), 0);
    assert_int_equal(sl_refspec_finalize(bg, R), 0);
    for (int k = 0; k < REP; k++)
        assert_int_equal(sl_ref_generate(bg, full, L, 1000 + k, k, NULL, refs + (size_t)k * N * L * 4, NULL), 0);
    ref_freqs(refs, M, L, -1, f);
    for (int b = 0; b < 4; b++) assert_close(f[b], glob[b], 5 * sqrt(0.25 / (M * L)));
    sl_refspec_destroy(bg);
    sl_refspec_destroy(rs);
    free(refs);
    free(x);
}

static void test_frequency_files(void **state)
{
    (void)state;
    const char *tsv = tmp_file("freq.tsv", "# background\nA\tC\tG\tT\n3 2 2 3\n");
    const char *json = tmp_file("freq.json", "{\"A\": 0.3, \"C\": 0.2, \"G\": 0.2, \"T\": 0.3}\n");
    const char *jrows = tmp_file("freqrows.json", "[[1,0,0,0],[0,0.5,0.5,0],[0.25,0.25,0.25,0.25]]");
    char spec[600];
    float x[3 * 4] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, e[3 * 4];
    const char *files[] = {tsv, json};
    for (int i = 0; i < 2; i++) {
        snprintf(spec, sizeof spec, "expected:%s", files[i]);
        sl_refspec_t *rs = sl_refspec_parse(spec);
        assert_non_null(rs);
        assert_false(sl_refspec_needs_fit(rs));
        assert_int_equal(sl_refspec_finalize(rs, 1), 0);
        assert_int_equal(sl_ref_generate(rs, x, 3, 1, 0, NULL, e, NULL), 0);
        const float want[12] = {0.3f, 0.2f, 0.2f, 0.3f, 0, 0, 0, 0, 0.3f, 0.2f, 0.2f, 0.3f};
        for (int j = 0; j < 12; j++) assert_close(e[j], want[j], 1e-6);
        sl_refspec_destroy(rs);
        /* sampled from the same frequencies */
        snprintf(spec, sizeof spec, "background:2000:%s", files[i]);
        rs = sl_refspec_parse(spec);
        assert_non_null(rs);
        assert_int_equal(sl_refspec_finalize(rs, 1), 0);
        float *refs = malloc(2000 * 3 * 4 * sizeof(float));
        assert_int_equal(sl_ref_generate(rs, x, 3, 1, 0, NULL, refs, NULL), 0);
        double f[4];
        ref_freqs(refs, 2000, 3, 0, f);
        for (int b = 0; b < 4; b++) assert_close(f[b], b == 0 || b == 3 ? 0.3 : 0.2, 5 * sqrt(0.25 / 2000));
        ref_freqs(refs, 2000, 3, 1, f); /* N row */
        assert_true(isnan(f[0]));
        free(refs);
        sl_refspec_destroy(rs);
    }
    /* per-position rows from JSON; a 4 bp input does not fit 3 rows */
    snprintf(spec, sizeof spec, "expected:%s", jrows);
    sl_refspec_t *rs = sl_refspec_parse(spec);
    assert_non_null(rs);
    assert_int_equal(sl_refspec_finalize(rs, 1), 0);
    float y[3 * 4] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, big[4 * 4] = {0};
    assert_int_equal(sl_ref_generate(rs, y, 3, 1, 0, NULL, e, NULL), 0);
    assert_close(e[0], 1, 0);
    assert_close(e[5], 0.5, 1e-7);
    assert_close(e[11], 0.25, 1e-7);
    capture_start();
    assert_int_equal(sl_ref_generate(rs, big, 4, 1, 0, "chr1:0-4", e, NULL), -1);
    assert_one_error_line("3 per-position frequency rows");
    sl_refspec_destroy(rs);
}

/* Parse a spec made from fmt with one %s for path; must succeed. */
static sl_refspec_t *parse_path(const char *fmt, const char *path)
{
    char spec[600];
    snprintf(spec, sizeof spec, fmt, path);
    sl_refspec_t *rs = sl_refspec_parse(spec);
    assert_non_null(rs);
    return rs;
}

static void test_fasta_and_zero(void **state)
{
    (void)state;
    const char *two = tmp_file("refs2.fa", ">r0\nACGT\n>r1\nNNNN\n");
    const char *four = tmp_file("refs4.fa", ">r0\nAAAA\n>r1\nCCCC\n>r2\nGGGG\n>r3\nTTTT\n");
    float x[16] = {0}, out[2 * 16];
    /* K=2 shared by every region */
    sl_refspec_t *rs = parse_path("fasta:%s:2", two);
    assert_int_equal(sl_refspec_n(rs), 2);
    assert_int_equal(sl_refspec_finalize(rs, 7), 0);
    assert_int_equal(sl_ref_generate(rs, x, 4, 1, 5, NULL, out, NULL), 0);
    for (int p = 0; p < 4; p++)
        for (int b = 0; b < 4; b++) assert_close(out[p * 4 + b], p == b, 0);
    for (int j = 16; j < 32; j++) assert_close(out[j], 0, 0);
    capture_start();
    assert_int_equal(sl_ref_generate(rs, x, 3, 1, 0, "seqA", out, NULL), -1);
    assert_one_error_line("has 4 bp, region seqA has 3");
    sl_refspec_destroy(rs);
    /* K=2 per region: region 1 gets records 2 and 3 */
    rs = parse_path("fasta:%s:2", four);
    assert_int_equal(sl_refspec_finalize(rs, 2), 0);
    assert_int_equal(sl_ref_generate(rs, x, 4, 1, 1, NULL, out, NULL), 0);
    assert_close(out[2], 1, 0);
    assert_close(out[16 + 3], 1, 0);
    sl_refspec_destroy(rs);
    /* K omitted = 1 per region; wrong record count */
    rs = parse_path("fasta:%s", four);
    capture_start();
    assert_int_equal(sl_refspec_finalize(rs, 3), -1);
    assert_one_error_line("4 reference records, but 3 region(s)");
    sl_refspec_destroy(rs);
    /* region count unknown (streaming): checked per region when generating */
    rs = parse_path("fasta:%s:2", four);
    assert_int_equal(sl_refspec_finalize(rs, -1), 0);
    assert_int_equal(sl_ref_generate(rs, x, 4, 1, 1, NULL, out, NULL), 0);
    assert_close(out[16 + 3], 1, 0);
    capture_start();
    assert_int_equal(sl_ref_generate(rs, x, 4, 1, 2, "seqC", out, NULL), -1);
    assert_one_error_line("seqC: region index 2 has no records");
    sl_refspec_destroy(rs);
    rs = parse_path("fasta:%s:3", four);
    capture_start();
    assert_int_equal(sl_refspec_finalize(rs, -1), -1);
    assert_one_error_line("4 reference records is not a multiple of K=3");
    sl_refspec_destroy(rs);
    /* zero */
    rs = ready("zero");
    for (int j = 0; j < 16; j++) out[j] = 9;
    x[0] = 1;
    assert_int_equal(sl_ref_generate(rs, x, 4, 1, 0, NULL, out, NULL), 0);
    for (int j = 0; j < 16; j++) assert_close(out[j], 0, 0);
    sl_refspec_destroy(rs);
}

/* ---- bad specs -------------------------------------------------------------------- */

static void test_bad_specs(void **state)
{
    (void)state;
    const struct {
        const char *spec, *msg;
        int bad_spec; /* 1: the spec string is wrong (usage), 0: a file is */
    } bad[] = {
        {"dinuc:0", "N must be an integer in 1..100000", 1},
        {"dinuc:x", "N must be", 1},
        {"dinuc:3:4", "too many", 1},
        {"kmer:0:5", "K must be an integer in 1..16", 1},
        {"kmer:17:5", "K must be", 1},
        {"kmer", "K must be", 1},
        {"gc", "N must be", 1},
        {"gc=1.5:3", "GC fraction", 1},
        {"gc=abc:3", "GC fraction", 1},
        {"background:0", "N must be", 1},
        {"background:5:/nonexistent/freq.tsv", "/nonexistent/freq.tsv: cannot open", 0},
        {"expected:/nonexistent/f.json", "/nonexistent/f.json: cannot open", 0},
        {"fasta:/nonexistent/refs.fa:2", "/nonexistent/refs.fa", 0},
        {"fasta", "needs a PATH", 1},
        {"fasta:", "needs a PATH", 1},
        {"fasta::2", "needs a PATH", 1},
        {"expected:", "empty FILE name", 1},
        {"background:3:", "empty FILE name", 1},
        {"zero:3", "too many", 1},
        {"shuffle:20", "unknown kind 'shuffle'", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        capture_start();
        int why = -1;
        sl_refspec_t *rs = sl_refspec_parse2(bad[i].spec, &why);
        if (rs) fail_msg("spec '%s' was accepted", bad[i].spec);
        assert_one_error_line(bad[i].msg);
        if (why != bad[i].bad_spec) fail_msg("spec '%s': bad_spec %d, want %d", bad[i].spec, why, bad[i].bad_spec);
    }
    /* malformed frequency files */
    const struct {
        const char *name, *text, *msg;
    } files[] = {
        {"bad1.tsv", "0.3 0.2 0.2\n", "line 1: expected 4 numbers"},
        {"bad2.tsv", "0.3 0.2 0.2 0.3 0.1\n", "line 1: more than 4 columns"},
        {"bad3.tsv", "# x\n0.3 -0.2 0.2 0.3\n", "line 2: frequency -0.2"},
        {"bad4.tsv", "0 0 0 0\n", "sum to 0"},
        {"bad5.json", "[0.3, 0.2]", "expected [a,c,g,t]"},
        {"bad6.json", "{\"A\": 1", "not valid JSON"},
        {"bad7.tsv", "# only a comment\n", "no frequency rows"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char spec[600];
        snprintf(spec, sizeof spec, "background:3:%s", tmp_file(files[i].name, files[i].text));
        capture_start();
        int why = -1;
        sl_refspec_t *rs = sl_refspec_parse2(spec, &why);
        if (rs) fail_msg("file '%s' was accepted", files[i].name);
        assert_one_error_line(files[i].msg);
        assert_int_equal(why, 0); /* a malformed file is not bad usage */
    }
    /* kmer:9:5 on a 5 bp sequence */
    float x[5 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0}, out[5 * 5 * 4];
    sl_refspec_t *rs = ready("kmer:9:5");
    capture_start();
    assert_int_equal(sl_ref_generate(rs, x, 5, 1, 0, "chr1:10-15(+)", out, NULL), -1);
    assert_one_error_line("chr1:10-15(+): 5 bp is shorter than k=9");
    sl_refspec_destroy(rs);
    /* a shuffle needs one-hot rows */
    rs = ready("dinuc:2");
    x[0] = 0.5f;
    capture_start();
    assert_int_equal(sl_ref_generate(rs, x, 5, 1, 0, "s", out, NULL), -1);
    assert_one_error_line("position 0 is not one-hot");
    sl_refspec_destroy(rs);
    /* per-position fit needs equal lengths; data kinds need observations */
    rs = sl_refspec_parse("background:4");
    assert_non_null(rs);
    capture_start();
    assert_int_equal(sl_refspec_finalize(rs, 0), -1);
    assert_one_error_line("none were observed");
    sl_refspec_destroy(rs);
    rs = sl_refspec_parse("background:4");
    assert_int_equal(sl_refspec_observe(rs, x, 5), 0);
    capture_start();
    assert_int_equal(sl_refspec_observe(rs, x, 4), -1);
    assert_one_error_line("use background-global");
    sl_refspec_destroy(rs);
    /* generate before finalize */
    rs = sl_refspec_parse("zero");
    capture_start();
    assert_int_equal(sl_ref_generate(rs, x, 5, 1, 0, "s", out, NULL), -1);
    assert_one_error_line("finalize");
    sl_refspec_destroy(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kmer_counts_preserved),
        cmocka_unit_test(test_chi2_pvalue),
        cmocka_unit_test(test_uniformity),
        cmocka_unit_test(test_generate_matches_shuffle),
        cmocka_unit_test(test_workspace_reuse),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_region_seed),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_frequency_files),
        cmocka_unit_test(test_fasta_and_zero),
        cmocka_unit_test(test_bad_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
