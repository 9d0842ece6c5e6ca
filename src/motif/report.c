/* report.c — report builder: calls seqlets per region and matches them against the
 * motifs, keeps the regions to draw, and summarises them for the writers (HTML in
 * report_html.c, JSON in report_json.c, BED/TSV in report_bed.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/track.h"
#include "seqlift/util.h"


void sl_report_opts_default(sl_report_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    sl_seqlet_opts_default(&o->seqlet);
    o->top_matches = 3;
    o->min_overlap = 5;
    o->match_evalue = 0.05;
    o->scan_pthresh = 1e-4;
    o->max_regions = 50;
    o->order = SL_REPORT_ORDER_INPUT;
}

sl_report_t *sl_report_create(const sl_report_opts_t *o, const sl_motif_db_t *db)
{
    if (sl_seqlet_opts_check(&o->seqlet) < 0) return NULL;
    if (o->top_matches < 1 || o->top_matches > 1000) {
        sl_log_error("--top must be in 1..1000, got %d", o->top_matches);
        return NULL;
    }
    if (o->max_regions < 0 || o->max_regions > 100000) {
        sl_log_error("the number of regions drawn must be in 0..100000, got %d", o->max_regions);
        return NULL;
    }
    if (o->scan_pthresh > SL_SCAN_PMAX) {
        sl_log_error("the motif scan p-value threshold must be <= %g, got %g", SL_SCAN_PMAX, o->scan_pthresh);
        return NULL;
    }
    sl_report_t *rep = sl_calloc(1, sizeof(*rep), "report");
    if (!rep) return NULL;
    rep->o = *o;
    rep->db = db;
    pthread_mutex_init(&rep->lock, NULL);
    if (db && !(rep->mt = sl_matcher_create(db, o->min_overlap))) goto fail;
    if (o->max_regions && !(rep->kept = sl_calloc((size_t)o->max_regions, sizeof(kreg_t *), "report regions")))
        goto fail;
    return rep;
fail:
    sl_report_destroy(rep);
    return NULL;
}

static void rseq_free(rseq_t *s);

static void kreg_free(kreg_t *k)
{
    if (!k) return;
    free(k->label);
    free(k->chrom);
    free(k->seq);
    free(k->x);
    free(k->sq); /* strings and matches belong to the global list */
    free(k);
}

void sl_report_destroy(sl_report_t *rep)
{
    if (!rep) return;
    for (int64_t i = 0; i < rep->nsq; i++) rseq_free(&rep->sq[i]);
    free(rep->sq);
    for (int i = 0; i < rep->nkept; i++) kreg_free(rep->kept[i]);
    free(rep->kept);
    sl_matcher_destroy(rep->mt);
    pthread_mutex_destroy(&rep->lock);
    free(rep);
}

int64_t sl_report_n_seqlets(const sl_report_t *rep) { return rep->nsq; }
int64_t sl_report_n_regions(const sl_report_t *rep) { return rep->nreg; }

/* "name", else "chrom:start+1-end", else "region<index>" */
char *sl_report_region_label(const sl_region_t *r)
{
    char buf[64];
    if (r->name && *r->name) return sl_strdup(r->name);
    if (r->chrom) {
        size_t n = strlen(r->chrom) + 48;
        char *s = sl_malloc(n, "region label");
        if (s) snprintf(s, n, "%s:%lld-%lld", r->chrom, (long long)r->start + 1, (long long)r->end);
        return s;
    }
    snprintf(buf, sizeof buf, "region%lld", (long long)r->index);
    return sl_strdup(buf);
}

/* k1 is better kept than k2 under the report order? */
static int kept_better(const sl_report_t *rep, int64_t i1, double p1, int64_t i2, double p2)
{
    if (rep->o.order == SL_REPORT_ORDER_PREDICTION) {
        int n1 = isnan(p1), n2 = isnan(p2);
        if (n1 != n2) return n2;
        if (!n1 && p1 != p2) return p1 > p2;
    }
    return i1 < i2;
}

/* Region a is less worth keeping than region b? (the heap order of rep->kept) */
static int kept_worse(const sl_report_t *rep, const kreg_t *a, const kreg_t *b)
{
    return kept_better(rep, b->index, b->pred, a->index, a->pred);
}

/* Put k into the heap of kept regions when it is worth keeping (it then belongs to
 * rep); 1 kept, 0 not. One region costs O(log max_regions), not a scan of them all. */
static int kept_offer(sl_report_t *rep, kreg_t *k)
{
    kreg_t **h = rep->kept;
    int i, n = rep->nkept;
    if (n < rep->o.max_regions) { /* room: sift up from the end */
        for (i = rep->nkept++; i > 0 && kept_worse(rep, k, h[(i - 1) / 2]); i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
        h[i] = k;
        return 1;
    }
    if (!kept_worse(rep, h[0], k)) return 0;
    kreg_free(h[0]); /* replace the least worth keeping: sift down from the root */
    for (i = 0;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && kept_worse(rep, h[c + 1], h[c])) c++;
        if (!kept_worse(rep, h[c], k)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = k;
    return 1;
}

static void rseq_free(rseq_t *s)
{
    free(s->label);
    free(s->chrom);
    free(s->m);
    free(s->cwm);
}

/* The contributions under s's best motif, column j of the motif as given: on '-' the
 * reverse complement was aligned, so motif column j sits at query column
 * offset + w-1-j with the complementary base. Columns outside the window stay 0. */
static float *aligned_cwm(const sl_report_t *rep, const rseq_t *s, int L, const float *contrib)
{
    const sl_match_t *b = &s->m[0];
    int w = rep->db->m[b->motif].w;
    float *c = sl_calloc((size_t)w * 4, sizeof(float), "motif contributions");
    if (!c) return NULL;
    for (int j = 0; j < w; j++) {
        int p = s->fs + b->offset + (b->strand == '-' ? w - 1 - j : j);
        if (p < 0 || p >= L) continue;
        for (int a = 0; a < 4; a++) {
            float v = contrib[4 * (size_t)p + (b->strand == '-' ? 3 - a : a)];
            c[4 * j + a] = isfinite(v) ? v : 0;
        }
    }
    return c;
}

int sl_report_add_region(sl_report_t *rep, const sl_region_t *r, int L, const float *ohe, const float *contrib,
                         const float *hyp, double prediction)
{
    int ret = -1, nsl = 0;
    float *x = NULL;
    double *q = NULL, *wt = NULL;
    sl_seqlet_t *sl = NULL;
    rseq_t *loc = NULL;
    kreg_t *k = NULL;
    char *label = NULL;
    const sl_report_opts_t *o = &rep->o;
    if (L <= 0) return 0;
    if (!(x = sl_malloc((size_t)L * sizeof(float), "projected contributions"))) goto fail;
    sl_track_project(contrib, NULL, L, 0, x);
    if (sl_seqlets_call(x, L, &o->seqlet, &sl, &nsl) < 0) goto fail;
    if (!(label = sl_report_region_label(r))) goto fail;
    if (nsl && !(loc = sl_calloc((size_t)nsl, sizeof(*loc), "seqlets"))) goto fail;
    int maxw = L < o->seqlet.max_len + 2 * o->seqlet.flank ? L : o->seqlet.max_len + 2 * o->seqlet.flank;
    if (!(q = sl_malloc((size_t)maxw * 4 * sizeof(double), "match query"))) goto fail;
    if (!(wt = sl_malloc((size_t)maxw * sizeof(double), "match weights"))) goto fail;
    for (int i = 0; i < nsl; i++) {
        rseq_t *s = &loc[i];
        s->region = r->index;
        s->s = sl[i];
        s->strand = r->strand;
        int64_t a = sl_region_genome_pos(r, sl[i].start), b = sl_region_genome_pos(r, sl[i].end - 1);
        s->gstart = a < b ? a : b;
        s->gend = (a < b ? b : a) + 1;
        if (r->chrom && s->gstart < 0) s->gstart = 0; /* window N-padded before the contig start */
        sl_seqlet_flanked(&sl[i], L, o->seqlet.flank, &s->fs, &s->fe);
        size_t n = strlen(label) + 24;
        if (!(s->label = sl_malloc(n, "seqlet name"))) goto fail;
        snprintf(s->label, n, "%s#%d", label, sl[i].rank);
        if (!(s->chrom = sl_strdup(r->chrom ? r->chrom : label))) goto fail;
        if (rep->mt) {
            if (!(s->m = sl_malloc((size_t)o->top_matches * sizeof(sl_match_t), "matches"))) goto fail;
            sl_match_query_from_scores(ohe, contrib, hyp, s->fs, s->fe, sl[i].sign, q, wt);
            if ((s->nm = sl_matcher_match(rep->mt, q, wt, s->fe - s->fs, o->top_matches, s->m)) < 0) goto fail;
            if (s->nm > 0 && s->m[0].evalue <= o->match_evalue && !(s->cwm = aligned_cwm(rep, s, L, contrib)))
                goto fail;
        }
    }
    /* per-base data only for a region that may be drawn */
    if (o->max_regions) {
        if (!(k = sl_calloc(1, sizeof(*k), "report region"))) goto fail;
        k->index = r->index;
        k->pred = prediction;
        k->start = r->start;
        k->end = r->end;
        k->strand = r->strand;
        k->L = L;
        k->nsq = nsl;
        k->label = label;
        label = NULL;
        k->x = x;
        x = NULL;
        if (!(k->chrom = sl_strdup(r->chrom ? r->chrom : k->label))) goto fail;
        k->genomic = r->chrom != NULL;
        if (!(k->seq = sl_malloc((size_t)L + 1, "region sequence"))) goto fail;
        if (nsl && !(k->sq = sl_malloc((size_t)nsl * sizeof(*loc), "region seqlets"))) goto fail;
        for (int p = 0; p < L; p++) {
            int best = -1;
            float bv = 0.5f;
            for (int b = 0; b < 4; b++)
                if (ohe[4 * (size_t)p + b] > bv) bv = ohe[4 * (size_t)p + b], best = b;
            k->seq[p] = best < 0 ? 'N' : "ACGT"[best];
        }
        k->seq[L] = 0;
        /* aliases of the list's strings and matches, which outlive the kept region */
        if (nsl) memcpy(k->sq, loc, (size_t)nsl * sizeof(*loc));
    }
    pthread_mutex_lock(&rep->lock);
    if (rep->nsq + nsl > rep->msq) {
        int64_t m = rep->msq ? 2 * rep->msq : 256;
        while (m < rep->nsq + nsl) m *= 2;
        rseq_t *t = sl_realloc(rep->sq, (size_t)m * sizeof(*t), "seqlet list");
        if (!t) {
            pthread_mutex_unlock(&rep->lock);
            goto fail;
        }
        rep->sq = t;
        rep->msq = m;
    }
    rep->nreg++;
    if (nsl) memcpy(rep->sq + rep->nsq, loc, (size_t)nsl * sizeof(*loc));
    rep->nsq += nsl;
    free(loc);
    loc = NULL;
    if (k && kept_offer(rep, k)) k = NULL;
    pthread_mutex_unlock(&rep->lock);
    ret = 0;
fail:
    if (loc) {
        for (int i = 0; i < nsl; i++) rseq_free(&loc[i]);
        free(loc);
    }
    kreg_free(k);
    free(label);
    free(x);
    free(q);
    free(wt);
    free(sl);
    return ret;
}

static int seq_cmp(const void *a, const void *b)
{
    const rseq_t *x = *(const rseq_t *const *)a, *y = *(const rseq_t *const *)b;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return x->s.rank - y->s.rank;
}

/* Seqlets in (region, rank) order: an array of pointers into the list (caller frees). */
rseq_t **sl_rep_sorted_seqlets(const sl_report_t *rep)
{
    rseq_t **v = sl_malloc((size_t)(rep->nsq ? rep->nsq : 1) * sizeof(*v), "seqlet order");
    if (!v) return NULL;
    for (int64_t i = 0; i < rep->nsq; i++) v[i] = &rep->sq[i];
    qsort(v, (size_t)rep->nsq, sizeof(*v), seq_cmp);
    return v;
}

/* The motif labelling a seqlet: its best match when E <= match_evalue, else NULL. */
const sl_match_t *sl_rep_best_match(const sl_report_t *rep, const rseq_t *s)
{
    return s->nm > 0 && s->m[0].evalue <= rep->o.match_evalue ? &s->m[0] : NULL;
}

const char *sl_rep_motif_label(const sl_report_t *rep, int k)
{
    const sl_motif_t *m = &rep->db->m[k];
    return m->name ? m->name : m->id;
}


static int kept_cmp_input(const void *a, const void *b)
{
    const kreg_t *x = *(kreg_t *const *)a, *y = *(kreg_t *const *)b;
    return (x->index > y->index) - (x->index < y->index);
}

static int kept_cmp_pred(const void *a, const void *b)
{
    const kreg_t *x = *(kreg_t *const *)a, *y = *(kreg_t *const *)b;
    int nx = isnan(x->pred), ny = isnan(y->pred);
    if (nx != ny) return nx - ny;
    if (!nx && x->pred != y->pred) return x->pred > y->pred ? -1 : 1;
    return kept_cmp_input(a, b);
}

void sl_rep_summary_free(summary_t *S, int nkept)
{
    free(S->seq);
    free(S->kept);
    if (S->hits)
        for (int i = 0; i < nkept; i++) {
            free(S->hits[i].h);
            free(S->hits[i].contrib);
            free(S->hits[i].used);
        }
    free(S->hits);
    for (int k = 0; S->ms && k < S->nms; k++) free(S->ms[k].cwm);
    free(S->ms);
}

int sl_rep_summarise(sl_report_t *rep, summary_t *S)
{
    int nm = rep->db ? rep->db->n : 0;
    sl_scanner_t *sc = NULL;
    float *ohe = NULL;
    memset(S, 0, sizeof(*S));
    if (!(S->seq = sl_rep_sorted_seqlets(rep))) goto fail;
    if (!(S->kept = sl_malloc((size_t)(rep->nkept + 1) * sizeof(kreg_t *), "report order"))) goto fail;
    if (!(S->hits = sl_calloc((size_t)(rep->nkept + 1), sizeof(rhits_t), "motif hits"))) goto fail;
    if (!(S->ms = sl_calloc((size_t)(nm + 1), sizeof(mstat_t), "motif summary"))) goto fail;
    S->nms = nm;
    if (rep->nkept) memcpy(S->kept, rep->kept, (size_t)rep->nkept * sizeof(kreg_t *));
    qsort(S->kept, (size_t)rep->nkept, sizeof(kreg_t *),
          rep->o.order == SL_REPORT_ORDER_PREDICTION ? kept_cmp_pred : kept_cmp_input);
    for (int k = 0; k < nm; k++) S->ms[k].bestp = S->ms[k].beste = 1;
    for (int64_t i = 0; i < rep->nsq; i++) {
        const rseq_t *s = S->seq[i];
        const sl_match_t *b = sl_rep_best_match(rep, s);
        if (s->s.sign > 0) S->npos++;
        else S->nneg++;
        if (!b) {
            S->unmatched++;
            continue;
        }
        mstat_t *m = &S->ms[b->motif];
        m->nseq++;
        if (s->s.sign > 0) m->npos++;
        else m->nneg++;
        m->sum += s->s.score;
        if (s->cwm) { /* summed in (region, rank) order: the same bytes for any thread count */
            int w = rep->db->m[b->motif].w;
            if (!m->cwm && !(m->cwm = sl_calloc((size_t)w * 4, sizeof(double), "motif logo"))) goto fail;
            for (int j = 0; j < 4 * w; j++) m->cwm[j] += s->cwm[j];
        }
        if (b->pval < m->bestp) m->bestp = b->pval;
        if (b->evalue < m->beste) m->beste = b->evalue;
    }
    if (nm && rep->o.scan_pthresh > 0) {
        if (!(sc = sl_scanner_create(rep->db))) goto fail;
        for (int r = 0; r < rep->nkept; r++) {
            const kreg_t *k = S->kept[r];
            rhits_t *H = &S->hits[r];
            float *t = sl_realloc(ohe, (size_t)k->L * 4 * sizeof(float), "one-hot");
            if (!t) goto fail;
            ohe = t;
            memset(ohe, 0, (size_t)k->L * 4 * sizeof(float));
            for (int p = 0; p < k->L; p++) {
                const char *c = strchr("ACGT", k->seq[p]);
                if (c && *c) ohe[4 * p + (c - "ACGT")] = 1;
            }
            if (sl_scanner_scan(sc, ohe, k->L, rep->o.scan_pthresh, &H->h, &H->n, &H->m) < 0) goto fail;
            H->contrib = sl_calloc((size_t)H->n + 1, sizeof(double), "hit contributions");
            H->used = sl_calloc((size_t)H->n + 1, 1, "hit flags");
            if (!H->contrib || !H->used) goto fail;
            for (int j = 0; j < H->n; j++) {
                const sl_hit_t *h = &H->h[j];
                for (int p = h->start; p < h->end; p++) H->contrib[j] += k->x[p];
                for (int q = 0; q < k->nsq; q++)
                    if (k->sq[q].s.start < h->end && h->start < k->sq[q].s.end) H->used[j] = 1;
                S->ms[h->motif].nhits++;
                S->ms[h->motif].nused += H->used[j];
            }
        }
    }
    sl_scanner_destroy(sc);
    free(ohe);
    return 0;
fail:
    sl_scanner_destroy(sc);
    free(ohe);
    sl_rep_summary_free(S, rep->nkept);
    memset(S, 0, sizeof(*S));
    return -1;
}

/* "chrom:start+1-end", the form IGV and UCSC accept in their locus boxes. */
void sl_rep_locus(char *buf, size_t n, const char *chrom, int64_t start, int64_t end)
{
    snprintf(buf, n, "%s:%lld-%lld", chrom, (long long)start + 1, (long long)end);
}


int sl_report_write(sl_report_t *rep, const char *html_path, const char *json_path)
{
    summary_t S;
    int ret = 0;
    if (!html_path && !json_path) return 0;
    pthread_mutex_lock(&rep->lock);
    if (sl_rep_summarise(rep, &S) < 0) {
        pthread_mutex_unlock(&rep->lock);
        return -1;
    }
    if (html_path && sl_rep_write_html(rep, &S, html_path) < 0) ret = -1;
    if (ret == 0 && json_path && sl_rep_write_json(rep, &S, json_path) < 0) ret = -1;
    sl_rep_summary_free(&S, rep->nkept);
    pthread_mutex_unlock(&rep->lock);
    return ret;
}
