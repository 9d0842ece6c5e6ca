/* match.c — TOMTOM-like comparison of seqlet matrices with a motif database. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/motif.h"
#include "seqlift/util.h"

#include "motif/match_priv.h"

#define POOL_MIN 1000
#define NULL_BINS 50   /* column scores discretised to 1/NULL_BINS for the exact null */
#define NULL_POOL_MAX 4096 /* pool columns sampled for a query column's null */

struct sl_matcher_s {
    const sl_motif_db_t *db;
    int min_overlap;
    double *pool;      /* [npool][4] centred unit-norm columns of the null pool */
    double *poolt;     /* [4][npool + 1]: the same, transposed (a query column against many at once) */
    int npool;
    double **cols;     /* per motif, [2][w][4]: centred unit-norm columns, '+' then '-' */
    int *first;        /* per motif, its first column in the pool: the pool starts with every
                        * motif's columns ('+' then '-'), so a query's scores against the pool
                        * are its alignment scores too */
    int nmc;           /* motif columns at the start of the pool */
};

/* Centre a 4-vector and scale to unit norm, so PCC is a dot product; a constant
 * column has no defined correlation and becomes 0 (contributes nothing). */
static void center_unit(const double *v, double *out)
{
    double m = (v[0] + v[1] + v[2] + v[3]) / 4, s = 0;
    for (int b = 0; b < 4; b++) {
        out[b] = v[b] - m;
        s += out[b] * out[b];
    }
    s = sqrt(s);
    for (int b = 0; b < 4; b++) out[b] = s > 1e-12 ? out[b] / s : 0;
}

static double dot4(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}

/* Gamma(1/2) = Z^2 / 2 for standard normal Z: Dirichlet(0.5) columns by normalising. */
static double gauss(uint64_t *st)
{
    double u1 = ((sl_splitmix64(st) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((sl_splitmix64(st) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void pool_add(sl_matcher_t *mt, int j, const double *c)
{
    memcpy(mt->pool + 4 * j, c, 4 * sizeof(double));
    for (int b = 0; b < 4; b++) mt->poolt[(size_t)b * (mt->npool + 1) + j] = c[b];
}

sl_matcher_t *sl_matcher_create(const sl_motif_db_t *db, int min_overlap)
{
    sl_matcher_t *mt = sl_calloc(1, sizeof(*mt), "motif matcher");
    if (!mt) return NULL;
    mt->db = db;
    mt->min_overlap = min_overlap > 0 ? min_overlap : 1;
    int total = 0;
    for (int k = 0; k < db->n; k++) total += 2 * db->m[k].w;
    mt->npool = total < POOL_MIN ? POOL_MIN : total;
    if (!(mt->pool = sl_malloc((size_t)mt->npool * 4 * sizeof(double), "null column pool")) ||
        !(mt->poolt = sl_calloc((size_t)(mt->npool + 1) * 4, sizeof(double), "null column pool")))
        goto fail;
    if (!(mt->cols = sl_calloc((size_t)(db->n ? db->n : 1), sizeof(double *), "motif columns")) ||
        !(mt->first = sl_calloc((size_t)(db->n ? db->n : 1), sizeof(int), "motif columns")))
        goto fail;
    int np = 0;
    for (int k = 0; k < db->n; k++) {
        const sl_motif_t *m = &db->m[k];
        mt->first[k] = np;
        double *c = sl_malloc((size_t)m->w * 8 * sizeof(double), "motif columns");
        if (!c) goto fail;
        mt->cols[k] = c;
        sl_motif_revcomp(m->p, m->w, c + 4 * m->w);
        memcpy(c, m->p, (size_t)m->w * 4 * sizeof(double));
        for (int i = 0; i < 2 * m->w; i++) {
            center_unit(c + 4 * i, c + 4 * i);
            pool_add(mt, np++, c + 4 * i);
        }
    }
    mt->nmc = np;
    uint64_t st = 0x5eedc0150a11ULL; /* fixed: the null is part of the method */
    while (np < mt->npool) {
        double v[4], s = 0;
        for (int b = 0; b < 4; b++) {
            double z = gauss(&st);
            v[b] = z * z / 2 + 1e-300;
            s += v[b];
        }
        for (int b = 0; b < 4; b++) v[b] /= s;
        center_unit(v, v);
        pool_add(mt, np++, v);
    }
    return mt;
fail:
    sl_matcher_destroy(mt);
    return NULL;
}

void sl_matcher_destroy(sl_matcher_t *mt)
{
    if (!mt) return;
    if (mt->cols)
        for (int k = 0; k < mt->db->n; k++) free(mt->cols[k]);
    free(mt->cols);
    free(mt->first);
    free(mt->pool);
    free(mt->poolt);
    free(mt);
}

static int col_score(double w, double d)
{
    /* |w d| <= 1, so the shifted value is positive: truncation rounds, no branch */
    return (int)(NULL_BINS * w * d + NULL_BINS + 0.5) - NULL_BINS;
}

static int match_cmp(const void *a, const void *b)
{
    const sl_match_t *x = a, *y = b;
    if (x->pval != y->pval) return x->pval < y->pval ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->motif - y->motif;
}

/* The exact null of the query's score, from the top down to need (what the p-values
 * read): tail[a] = P(S >= a - n * NULL_BINS) for a >= need, S the sum over all n query
 * columns of their discretised weighted PCC with independent pool columns (TOMTOM's
 * per-column null, convolved exactly). sc[i][j]: query column i's score against pool
 * column j (j < nmc, else computed here). h: [n][NB] the per-column histograms.
 * Only the entries of each partial distribution that can reach need are computed (the
 * ones below are never read); each computed entry sums the same products in the same
 * order as the full convolution, so tail[a >= need] are the same bytes. */
#define NB (2 * NULL_BINS + 1)
typedef double v2d __attribute__((vector_size(16)));
static void query_null(const sl_matcher_t *mt, const double *qn, const double *wt, int n, const signed char *sc,
                       int nsc, double *h, int *klo, int *khi, double *cur, double *nxt, int64_t need,
                       double *tail, int plain)
{
    /* a large database: every step-th pool column is plenty for a per-column null */
    int step = mt->npool > NULL_POOL_MAX ? mt->npool / NULL_POOL_MAX : 1, used = 0;
    size_t full = (size_t)n * 2 * NULL_BINS + 1;
    for (int j = 0; j < mt->npool; j += step) used++;
    for (int i = 0; i < n; i++) {
        double *hi_ = h + (size_t)i * NB, w = wt ? wt[i] : 1;
        const signed char *si = sc + (size_t)i * nsc;
        memset(hi_, 0, NB * sizeof(double));
        for (int j = 0; j < mt->npool; j += step)
            hi_[(j < nsc ? si[j] : col_score(w, dot4(qn + 4 * i, mt->pool + 4 * j))) + NULL_BINS] += 1;
        klo[i] = NB, khi[i] = -1;
        for (int k = 0; k < NB; k++) {
            hi_[k] /= used;
            if (hi_[k] > 0 && k < klo[i]) klo[i] = k;
            if (hi_[k] > 0) khi[i] = k;
        }
    }
    /* after column i, entries below cut_i = need - sum_{j > i} khi_j cannot reach need */
    int64_t cut = need;
    for (int i = 0; i < n; i++) cut -= khi[i];
    int64_t lo = 0, hi = 0;
    cur[0] = 1;
    for (int i = 0; i < n; i++) {
        const double *hh = h + (size_t)i * NB;
        int k0 = klo[i], k1 = khi[i];
        cut += k1;
        int64_t from = lo + k0 > cut ? lo + k0 : cut, to = hi + k1, x = from;
        if (plain) { /* the textbook order: k outer, zero bins skipped; from = lo + k0 */
            memset(nxt + from, 0, (size_t)(to - from + 1) * sizeof(double));
            for (int k = k0; k <= k1; k++)
                for (int64_t y = lo; hh[k] != 0 && y <= hi; y++) nxt[y + k] += cur[y] * hh[k];
            x = to + 1;
        }
        /* nxt[x] = sum over k ascending of cur[x - k] * h[k]: the full convolution's
         * order for every entry; a zero bin or a cur entry outside [lo, hi] (0 in the
         * padded buffer) adds +0, which changes no sum of non-negative terms. Eight or
         * four entries at a time, in two-double vectors (each lane the scalar sum). */
        for (; x + 7 <= to; x += 8) {
            v2d s0 = {0, 0}, s1 = {0, 0}, s2 = {0, 0}, s3 = {0, 0};
            for (int k = k0; k <= k1; k++) {
                v2d hk = {hh[k], hh[k]}, c0, c1, c2, c3;
                const double *c = cur + x - k;
                memcpy(&c0, c, sizeof c0);
                memcpy(&c1, c + 2, sizeof c1);
                memcpy(&c2, c + 4, sizeof c2);
                memcpy(&c3, c + 6, sizeof c3);
                s0 += c0 * hk;
                s1 += c1 * hk;
                s2 += c2 * hk;
                s3 += c3 * hk;
            }
            memcpy(nxt + x, &s0, sizeof s0);
            memcpy(nxt + x + 2, &s1, sizeof s1);
            memcpy(nxt + x + 4, &s2, sizeof s2);
            memcpy(nxt + x + 6, &s3, sizeof s3);
        }
        for (; x + 3 <= to; x += 4) {
            v2d s0 = {0, 0}, s1 = {0, 0};
            for (int k = k0; k <= k1; k++) {
                v2d hk = {hh[k], hh[k]}, c0, c1;
                memcpy(&c0, cur + x - k, sizeof c0);
                memcpy(&c1, cur + x - k + 2, sizeof c1);
                s0 += c0 * hk;
                s1 += c1 * hk;
            }
            memcpy(nxt + x, &s0, sizeof s0);
            memcpy(nxt + x + 2, &s1, sizeof s1);
        }
        for (; x <= to; x++) {
            double sx = 0;
            for (int k = k0; k <= k1; k++) sx += cur[x - k] * hh[k];
            nxt[x] = sx;
        }
        memset(cur + lo, 0, (size_t)(hi - lo + 1) * sizeof(double));
        lo += k0;
        hi += k1;
        double *t = cur;
        cur = nxt;
        nxt = t;
    }
    tail[full] = 0;
    int64_t stop = need > 0 ? need : 0;
    for (int64_t a = (int64_t)full - 1; a >= stop; a--) tail[a] = tail[a + 1] + (a >= lo && a <= hi ? cur[a] : 0);
}

/* out[j] = col_score(w, dot4(qc, pool column j)) for j < m, two columns at a time from
 * the transposed pool: each lane does dot4's and col_score's operations in their order. */
static void score_row(const sl_matcher_t *mt, const double *qc, double w, int m, signed char *out)
{
    size_t st = (size_t)mt->npool + 1;
    const double *p0 = mt->poolt, *p1 = p0 + st, *p2 = p1 + st, *p3 = p2 + st;
    v2d q0 = {qc[0], qc[0]}, q1 = {qc[1], qc[1]}, q2 = {qc[2], qc[2]}, q3 = {qc[3], qc[3]};
    v2d nw = {NULL_BINS * w, NULL_BINS * w}, nb = {NULL_BINS, NULL_BINS}, half = {0.5, 0.5};
    int j = 0;
    for (; j + 1 < m; j += 2) {
        v2d a0, a1, a2, a3;
        memcpy(&a0, p0 + j, sizeof a0);
        memcpy(&a1, p1 + j, sizeof a1);
        memcpy(&a2, p2 + j, sizeof a2);
        memcpy(&a3, p3 + j, sizeof a3);
        v2d d = q0 * a0 + q1 * a1 + q2 * a2 + q3 * a3, t = nw * d + nb + half;
        out[j] = (signed char)((int)t[0] - NULL_BINS);
        out[j + 1] = (signed char)((int)t[1] - NULL_BINS);
    }
    for (; j < m; j++) out[j] = (signed char)col_score(w, dot4(qc, mt->pool + 4 * (size_t)j));
}

int sl_matcher_match(const sl_matcher_t *mt, const double *q, const double *wt, int n, int top, sl_match_t *out)
{
    return sl_matcher_match_mode(mt, q, wt, n, top, out, 0);
}

int sl_matcher_match_mode(const sl_matcher_t *mt, const double *q, const double *wt, int n, int top, sl_match_t *out,
                          int plain)
{
    const sl_motif_db_t *db = mt->db;
    double *qn = NULL, *tail = NULL, *h = NULL, *cur = NULL, *nxt = NULL;
    signed char *sc = NULL;
    int *klo = NULL, *khi = NULL, *best = NULL, *nal = NULL;
    sl_match_t *all = NULL;
    int ret = -1;
    if (n <= 0 || top <= 0 || db->n == 0) return 0;
    for (int i = 0; wt && i < n; i++)
        if (!(wt[i] >= 0 && wt[i] <= 1)) { /* col_score's histogram bins assume |w d| <= 1 */
            sl_log_error("motif matching: query column %d has weight %g, not in [0, 1]", i, wt[i]);
            return -1;
        }
    size_t full = (size_t)n * 2 * NULL_BINS + 1;
    int nsc = mt->nmc;
    /* every buffer once per call: nothing is allocated in the loops */
    qn = sl_malloc((size_t)n * 4 * sizeof(double), "match query");
    tail = sl_malloc((full + 1) * sizeof(double), "match null");
    all = sl_malloc((size_t)db->n * sizeof(*all), "matches");
    sc = sl_malloc((size_t)n * (nsc ? nsc : 1), "match scores");
    h = sl_malloc((size_t)n * NB * sizeof(double), "match null");
    klo = sl_malloc((size_t)n * sizeof(int), "match null");
    khi = sl_malloc((size_t)n * sizeof(int), "match null");
    best = sl_malloc((size_t)db->n * sizeof(int), "matches");
    nal = sl_malloc((size_t)db->n * sizeof(int), "matches");
    /* the null's two distributions, padded with NB zeros on both sides (query_null reads
     * up to NB - 1 entries beyond the support) */
    cur = sl_calloc(full + 2 * NB, sizeof(double), "match null");
    nxt = sl_calloc(full + 2 * NB, sizeof(double), "match null");
    if (!qn || !tail || !all || !sc || !h || !klo || !khi || !best || !nal || !cur || !nxt) goto fail;
    for (int i = 0; i < n; i++) center_unit(q + 4 * i, qn + 4 * i);
    /* the query's scores against every motif column (the pool's first nmc columns) */
    for (int i = 0; i < n; i++) {
        double w = wt ? wt[i] : 1;
        score_row(mt, qn + 4 * i, w, nsc, sc + (size_t)i * nsc);
    }
    int64_t need = INT64_MAX; /* the least tail entry a p-value reads */
    for (int k = 0; k < db->n; k++) {
        int w = db->m[k].w, minov = mt->min_overlap, n_align = 0, bs = INT32_MIN;
        if (minov > w) minov = w;
        if (minov > n) minov = n;
        sl_match_t *b = &all[k];
        memset(b, 0, sizeof(*b));
        b->motif = k;
        for (int strand = 0; strand < (db->both_strands ? 2 : 1); strand++) {
            const signed char *pc = sc + mt->first[k] + strand * w; /* column j of this strand: pc[j] */
            for (int off = minov - w; off <= n - minov; off++) {
                int i0 = off > 0 ? off : 0, i1 = off + w < n ? off + w : n, obs = 0;
                if (i1 - i0 < minov) continue;
                if (plain) /* the scores computed again, as they were before the table */
                    for (int i = i0; i < i1; i++)
                        obs += col_score(wt ? wt[i] : 1, dot4(qn + 4 * i, mt->cols[k] + 4 * ((size_t)strand * w + i - off)));
                else
                    for (int i = i0; i < i1; i++) obs += pc[(size_t)i * nsc + (i - off)];
                n_align++;
                if (obs > bs) {
                    bs = obs;
                    b->strand = strand ? '-' : '+';
                    b->offset = off;
                    b->overlap = i1 - i0;
                }
            }
        }
        if (n_align) { /* the unrounded score of the best alignment, for reports */
            const double *pc = mt->cols[k] + (size_t)(b->strand == '-') * 4 * w;
            int i0 = b->offset > 0 ? b->offset : 0;
            for (int i = i0; i < i0 + b->overlap; i++)
                b->score += (wt ? wt[i] : 1) * dot4(qn + 4 * i, pc + 4 * (i - b->offset));
        }
        nal[k] = n_align;
        best[k] = bs;
        int64_t a = (int64_t)bs + (int64_t)n * NULL_BINS;
        if (n_align && a > 0 && a < need) need = a;
    }
    if (plain) need = 0; /* the whole distribution */
    if (need != INT64_MAX)
        query_null(mt, qn, wt, n, sc, plain ? 0 : nsc, h, klo, khi, cur + NB, nxt + NB, need, tail, plain);
    for (int k = 0; k < db->n; k++) {
        sl_match_t *b = &all[k];
        int n_align = nal[k];
        /* The query's unaligned columns score 0 but stay in the null: a motif must
         * explain the seqlet's strong columns, not just a corner of it. */
        int64_t a = (int64_t)best[k] + (int64_t)n * NULL_BINS;
        double p = n_align == 0 ? 1 : a <= 0 ? 1 : tail[a];
        /* the best of n_align tries: P(min p <= best) = 1 - (1 - p)^n */
        b->pval = p >= 1 ? 1 : -expm1(n_align * log1p(-p));
        b->evalue = b->pval * db->n;
    }
    qsort(all, (size_t)db->n, sizeof(*all), match_cmp);
    ret = top < db->n ? top : db->n;
    memcpy(out, all, (size_t)ret * sizeof(*out));
fail:
    free(qn);
    free(tail);
    free(all);
    free(sc);
    free(h);
    free(klo);
    free(khi);
    free(best);
    free(nal);
    free(cur);
    free(nxt);
    return ret;
}

void sl_match_query_from_scores(const float *ohe, const float *contrib, const float *hyp, int start, int end,
                                int sign, double *q, double *wt)
{
    int n = end - start;
    double mx = 0;
    for (int i = 0; i < n; i++) {
        int p = start + i;
        double *row = q + 4 * i;
        if (hyp) {
            for (int b = 0; b < 4; b++) row[b] = sign * (double)hyp[4 * p + b];
        } else {
            double s = 0;
            for (int b = 0; b < 4; b++) s += contrib[4 * p + b];
            for (int b = 0; b < 4; b++) row[b] = sign * s * (ohe ? (double)ohe[4 * p + b] : 0);
        }
        /* non-finite values count as 0 (as in seqlet calling): one infinity would
         * make every weight inf / inf = NaN */
        double a = 0;
        for (int b = 0; b < 4; b++) {
            if (!isfinite(row[b])) row[b] = 0;
            a = fabs(row[b]) > a ? fabs(row[b]) : a;
        }
        wt[i] = a;
        if (a > mx) mx = a;
    }
    for (int i = 0; i < n; i++) wt[i] = mx > 0 ? wt[i] / mx : 0;
}
