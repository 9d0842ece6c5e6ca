/* seqlets.c — recursive significant spans with a per-region Laplace null. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/seqlets.h"
#include "seqlift/util.h"

void sl_seqlet_opts_default(sl_seqlet_opts_t *o)
{
    o->threshold = 0.01;
    o->min_len = 4;
    o->max_len = 25;
    o->flank = 5;
}

int sl_seqlet_opts_check(const sl_seqlet_opts_t *o)
{
    if (!(o->threshold > 0 && o->threshold < 1)) {
        sl_log_error("--seqlet-threshold must be in (0, 1), got %g", o->threshold);
        return -1;
    }
    if (o->min_len < 1 || o->max_len < o->min_len || o->max_len > 1000) {
        sl_log_error("seqlet lengths must satisfy 1 <= --min-len <= --max-len <= 1000, got %d and %d", o->min_len,
                     o->max_len);
        return -1;
    }
    if (o->flank < 0 || o->flank > 1000) {
        sl_log_error("--flank must be in 0..1000, got %d", o->flank);
        return -1;
    }
    return 0;
}

void sl_seqlet_flanked(const sl_seqlet_t *s, int L, int flank, int *fs, int *fe)
{
    *fs = s->start - flank > 0 ? s->start - flank : 0;
    *fe = s->end + flank < L ? s->end + flank : L;
}

typedef struct {
    int start, len, sign;
    double p, sum;
} cand_t;

static int cand_cmp(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->len != y->len) return y->len - x->len;
    if (x->p != y->p) return x->p < y->p ? -1 : 1;
    return x->start - y->start;
}

static int seqlet_rank_cmp(const void *a, const void *b)
{
    const sl_seqlet_t *x = a, *y = b;
    double ax = fabs(x->score), ay = fabs(y->score);
    if (ax != ay) return ax > ay ? -1 : 1;
    return x->start - y->start;
}

/* k-th smallest of v[0..n) (v is reordered): quickselect, O(n) on average. */
static double select_k(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double piv = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv) i++;
            while (v[j] > piv) j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return v[k];
}

static double median(double *v, int n)
{
    double hi = select_k(v, n, n / 2);
    if (n % 2) return hi;
    double lo = v[0]; /* after selection v[0 .. n/2) are all <= hi: take their max */
    for (int i = 1; i < n / 2; i++) lo = v[i] > lo ? v[i] : lo;
    return 0.5 * (lo + hi);
}

/* Laplace fit by median and MAD (scale = MAD / ln 2) of v[0..n) (v is reordered). */
static void laplace_fit(double *v, int n, double *mu, double *b)
{
    double m = median(v, n), amax = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs(v[i] - m);
        amax = d > amax ? d : amax;
        v[i] = d;
    }
    double mad = median(v, n);
    /* a flat track (MAD 0) must not make every tiny bump significant */
    double sc = mad / M_LN2;
    if (sc < 1e-6 * amax) sc = 1e-6 * amax;
    if (sc < 1e-30) sc = 1e-30;
    *mu = m;
    *b = sc;
}

static double span_p(double sum, double mu, double b, double sg)
{
    double d = sg * (sum - mu);
    return d > 0 ? 0.5 * exp(-d / b) : 1;
}

int sl_seqlets_call(const float *x, int L, const sl_seqlet_opts_t *o, sl_seqlet_t **out, int *n)
{
    int kmax = o->max_len < L ? o->max_len : L, kmin = o->min_len, ret = -1, nc = 0, mc = 0, ns = 0;
    double *cum = NULL, *tmp = NULL, *ws = NULL, *mu = NULL, *bs = NULL, mu1, b1;
    unsigned char *pass[2] = {NULL, NULL}, *prev[2] = {NULL, NULL}, *taken = NULL;
    cand_t *cand = NULL;
    sl_seqlet_t *res = NULL;
    *out = NULL;
    *n = 0;
    if (L < kmin || L <= 0) return 0;
    cum = sl_malloc(((size_t)L + 1) * sizeof(double), "seqlet sums");
    tmp = sl_malloc((size_t)L * sizeof(double), "seqlet null");
    ws = sl_malloc((size_t)L * sizeof(double), "seqlet window sums");
    mu = sl_malloc(((size_t)kmax + 1) * sizeof(double), "seqlet null");
    bs = sl_malloc(((size_t)kmax + 1) * sizeof(double), "seqlet null");
    taken = sl_calloc((size_t)L, 1, "seqlet mask");
    for (int s = 0; s < 2; s++) {
        pass[s] = sl_calloc((size_t)L + 1, 1, "seqlet spans");
        prev[s] = sl_calloc((size_t)L + 1, 1, "seqlet spans");
        if (!pass[s] || !prev[s]) goto fail;
    }
    if (!cum || !tmp || !ws || !mu || !bs || !taken) goto fail;
    cum[0] = 0;
    for (int p = 0; p < L; p++) cum[p + 1] = cum[p] + (isfinite(x[p]) ? x[p] : 0);
    for (int p = 0; p < L; p++) tmp[p] = cum[p + 1] - cum[p];
    laplace_fit(tmp, L, &mu1, &b1); /* single bases: used to trim span ends */
    for (int k = kmin; k <= kmax; k++) {
        int nw = L - k + 1;
        for (int i = 0; i < nw; i++) ws[i] = tmp[i] = cum[i + k] - cum[i];
        laplace_fit(tmp, nw, &mu[k], &bs[k]);
        for (int s = 0; s < 2; s++) {
            double sg = s ? -1 : 1;
            for (int i = 0; i < nw; i++) {
                double p = span_p(ws[i], mu[k], bs[k], sg);
                int ok = p < o->threshold && sg * ws[i] > 0 && (k == kmin || (prev[s][i] && prev[s][i + 1]));
                pass[s][i] = (unsigned char)ok;
                if (!ok) continue;
                if (nc == mc) {
                    mc = mc ? 2 * mc : 64;
                    cand_t *c = sl_realloc(cand, (size_t)mc * sizeof(*c), "seqlet candidates");
                    if (!c) goto fail;
                    cand = c;
                }
                cand[nc++] = (cand_t){i, k, s ? -1 : 1, p, ws[i]};
            }
            pass[s][nw] = 0;
            unsigned char *t = prev[s];
            prev[s] = pass[s];
            pass[s] = t;
        }
    }
    if (nc) qsort(cand, (size_t)nc, sizeof(*cand), cand_cmp); /* cand is NULL when none: qsort(NULL) is UB */
    for (int c = 0; c < nc; c++) {
        int len = cand[c].len, st = cand[c].start, en = st + len, ok = 1, sg = cand[c].sign;
        for (int p = st; p < en && ok; p++) ok = !taken[p];
        if (!ok) continue;
        memset(taken + st, 1, (size_t)len);
        /* every window holding one strong base is significant, so spans reach up to
         * min_len - 1 bases into noise: trim end bases that are not significant on
         * their own (keeping min_len; the untrimmed span stays reserved) */
        while (en - st > kmin && span_p(cum[st + 1] - cum[st], mu1, b1, sg) >= o->threshold) st++;
        while (en - st > kmin && span_p(cum[en] - cum[en - 1], mu1, b1, sg) >= o->threshold) en--;
        double sum = cum[en] - cum[st];
        if (!(ns % 16)) {
            sl_seqlet_t *r = sl_realloc(res, (size_t)(ns + 16) * sizeof(*r), "seqlets");
            if (!r) goto fail;
            res = r;
        }
        res[ns++] = (sl_seqlet_t){st, en, sg, sum, span_p(sum, mu[en - st], bs[en - st], sg), 0};
    }
    if (ns) qsort(res, (size_t)ns, sizeof(*res), seqlet_rank_cmp);
    for (int i = 0; i < ns; i++) res[i].rank = i + 1;
    *out = res;
    *n = ns;
    res = NULL;
    ret = 0;
fail:
    free(cum);
    free(tmp);
    free(ws);
    free(mu);
    free(bs);
    free(taken);
    free(cand);
    free(res);
    for (int s = 0; s < 2; s++) {
        free(pass[s]);
        free(prev[s]);
    }
    return ret;
}
