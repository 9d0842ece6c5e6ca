/* report_bed.c — seqlets as BED and TSV. */
#include <stdlib.h>

#include "motif/report_priv.h"
#include "seqlift/util.h"

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

