/* report_priv.h — the report builder's state, shared by its files: report.c (seqlets,
 * matching, kept regions, summary), report_json.c, report_html.c, report_bed.c. */
#ifndef SEQLIFT_REPORT_PRIV_H
#define SEQLIFT_REPORT_PRIV_H

#include <pthread.h>
#include <stdio.h>

#include "seqlift/report.h"

typedef struct {
    int64_t region;      /* input index of the region */
    char *label, *chrom; /* seqlet name (region#rank); chrom (the region label for records without one) */
    int64_t gstart, gend;/* core span in genome coordinates */
    char strand;
    sl_seqlet_t s;
    int fs, fe;          /* flanked span used for matching */
    int nm;
    sl_match_t *m;       /* top matches, best first */
    float *cwm;          /* [w][4] contributions under the best motif (E <= match_evalue),
                          * in the motif's orientation, for its average logo; else NULL */
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
    int genomic;         /* genome coordinates (browser links), not a FASTA record */
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

typedef struct {
    int64_t nseq, npos, nneg;
    double sum, bestp, beste;
    int64_t nhits, nused;
    double *cwm;         /* [w][4] mean contribution of its seqlets (NULL: none) */
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
    int nms;
    int64_t unmatched, npos, nneg;
} summary_t;

/* Seqlets in (region, rank) order: an array of pointers into the list (caller frees). */
rseq_t **sl_rep_sorted_seqlets(const sl_report_t *rep);
/* The motif labelling a seqlet: its best match when E <= match_evalue, else NULL. */
const sl_match_t *sl_rep_best_match(const sl_report_t *rep, const rseq_t *s);
/* Motif name, else its id. */
const char *sl_rep_motif_label(const sl_report_t *rep, int k);
/* "chrom:start+1-end", the form IGV and UCSC accept in their locus boxes. */
void sl_rep_locus(char *buf, size_t n, const char *chrom, int64_t start, int64_t end);
/* Everything the HTML and JSON show, computed once under the report's lock. */
int sl_rep_summarise(sl_report_t *rep, summary_t *S);
void sl_rep_summary_free(summary_t *S, int nkept);

int sl_rep_write_json(const sl_report_t *rep, const summary_t *S, const char *path);
int sl_rep_write_html(const sl_report_t *rep, const summary_t *S, const char *path);

#endif
