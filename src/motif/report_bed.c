/* report_bed.c — seqlets as a BED9 track (sorted, named by motif, coloured by sign)
 * and as TSV (every column, in region and rank order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/khash_str2int.h>

#include "motif/report_priv.h"
#include "seqlift/browser.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

/* What a BED9 line needs of a seqlet, gathered from the spill so the lines can be
 * sorted without the seqlets themselves (~56 bytes each while writing). */
typedef struct {
    const char *chrom;   /* interned for the write */
    int64_t gstart, gend, region;
    double score;
    int rank, motif, sign; /* motif: best (labelling) motif, -1 unlabelled */
    char mstrand;
} bedkey_t;

/* BED order, what `LC_ALL=C sort -k1,1 -k2,2n` gives and tabix needs: chrom by bytes,
 * then start; end and input order break ties so the file is reproducible. */
static int bed_cmp(const void *a, const void *b)
{
    const bedkey_t *x = a, *y = b;
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

/* BED9: name = best motif (or "unlabelled") '#' rank, score = |contribution| scaled to
 * 0..1000 by the largest in the file, strand of the motif, itemRgb by sign. */
static int write_bed9(sl_report_t *rep, FILE *fp)
{
    bedkey_t *v = sl_malloc((size_t)(rep->nsq ? rep->nsq : 1) * sizeof *v, "seqlet order");
    khash_t(str2int) *names = khash_str2int_init();
    sl_rep_iter_t it;
    const rseq_t *s;
    int64_t n = 0;
    int rc = -1;
    double mx = 0;
    if (!v || !names || sl_rep_iter_begin(rep, &it) < 0) goto done;
    while ((rc = sl_rep_iter_next(&it, &s)) > 0 && n < rep->nsq) {
        const sl_match_t *b = sl_rep_best_match(rep, s);
        khint_t ki = kh_get(str2int, names, s->chrom);
        const char *c = ki != kh_end(names) ? kh_key(names, ki) : NULL;
        if (!c) { /* a new name: kept for the write */
            char *d = sl_strdup(s->chrom);
            if (!d || khash_str2int_inc(names, d) < 0) {
                free(d);
                rc = -1;
                break;
            }
            c = d;
        }
        bedkey_t *k = &v[n++];
        k->chrom = c, k->gstart = s->gstart, k->gend = s->gend, k->region = s->region;
        k->score = s->s.score, k->rank = s->s.rank, k->sign = s->s.sign;
        k->motif = b ? b->motif : -1, k->mstrand = motif_strand(rep, s);
        if (isfinite(s->s.score) && fabs(s->s.score) > mx) mx = fabs(s->s.score);
    }
    sl_rep_iter_end(&it);
    if (rc < 0) goto done;
    qsort(v, (size_t)n, sizeof *v, bed_cmp);
    for (int64_t i = 0; i < n; i++) {
        const bedkey_t *k = &v[i];
        if (k->gend <= k->gstart) continue; /* entirely in the N padding before a contig */
        int score = mx > 0 && isfinite(k->score) ? (int)lround(1000 * fabs(k->score) / mx) : 0;
        fprintf(fp, "%s\t%lld\t%lld\t", k->chrom, (long long)k->gstart, (long long)k->gend);
        const char *nm = k->motif >= 0 ? sl_rep_motif_label(rep, k->motif) : "unlabelled";
        for (; *nm; nm++) fputc(*nm > ' ' && *nm != 127 ? *nm : '_', fp); /* BED names: no blanks */
        fprintf(fp, "#%d\t%d\t%c\t%lld\t%lld\t%s\n", k->rank, score, k->mstrand, (long long)k->gstart,
                (long long)k->gend, k->sign > 0 ? SL_BROWSER_RGB_POS : SL_BROWSER_RGB_NEG);
    }
    rc = 0;
done:
    if (names) khash_str2int_destroy_free(names);
    free(v);
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
