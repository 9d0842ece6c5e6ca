/* report.c — report builder: collects seqlets and matches per region, keeps the
 * regions to draw, writes HTML (inline SVG logos), JSON (cJSON), BED and TSV. */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/report.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

typedef struct {
    int64_t region;      /* input index of the region */
    char *label, *chrom; /* seqlet name (region#rank); chrom (the region label for records without one) */
    int64_t gstart, gend;/* core span in genome coordinates */
    char strand;
    sl_seqlet_t s;
    int fs, fe;          /* flanked span used for matching */
    int nm;
    sl_match_t *m;       /* top matches, best first */
} rseq_t;

typedef struct {
    int64_t index;
    double pred;
    char *label, *chrom;
    int64_t start, end;  /* scored window (genome) */
    char strand;
    int L;
    char *seq;           /* bases in model order (N for non-one-hot rows) */
    float *x;            /* projected contribution per base */
    rseq_t *sq;          /* copies of the region's seqlets (match arrays shared with the list) */
    int nsq;
} kreg_t;

struct sl_report_s {
    sl_report_opts_t o;
    const sl_motif_db_t *db;
    sl_matcher_t *mt;
    pthread_mutex_t lock;
    rseq_t *sq;
    int64_t nsq, msq;
    int64_t nreg;
    kreg_t **kept;       /* up to o.max_regions, a binary heap: the least worth keeping at [0] */
    int nkept;
};

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
static char *region_label(const sl_region_t *r)
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
    if (!(label = region_label(r))) goto fail;
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

/* ---- outputs ------------------------------------------------------------------ */

static int seq_cmp(const void *a, const void *b)
{
    const rseq_t *x = *(const rseq_t *const *)a, *y = *(const rseq_t *const *)b;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return x->s.rank - y->s.rank;
}

/* Seqlets in (region, rank) order: an array of pointers into the list (caller frees). */
static rseq_t **sorted_seqlets(const sl_report_t *rep)
{
    rseq_t **v = sl_malloc((size_t)(rep->nsq ? rep->nsq : 1) * sizeof(*v), "seqlet order");
    if (!v) return NULL;
    for (int64_t i = 0; i < rep->nsq; i++) v[i] = &rep->sq[i];
    qsort(v, (size_t)rep->nsq, sizeof(*v), seq_cmp);
    return v;
}

/* The motif labelling a seqlet: its best match when E <= match_evalue, else NULL. */
static const sl_match_t *best_match(const sl_report_t *rep, const rseq_t *s)
{
    return s->nm > 0 && s->m[0].evalue <= rep->o.match_evalue ? &s->m[0] : NULL;
}

static const char *motif_label(const sl_report_t *rep, int k)
{
    const sl_motif_t *m = &rep->db->m[k];
    return m->name ? m->name : m->id;
}

int sl_report_write_seqlets(sl_report_t *rep, const char *bed_path, const char *tsv_path)
{
    sl_ofile_t *bed = NULL, *tsv = NULL;
    rseq_t **v = sorted_seqlets(rep);
    if (!v) return -1;
    if (bed_path && !(bed = sl_ofile_open(bed_path, "w"))) goto fail;
    if (tsv_path && !(tsv = sl_ofile_open(tsv_path, "w"))) goto fail;
    if (tsv)
        fprintf(tsv->fp, "#chrom\tstart\tend\tname\tscore\tstrand\tregion_index\tmodel_start\tmodel_end\tsign\t"
                         "length\tpval\tbest_motif\tmotif_strand\tmotif_model_start\tmatch_pval\tmatch_evalue\t"
                         "top_matches\n");
    for (int64_t i = 0; i < rep->nsq; i++) {
        const rseq_t *s = v[i];
        char st = s->strand == '+' || s->strand == '-' ? s->strand : '.';
        if (bed)
            fprintf(bed->fp, "%s\t%lld\t%lld\t%s\t%.6g\t%c\n", s->chrom, (long long)s->gstart, (long long)s->gend,
                    s->label, s->s.score, st);
        if (!tsv) continue;
        fprintf(tsv->fp, "%s\t%lld\t%lld\t%s\t%.6g\t%c\t%lld\t%d\t%d\t%c\t%d\t%.4g\t", s->chrom,
                (long long)s->gstart, (long long)s->gend, s->label, s->s.score, st, (long long)s->region,
                s->s.start, s->s.end, s->s.sign > 0 ? '+' : '-', s->s.end - s->s.start, s->s.pval);
        const sl_match_t *b = best_match(rep, s);
        if (b)
            fprintf(tsv->fp, "%s\t%c\t%d\t%.4g\t%.4g\t", rep->db->m[b->motif].id, b->strand, s->fs + b->offset, b->pval,
                    b->evalue);
        else
            fputs(".\t.\t.\t.\t.\t", tsv->fp);
        for (int j = 0; j < s->nm; j++)
            fprintf(tsv->fp, "%s%s:%c:%.3g", j ? "," : "", rep->db->m[s->m[j].motif].id, s->m[j].strand,
                    s->m[j].pval);
        fputs(s->nm ? "\n" : ".\n", tsv->fp);
    }
    free(v);
    v = NULL;
    if (bed) {
        int rc = sl_ofile_commit(bed);
        bed = NULL;
        if (rc < 0) goto fail;
    }
    if (tsv) {
        int rc = sl_ofile_commit(tsv);
        tsv = NULL;
        if (rc < 0) goto fail;
    }
    return 0;
fail:
    free(v);
    sl_ofile_abort(bed);
    sl_ofile_abort(tsv);
    return -1;
}

typedef struct {
    int64_t nseq, npos, nneg;
    double sum, bestp, beste;
    int64_t nhits, nused;
} mstat_t;

typedef struct {
    sl_hit_t *h;
    int n, m;
    double *contrib; /* summed projected contribution over each hit */
    unsigned char *used; /* hit overlaps a seqlet core */
} rhits_t;

typedef struct {
    rseq_t **seq;     /* all seqlets, sorted */
    kreg_t **kept;    /* kept regions in report order */
    rhits_t *hits;    /* per kept region */
    mstat_t *ms;      /* per motif */
    int64_t unmatched, npos, nneg;
} summary_t;

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

static void summary_free(summary_t *S, int nkept)
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
    free(S->ms);
}

static int summarise(sl_report_t *rep, summary_t *S)
{
    int nm = rep->db ? rep->db->n : 0;
    sl_scanner_t *sc = NULL;
    float *ohe = NULL;
    memset(S, 0, sizeof(*S));
    if (!(S->seq = sorted_seqlets(rep))) goto fail;
    if (!(S->kept = sl_malloc((size_t)(rep->nkept + 1) * sizeof(kreg_t *), "report order"))) goto fail;
    if (!(S->hits = sl_calloc((size_t)(rep->nkept + 1), sizeof(rhits_t), "motif hits"))) goto fail;
    if (!(S->ms = sl_calloc((size_t)(nm + 1), sizeof(mstat_t), "motif summary"))) goto fail;
    if (rep->nkept) memcpy(S->kept, rep->kept, (size_t)rep->nkept * sizeof(kreg_t *));
    qsort(S->kept, (size_t)rep->nkept, sizeof(kreg_t *),
          rep->o.order == SL_REPORT_ORDER_PREDICTION ? kept_cmp_pred : kept_cmp_input);
    for (int k = 0; k < nm; k++) S->ms[k].bestp = S->ms[k].beste = 1;
    for (int64_t i = 0; i < rep->nsq; i++) {
        const rseq_t *s = S->seq[i];
        const sl_match_t *b = best_match(rep, s);
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
    summary_free(S, rep->nkept);
    memset(S, 0, sizeof(*S));
    return -1;
}

/* "chrom:start+1-end", the form IGV and UCSC accept in their locus boxes. */
static void locus(char *buf, size_t n, const char *chrom, int64_t start, int64_t end)
{
    snprintf(buf, n, "%s:%lld-%lld", chrom, (long long)start + 1, (long long)end);
}

/* ---- JSON ---- */

/* Six significant digits: enough for the report, and the JSON stays small. */
static cJSON *jnum(double v)
{
    char b[32];
    if (!isfinite(v)) return cJSON_CreateNull();
    snprintf(b, sizeof b, "%.6g", v);
    return cJSON_CreateNumber(strtod(b, NULL));
}

static cJSON *jstr(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *json_seqlet(const sl_report_t *rep, const rseq_t *s)
{
    char loc[512];
    cJSON *o = cJSON_CreateObject(), *ms;
    locus(loc, sizeof loc, s->chrom, s->gstart, s->gend);
    cJSON_AddItemToObject(o, "name", jstr(s->label));
    cJSON_AddItemToObject(o, "region_index", jnum((double)s->region));
    cJSON_AddItemToObject(o, "rank", jnum(s->s.rank));
    cJSON_AddItemToObject(o, "locus", jstr(loc));
    cJSON_AddItemToObject(o, "chrom", jstr(s->chrom));
    cJSON_AddItemToObject(o, "start", jnum((double)s->gstart));
    cJSON_AddItemToObject(o, "end", jnum((double)s->gend));
    char st[2] = {s->strand == '+' || s->strand == '-' ? s->strand : '.', 0};
    cJSON_AddItemToObject(o, "strand", jstr(st));
    cJSON_AddItemToObject(o, "model_start", jnum(s->s.start));
    cJSON_AddItemToObject(o, "model_end", jnum(s->s.end));
    cJSON_AddItemToObject(o, "sign", jnum(s->s.sign));
    cJSON_AddItemToObject(o, "score", jnum(s->s.score));
    cJSON_AddItemToObject(o, "pval", jnum(s->s.pval));
    const sl_match_t *b = best_match(rep, s);
    cJSON_AddItemToObject(o, "motif", b ? jstr(rep->db->m[b->motif].id) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "matches", ms = cJSON_CreateArray());
    for (int j = 0; j < s->nm; j++) {
        const sl_match_t *m = &s->m[j];
        cJSON *x = cJSON_CreateObject();
        char ms_[2] = {m->strand, 0};
        cJSON_AddItemToObject(x, "motif", jstr(rep->db->m[m->motif].id));
        cJSON_AddItemToObject(x, "name", jstr(rep->db->m[m->motif].name));
        cJSON_AddItemToObject(x, "strand", jstr(ms_));
        /* where motif column 0 lies, in model coordinates (may be before 0) */
        cJSON_AddItemToObject(x, "model_start", jnum(s->fs + m->offset));
        cJSON_AddItemToObject(x, "overlap", jnum(m->overlap));
        cJSON_AddItemToObject(x, "score", jnum(m->score));
        cJSON_AddItemToObject(x, "pval", jnum(m->pval));
        cJSON_AddItemToObject(x, "evalue", jnum(m->evalue));
        cJSON_AddItemToArray(ms, x);
    }
    return o;
}

static cJSON *json_build(const sl_report_t *rep, const summary_t *S)
{
    cJSON *root = cJSON_CreateObject(), *a, *o;
    char loc[512];
    cJSON_AddItemToObject(root, "format", jstr("seqlift-report"));
    cJSON_AddItemToObject(root, "version", jstr(SEQLIFT_VERSION));
    cJSON_AddItemToObject(root, "title", jstr(rep->o.title ? rep->o.title : "seqlift motif report"));
    cJSON_AddItemToObject(root, "motif_db", rep->db ? jstr(rep->db->path) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "options", o = cJSON_CreateObject());
    cJSON_AddItemToObject(o, "seqlet_threshold", jnum(rep->o.seqlet.threshold));
    cJSON_AddItemToObject(o, "min_len", jnum(rep->o.seqlet.min_len));
    cJSON_AddItemToObject(o, "max_len", jnum(rep->o.seqlet.max_len));
    cJSON_AddItemToObject(o, "flank", jnum(rep->o.seqlet.flank));
    cJSON_AddItemToObject(o, "top", jnum(rep->o.top_matches));
    cJSON_AddItemToObject(o, "min_overlap", jnum(rep->o.min_overlap));
    cJSON_AddItemToObject(o, "match_evalue", jnum(rep->o.match_evalue));
    cJSON_AddItemToObject(o, "scan_pthresh", jnum(rep->o.scan_pthresh));
    cJSON_AddItemToObject(o, "max_regions", jnum(rep->o.max_regions));
    cJSON_AddItemToObject(o, "order", jstr(rep->o.order == SL_REPORT_ORDER_PREDICTION ? "prediction" : "input"));
    cJSON_AddItemToObject(root, "n_regions", jnum((double)rep->nreg));
    cJSON_AddItemToObject(root, "n_seqlets", jnum((double)rep->nsq));
    cJSON_AddItemToObject(root, "n_unmatched", jnum((double)S->unmatched));
    cJSON_AddItemToObject(root, "motifs", a = cJSON_CreateArray());
    for (int k = 0; rep->db && k < rep->db->n; k++) {
        const mstat_t *m = &S->ms[k];
        if (!m->nseq && !m->nhits) continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "motif", jstr(rep->db->m[k].id));
        cJSON_AddItemToObject(x, "name", jstr(rep->db->m[k].name));
        cJSON_AddItemToObject(x, "n_seqlets", jnum((double)m->nseq));
        cJSON_AddItemToObject(x, "n_positive", jnum((double)m->npos));
        cJSON_AddItemToObject(x, "n_negative", jnum((double)m->nneg));
        cJSON_AddItemToObject(x, "mean_contribution", m->nseq ? jnum(m->sum / m->nseq) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "best_pval", m->nseq ? jnum(m->bestp) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "best_evalue", m->nseq ? jnum(m->beste) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "scan_hits", jnum((double)m->nhits));
        cJSON_AddItemToObject(x, "scan_hits_in_seqlets", jnum((double)m->nused));
        cJSON_AddItemToArray(a, x);
    }
    cJSON_AddItemToObject(root, "seqlets", a = cJSON_CreateArray());
    for (int64_t i = 0; i < rep->nsq; i++) cJSON_AddItemToArray(a, json_seqlet(rep, S->seq[i]));
    cJSON_AddItemToObject(root, "regions", a = cJSON_CreateArray());
    for (int r = 0; r < rep->nkept; r++) {
        const kreg_t *k = S->kept[r];
        const rhits_t *H = &S->hits[r];
        cJSON *x = cJSON_CreateObject(), *v;
        char st[2] = {k->strand == '+' || k->strand == '-' ? k->strand : '.', 0};
        locus(loc, sizeof loc, k->chrom, k->start, k->end);
        cJSON_AddItemToObject(x, "index", jnum((double)k->index));
        cJSON_AddItemToObject(x, "name", jstr(k->label));
        cJSON_AddItemToObject(x, "locus", jstr(loc));
        cJSON_AddItemToObject(x, "strand", jstr(st));
        cJSON_AddItemToObject(x, "prediction", jnum(k->pred));
        cJSON_AddItemToObject(x, "sequence", jstr(k->seq));
        cJSON_AddItemToObject(x, "contribution", v = cJSON_CreateArray());
        for (int p = 0; p < k->L; p++) cJSON_AddItemToArray(v, jnum(k->x[p]));
        cJSON_AddItemToObject(x, "seqlets", v = cJSON_CreateArray());
        for (int q = 0; q < k->nsq; q++) cJSON_AddItemToArray(v, jstr(k->sq[q].label));
        cJSON_AddItemToObject(x, "motif_hits", v = cJSON_CreateArray());
        for (int j = 0; j < H->n; j++) {
            cJSON *h = cJSON_CreateObject();
            char hs[2] = {H->h[j].strand, 0};
            cJSON_AddItemToObject(h, "motif", jstr(rep->db->m[H->h[j].motif].id));
            cJSON_AddItemToObject(h, "model_start", jnum(H->h[j].start));
            cJSON_AddItemToObject(h, "model_end", jnum(H->h[j].end));
            cJSON_AddItemToObject(h, "strand", jstr(hs));
            cJSON_AddItemToObject(h, "score", jnum(H->h[j].score));
            cJSON_AddItemToObject(h, "pval", jnum(H->h[j].pval));
            cJSON_AddItemToObject(h, "contribution", jnum(H->contrib[j]));
            cJSON_AddItemToObject(h, "in_seqlet", cJSON_CreateBool(H->used[j]));
            cJSON_AddItemToArray(v, h);
        }
        cJSON_AddItemToArray(a, x);
    }
    return root;
}

static int write_json(const sl_report_t *rep, const summary_t *S, const char *path)
{
    cJSON *root = json_build(rep, S);
    char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    sl_ofile_t *f = NULL;
    int ret = -1;
    cJSON_Delete(root);
    if (!txt) {
        sl_log_error("%s: out of memory building the JSON report", path);
        return -1;
    }
    if (!(f = sl_ofile_open(path, "w"))) goto fail;
    fputs(txt, f->fp);
    fputc('\n', f->fp);
    ret = sl_ofile_commit(f);
fail:
    free(txt);
    return ret;
}

/* ---- HTML ---- */

/* Every user-provided string (names, ids, paths, URLs) goes through this. */
static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* Letters as paths in a unit box (x 0..1, y 0 top .. 1 baseline): no fonts needed. */
static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}\n"
    "th{background:#f0f0f0;cursor:pointer}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code.locus{background:#f4f4f4;padding:0 3px;user-select:all}\n"
    "section.region{border-top:2px solid #ddd;margin-top:1.2em;padding-top:.4em}\n"
    ".logo-wrap{overflow-x:auto;border:1px solid #eee}\n"
    "svg.logo{display:block}\n"
    ".sqp{fill:#fff2a8;opacity:.7}.sqn{fill:#d9c6f0;opacity:.7}\n"
    ".lab{font-size:11px;fill:#333}.tick{font-size:10px;fill:#666}\n"
    ".hit{fill:#999}.hit.used{fill:#1a5fb4}\n"
    "#sl-errors{color:#b00;white-space:pre-wrap}\n"
    "</style>\n"
    "<script>\n"
    "window.slErrors=[];\n"
    "function slRecord(m){window.slErrors.push(String(m));"
    "var e=document.getElementById('sl-errors');if(e)e.textContent=window.slErrors.join('\\n');}\n"
    "window.onerror=function(m,src,l){slRecord('error: '+m+' line '+l);};\n"
    "(function(){var ce=console.error;console.error=function(){"
    "slRecord('console.error: '+Array.prototype.join.call(arguments,' '));if(ce)ce.apply(console,arguments);};})();\n"
    "</script>\n";

static const char html_defs[] =
    "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\n"
    "<path id=\"gA\" fill=\"#109648\" fill-rule=\"evenodd\" "
    "d=\"M0,1L0.4,0L0.6,0L1,1L0.78,1L0.68,0.72L0.32,0.72L0.22,1Z"
    "M0.39,0.54L0.61,0.54L0.5,0.22Z\"/>\n"
    "<path id=\"gC\" fill=\"#255c99\" "
    "d=\"M0.883,0.179A0.5,0.5 0 1 0 0.883,0.821L0.73,0.706A0.3,0.32 0 1 1 0.73,0.294Z\"/>\n"
    "<g id=\"gG\" fill=\"#f7b32b\">"
    "<path d=\"M0.883,0.179A0.5,0.5 0 1 0 0.992,0.587L0.795,0.556A0.3,0.32 0 1 1 0.73,0.294Z\"/>"
    "<path d=\"M0.55,0.47H0.99V0.62H0.55Z\"/></g>\n"
    "<path id=\"gT\" fill=\"#d62839\" d=\"M0,0H1V0.16H0.59V1H0.41V0.16H0Z\"/>\n"
    "</defs></svg>\n";

static const char html_tail[] =
    "<script>\n"
    "(function(){\n"
    "function key(td){var t=td.getAttribute('data-v');if(t===null)t=td.textContent;"
    "var f=parseFloat(t);return isNaN(f)?t.toLowerCase():f;}\n"
    "document.querySelectorAll('table.sortable').forEach(function(tb){\n"
    " tb.querySelectorAll('th').forEach(function(th,ci){th.addEventListener('click',function(){\n"
    "  var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "  var dir=th.getAttribute('data-dir')==='a'?-1:1;th.setAttribute('data-dir',dir>0?'a':'d');\n"
    "  rows.sort(function(a,b){var x=key(a.cells[ci]),y=key(b.cells[ci]);return x<y?-dir:x>y?dir:0;});\n"
    "  rows.forEach(function(r){body.appendChild(r);});});});});\n"
    "document.body.setAttribute('data-logos',String(document.querySelectorAll('svg.logo').length));\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n"
    "</script>\n</body></html>\n";

static void html_motif_cell(FILE *fp, const sl_report_t *rep, int k)
{
    const sl_motif_t *m = &rep->db->m[k];
    fputs("<td>", fp);
    if (m->url && (strncmp(m->url, "http://", 7) == 0 || strncmp(m->url, "https://", 8) == 0)) {
        fputs("<a href=\"", fp);
        esc(fp, m->url);
        fputs("\">", fp);
        esc(fp, m->id);
        fputs("</a>", fp);
    } else {
        esc(fp, m->id);
    }
    fputs("</td><td>", fp);
    esc(fp, m->name ? m->name : "");
    fputs("</td>", fp);
}

static int tick_step(double bw)
{
    static const int steps[] = {5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * bw >= 60) return steps[i];
    return 20000;
}

/* The attribution logo: observed base letters scaled by contribution, positive up,
 * negative down (flipped), seqlets shaded and labelled, motif hits as a track. */
static void html_logo(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H)
{
    /* the whole window in about 1100 px when it fits, 4 px per base at least (scrolls) */
    double bw = 1100.0 / k->L;
    bw = bw > 10 ? 10 : bw < 4 ? 4 : bw;
    double top = 30, plot = 110, hit_h = 8, W = 40 + k->L * bw;
    double mp = 0, mn = 0;
    for (int p = 0; p < k->L; p++) { /* non-finite values are not drawn (NaN/inf in the SVG) */
        if (!isfinite(k->x[p])) continue;
        if (k->x[p] > mp) mp = k->x[p];
        if (-k->x[p] > mn) mn = -k->x[p];
    }
    double tot = mp + mn > 0 ? mp + mn : 1, scale = plot / tot;
    double axis = top + (mp + mn > 0 ? plot * mp / tot : plot / 2);
    double H_total = top + plot + 20 + hit_h + 18;
    fprintf(fp, "<div class=\"logo-wrap\"><svg class=\"logo\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
            W, H_total, W, H_total);
    fprintf(fp, "<title>attribution logo (max %.3g, min %.3g)</title>\n", mp, -mn);
    /* seqlet shading and labels below everything else */
    for (int q = 0; q < k->nsq; q++) {
        const rseq_t *s = &k->sq[q];
        double x0 = 20 + s->s.start * bw, w = (s->s.end - s->s.start) * bw;
        const sl_match_t *b = best_match(rep, s);
        fprintf(fp, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", 
                s->s.sign > 0 ? "sqp" : "sqn", x0, top - 4, w, plot + 8);
        esc(fp, s->label);
        fprintf(fp, " score %.3g p %.2g", s->s.score, s->s.pval);
        if (b) {
            fputs(" best ", fp);
            esc(fp, rep->db->m[b->motif].id);
            fprintf(fp, " (%c) p %.2g E %.2g", b->strand, b->pval, b->evalue);
        }
        fputs("</title></rect>\n", fp);
        fprintf(fp, "<text class=\"lab\" x=\"%.1f\" y=\"%.1f\">#%d ", x0, top - 10 - 10 * (q % 2), s->s.rank);
        if (b) esc(fp, motif_label(rep, b->motif));
        else fputs(s->nm ? "no match" : "", fp);
        fputs("</text>\n", fp);
    }
    fprintf(fp, "<line x1=\"20\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-width=\"0.7\"/>\n",
            20 + k->L * bw, axis, axis);
    for (int p = 0; p < k->L; p++) {
        const char *c = strchr("ACGT", k->seq[p]);
        double h = fabs(k->x[p]) * scale;
        if (!c || !*c || !(h >= 0.2) || !isfinite(h)) continue; /* invisible: keep the file small */
        double x0 = 20 + p * bw + bw * 0.04;
        /* unit glyph scaled to the letter box; negative letters are flipped below the axis */
        fprintf(fp, "<use href=\"#g%c\" transform=\"matrix(%.2f 0 0 %.2f %.1f %.1f)\"/>\n", *c, bw * 0.92,
                k->x[p] > 0 ? h : -h, x0, k->x[p] > 0 ? axis - h : axis + h);
    }
    /* coordinate ticks (1-based genome positions; '-' strand runs backwards) */
    int step = tick_step(bw);
    double ty = top + plot + 14;
    sl_region_t rr = {0};
    rr.start = k->start;
    rr.end = k->end;
    rr.strand = k->strand;
    for (int p = 0; p < k->L; p += step) {
        fprintf(fp, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%lld</text>\n", 20 + p * bw, ty,
                (long long)sl_region_genome_pos(&rr, p) + 1);
    }
    double hy = ty + 6;
    for (int j = 0; H && j < H->n; j++) {
        const sl_hit_t *h = &H->h[j];
        fprintf(fp, "<rect class=\"hit%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
                H->used[j] ? " used" : "", 20 + h->start * bw, hy, (h->end - h->start) * bw, hit_h);
        esc(fp, rep->db->m[h->motif].id);
        fprintf(fp, " (%c) p %.2g contribution %.3g%s</title></rect>\n", h->strand, h->pval, H->contrib[j],
                H->used[j] ? " in a seqlet" : " not used by the model");
    }
    fputs("</svg></div>\n", fp);
}

static void html_region(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H, int r)
{
    char loc[512];
    locus(loc, sizeof loc, k->chrom, k->start, k->end);
    fprintf(fp, "<section class=\"region\" id=\"region-%d\"><h3>", r + 1);
    esc(fp, k->label);
    fputs(" <code class=\"locus\">", fp);
    esc(fp, loc);
    fprintf(fp, "</code> strand %c", k->strand == '+' || k->strand == '-' ? k->strand : '.');
    if (!isnan(k->pred)) {
        fputs(" &middot; ", fp);
        esc(fp, rep->o.pred_label ? rep->o.pred_label : "prediction");
        fprintf(fp, " %.4g", k->pred);
    }
    fputs("</h3>\n", fp);
    html_logo(fp, rep, k, H);
    if (k->nsq) {
        fputs("<table class=\"sortable\"><thead><tr><th>#</th><th>Locus</th><th>Sign</th><th>Length</th>"
              "<th>Contribution</th><th>p-value</th><th>Best motif</th><th>Strand</th><th>Match p</th>"
              "<th>Match E</th></tr></thead><tbody>\n",
              fp);
        for (int q = 0; q < k->nsq; q++) {
            const rseq_t *s = &k->sq[q];
            const sl_match_t *b = s->nm ? &s->m[0] : NULL;
            locus(loc, sizeof loc, s->chrom, s->gstart, s->gend);
            fprintf(fp, "<tr><td class=\"n\">%d</td><td><code class=\"locus\">", s->s.rank);
            esc(fp, loc);
            fprintf(fp, "</code></td><td>%c</td><td class=\"n\">%d</td><td class=\"n\">%.3g</td>"
                        "<td class=\"n\" data-v=\"%g\">%.2g</td>",
                    s->s.sign > 0 ? '+' : '-', s->s.end - s->s.start, s->s.score, s->s.pval, s->s.pval);
            if (b) {
                fputs("<td>", fp);
                if (b->evalue > rep->o.match_evalue) fputs("(", fp);
                esc(fp, motif_label(rep, b->motif));
                if (b->evalue > rep->o.match_evalue) fputs(")", fp);
                fprintf(fp, "</td><td>%c</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                            "<td class=\"n\" data-v=\"%g\">%.2g</td></tr>\n",
                        b->strand, b->pval, b->pval, b->evalue, b->evalue);
            } else {
                fputs("<td></td><td></td><td></td><td></td></tr>\n", fp);
            }
        }
        fputs("</tbody></table>\n", fp);
    }
    if (H && H->n) {
        fprintf(fp, "<details><summary>%d motif scan hits (p &le; %g)</summary>\n"
                    "<table class=\"sortable\"><thead><tr><th>Motif</th><th>Locus</th><th>Strand</th><th>Score</th>"
                    "<th>p-value</th><th>Contribution</th><th>In seqlet</th></tr></thead><tbody>\n",
                H->n, rep->o.scan_pthresh);
        sl_region_t rr = {0};
        rr.start = k->start;
        rr.end = k->end;
        rr.strand = k->strand;
        for (int j = 0; j < H->n; j++) {
            const sl_hit_t *h = &H->h[j];
            int64_t a = sl_region_genome_pos(&rr, h->start), b = sl_region_genome_pos(&rr, h->end - 1);
            locus(loc, sizeof loc, k->chrom, a < b ? a : b, (a < b ? b : a) + 1);
            fputs("<tr><td>", fp);
            esc(fp, rep->db->m[h->motif].id);
            fputs("</td><td><code class=\"locus\">", fp);
            esc(fp, loc);
            fprintf(fp, "</code></td><td>%c</td><td class=\"n\">%.2f</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                        "<td class=\"n\">%.3g</td><td>%s</td></tr>\n",
                    h->strand, h->score, h->pval, h->pval, H->contrib[j], H->used[j] ? "yes" : "no");
        }
        fputs("</tbody></table></details>\n", fp);
    }
    fputs("</section>\n", fp);
}

static int write_html(const sl_report_t *rep, const summary_t *S, const char *path)
{
    sl_ofile_t *f = sl_ofile_open(path, "w");
    if (!f) return -1;
    FILE *fp = f->fp;
    const char *title = rep->o.title ? rep->o.title : "seqlift motif report";
    fputs(html_head, fp);
    fputs("<title>", fp);
    esc(fp, title);
    fputs("</title></head><body>\n", fp);
    fputs(html_defs, fp);
    fputs("<pre id=\"sl-errors\"></pre>\n<h1>", fp);
    esc(fp, title);
    fputs("</h1>\n<p>", fp);
    fprintf(fp, "%lld regions, %lld seqlets (%lld positive, %lld negative; p &lt; %g, length %d&ndash;%d)",
            (long long)rep->nreg, (long long)rep->nsq, (long long)S->npos, (long long)S->nneg,
            rep->o.seqlet.threshold, rep->o.seqlet.min_len, rep->o.seqlet.max_len);
    if (rep->db) {
        fputs("; motifs: ", fp);
        esc(fp, rep->db->path);
        fprintf(fp, " (%d motifs), a seqlet is labelled with its best match when E &le; %g", rep->db->n,
                rep->o.match_evalue);
    }
    fprintf(fp, ". seqlift %s.</p>\n", SEQLIFT_VERSION);
    if (rep->db) {
        fputs("<h2>Motifs</h2>\n<table class=\"sortable\" id=\"motif-table\"><thead><tr><th>Motif</th><th>Name</th>"
              "<th>Seqlets</th><th>Positive</th><th>Negative</th><th>Mean contribution</th><th>Best p-value</th>"
              "<th>Best E-value</th><th>Scan hits (drawn regions)</th><th>Hits in seqlets</th></tr></thead><tbody>\n",
              fp);
        for (int k = 0; k < rep->db->n; k++) {
            const mstat_t *m = &S->ms[k];
            if (!m->nseq && !m->nhits) continue;
            fputs("<tr>", fp);
            html_motif_cell(fp, rep, k);
            fprintf(fp, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                    (long long)m->nseq, (long long)m->npos, (long long)m->nneg);
            if (m->nseq)
                fprintf(fp, "<td class=\"n\">%.3g</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                            "<td class=\"n\" data-v=\"%g\">%.2g</td>",
                        m->sum / m->nseq, m->bestp, m->bestp, m->beste, m->beste);
            else
                fputs("<td></td><td></td><td></td>", fp);
            fprintf(fp, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n", (long long)m->nhits,
                    (long long)m->nused);
        }
        fprintf(fp, "<tr><td>(no match)</td><td></td><td class=\"n\">%lld</td><td></td><td></td><td></td><td></td>"
                    "<td></td><td></td><td></td></tr>\n</tbody></table>\n",
                (long long)S->unmatched);
    }
    fprintf(fp, "<h2>Regions</h2>\n<p>%d of %lld regions drawn (%s). Letters: the observed base scaled by its "
                "contribution, positive above the axis, negative below; shaded: seqlets; bars under the axis: "
                "motif scan hits (blue: inside a seqlet, grey: not used by the model). Coordinates are 1-based "
                "(<code>chr:start-end</code>, as IGV and UCSC take them).</p>\n",
            rep->nkept, (long long)rep->nreg,
            rep->o.order == SL_REPORT_ORDER_PREDICTION ? "highest predictions first" : "input order");
    for (int r = 0; r < rep->nkept; r++) html_region(fp, rep, S->kept[r], &S->hits[r], r);
    fputs(html_tail, fp);
    return sl_ofile_commit(f);
}

int sl_report_write(sl_report_t *rep, const char *html_path, const char *json_path)
{
    summary_t S;
    int ret = 0;
    if (!html_path && !json_path) return 0;
    pthread_mutex_lock(&rep->lock);
    if (summarise(rep, &S) < 0) {
        pthread_mutex_unlock(&rep->lock);
        return -1;
    }
    if (html_path && write_html(rep, &S, html_path) < 0) ret = -1;
    if (ret == 0 && json_path && write_json(rep, &S, json_path) < 0) ret = -1;
    summary_free(&S, rep->nkept);
    pthread_mutex_unlock(&rep->lock);
    return ret;
}
