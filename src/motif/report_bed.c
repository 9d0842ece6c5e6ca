/* report_bed.c — seqlets as a BED9 track (sorted, named by motif, coloured by sign)
 * and as TSV (every column, in region and rank order). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/browser.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

/* What a BED9 line needs of a seqlet (~56 bytes), held only while lines before it may
 * still come. */
typedef struct {
    const char *chrom;   /* one of the report's contig names */
    int64_t gstart, gend, region;
    double score;
    int rank, motif, sign; /* motif: best (labelling) motif, -1 unlabelled */
    char mstrand;
} bedkey_t;

/* BED order, what `LC_ALL=C sort -k1,1 -k2,2n` gives and tabix needs: chrom by bytes,
 * then start; end and input order break ties so the file is reproducible. */
static int bed_cmp(const bedkey_t *x, const bedkey_t *y)
{
    int c = x->chrom == y->chrom ? 0 : strcmp(x->chrom, y->chrom);
    if (c) return c;
    if (x->gstart != y->gstart) return x->gstart < y->gstart ? -1 : 1;
    if (x->gend != y->gend) return x->gend < y->gend ? -1 : 1;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return x->rank - y->rank;
}

/* Genome strand of the seqlet's best motif ('.' unlabelled): the match strand is in
 * model order, which runs backwards on a '-' region. */
static char motif_strand(const sl_report_t *rep, const rseq_t *s)
{
    const sl_match_t *b = sl_rep_best_match(rep, s);
    if (!b) return '.';
    return s->strand == '-' ? (b->strand == '+' ? '-' : '+') : b->strand;
}

/* A min-heap of keys in BED order. */
typedef struct {
    bedkey_t *k;
    int64_t n, m;
} heap_t;

static int heap_push(heap_t *h, const bedkey_t *k)
{
    if (h->n == h->m) {
        int64_t m = h->m ? 2 * h->m : 256;
        bedkey_t *t = sl_realloc(h->k, (size_t)m * sizeof *t, "seqlet order");
        if (!t) return -1;
        h->k = t, h->m = m;
    }
    int64_t i = h->n++;
    for (; i > 0 && bed_cmp(k, &h->k[(i - 1) / 2]) < 0; i = (i - 1) / 2) h->k[i] = h->k[(i - 1) / 2];
    h->k[i] = *k;
    return 0;
}

static bedkey_t heap_pop(heap_t *h)
{
    bedkey_t top = h->k[0], last = h->k[--h->n];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bed_cmp(&h->k[c + 1], &h->k[c]) < 0) c++;
        if (bed_cmp(&h->k[c], &last) >= 0) break;
        h->k[i] = h->k[c];
        i = c;
    }
    if (h->n) h->k[i] = last;
    return top;
}

static void put_bed9(const sl_report_t *rep, FILE *fp, const bedkey_t *k, double mx)
{
    if (k->gend <= k->gstart) return; /* entirely in the N padding before a contig */
    int score = mx > 0 && isfinite(k->score) ? (int)lround(1000 * fabs(k->score) / mx) : 0;
    fprintf(fp, "%s\t%lld\t%lld\t", k->chrom, (long long)k->gstart, (long long)k->gend);
    const char *nm = k->motif >= 0 ? sl_rep_motif_label(rep, k->motif) : "unlabelled";
    for (; *nm; nm++) fputc(*nm > ' ' && *nm != 127 ? *nm : '_', fp); /* BED names: no blanks */
    fprintf(fp, "#%d\t%d\t%c\t%lld\t%lld\t%s\n", k->rank, score, k->mstrand, (long long)k->gstart, (long long)k->gend,
            k->sign > 0 ? SL_BROWSER_RGB_POS : SL_BROWSER_RGB_NEG);
}

static const sl_report_t *blk_rep; /* qsort has no context argument; the caller holds the lock */
static int blk_bed_cmp(const void *a, const void *b)
{
    const blk_t *x = a, *y = b;
    int c = x->chrom == y->chrom ? 0 : strcmp(blk_rep->chrom_name[x->chrom], blk_rep->chrom_name[y->chrom]);
    if (c) return c;
    if (x->minstart != y->minstart) return x->minstart < y->minstart ? -1 : 1;
    return (x->region > y->region) - (x->region < y->region);
}

/* BED9: name = best motif (or "unlabelled") '#' rank, score = |contribution| scaled to
 * 0..1000 by the largest in the file, strand of the motif, itemRgb by sign. Streamed:
 * the largest score in one pass, then the regions' blocks by (contig, first seqlet
 * start) with a heap of the seqlets read but not yet written: a line is written once no
 * block still to come can hold a seqlet before it (each block's seqlets start at or
 * after its first), so memory holds the overlapping regions' seqlets, not all. */
static int write_bed9(sl_report_t *rep, FILE *fp)
{
    sl_rep_iter_t it;
    const rseq_t *s;
    heap_t h = {NULL, 0, 0};
    rseq_t r;
    int rc;
    double mx = 0;
    if (sl_rep_iter_begin(rep, &it) < 0) return -1;
    while ((rc = sl_rep_iter_next(&it, &s)) > 0)
        if (isfinite(s->s.score) && fabs(s->s.score) > mx) mx = fabs(s->s.score);
    sl_rep_iter_end(&it);
    if (rc < 0) return -1;
    blk_rep = rep;
    qsort(rep->blk, (size_t)rep->nblk, sizeof *rep->blk, blk_bed_cmp);
    rep->sorted = 2;
    for (int64_t b = 0; b < rep->nblk && rc == 0; b++) {
        const blk_t *B = &rep->blk[b];
        bedkey_t lim = {rep->chrom_name[B->chrom], B->minstart, INT64_MIN, INT64_MIN, 0, 0, 0, 0, 0};
        while (h.n && bed_cmp(&h.k[0], &lim) < 0) { /* nothing still to come sorts before these */
            bedkey_t k = heap_pop(&h);
            put_bed9(rep, fp, &k, mx);
        }
        if (fseeko(rep->spill, B->off, SEEK_SET) != 0) {
            sl_log_error("reading the seqlets' temporary file: %s", strerror(errno));
            rc = -1;
        }
        for (int j = 0; j < B->n && rc == 0; j++) {
            if (sl_rep_rec_get(rep->spill, &r, rep, "the seqlets' temporary file") <= 0) {
                rc = -1;
                break;
            }
            const sl_match_t *m = sl_rep_best_match(rep, &r);
            bedkey_t k = {rep->chrom_name[B->chrom], r.gstart, r.gend, r.region, r.s.score, r.s.rank,
                          m ? m->motif : -1, r.s.sign, motif_strand(rep, &r)};
            rc = heap_push(&h, &k);
            sl_rep_rseq_free(&r);
        }
    }
    while (rc == 0 && h.n) {
        bedkey_t k = heap_pop(&h);
        put_bed9(rep, fp, &k, mx);
    }
    free(h.k);
    return rc;
}

static int write_tsv(sl_report_t *rep, FILE *fp)
{
    sl_rep_iter_t it;
    const rseq_t *s;
    int rc;
    fprintf(fp, "#chrom\tstart\tend\tname\tscore\tstrand\tregion_index\tmodel_start\tmodel_end\tsign\t"
                "length\tpval\tbest_motif\tmotif_strand\tmotif_model_start\tmatch_pval\tmatch_evalue\t"
                "top_matches\n");
    if (sl_rep_iter_begin(rep, &it) < 0) return -1;
    while ((rc = sl_rep_iter_next(&it, &s)) > 0) {
        char st = s->strand == '+' || s->strand == '-' ? s->strand : '.';
        fprintf(fp, "%s\t%lld\t%lld\t%s\t%.6g\t%c\t%lld\t%d\t%d\t%c\t%d\t%.4g\t", s->chrom,
                (long long)s->gstart, (long long)s->gend, s->label, s->s.score, st, (long long)s->region,
                s->s.start, s->s.end, s->s.sign > 0 ? '+' : '-', s->s.end - s->s.start, s->s.pval);
        const sl_match_t *b = sl_rep_best_match(rep, s);
        if (b)
            fprintf(fp, "%s\t%c\t%d\t%.4g\t%.4g\t", rep->db->m[b->motif].id, b->strand, s->fs + b->offset, b->pval,
                    b->evalue);
        else
            fputs(".\t.\t.\t.\t.\t", fp);
        for (int j = 0; j < s->nm; j++)
            fprintf(fp, "%s%s:%c:%.3g", j ? "," : "", rep->db->m[s->m[j].motif].id, s->m[j].strand,
                    s->m[j].pval);
        fputs(s->nm ? "\n" : ".\n", fp);
    }
    sl_rep_iter_end(&it);
    return rc < 0 ? -1 : 0;
}

int sl_report_write_seqlets(sl_report_t *rep, const char *bed_path, const char *tsv_path)
{
    sl_ofile_t *bed = NULL, *tsv = NULL;
    pthread_mutex_lock(&rep->lock);
    if (bed_path && !(bed = sl_ofile_open(bed_path, "w"))) goto fail;
    if (tsv_path && !(tsv = sl_ofile_open(tsv_path, "w"))) goto fail;
    if (bed && write_bed9(rep, bed->fp) < 0) goto fail;
    if (tsv && write_tsv(rep, tsv->fp) < 0) goto fail;
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
    pthread_mutex_unlock(&rep->lock);
    return 0;
fail:
    pthread_mutex_unlock(&rep->lock);
    sl_ofile_abort(bed);
    sl_ofile_abort(tsv);
    return -1;
}


char *sl_report_seqlets_path(const char *seqlets_bed, const char *report, const char *report_json, const char *target,
                             int n_targets)
{
    if (seqlets_bed) return sl_track_target_path(seqlets_bed, target, n_targets);
    const char *base = report ? report : report_json;
    if (!base || strcmp(base, "-") == 0) return NULL;
    char *p = sl_track_target_path(base, target, n_targets), *r = NULL;
    if (!p) return NULL;
    size_t n = strlen(p);
    static const char *const ext[] = {".html", ".htm", ".json"};
    for (size_t k = 0; k < sizeof ext / sizeof *ext; k++) {
        size_t e = strlen(ext[k]);
        if (n > e && strcmp(p + n - e, ext[k]) == 0) {
            p[n - e] = 0;
            break;
        }
    }
    if ((r = sl_malloc(strlen(p) + 13, "seqlets path"))) sprintf(r, "%s.seqlets.bed", p);
    free(p);
    return r;
}
