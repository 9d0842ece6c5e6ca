/* run_priv.h — what the prediction and scoring runs share, inside the run module. */
#ifndef SEQLIFT_RUN_PRIV_H
#define SEQLIFT_RUN_PRIV_H

#include <stdio.h>

#include "seqlift/seqio.h"

/* The key columns of a TSV row and their header: "chrom start end strand name" for
 * genome regions (bed_mode), "name" for FASTA records (name "." when absent). */
#define SL_RUN_TSV_KEY(bed_mode) ((bed_mode) ? "chrom\tstart\tend\tstrand\tname" : "name")
static inline void sl_run_put_key(FILE *fp, const sl_region_t *r, int bed_mode)
{
    if (bed_mode)
        fprintf(fp, "%s\t%lld\t%lld\t%c\t%s", r->chrom, (long long)r->start, (long long)r->end, r->strand,
                r->name ? r->name : ".");
    else fputs(r->name ? r->name : ".", fp);
}

#endif
