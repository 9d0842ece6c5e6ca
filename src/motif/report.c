/* report.c — report builder: calls seqlets per region and matches them against the
 * motifs, keeps the regions to draw, and summarises them for the writers (HTML in
 * report_html.c, JSON in report_json.c, BED/TSV in report_bed.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <htslib/khash_str2int.h>

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

/* An anonymous temporary file in $TMPDIR (else /tmp), gone when closed. */
static FILE *spill_open(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/seqlift-seqlets.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "w+b") : NULL;
    if (fd >= 0) unlink(path);
    if (!fp) {
        if (fd >= 0) close(fd);
        sl_log_error("%s: cannot create the seqlets' temporary file", path);
    }
    return fp;
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
    if (!(rep->spill = spill_open()) || !(rep->chroms = khash_str2int_init())) goto fail;
    if (o->max_regions && !(rep->kept = sl_calloc((size_t)o->max_regions, sizeof(kreg_t *), "report regions")))
        goto fail;
    return rep;
fail:
    sl_report_destroy(rep);
    return NULL;
}

void sl_rep_rseq_free(rseq_t *s)
{
    free(s->label);
    free(s->chrom);
    free(s->m);
    free(s->cwm);
    memset(s, 0, sizeof *s);
}

void sl_rep_kreg_free(kreg_t *k)
{
    if (!k) return;
    free(k->label);
    free(k->chrom);
    free(k->seq);
    free(k->x);
    for (int q = 0; k->sq && q < k->nsq; q++) sl_rep_rseq_free(&k->sq[q]);
    free(k->sq);
    free(k);
}

void sl_report_destroy(sl_report_t *rep)
{
    if (!rep) return;
    if (rep->spill) fclose(rep->spill);
    free(rep->blk);
    if (rep->chroms) khash_str2int_destroy(rep->chroms);
    for (int i = 0; i < rep->nchrom; i++) free(rep->chrom_name[i]);
    free(rep->chrom_name);
    for (int i = 0; i < rep->nkept; i++) sl_rep_kreg_free(rep->kept[i]);
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
int sl_rep_kept_offer(sl_report_t *rep, kreg_t *k)
{
    kreg_t **h = rep->kept;
    int i, n = rep->nkept;
    if (n < rep->o.max_regions) { /* room: sift up from the end */
        for (i = rep->nkept++; i > 0 && kept_worse(rep, k, h[(i - 1) / 2]); i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
        h[i] = k;
        return 1;
    }
    if (!kept_worse(rep, h[0], k)) return 0;
    sl_rep_kreg_free(h[0]); /* replace the least worth keeping: sift down from the root */
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
        for (int p = 0; p < L; p++) {
            int best = -1;
            float bv = 0.5f;
            for (int b = 0; b < 4; b++)
                if (ohe[4 * (size_t)p + b] > bv) bv = ohe[4 * (size_t)p + b], best = b;
            k->seq[p] = best < 0 ? 'N' : "ACGT"[best];
        }
        k->seq[L] = 0;
    }
    pthread_mutex_lock(&rep->lock);
    int rc = sl_rep_spill_block(rep, r->index, loc, nsl);
    if (rc == 0) rep->nreg++;
    if (rc == 0 && k) { /* a region that may be drawn owns its seqlets */
        k->sq = loc, loc = NULL;
        if (sl_rep_kept_offer(rep, k)) k = NULL;
    }
    pthread_mutex_unlock(&rep->lock);
    if (rc < 0) goto fail;
    ret = 0;
fail:
    if (loc) {
        for (int i = 0; i < nsl; i++) sl_rep_rseq_free(&loc[i]);
        free(loc);
    }
    sl_rep_kreg_free(k);
    free(label);
    free(x);
    free(q);
    free(wt);
    free(sl);
    return ret;
}

/* ---- the spill: every seqlet on disk, a block per region ---------------------------- */

/* A record: this fixed part (zeroed, so equal seqlets give equal bytes), then label,
 * chrom, nm matches and cwm_len floats. Native byte order: a spill, or a shard's state
 * read back by the same build (the state's header says which). */
typedef struct {
    int64_t region, gstart, gend;
    double score, pval;
    int32_t start, end, sign, rank, fs, fe, nm, label_len, chrom_len, cwm_len;
    char strand;
} rec_t;
typedef struct {
    double score, pval, evalue;
    int32_t motif, offset, overlap;
    char strand;
} rec_match_t;

size_t sl_rep_rec_size(void) { return sizeof(rec_t) + sizeof(rec_match_t); }

#define REC_MAX_STR 65536 /* longer labels are surely a corrupt record */

int sl_rep_rec_put(FILE *fp, const rseq_t *s, const sl_report_t *rep)
{
    rec_t h;
    memset(&h, 0, sizeof h);
    h.region = s->region, h.gstart = s->gstart, h.gend = s->gend;
    h.score = s->s.score, h.pval = s->s.pval;
    h.start = s->s.start, h.end = s->s.end, h.sign = s->s.sign, h.rank = s->s.rank;
    h.fs = s->fs, h.fe = s->fe, h.nm = s->nm;
    h.label_len = (int32_t)strlen(s->label), h.chrom_len = (int32_t)strlen(s->chrom);
    h.cwm_len = s->cwm ? 4 * rep->db->m[s->m[0].motif].w : 0;
    h.strand = s->strand;
    int ok = fwrite(&h, sizeof h, 1, fp) == 1 && fwrite(s->label, 1, (size_t)h.label_len, fp) == (size_t)h.label_len &&
             fwrite(s->chrom, 1, (size_t)h.chrom_len, fp) == (size_t)h.chrom_len;
    for (int j = 0; j < s->nm && ok; j++) {
        rec_match_t m;
        memset(&m, 0, sizeof m);
        m.score = s->m[j].score, m.pval = s->m[j].pval, m.evalue = s->m[j].evalue;
        m.motif = s->m[j].motif, m.offset = s->m[j].offset, m.overlap = s->m[j].overlap, m.strand = s->m[j].strand;
        ok = fwrite(&m, sizeof m, 1, fp) == 1;
    }
    if (ok && h.cwm_len) ok = fwrite(s->cwm, sizeof(float), (size_t)h.cwm_len, fp) == (size_t)h.cwm_len;
    if (!ok) sl_log_error("writing the seqlets' temporary file: %s", strerror(errno ? errno : EIO));
    return ok ? 0 : -1;
}

static char *read_str(FILE *fp, int32_t n)
{
    char *p = n >= 0 && n < REC_MAX_STR ? sl_malloc((size_t)n + 1, "seqlet name") : NULL;
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) free(p), p = NULL;
    if (p) p[n] = 0;
    return p;
}

int sl_rep_rec_get(FILE *fp, rseq_t *s, const sl_report_t *rep, const char *what)
{
    rec_t h;
    memset(s, 0, sizeof *s);
    size_t got = fread(&h, 1, sizeof h, fp);
    if (got == 0 && feof(fp)) return 0;
    int nmot = rep->db ? rep->db->n : 0, ok = got == sizeof h && h.nm >= 0 && h.nm <= rep->o.top_matches &&
                                           (h.nm == 0 || rep->db) && h.start >= 0 && h.start < h.end &&
                                           h.fs >= 0 && h.fs <= h.start && h.fe >= h.end && h.region >= 0;
    if (ok) {
        s->region = h.region, s->gstart = h.gstart, s->gend = h.gend, s->strand = h.strand;
        s->s.score = h.score, s->s.pval = h.pval, s->s.start = h.start, s->s.end = h.end;
        s->s.sign = h.sign, s->s.rank = h.rank, s->fs = h.fs, s->fe = h.fe, s->nm = h.nm;
        ok = (s->label = read_str(fp, h.label_len)) && (s->chrom = read_str(fp, h.chrom_len)) &&
             (!h.nm || (s->m = sl_malloc((size_t)h.nm * sizeof *s->m, "matches")));
    }
    for (int j = 0; j < s->nm && ok; j++) {
        rec_match_t m;
        ok = fread(&m, sizeof m, 1, fp) == 1 && m.motif >= 0 && m.motif < nmot;
        if (ok) {
            s->m[j].score = m.score, s->m[j].pval = m.pval, s->m[j].evalue = m.evalue;
            s->m[j].motif = m.motif, s->m[j].offset = m.offset, s->m[j].overlap = m.overlap, s->m[j].strand = m.strand;
        }
    }
    if (ok && h.cwm_len) {
        ok = s->nm > 0 && h.cwm_len == 4 * rep->db->m[s->m[0].motif].w &&
             (s->cwm = sl_malloc((size_t)h.cwm_len * sizeof(float), "motif contributions")) &&
             fread(s->cwm, sizeof(float), (size_t)h.cwm_len, fp) == (size_t)h.cwm_len;
    }
    if (!ok) {
        sl_log_error("%s: a bad or truncated seqlet record", what);
        sl_rep_rseq_free(s);
        return -1;
    }
    return 1;
}

/* The index of a contig name among the report's (added when new); -1 on no memory. */
static int chrom_id(sl_report_t *rep, const char *name)
{
    int id;
    if (khash_str2int_get(rep->chroms, name, &id) == 0) return id;
    if (rep->nchrom == rep->mchrom) {
        int m = rep->mchrom ? 2 * rep->mchrom : 16;
        char **t = sl_realloc(rep->chrom_name, (size_t)m * sizeof *t, "contig names");
        if (!t) return -1;
        rep->chrom_name = t, rep->mchrom = m;
    }
    char *d = sl_strdup(name);
    if (!d || khash_str2int_set(rep->chroms, d, rep->nchrom) < 0) {
        free(d);
        return -1;
    }
    rep->chrom_name[rep->nchrom] = d;
    return rep->nchrom++;
}

int sl_rep_spill_block(sl_report_t *rep, int64_t region, const rseq_t *s, int n)
{
    if (n == 0) return 0;
    int cid = chrom_id(rep, s[0].chrom); /* one region: one contig */
    if (cid < 0) return -1;
    if (rep->nblk == rep->mblk) {
        int64_t m = rep->mblk ? 2 * rep->mblk : 256;
        blk_t *b = sl_realloc(rep->blk, (size_t)m * sizeof *b, "seqlet index");
        if (!b) return -1;
        rep->blk = b, rep->mblk = m;
    }
    if (fseeko(rep->spill, 0, SEEK_END) != 0) return -1;
    blk_t *b = &rep->blk[rep->nblk];
    b->region = region, b->off = ftello(rep->spill), b->n = n, b->chrom = cid, b->minstart = s[0].gstart;
    for (int i = 0; i < n; i++) {
        if (sl_rep_rec_put(rep->spill, &s[i], rep) < 0) return -1;
        if (s[i].gstart < b->minstart) b->minstart = s[i].gstart;
    }
    if (rep->nblk == 0) rep->sorted = 1;
    else if (rep->sorted != 1 || rep->blk[rep->nblk - 1].region > region) rep->sorted = 0;
    rep->nblk++;
    rep->nsq += n;
    return 0;
}

static int blk_cmp(const void *a, const void *b)
{
    const blk_t *x = a, *y = b;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return (x->off > y->off) - (x->off < y->off);
}

int sl_rep_iter_begin(sl_report_t *rep, sl_rep_iter_t *it)
{
    memset(it, 0, sizeof *it);
    it->rep = rep;
    if (rep->sorted != 1) qsort(rep->blk, (size_t)rep->nblk, sizeof *rep->blk, blk_cmp);
    rep->sorted = 1;
    it->b = -1;
    it->j = 0;
    if (fflush(rep->spill) != 0) {
        sl_log_error("writing the seqlets' temporary file: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

int sl_rep_iter_next(sl_rep_iter_t *it, const rseq_t **s)
{
    sl_report_t *rep = it->rep;
    sl_rep_rseq_free(&it->cur);
    if (it->b < 0 || it->j == rep->blk[it->b].n) { /* the next block: seek to it */
        if (++it->b >= rep->nblk) return 0;
        it->j = 0;
        if (fseeko(rep->spill, rep->blk[it->b].off, SEEK_SET) != 0) {
            sl_log_error("reading the seqlets' temporary file: %s", strerror(errno));
            return -1;
        }
    }
    int rc = sl_rep_rec_get(rep->spill, &it->cur, rep, "the seqlets' temporary file");
    if (rc == 0) sl_log_error("the seqlets' temporary file: truncated");
    if (rc <= 0) return -1;
    it->j++;
    *s = &it->cur;
    return 1;
}

void sl_rep_iter_end(sl_rep_iter_t *it) { sl_rep_rseq_free(&it->cur); }

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
    sl_rep_iter_t it;
    const rseq_t *s;
    int rc;
    memset(S, 0, sizeof(*S));
    if (!(S->kept = sl_malloc((size_t)(rep->nkept + 1) * sizeof(kreg_t *), "report order"))) goto fail;
    if (!(S->hits = sl_calloc((size_t)(rep->nkept + 1), sizeof(rhits_t), "motif hits"))) goto fail;
    if (!(S->ms = sl_calloc((size_t)(nm + 1), sizeof(mstat_t), "motif summary"))) goto fail;
    S->nms = nm;
    if (rep->nkept) memcpy(S->kept, rep->kept, (size_t)rep->nkept * sizeof(kreg_t *));
    qsort(S->kept, (size_t)rep->nkept, sizeof(kreg_t *),
          rep->o.order == SL_REPORT_ORDER_PREDICTION ? kept_cmp_pred : kept_cmp_input);
    for (int k = 0; k < nm; k++) S->ms[k].bestp = S->ms[k].beste = 1;
    if (sl_rep_iter_begin(rep, &it) < 0) goto fail;
    while ((rc = sl_rep_iter_next(&it, &s)) > 0) {
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
            if (!m->cwm && !(m->cwm = sl_calloc((size_t)w * 4, sizeof(double), "motif logo"))) {
                sl_rep_iter_end(&it);
                goto fail;
            }
            for (int j = 0; j < 4 * w; j++) m->cwm[j] += s->cwm[j];
        }
        if (b->pval < m->bestp) m->bestp = b->pval;
        if (b->evalue < m->beste) m->beste = b->evalue;
    }
    sl_rep_iter_end(&it);
    if (rc < 0) goto fail;
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
