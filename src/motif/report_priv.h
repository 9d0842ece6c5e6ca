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
    rseq_t *sq;          /* its seqlets (owned: the list itself is on disk) */
    int nsq;
    int genomic;         /* genome coordinates (browser links), not a FASTA record */
} kreg_t;

/* The seqlets of one region in the spill: n records from offset off; chrom (an index
 * into the report's contig names) and the least start of its seqlets place it for the BED. */
typedef struct {
    int64_t region, off, minstart;
    int32_t n, chrom;
} blk_t;

struct sl_report_s {
    sl_report_opts_t o;
    const sl_motif_db_t *db;
    sl_matcher_t *mt;
    pthread_mutex_t lock;
    FILE *spill;         /* every seqlet, a block of records per region (not kept in memory) */
    blk_t *blk;          /* the blocks in arrival order, sorted by region when read */
    int64_t nblk, mblk, nsq;
    int sorted;          /* blk sorted by region (1), by BED position (2), else 0 */
    void *chroms;        /* contig name -> index into chrom_name */
    char **chrom_name;
    int nchrom, mchrom;
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
    kreg_t **kept;    /* kept regions in report order */
    rhits_t *hits;    /* per kept region */
    mstat_t *ms;      /* per motif */
    int nms;
    int64_t unmatched, npos, nneg;
} summary_t;

/* Every seqlet in (region, rank) order, one at a time from the spill:
 *     sl_rep_iter_t it; const rseq_t *s; int rc;
 *     if (sl_rep_iter_begin(rep, &it) < 0) ...;
 *     while ((rc = sl_rep_iter_next(&it, &s)) > 0) ...;   // s valid until the next call
 *     sl_rep_iter_end(&it);                                // rc < 0: read error (reported)
 * The caller holds the report's lock (or is alone with the report). */
typedef struct {
    sl_report_t *rep;
    int64_t b;  /* block being read */
    int j;      /* records read of it */
    rseq_t cur;
} sl_rep_iter_t;
int sl_rep_iter_begin(sl_report_t *rep, sl_rep_iter_t *it);
int sl_rep_iter_next(sl_rep_iter_t *it, const rseq_t **s);
void sl_rep_iter_end(sl_rep_iter_t *it);
/* One seqlet record (the spill's and a shard state's form): write / read. Read checks
 * every length and index against rep (its options and motif database): 1 read, 0 at
 * the end of fp, -1 bad record (reported naming what). */
int sl_rep_rec_put(FILE *fp, const rseq_t *s, const sl_report_t *rep);
int sl_rep_rec_get(FILE *fp, rseq_t *s, const sl_report_t *rep, const char *what);
void sl_rep_rseq_free(rseq_t *s);
/* Bytes of a record's fixed part (a state file from another build is refused). */
size_t sl_rep_rec_size(void);
/* The motif labelling a seqlet: its best match when E <= match_evalue, else NULL. */
const sl_match_t *sl_rep_best_match(const sl_report_t *rep, const rseq_t *s);
/* Motif name, else its id. */
const char *sl_rep_motif_label(const sl_report_t *rep, int k);
/* "chrom:start+1-end", the form IGV and UCSC accept in their locus boxes. */
void sl_rep_locus(char *buf, size_t n, const char *chrom, int64_t start, int64_t end);
/* Everything the HTML and JSON show, computed once under the report's lock. */
int sl_rep_summarise(sl_report_t *rep, summary_t *S);
/* Append a region's seqlets (rank order) to the spill as one block. Caller holds the lock. */
int sl_rep_spill_block(sl_report_t *rep, int64_t region, const rseq_t *s, int n);
/* Offer a kept region to the heap of regions to draw; it then belongs to rep (1), else
 * the caller keeps it (0). Caller holds the lock. */
int sl_rep_kept_offer(sl_report_t *rep, kreg_t *k);
void sl_rep_kreg_free(kreg_t *k);
void sl_rep_summary_free(summary_t *S, int nkept);

/* The report options as the JSON's "options" object (numbers to 6 digits), or exact
 * (a shard's report state, compared and read back by merge). cJSON; caller deletes. */
#include <cjson/cJSON.h>
cJSON *sl_rep_options_json(const sl_report_opts_t *o, int exact);

int sl_rep_write_json(sl_report_t *rep, const summary_t *S, const char *path);
int sl_rep_write_html(const sl_report_t *rep, const summary_t *S, const char *path);

#endif
