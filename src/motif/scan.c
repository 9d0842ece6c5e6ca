/* scan.c — FIMO-like log-odds scan with exact p-values of integer PWM scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/motif.h"
#include "seqlift/util.h"

/* Largest span of integer PWM scores (hi - lo) whose exact distribution is computed:
 * 32 MB per table. Real motifs stay far below it (about 1000 per column for w <= 1000);
 * a hostile background (1e-300) or nsites= (1e300) would need gigabytes. */
#define SCAN_MAX_RANGE (1 << 22)

typedef struct {
    int w;
    int *s;       /* [w][4] integer log-odds, SL_SCAN_SCALE per bit */
    int *rest;    /* rest[j]: best possible score of columns j..w-1 (rest[w] = 0) */
    int kmin;     /* smallest score whose p-value is kept (p <= SL_SCAN_PMAX) */
    int nk;       /* kept scores kmin .. kmin + nk - 1 */
    double *pv;   /* P(score >= kmin + j) under the background */
} pwm_t;

struct sl_scanner_s {
    const sl_motif_db_t *db;
    pwm_t *pwm;   /* [n][2]: '+' then '-' */
};

/* Also resets *p: a PWM whose build failed is freed again by sl_scanner_destroy(). */
static void pwm_free(pwm_t *p)
{
    free(p->s);
    free(p->rest);
    free(p->pv);
    memset(p, 0, sizeof(*p));
}

static int pwm_build(pwm_t *pw, const sl_motif_t *m, const double *p, const double *bg, const char *path)
{
    int w = m->w;
    int64_t lo = 0, hi = 0;
    double *dist = NULL, *nd = NULL, *dist0 = NULL, *nd0 = NULL;
    memset(pw, 0, sizeof(*pw));
    pw->w = w;
    if (!(pw->s = sl_malloc((size_t)w * 4 * sizeof(int), "PWM"))) return -1;
    if (!(pw->rest = sl_calloc((size_t)w + 1, sizeof(int), "PWM"))) goto fail;
    for (int i = 0; i < w; i++) {
        int mn = 0, mx = 0;
        for (int b = 0; b < 4; b++) {
            double pp = (p[4 * i + b] * m->nsites + 0.1 * bg[b]) / (m->nsites + 0.1);
            double lv = SL_SCAN_SCALE * log2(pp / bg[b]);
            if (!(fabs(lv) < SCAN_MAX_RANGE)) goto range; /* also pp underflowed to 0 */
            int v = (int)lround(lv);
            pw->s[4 * i + b] = v;
            if (b == 0 || v < mn) mn = v;
            if (b == 0 || v > mx) mx = v;
        }
        lo += mn;
        hi += mx;
    }
    /* a column has scores <= 0 and >= 0, so this also bounds every partial sum */
    if (hi - lo >= SCAN_MAX_RANGE) goto range;
    for (int i = w - 1; i >= 0; i--) {
        int mx = pw->s[4 * i];
        for (int b = 1; b < 4; b++) mx = pw->s[4 * i + b] > mx ? pw->s[4 * i + b] : mx;
        pw->rest[i] = pw->rest[i + 1] + mx;
    }
    /* exact score distribution under i.i.d. background bases, offset by lo; both
     * buffers padded in front with the widest column's span of zeros */
    size_t R = (size_t)(hi - lo) + 1, pad = 0;
    for (int i = 0; i < w; i++) {
        int mn = pw->s[4 * i], mx = mn;
        for (int b = 1; b < 4; b++) {
            if (pw->s[4 * i + b] < mn) mn = pw->s[4 * i + b];
            if (pw->s[4 * i + b] > mx) mx = pw->s[4 * i + b];
        }
        if ((size_t)(mx - mn) > pad) pad = (size_t)(mx - mn);
    }
    dist0 = sl_calloc(R + pad, sizeof(double), "PWM score distribution");
    nd0 = sl_calloc(R + pad, sizeof(double), "PWM score distribution");
    if (!dist0 || !nd0) goto fail;
    dist = dist0 + pad, nd = nd0 + pad;
    dist[0] = 1;
    int span = 0; /* filled range so far */
    int cum_lo = 0;
    for (int i = 0; i < w; i++) {
        int mn = pw->s[4 * i], mx = pw->s[4 * i];
        for (int b = 1; b < 4; b++) {
            if (pw->s[4 * i + b] < mn) mn = pw->s[4 * i + b];
            if (pw->s[4 * i + b] > mx) mx = pw->s[4 * i + b];
        }
        /* nd[x] = sum of dist[x - (s_b - mn)] * bg[b] in the order the textbook loop
         * (k ascending, then b) adds them: b by descending s_b, ties by b; a dist entry
         * outside [0, span] (zero padding) or zero adds +0, which changes no sum of
         * non-negative terms */
        int ord[4], sh[4];
        for (int b = 0; b < 4; b++) ord[b] = b;
        for (int a = 1; a < 4; a++)
            for (int b = a; b > 0 && pw->s[4 * i + ord[b]] > pw->s[4 * i + ord[b - 1]]; b--) {
                int t = ord[b];
                ord[b] = ord[b - 1];
                ord[b - 1] = t;
            }
        for (int b = 0; b < 4; b++) sh[b] = pw->s[4 * i + ord[b]] - mn;
        const double g0 = bg[ord[0]], g1 = bg[ord[1]], g2 = bg[ord[2]], g3 = bg[ord[3]];
        for (int x = 0; x <= span + mx - mn; x++)
            nd[x] = dist[x - sh[0]] * g0 + dist[x - sh[1]] * g1 + dist[x - sh[2]] * g2 + dist[x - sh[3]] * g3;
        span += mx - mn;
        cum_lo += mn;
        double *t = dist;
        dist = nd;
        nd = t;
    }
    /* tail sums from the top; keep the part with p <= SL_SCAN_PMAX */
    double acc = 0;
    int k0 = span + 1;
    for (int k = span; k >= 0; k--) {
        if (acc + dist[k] > SL_SCAN_PMAX) break;
        acc += dist[k];
        nd[k] = acc;
        k0 = k;
    }
    pw->kmin = cum_lo + k0;
    pw->nk = span + 1 - k0;
    if (!(pw->pv = sl_malloc((size_t)(pw->nk ? pw->nk : 1) * sizeof(double), "PWM p-values"))) goto fail;
    for (int j = 0; j < pw->nk; j++) pw->pv[j] = nd[k0 + j];
    free(dist0);
    free(nd0);
    return 0;
range:
    sl_log_error("%s:%lld: motif %s: log-odds scores too extreme for an exact p-value (background "
                 "frequency or nsites=)", path, (long long)m->line, m->id);
fail:
    free(dist0);
    free(nd0);
    pwm_free(pw);
    return -1;
}

sl_scanner_t *sl_scanner_create(const sl_motif_db_t *db)
{
    sl_scanner_t *sc = sl_calloc(1, sizeof(*sc), "motif scanner");
    double *rc = NULL;
    if (!sc) return NULL;
    sc->db = db;
    if (!(sc->pwm = sl_calloc((size_t)(db->n ? db->n : 1) * 2, sizeof(pwm_t), "PWMs"))) goto fail;
    for (int k = 0; k < db->n; k++) {
        const sl_motif_t *m = &db->m[k];
        if (!(rc = sl_malloc((size_t)m->w * 4 * sizeof(double), "motif"))) goto fail;
        sl_motif_revcomp(m->p, m->w, rc);
        if (pwm_build(&sc->pwm[2 * k], m, m->p, db->bg, db->path) < 0) goto fail;
        if (pwm_build(&sc->pwm[2 * k + 1], m, rc, db->bg, db->path) < 0) goto fail;
        free(rc);
        rc = NULL;
    }
    return sc;
fail:
    free(rc);
    sl_scanner_destroy(sc);
    return NULL;
}

void sl_scanner_destroy(sl_scanner_t *sc)
{
    if (!sc) return;
    if (sc->pwm)
        for (int k = 0; k < 2 * sc->db->n; k++) pwm_free(&sc->pwm[k]);
    free(sc->pwm);
    free(sc);
}

static double pwm_pvalue(const pwm_t *pw, int s)
{
    if (s < pw->kmin) return 1;
    int j = s - pw->kmin;
    return pw->pv[j < pw->nk ? j : pw->nk - 1];
}

double sl_scanner_pvalue(const sl_scanner_t *sc, int k, char strand, int s)
{
    if (k < 0 || k >= sc->db->n) return 1;
    return pwm_pvalue(&sc->pwm[2 * k + (strand == '-')], s);
}

int sl_scanner_scan(const sl_scanner_t *sc, const float *ohe, int L, double pthresh, sl_hit_t **hits, int *n,
                    int *m)
{
    int added = 0;
    signed char *base = sl_malloc((size_t)(L > 0 ? L : 1), "scan bases");
    if (!base) return -1;
    for (int i = 0; i < L; i++) {
        int best = -1;
        float bv = 0.5f;
        for (int b = 0; b < 4; b++)
            if (ohe[4 * i + b] > bv) bv = ohe[4 * (size_t)i + b], best = b;
        base[i] = (signed char)best;
    }
    for (int k = 0; k < sc->db->n; k++) {
        for (int st = 0; st < (sc->db->both_strands ? 2 : 1); st++) {
            const pwm_t *pw = &sc->pwm[2 * k + st];
            /* the least score whose p-value is <= pthresh (p-values fall as scores rise):
             * a window that cannot reach it is no hit, so stop there */
            int t = pw->kmin + pw->nk;
            while (t > pw->kmin && pwm_pvalue(pw, t - 1) <= pthresh) t--;
            for (int i = 0; i + pw->w <= L; i++) {
                int s = 0, j;
                /* stop as soon as even the best rest cannot reach a hit's score */
                for (j = 0; j < pw->w && base[i + j] >= 0 && s + pw->rest[j] >= t; j++)
                    s += pw->s[4 * j + base[i + j]];
                if (j < pw->w || s < t) continue;
                double p = pwm_pvalue(pw, s);
                if (p > pthresh) continue;
                if (*n == *m) {
                    int nm = *m ? 2 * *m : 64;
                    sl_hit_t *h = sl_realloc(*hits, (size_t)nm * sizeof(*h), "motif hits");
                    if (!h) {
                        free(base);
                        return -1;
                    }
                    *hits = h;
                    *m = nm;
                }
                sl_hit_t *h = &(*hits)[(*n)++];
                h->motif = k;
                h->start = i;
                h->end = i + pw->w;
                h->strand = st ? '-' : '+';
                h->score = (double)s / SL_SCAN_SCALE;
                h->pval = p;
                added++;
            }
        }
    }
    free(base);
    return added;
}
