/* report_bed.c — seqlets as a BED9 track (sorted, named by motif, coloured by sign)
 * and as TSV (every column, in region and rank order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/browser.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

/* BED order, what `LC_ALL=C sort -k1,1 -k2,2n` gives and tabix needs: chrom by bytes,
 * then start; end and input order break ties so the file is reproducible. */
static int bed_cmp(const void *a, const void *b)
{
    const rseq_t *x = *(const rseq_t *const *)a, *y = *(const rseq_t *const *)b;
    int c = strcmp(x->chrom, y->chrom);
    if (c) return c;
    if (x->gstart != y->gstart) return x->gstart < y->gstart ? -1 : 1;
    if (x->gend != y->gend) return x->gend < y->gend ? -1 : 1;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return x->s.rank - y->s.rank;
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
static int write_bed9(const sl_report_t *rep, FILE *fp)
{
    rseq_t **v = sl_rep_sorted_seqlets(rep);
    double mx = 0;
    if (!v) return -1;
    qsort(v, (size_t)rep->nsq, sizeof(*v), bed_cmp);
    for (int64_t i = 0; i < rep->nsq; i++)
        if (isfinite(v[i]->s.score) && fabs(v[i]->s.score) > mx) mx = fabs(v[i]->s.score);
    for (int64_t i = 0; i < rep->nsq; i++) {
        const rseq_t *s = v[i];
        const sl_match_t *b = sl_rep_best_match(rep, s);
        if (s->gend <= s->gstart) continue; /* entirely in the N padding before a contig */
        int score = mx > 0 && isfinite(s->s.score) ? (int)lround(1000 * fabs(s->s.score) / mx) : 0;
        fprintf(fp, "%s\t%lld\t%lld\t", s->chrom, (long long)s->gstart, (long long)s->gend);
        const char *nm = b ? sl_rep_motif_label(rep, b->motif) : "unlabelled";
        for (; *nm; nm++) fputc(*nm > ' ' && *nm != 127 ? *nm : '_', fp); /* BED names: no blanks */
        fprintf(fp, "#%d\t%d\t%c\t%lld\t%lld\t%s\n", s->s.rank, score, motif_strand(rep, s), (long long)s->gstart,
                (long long)s->gend, s->s.sign > 0 ? SL_BROWSER_RGB_POS : SL_BROWSER_RGB_NEG);
    }
    free(v);
    return 0;
}

int sl_report_write_seqlets(sl_report_t *rep, const char *bed_path, const char *tsv_path)
{
    sl_ofile_t *bed = NULL, *tsv = NULL;
    rseq_t **v = sl_rep_sorted_seqlets(rep);
    if (!v) return -1;
    if (bed_path && !(bed = sl_ofile_open(bed_path, "w"))) goto fail;
    if (tsv_path && !(tsv = sl_ofile_open(tsv_path, "w"))) goto fail;
    if (tsv)
        fprintf(tsv->fp, "#chrom\tstart\tend\tname\tscore\tstrand\tregion_index\tmodel_start\tmodel_end\tsign\t"
                         "length\tpval\tbest_motif\tmotif_strand\tmotif_model_start\tmatch_pval\tmatch_evalue\t"
                         "top_matches\n");
    if (bed && write_bed9(rep, bed->fp) < 0) goto fail;
    for (int64_t i = 0; tsv && i < rep->nsq; i++) {
        const rseq_t *s = v[i];
        char st = s->strand == '+' || s->strand == '-' ? s->strand : '.';
        fprintf(tsv->fp, "%s\t%lld\t%lld\t%s\t%.6g\t%c\t%lld\t%d\t%d\t%c\t%d\t%.4g\t", s->chrom,
                (long long)s->gstart, (long long)s->gend, s->label, s->s.score, st, (long long)s->region,
                s->s.start, s->s.end, s->s.sign > 0 ? '+' : '-', s->s.end - s->s.start, s->s.pval);
        const sl_match_t *b = sl_rep_best_match(rep, s);
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
