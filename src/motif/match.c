/* match.c — TOMTOM-like comparison of seqlet matrices with a motif database. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/motif.h"
#include "seqlift/util.h"

#define POOL_MIN 1000

struct sl_matcher_s {
    const sl_motif_db_t *db;
    int min_overlap;
    double pmean[4];   /* mean of the null pool's centred unit-norm columns */
    double pmom[16];   /* their second moments E[c c^T]: E[PCC] and E[PCC^2] of any */
    int npool;         /* query column follow without touching the pool again */
    double **cols; /* per motif, [2][w][4]: centred unit-norm columns, '+' then '-' */
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

static void pool_add(sl_matcher_t *mt, const double *c)
{
    for (int a = 0; a < 4; a++) {
        mt->pmean[a] += c[a];
        for (int b = 0; b < 4; b++) mt->pmom[4 * a + b] += c[a] * c[b];
    }
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
    if (!(mt->cols = sl_calloc((size_t)(db->n ? db->n : 1), sizeof(double *), "motif columns"))) goto fail;
    int np = 0;
    for (int k = 0; k < db->n; k++) {
        const sl_motif_t *m = &db->m[k];
        double *c = sl_malloc((size_t)m->w * 8 * sizeof(double), "motif columns");
        if (!c) goto fail;
        mt->cols[k] = c;
        sl_motif_revcomp(m->p, m->w, c + 4 * m->w);
        memcpy(c, m->p, (size_t)m->w * 4 * sizeof(double));
        for (int i = 0; i < 2 * m->w; i++) {
            center_unit(c + 4 * i, c + 4 * i);
            pool_add(mt, c + 4 * i);
            np++;
        }
    }
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
        pool_add(mt, v);
        np++;
    }
    for (int b = 0; b < 4; b++) mt->pmean[b] /= np;
    for (int b = 0; b < 16; b++) mt->pmom[b] /= np;
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
    free(mt);
}

static int match_cmp(const void *a, const void *b)
{
    const sl_match_t *x = a, *y = b;
    if (x->pval != y->pval) return x->pval < y->pval ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->motif - y->motif;
}

int sl_matcher_match(const sl_matcher_t *mt, const double *q, const double *wt, int n, int top, sl_match_t *out)
{
    const sl_motif_db_t *db = mt->db;
    double *qn = NULL, *mu = NULL, *var = NULL;
    sl_match_t *all = NULL;
    int ret = -1;
    if (n <= 0 || top <= 0 || db->n == 0) return 0;
    qn = sl_malloc((size_t)n * 4 * sizeof(double), "match query");
    mu = sl_calloc((size_t)n + 1, sizeof(double), "match null");
    var = sl_calloc((size_t)n + 1, sizeof(double), "match null");
    all = sl_malloc((size_t)db->n * sizeof(*all), "matches");
    if (!qn || !mu || !var || !all) goto fail;
    /* per query column: weighted mean and variance of its PCC with the null pool;
     * stored as prefix sums over columns so any aligned range is O(1) */
    for (int i = 0; i < n; i++) {
        double w = wt ? wt[i] : 1, s2 = 0;
        const double *c = qn + 4 * i;
        center_unit(q + 4 * i, qn + 4 * i);
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) s2 += c[a] * mt->pmom[4 * a + b] * c[b];
        double m = dot4(c, mt->pmean), v = s2 - m * m;
        mu[i + 1] = mu[i] + w * m;
        var[i + 1] = var[i] + w * w * (v > 0 ? v : 0);
    }
    for (int k = 0; k < db->n; k++) {
        int w = db->m[k].w, minov = mt->min_overlap;
        if (minov > w) minov = w;
        if (minov > n) minov = n;
        double best_z = -INFINITY, best_s = 0, best_p;
        int n_align = 0;
        sl_match_t *b = &all[k];
        memset(b, 0, sizeof(*b));
        b->motif = k;
        for (int strand = 0; strand < (db->both_strands ? 2 : 1); strand++) {
            const double *pc = mt->cols[k] + (size_t)strand * 4 * w;
            for (int off = minov - w; off <= n - minov; off++) {
                int i0 = off > 0 ? off : 0, i1 = off + w < n ? off + w : n;
                if (i1 - i0 < minov) continue;
                double s = 0;
                for (int i = i0; i < i1; i++) s += (wt ? wt[i] : 1) * dot4(qn + 4 * i, pc + 4 * (i - off));
                double m = mu[i1] - mu[i0], v = var[i1] - var[i0];
                /* the smallest p is the largest z: erfc only once per motif */
                double z = v > 1e-12 ? (s - m) / sqrt(v) : -INFINITY;
                n_align++;
                if (z > best_z || (z == best_z && s > best_s)) {
                    best_z = z;
                    best_s = s;
                    b->strand = strand ? '-' : '+';
                    b->offset = off;
                    b->overlap = i1 - i0;
                    b->score = s;
                }
            }
        }
        best_p = n_align && best_z > -INFINITY ? 0.5 * erfc(best_z / M_SQRT2) : 1;
        /* the best of n_align tries: P(min p <= best) = 1 - (1 - best)^n */
        b->pval = best_p >= 1 ? 1 : -expm1(n_align * log1p(-best_p));
        b->evalue = b->pval * db->n;
    }
    qsort(all, (size_t)db->n, sizeof(*all), match_cmp);
    ret = top < db->n ? top : db->n;
    memcpy(out, all, (size_t)ret * sizeof(*out));
fail:
    free(qn);
    free(mu);
    free(var);
    free(all);
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
        double a = 0;
        for (int b = 0; b < 4; b++) a = fabs(row[b]) > a ? fabs(row[b]) : a;
        wt[i] = a;
        if (a > mx) mx = a;
    }
    for (int i = 0; i < n; i++) wt[i] = mx > 0 ? wt[i] / mx : 0;
}
