/* test_motif.c — MEME parser (real-world variants, malformed files), TOMTOM-like
 * matching of planted and column-shuffled motifs, FIMO-like scan and its exact
 * p-values (checked by enumerating every sequence). */
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

#include "seqlift/motif.h"
#include "seqlift/seqlets.h"
#include "seqlift/track.h"
#include "seqlift/util.h"
#include "support/test_support.h"
#include "motif/match_priv.h"

#define MD "test_data/motifs/"

/* ---- helpers ---- */

static char err_path[512];

/* Run sl_motif_db_read(path) with stderr captured into err (NUL-terminated). */
static sl_motif_db_t *read_capture(const char *path, char *err, size_t n)
{
    const char *tmp = getenv("SEQLIFT_TMP") ? getenv("SEQLIFT_TMP") : "build/test_tmp";
    mkdir(tmp, 0755);
    snprintf(err_path, sizeof err_path, "%s/test_motif_stderr.txt", tmp);
    fflush(stderr);
    int saved = dup(2), fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    sl_motif_db_t *db = sl_motif_db_read(path);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *fp = fopen(err_path, "r");
    assert_non_null(fp);
    size_t k = fread(err, 1, n - 1, fp);
    err[k] = 0;
    fclose(fp);
    return db;
}

/* ---- parser ---- */

static void test_parse_jaspar(void **state)
{
    (void)state;
    sl_motif_db_t *db = sl_motif_db_read(MD "jaspar_style.meme");
    assert_non_null(db);
    assert_int_equal(db->n, 4);
    assert_string_equal(db->m[0].id, "MA9001.1");
    assert_string_equal(db->m[0].name, "GATA_like");
    assert_string_equal(db->m[0].url, "http://example.org/matrix/MA9001.1");
    assert_int_equal(db->m[0].w, 8);
    assert_true(db->m[0].nsites == 500);
    assert_int_equal(db->m[1].w, 10);
    assert_true(fabs(db->m[0].p[4 * 2 + 2] - 0.95) < 1e-12);
    assert_int_equal(db->both_strands, 1);
    for (int b = 0; b < 4; b++) assert_true(db->bg[b] == 0.25);
    assert_int_equal(sl_motif_db_find(db, "MA9004.1"), 3);
    assert_int_equal(sl_motif_db_find(db, "EBOX_like"), 1);
    assert_int_equal(sl_motif_db_find(db, "nope"), -1);
    sl_motif_db_destroy(db);
}

static void test_parse_hocomoco_crlf(void **state)
{
    (void)state;
    sl_motif_db_t *db = sl_motif_db_read(MD "hocomoco_style.meme");
    assert_non_null(db);
    assert_int_equal(db->n, 2);
    assert_string_equal(db->m[1].id, "TAL1.H12CORE.0.P.C");
    assert_null(db->m[1].name);
    assert_true(fabs(db->bg[0] - 0.295) < 1e-12 && fabs(db->bg[1] - 0.205) < 1e-12);
    /* the last GATA1 row sums to 0.998: normalised */
    const double *r = db->m[0].p + 4 * 5;
    assert_true(fabs(r[0] + r[1] + r[2] + r[3] - 1) < 1e-12);
    assert_true(fabs(r[2] - 0.4 / 0.998) < 1e-12);
    assert_int_equal(db->m[0].line, 10);
    sl_motif_db_destroy(db);
}

static void test_parse_meme_suite(void **state)
{
    (void)state;
    sl_motif_db_t *db = sl_motif_db_read(MD "meme_suite_style.meme");
    assert_non_null(db);
    assert_int_equal(db->n, 2);
    assert_string_equal(db->m[0].id, "CACGTG");
    assert_string_equal(db->m[0].name, "MEME-1");
    assert_int_equal(db->m[0].w, 6);
    assert_true(fabs(db->m[0].evalue - 3.6e-10) < 1e-20);
    assert_int_equal(db->m[1].w, 7); /* no w=: rows read to the end */
    assert_int_equal(db->both_strands, 0);
    assert_true(fabs(db->bg[0] - 0.3) < 1e-12 && fabs(db->bg[3] - 0.3) < 1e-12);
    sl_motif_db_destroy(db);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *file, *where, *what;
    } cases[] = {
        {"bad_row_sum.meme", "bad_row_sum.meme:13:", "sums to 1.3"},
        {"bad_columns.meme", "bad_columns.meme:13:", "3 values"},
        {"missing_rows.meme", "missing_rows.meme:14:", "2 rows, expected 4"},
        {"extra_row.meme", "extra_row.meme:14:", "outside a matrix"},
        {"not_meme.meme", "not_meme.meme:1:", "not a MEME motif file"},
        {"protein_alphabet.meme", "protein_alphabet.meme:3:", "ALPHABET= ACGT"},
        {"no_matrix.meme", "no_matrix.meme:10:", "M1 has no letter-probability matrix"},
        {"bad_width.meme", "bad_width.meme:11:", "bad motif width"},
        {"negative_prob.meme", "negative_prob.meme:13:", "'-0.1'"},
        {"nan_prob.meme", "nan_prob.meme:13:", "'nan'"},
        {"bad_background.meme", "bad_background.meme:6:", "background"},
        {"no_motifs.meme", "no_motifs.meme:9:", "no MOTIF"},
        {"empty.meme", "empty.meme", "empty file"},
        {"bad_alength.meme", "bad_alength.meme:11:", "alength= 20"},
        {"motif_without_id.meme", "motif_without_id.meme:10:", "without an identifier"},
        {"does_not_exist.meme", "does_not_exist.meme", "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], err[2048];
        snprintf(path, sizeof path, MD "%s", cases[i].file);
        sl_motif_db_t *db = read_capture(path, err, sizeof err);
        if (db || !strstr(err, cases[i].where) || !strstr(err, cases[i].what))
            fail_msg("%s: expected error '%s ... %s', got '%s'", cases[i].file, cases[i].where, cases[i].what, err);
        /* exactly one line */
        char *nl = strchr(err, '\n');
        assert_non_null(nl);
        assert_int_equal(nl[1], 0);
    }
}

static void test_parse_memory_and_revcomp(void **state)
{
    (void)state;
    const char *t = "MEME version 4\nMOTIF X\nletter-probability matrix: alength= 4 w= 2\n1 0 0 0\n0 0.5 0.5 0\n";
    sl_motif_db_t *db = sl_motif_db_parse(t, strlen(t), "mem");
    assert_non_null(db);
    double rc[8];
    sl_motif_revcomp(db->m[0].p, 2, rc);
    static const double want[8] = {0, 0.5, 0.5, 0, 0, 0, 0, 1};
    for (int i = 0; i < 8; i++) assert_true(rc[i] == want[i]);
    sl_motif_db_destroy(db);
    /* MEME prints E-values below the double range (strong motifs, many sequences) */
    const char *e = "MEME version 5\nMOTIF ACGT MEME-1\n"
                    "letter-probability matrix: alength= 4 w= 1 nsites= 3000 E= 1.7e-1034\n1 0 0 0\n";
    sl_motif_db_t *dbe = sl_motif_db_parse(e, strlen(e), "mem");
    assert_non_null(dbe);
    assert_true(dbe->m[0].evalue == 0);
    sl_motif_db_destroy(dbe);
    /* truncated text (no trailing newline, cut inside a matrix) */
    db = sl_motif_db_parse(t, strlen(t) - 12, "mem");
    assert_null(db);
}

/* ---- matching ---- */

/* A region with the motif planted as contributions: hyp[p] = h * (P[j] - 0.25) inside
 * the instance (times the orientation), small noise elsewhere; contrib = hyp on the
 * observed base, which is sampled from the motif inside the instance. */
static void plant(const double *P, int w, int at, int rc, int L, uint64_t *st, float *ohe, float *contrib,
                  float *hyp)
{
    double tmp[4 * 64];
    const double *M = P;
    if (rc) {
        sl_motif_revcomp(P, w, tmp);
        M = tmp;
    }
    for (int p = 0; p < L; p++) {
        int base = (int)(sl_splitmix64(st) % 4);
        for (int b = 0; b < 4; b++) hyp[4 * p + b] = (float)(0.01 * sl_test_gauss(st));
        if (p >= at && p < at + w) {
            const double *row = M + 4 * (p - at);
            int best = 0;
            for (int b = 1; b < 4; b++)
                if (row[b] > row[best]) best = b;
            base = best;
            for (int b = 0; b < 4; b++) hyp[4 * p + b] += (float)(0.3 * (row[b] - 0.25));
        }
        for (int b = 0; b < 4; b++) {
            ohe[4 * p + b] = b == base;
            contrib[4 * p + b] = b == base ? hyp[4 * p + b] : 0;
        }
    }
}

static void shuffle_columns(const double *P, int w, double *out, uint64_t seed)
{
    int perm[64];
    for (int i = 0; i < w; i++) perm[i] = i;
    for (int i = w - 1; i > 0; i--) {
        int j = (int)(sl_splitmix64(&seed) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < w; i++) memcpy(out + 4 * i, P + 4 * perm[i], 4 * sizeof(double));
}

/* A database text: the motifs of jaspar_style plus a column-shuffled copy of motif k
 * (id SHUF), optionally without motif k itself. */
static sl_motif_db_t *db_with_shuffled(const sl_motif_db_t *src, int k, int keep_original, uint64_t seed)
{
    char *t = malloc(1 << 16);
    int n = sprintf(t, "MEME version 4\n\nALPHABET= ACGT\n\n");
    double sh[4 * 64];
    for (int i = 0; i <= src->n; i++) {
        const sl_motif_t *m = &src->m[i < src->n ? i : k];
        const double *P = m->p;
        if (i == src->n) {
            shuffle_columns(m->p, m->w, sh, seed);
            P = sh;
            n += sprintf(t + n, "MOTIF SHUF\n");
        } else {
            if (i == k && !keep_original) continue;
            n += sprintf(t + n, "MOTIF %s %s\n", m->id, m->name);
        }
        n += sprintf(t + n, "letter-probability matrix: alength= 4 w= %d nsites= %g\n", m->w, m->nsites);
        for (int j = 0; j < m->w; j++)
            n += sprintf(t + n, "%.6f %.6f %.6f %.6f\n", P[4 * j], P[4 * j + 1], P[4 * j + 2], P[4 * j + 3]);
    }
    sl_motif_db_t *db = sl_motif_db_parse(t, (size_t)n, "shuffled");
    free(t);
    return db;
}

static void test_match_planted(void **state)
{
    (void)state;
    enum { L = 200 };
    sl_motif_db_t *src = sl_motif_db_read(MD "jaspar_style.meme");
    assert_non_null(src);
    static float ohe[4 * L], contrib[4 * L], hyp[4 * L], x[L];
    uint64_t st = 99;
    int good = 0, trials = 0;
    for (int k = 0; k < src->n; k++) {
        for (int rc = 0; rc < 2; rc++) {
            sl_motif_db_t *db = db_with_shuffled(src, k, 1, 1000 + k);
            sl_motif_db_t *db_shuf = db_with_shuffled(src, k, 0, 1000 + k);
            assert_non_null(db);
            assert_non_null(db_shuf);
            sl_matcher_t *mt = sl_matcher_create(db, 5), *ms = sl_matcher_create(db_shuf, 5);
            assert_non_null(mt);
            assert_non_null(ms);
            plant(src->m[k].p, src->m[k].w, 90, rc, L, &st, ohe, contrib, hyp);
            /* the seqlet caller finds the instance */
            sl_seqlet_opts_t so;
            sl_seqlet_opts_default(&so);
            sl_track_project(contrib, NULL, L, 0, x);
            sl_seqlet_t *s = NULL;
            int ns = 0;
            assert_int_equal(sl_seqlets_call(x, L, &so, &s, &ns), 0);
            assert_true(ns >= 1);
            assert_true(s[0].start < 90 + src->m[k].w && s[0].end > 90);
            int fs, fe;
            sl_seqlet_flanked(&s[0], L, so.flank, &fs, &fe);
            double q[4 * 64], wt[64];
            sl_match_query_from_scores(ohe, contrib, hyp, fs, fe, s[0].sign, q, wt);
            sl_match_t m[16];
            int nm = sl_matcher_match(mt, q, wt, fe - fs, db->n, m);
            assert_int_equal(nm, db->n);
            trials++;
            /* the planted motif is the best, significant, on the right strand */
            assert_string_equal(db->m[m[0].motif].id, src->m[k].id);
            assert_true(m[0].evalue < 0.05);
            printf("planted %s rc=%d: p %.2g E %.2g\n", src->m[k].id, rc, m[0].pval, m[0].evalue);
            double rcm[4 * 64], asym = 0; /* a palindrome (the E-box) matches both ways */
            sl_motif_revcomp(src->m[k].p, src->m[k].w, rcm);
            for (int i = 0; i < 4 * src->m[k].w; i++) asym = fmax(asym, fabs(rcm[i] - src->m[k].p[i]));
            if (asym > 0.3) assert_int_equal(m[0].strand, rc ? '-' : '+');
            /* motif column 0 aligned where it was planted (the query starts at fs) */
            assert_int_equal(fs + m[0].offset, 90);
            /* its column-shuffled copy does not match, nor does anything once the
             * original is removed -- unless the shuffle left the motif looking the
             * same (SP_like: G columns shuffled among G columns), which is no
             * negative control: mean PCC of aligned columns > 0.5 */
            double sh[4 * 64], sim = 0;
            shuffle_columns(src->m[k].p, src->m[k].w, sh, 1000 + k);
            for (int i = 0; i < src->m[k].w; i++) {
                double a[4], b[4], ma = 0.25, sa = 0, sb = 0, sab = 0;
                for (int c = 0; c < 4; c++) {
                    a[c] = src->m[k].p[4 * i + c] - ma;
                    b[c] = sh[4 * i + c] - ma;
                    sa += a[c] * a[c];
                    sb += b[c] * b[c];
                    sab += a[c] * b[c];
                }
                sim += sab / sqrt(sa * sb + 1e-300) / src->m[k].w;
            }
            if (sim > 0.5) {
                printf("motif %s: shuffle keeps it (mean column PCC %.2f), no negative control\n", src->m[k].id, sim);
            } else {
                for (int j = 0; j < nm; j++)
                    if (strcmp(db->m[m[j].motif].id, "SHUF") == 0) assert_true(m[j].evalue > 0.05);
                nm = sl_matcher_match(ms, q, wt, fe - fs, 1, m);
                assert_int_equal(nm, 1);
                assert_true(m[0].evalue > 0.05);
                good++;
                printf("motif %s rc=%d: without it the best is %s, E %.2g\n", src->m[k].id, rc,
                       db_shuf->m[m[0].motif].id, m[0].evalue);
            }
            free(s);
            sl_matcher_destroy(mt);
            sl_matcher_destroy(ms);
            sl_motif_db_destroy(db);
            sl_motif_db_destroy(db_shuf);
        }
    }
    assert_true(good >= 6 && trials == 8);
    sl_motif_db_destroy(src);
}

/* Random queries: the motif-level p-values are valid (not anti-conservative; they are
 * conservative by design, unaligned query columns staying in the null). */
static void test_match_null_calibration(void **state)
{
    (void)state;
    sl_motif_db_t *db = sl_motif_db_read(MD "jaspar_style.meme");
    assert_non_null(db);
    sl_matcher_t *mt = sl_matcher_create(db, 5);
    assert_non_null(mt);
    uint64_t st = 5;
    int below = 0, total = 0;
    for (int t = 0; t < 500; t++) {
        double q[4 * 20], wt[20];
        for (int i = 0; i < 4 * 20; i++) q[i] = sl_test_gauss(&st);
        for (int i = 0; i < 20; i++) wt[i] = 1;
        sl_match_t m[4];
        int nm = sl_matcher_match(mt, q, wt, 20, 4, m);
        for (int j = 0; j < nm; j++, total++) below += m[j].pval < 0.05;
    }
    printf("random queries: %d of %d motif p-values < 0.05\n", below, total);
    assert_true(below <= 0.1 * total);
    sl_matcher_destroy(mt);
    sl_motif_db_destroy(db);
}

/* A random MEME database: n motifs of width 3..maxw, Dirichlet-like columns. */
static sl_motif_db_t *random_db(int n, int maxw, int both, uint64_t *st)
{
    size_t cap = (size_t)n * (size_t)(maxw + 2) * 64 + 256, k = 0;
    char *t = malloc(cap);
    k += (size_t)snprintf(t + k, cap - k, "MEME version 5\n\nALPHABET= ACGT\n\nstrands: %s\n\n", both ? "+ -" : "+");
    for (int m = 0; m < n; m++) {
        int w = 3 + (int)(sl_splitmix64(st) % (uint64_t)(maxw - 2));
        k += (size_t)snprintf(t + k, cap - k, "MOTIF m%d\nletter-probability matrix: alength= 4 w= %d\n", m, w);
        for (int i = 0; i < w; i++) {
            double v[4], s = 0;
            for (int b = 0; b < 4; b++) s += v[b] = pow((double)(sl_splitmix64(st) >> 11) / 9007199254740992.0, 3) + 1e-3;
            k += (size_t)snprintf(t + k, cap - k, "%.6f %.6f %.6f %.6f\n", v[0] / s, v[1] / s, v[2] / s,
                                  1 - (v[0] + v[1] + v[2]) / s);
        }
        k += (size_t)snprintf(t + k, cap - k, "\n");
    }
    sl_motif_db_t *db = sl_motif_db_parse(t, k, "random.meme");
    free(t);
    return db;
}

/* The matcher's fast path (the table of column scores, the bounded null) gives the same
 * bytes as the plain one (scores recomputed per alignment, the whole null convolved):
 * random databases small and large (a sampled pool), one or both strands, random
 * queries and weights (zeros included), every min_overlap. */
static void test_match_fast_equals_plain(void **state)
{
    (void)state;
    uint64_t st = 11;
    const int dbs[][3] = {{1, 8, 1}, {7, 12, 0}, {40, 20, 1}, {300, 14, 1}, {700, 14, 1}};
    for (size_t d = 0; d < sizeof dbs / sizeof *dbs; d++) {
        sl_motif_db_t *db = random_db(dbs[d][0], dbs[d][1], dbs[d][2], &st);
        assert_non_null(db);
        for (int minov = 1; minov <= 9; minov += 4) {
            sl_matcher_t *mt = sl_matcher_create(db, minov);
            assert_non_null(mt);
            sl_match_t *a = malloc((size_t)db->n * sizeof *a), *b = malloc((size_t)db->n * sizeof *b);
            for (int t = 0; t < 12; t++) {
                int n = 1 + (int)(sl_splitmix64(&st) % 60);
                double q[4 * 64], wt[64];
                for (int i = 0; i < 4 * n; i++) q[i] = sl_test_gauss(&st);
                for (int i = 0; i < n; i++) wt[i] = (sl_splitmix64(&st) % 5 == 0) ? 0 : (double)(sl_splitmix64(&st) >> 11) / 9007199254740992.0;
                if (t % 3 == 0) wt[0] = 1;
                memset(a, 0, (size_t)db->n * sizeof *a);
                memset(b, 0, (size_t)db->n * sizeof *b);
                int na = sl_matcher_match_mode(mt, q, t % 4 ? wt : NULL, n, db->n, a, 0);
                int nb = sl_matcher_match_mode(mt, q, t % 4 ? wt : NULL, n, db->n, b, 1);
                assert_int_equal(na, db->n);
                assert_int_equal(na, nb);
                for (int j = 0; j < na; j++) {
                    assert_int_equal(a[j].motif, b[j].motif);
                    assert_int_equal(a[j].strand, b[j].strand);
                    assert_int_equal(a[j].offset, b[j].offset);
                    assert_int_equal(a[j].overlap, b[j].overlap);
                    assert_memory_equal(&a[j].score, &b[j].score, sizeof(double));
                    assert_memory_equal(&a[j].pval, &b[j].pval, sizeof(double));
                    assert_memory_equal(&a[j].evalue, &b[j].evalue, sizeof(double));
                }
            }
            free(a);
            free(b);
            sl_matcher_destroy(mt);
        }
        sl_motif_db_destroy(db);
    }
}

/* An infinite contribution (a hostile npz, an overflowing model) must not turn the
 * column weights into NaN (inf / inf): that indexed the null histogram out of bounds. */
static void test_match_nonfinite_query(void **state)
{
    (void)state;
    sl_motif_db_t *db = sl_motif_db_read(MD "jaspar_style.meme");
    assert_non_null(db);
    sl_matcher_t *mt = sl_matcher_create(db, 5);
    assert_non_null(mt);
    enum { L = 12 };
    float ohe[4 * L] = {0}, contrib[4 * L] = {0}, hyp[4 * L];
    for (int p = 0; p < L; p++) {
        ohe[4 * p + p % 4] = 1;
        contrib[4 * p + p % 4] = 0.1f * (float)(p % 3);
        for (int b = 0; b < 4; b++) hyp[4 * p + b] = 0.05f * (float)((p + b) % 5);
    }
    hyp[4 * 5 + 2] = INFINITY;
    hyp[4 * 7 + 1] = -INFINITY;
    contrib[4 * 6 + 2] = INFINITY;
    double q[4 * L], wt[L];
    sl_match_t m[3];
    for (int withhyp = 0; withhyp < 2; withhyp++) {
        sl_match_query_from_scores(ohe, contrib, withhyp ? hyp : NULL, 0, L, 1, q, wt);
        for (int i = 0; i < L; i++) assert_true(wt[i] >= 0 && wt[i] <= 1);
        int n = sl_matcher_match(mt, q, wt, L, 3, m);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) assert_true(m[i].pval >= 0 && m[i].pval <= 1);
    }
    /* a weight above 1 would index the null histogram out of bounds: refused */
    wt[3] = 2;
    assert_int_equal(sl_matcher_match(mt, q, wt, L, 3, m), -1);
    sl_matcher_destroy(mt);
    sl_motif_db_destroy(db);
}

/* ---- scanning ---- */

static void test_scan_pvalues_exact(void **state)
{
    (void)state;
    const char *t = "MEME version 4\nBackground letter frequencies\nA 0.3 C 0.2 G 0.2 T 0.3\n"
                    "MOTIF S\nletter-probability matrix: alength= 4 w= 3 nsites= 10\n"
                    "0.7 0.1 0.1 0.1\n0.05 0.05 0.85 0.05\n0.25 0.25 0.25 0.25\n";
    sl_motif_db_t *db = sl_motif_db_parse(t, strlen(t), "mem");
    assert_non_null(db);
    sl_scanner_t *sc = sl_scanner_create(db);
    assert_non_null(sc);
    /* integer PWM recomputed here, then every one of the 64 sequences enumerated */
    int S[3][4];
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++) {
            double pp = (db->m[0].p[4 * i + b] * 10 + 0.1 * db->bg[b]) / 10.1;
            S[i][b] = (int)lround(SL_SCAN_SCALE * log2(pp / db->bg[b]));
        }
    for (int a = 0; a < 64; a++) {
        int s = S[0][a & 3] + S[1][(a >> 2) & 3] + S[2][a >> 4];
        double p = 0;
        for (int c = 0; c < 64; c++) {
            int u = S[0][c & 3] + S[1][(c >> 2) & 3] + S[2][c >> 4];
            if (u >= s) p += db->bg[c & 3] * db->bg[(c >> 2) & 3] * db->bg[c >> 4];
        }
        double got = sl_scanner_pvalue(sc, 0, '+', s);
        if (p <= SL_SCAN_PMAX) assert_true(fabs(got - p) < 1e-12);
        else assert_true(got == 1);
    }
    sl_scanner_destroy(sc);
    sl_motif_db_destroy(db);
}

/* The scanner's p-values are the bytes of the textbook dynamic programme (for each
 * column: k ascending, then the bases in order, dist[k] * bg[b] added onto its score):
 * random motifs, a skewed background, every score of both strands. */
static void test_scan_pvalues_textbook(void **state)
{
    (void)state;
    uint64_t st = 21;
    sl_motif_db_t *db = random_db(30, 16, 1, &st);
    assert_non_null(db);
    db->bg[0] = 0.31, db->bg[1] = 0.18, db->bg[2] = 0.22, db->bg[3] = 0.29;
    sl_scanner_t *sc = sl_scanner_create(db);
    assert_non_null(sc);
    for (int k = 0; k < db->n; k++)
        for (int strand = 0; strand < 2; strand++) {
            const sl_motif_t *m = &db->m[k];
            int w = m->w, *sv = malloc((size_t)w * 4 * sizeof(int)), lo = 0, hi = 0;
            double *p = malloc((size_t)w * 4 * sizeof(double));
            if (strand) sl_motif_revcomp(m->p, w, p);
            else memcpy(p, m->p, (size_t)w * 4 * sizeof(double));
            for (int i = 0; i < w; i++) {
                int mn = 0, mx = 0;
                for (int b = 0; b < 4; b++) {
                    double pp = (p[4 * i + b] * m->nsites + 0.1 * db->bg[b]) / (m->nsites + 0.1);
                    sv[4 * i + b] = (int)lround(SL_SCAN_SCALE * log2(pp / db->bg[b]));
                    if (b == 0 || sv[4 * i + b] < mn) mn = sv[4 * i + b];
                    if (b == 0 || sv[4 * i + b] > mx) mx = sv[4 * i + b];
                }
                lo += mn, hi += mx;
            }
            double *d = calloc((size_t)(hi - lo + 1), sizeof(double)), *nd = calloc((size_t)(hi - lo + 1), sizeof(double));
            d[0] = 1;
            int span = 0;
            for (int i = 0; i < w; i++) {
                int mn = sv[4 * i], mx = sv[4 * i];
                for (int b = 1; b < 4; b++) mn = sv[4 * i + b] < mn ? sv[4 * i + b] : mn, mx = sv[4 * i + b] > mx ? sv[4 * i + b] : mx;
                memset(nd, 0, (size_t)(hi - lo + 1) * sizeof(double));
                for (int x = 0; x <= span; x++)
                    for (int b = 0; d[x] != 0 && b < 4; b++) nd[x + sv[4 * i + b] - mn] += d[x] * db->bg[b];
                span += mx - mn;
                double *t = d;
                d = nd, nd = t;
            }
            double acc = 0;
            for (int x = span; x >= 0; x--) { /* P(score >= lo + x), while it stays <= PMAX */
                if (acc + d[x] > SL_SCAN_PMAX) break;
                acc += d[x];
                double got = sl_scanner_pvalue(sc, k, strand ? '-' : '+', lo + x);
                assert_memory_equal(&got, &acc, sizeof acc);
            }
            free(d), free(nd), free(sv), free(p);
        }
    sl_scanner_destroy(sc);
    sl_motif_db_destroy(db);
}

/* A strict threshold prunes windows at its own score, not at the table's: the hits are
 * those of the most lenient scan (p <= SL_SCAN_PMAX) with p <= pthresh, in order. */
static void test_scan_threshold_prunes_exactly(void **state)
{
    (void)state;
    uint64_t st = 33;
    sl_motif_db_t *db = random_db(20, 12, 1, &st);
    sl_scanner_t *sc = sl_scanner_create(db);
    assert_non_null(sc);
    int L = 3000;
    float *ohe = calloc((size_t)L * 4, sizeof(float));
    for (int i = 0; i < L; i++)
        if (i % 97 != 5) ohe[4 * i + sl_splitmix64(&st) % 4] = 1; /* a few N */
    const double th[] = {1e-2, 1e-3, 1e-4, 1e-6};
    sl_hit_t *all = NULL, *h = NULL;
    int na = 0, ma = 0;
    assert_true(sl_scanner_scan(sc, ohe, L, SL_SCAN_PMAX, &all, &na, &ma) >= 0);
    for (size_t t = 0; t < sizeof th / sizeof *th; t++) {
        int n = 0, m = 0, j = 0;
        assert_true(sl_scanner_scan(sc, ohe, L, th[t], &h, &n, &m) >= 0);
        for (int a = 0; a < na; a++) {
            if (all[a].pval > th[t]) continue;
            assert_true(j < n);
            assert_int_equal(all[a].motif, h[j].motif);
            assert_int_equal(all[a].start, h[j].start);
            assert_int_equal(all[a].end, h[j].end);
            assert_int_equal(all[a].strand, h[j].strand);
            assert_memory_equal(&all[a].score, &h[j].score, sizeof(double));
            assert_memory_equal(&all[a].pval, &h[j].pval, sizeof(double));
            j++;
        }
        assert_int_equal(j, n);
        free(h);
        h = NULL;
    }
    free(all);
    free(ohe);
    sl_scanner_destroy(sc);
    sl_motif_db_destroy(db);
}

static void test_scan_finds_planted(void **state)
{
    (void)state;
    enum { L = 300 };
    sl_motif_db_t *db = sl_motif_db_read(MD "jaspar_style.meme");
    assert_non_null(db);
    sl_scanner_t *sc = sl_scanner_create(db);
    assert_non_null(sc);
    static float ohe[4 * L];
    uint64_t st = 11;
    char seq[L + 1];
    for (int p = 0; p < L; p++) seq[p] = "ACGT"[sl_splitmix64(&st) % 4];
    seq[L] = 0;
    memcpy(seq + 50, "CCACGTGG", 8);   /* EBOX_like core, + strand at 50 (motif starts at 49) */
    memcpy(seq + 200, "TTATCA", 6);    /* GATA_like core AGATAA reverse-complemented */
    seq[120] = 'N';
    for (int p = 0; p < L; p++) {
        const char *c = strchr("ACGT", seq[p]);
        for (int b = 0; b < 4; b++) ohe[4 * p + b] = c && (c - "ACGT") == b;
    }
    sl_hit_t *h = NULL;
    int n = 0, m = 0;
    assert_true(sl_scanner_scan(sc, ohe, L, 1e-4, &h, &n, &m) >= 2);
    int ebox = 0, gata = 0;
    for (int i = 0; i < n; i++) {
        assert_true(h[i].pval <= 1e-4);
        assert_false(h[i].start <= 120 && 120 < h[i].end); /* never across the N */
        if (h[i].motif == 1 && h[i].start <= 50 && h[i].end >= 58) ebox = 1;
        if (h[i].motif == 0 && h[i].strand == '-' && h[i].start <= 200 && h[i].end >= 206) gata = 1;
    }
    assert_true(ebox);
    assert_true(gata);
    free(h);
    sl_scanner_destroy(sc);
    sl_motif_db_destroy(db);
}

/* A legal but extreme background (or nsites=) must not make the exact score
 * distribution need gigabytes: such a motif is refused with one error line. */
static void test_scan_extreme_background(void **state)
{
    (void)state;
    enum { W = 60 };
    char t[4096];
    int n = snprintf(t, sizeof t, "MEME version 4\nBackground letter frequencies\nA 1e-300 C 0.3 G 0.3 T 0.4\n"
                                  "MOTIF X\nletter-probability matrix: alength= 4 w= %d\n", W);
    for (int i = 0; i < W; i++) n += snprintf(t + n, sizeof t - (size_t)n, "0.25 0.25 0.25 0.25\n");
    sl_motif_db_t *db = sl_motif_db_parse(t, strlen(t), "mem");
    assert_non_null(db);
    sl_scanner_t *sc = sl_scanner_create(db);
    assert_null(sc);
    sl_motif_db_destroy(db);
    /* nsites= so large that the pseudocount underflows: log2(0) */
    const char *u = "MEME version 4\nBackground letter frequencies\nA 1e-300 C 0.3 G 0.3 T 0.4\n"
                    "MOTIF Y\nletter-probability matrix: alength= 4 w= 1 nsites= 1e308\n0 0.5 0.5 0\n";
    db = sl_motif_db_parse(u, strlen(u), "mem");
    assert_non_null(db);
    assert_null(sl_scanner_create(db));
    sl_motif_db_destroy(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_jaspar),
        cmocka_unit_test(test_parse_hocomoco_crlf),
        cmocka_unit_test(test_parse_meme_suite),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_memory_and_revcomp),
        cmocka_unit_test(test_match_planted),
        cmocka_unit_test(test_match_null_calibration),
        cmocka_unit_test(test_match_nonfinite_query),
        cmocka_unit_test(test_match_fast_equals_plain),
        cmocka_unit_test(test_scan_pvalues_textbook),
        cmocka_unit_test(test_scan_threshold_prunes_exactly),
        cmocka_unit_test(test_scan_pvalues_exact),
        cmocka_unit_test(test_scan_finds_planted),
        cmocka_unit_test(test_scan_extreme_background),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
