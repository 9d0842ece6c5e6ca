/* report.h — motif-highlight report builder: seqlets, their motif matches, a motif
 * scan, and the HTML / JSON / BED / TSV outputs.
 *
 * Usage (e.g. in `seqlift score`):
 *     sl_report_opts_t o; sl_report_opts_default(&o); o.top_matches = top; ...
 *     sl_report_t *rep = sl_report_create(&o, db);          // db may be NULL
 *     for each region: sl_report_add_region(rep, r, L, ohe, contrib, hyp, pred);
 *     sl_report_write(rep, "out.html", "out.json");         // either may be NULL
 *     sl_report_destroy(rep);
 * add_region is thread-safe and may be called in any region order: what is kept
 * depends only on the regions (input index, prediction), never on arrival order.
 *
 * Memory: every seqlet goes to a temporary file as its region is added (in
 * $TMPDIR, else /tmp; a few hundred bytes each with its matches) and is read back
 * one at a time when writing: ~16 bytes per region with seqlets stay in memory
 * (56 per seqlet while the BED is sorted); the per-base data (sequence, projected contribution) is kept only for the
 * max_regions regions that will be drawn, and only those are scanned for motif
 * sites (at write time), so large runs stay bounded and fast.
 * Cost per seqlet: matching against every motif, ~1-3 ms for a JASPAR-sized
 * database (900 motifs) on one core.
 */
#ifndef SEQLIFT_REPORT_H
#define SEQLIFT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "seqlift/motif.h"
#include "seqlift/seqio.h"
#include "seqlift/seqlets.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_REPORT_ORDER_INPUT = 0,     /* the first max_regions regions in input order */
    SL_REPORT_ORDER_PREDICTION = 1 /* the max_regions highest predictions (ties: input order) */
} sl_report_order_t;

typedef struct {
    sl_seqlet_opts_t seqlet;
    int top_matches;       /* motif matches kept per seqlet (--top, 3) */
    int min_overlap;       /* aligned columns needed for a match (5) */
    double match_evalue;   /* a seqlet is labelled with its best motif when E <= this (0.05) */
    double scan_pthresh;   /* FIMO-like scan threshold (1e-4); <= 0 disables the scan */
    int max_regions;       /* regions drawn in the HTML / detailed in JSON (50) */
    sl_report_order_t order;
    const char *title;     /* borrowed; NULL = "seqlift motif report" */
    const char *pred_label;/* borrowed; name of the prediction (e.g. the target), or NULL */
    const char *genome_name;/* borrowed; assembly (hg38) of the UCSC links, or NULL (UCSC's default) */
} sl_report_opts_t;

typedef struct sl_report_s sl_report_t;

void sl_report_opts_default(sl_report_opts_t *o);
/* Checks the options (reported). db is borrowed and must outlive the report.
 * NULL on error. */
sl_report_t *sl_report_create(const sl_report_opts_t *o, const sl_motif_db_t *db);
void sl_report_destroy(sl_report_t *rep);

/* One scored region of length L: one-hot ohe[L][4], contributions contrib[L][4]
 * (the observed base's contribution is the row sum), hypothetical contributions
 * hyp[L][4] (may be NULL: matching then uses contrib on the observed base), and the
 * prediction used for ordering (NAN when unknown). All arrays are copied as needed.
 * 0 / -1 (reported). */
int sl_report_add_region(sl_report_t *rep, const sl_region_t *r, int L, const float *ohe, const float *contrib,
                         const float *hyp, double prediction);

/* Write the self-contained HTML and/or the JSON (either path may be NULL), through
 * temporary files renamed on success. 0 / -1 (reported). */
int sl_report_write(sl_report_t *rep, const char *html_path, const char *json_path);
/* Seqlets as BED6 in genome coordinates (name = region#rank, score = summed
 * contribution, strand of the region) and as TSV with p-values and best matches.
 * Sorted by region input index then rank. Either path may be NULL; "-" is stdout. */
int sl_report_write_seqlets(sl_report_t *rep, const char *bed_path, const char *tsv_path);
/* Every region of PREFIX.ohe.npz, PREFIX.contrib.npz and (when present)
 * PREFIX.hyp.npz -- PREFIX.<target>.contrib.npz / .hyp.npz when target is not NULL
 * (multi-target runs) -- as `seqlift score --npz` writes them: arr_0 of shape
 * (regions, 4, length) float32 ((regions, length, 4) is accepted too). Regions come
 * from bed_path (resized to the arrays' length as `score` does), else from the
 * records of fasta_path (their names; `score -s`), the count matching the arrays, or,
 * when both are NULL, are named region<i> with model coordinates. Input order, no
 * prediction. 0 / -1 (reported, naming the file). */
int sl_report_add_npz(sl_report_t *rep, const char *prefix, const char *target, const char *bed_path,
                      const char *fasta_path);

/* A report's whole state (options, counts, kept regions with their drawing data, every
 * seqlet with its matches, all exact) in one file: what a shard (`score --shard`)
 * writes so that `seqlift merge` draws the report of the union as one run draws it.
 * sl_report_state_opts reads a state's options and motif database (*db, the caller
 * destroys it; the option strings live in *hdr: sl_report_state_free after the
 * report) to create the merging report; sl_report_add_state adds one shard's state to
 * it (its options must be equal). Same build only (checked). 0 / -1 (reported). */
int sl_report_write_state(sl_report_t *rep, const char *path);
int sl_report_state_opts(const char *path, sl_report_opts_t *o, sl_motif_db_t **db, void **hdr);
int sl_report_add_state(sl_report_t *rep, const char *path);
void sl_report_state_free(void *hdr);

/* Options shared by every command that calls seqlets or writes a report (score,
 * seqlets, report). Put SL_REPORT_LONG_OPTIONS in a getopt_long table (they return 0
 * and set the long index), then pass the option's name and optarg to sl_report_opt:
 * 1 = a seqlet/matching option, 2 = a report (drawing) option, both parsed into o;
 * 0 = not one of these; -1 = bad value (reported). sl_report_opts_help prints their
 * usage with the defaults taken from d (draw = 0: the seqlet options only). */
#define SL_REPORT_LONG_OPTIONS                                                                      \
    {"seqlet-threshold", 1, 0, 0}, {"min-len", 1, 0, 0}, {"max-len", 1, 0, 0}, {"flank", 1, 0, 0},   \
        {"top", 1, 0, 0}, {"min-overlap", 1, 0, 0}, {"match-evalue", 1, 0, 0}, {"scan-pvalue", 1, 0, 0}, \
        {"report-regions", 1, 0, 0}, {"report-order", 1, 0, 0}, {"report-title", 1, 0, 0},          \
        {"genome-name", 1, 0, 0}
int sl_report_opt(sl_report_opts_t *o, const char *name, const char *value);
void sl_report_opts_help(FILE *fp, const sl_report_opts_t *d, int draw);

/* Where the seqlets BED9 of a report goes: seqlets_bed when given (one file per target:
 * sl_track_target_path), else beside the report: <report without .html/.htm/.json>
 * .seqlets.bed (report = the per-target HTML path, else the JSON path); NULL when neither
 * is given (no seqlets called) or on no memory. malloc'd. */
char *sl_report_seqlets_path(const char *seqlets_bed, const char *report, const char *report_json, const char *target,
                             int n_targets);

/* A region's label in reports, seqlet TSVs and the windows BED: its name, else
 * "chrom:start+1-end", else "region<index>". malloc'd; NULL on no memory (reported). */
char *sl_report_region_label(const sl_region_t *r);

/* Counts so far (for logs and tests). */
int64_t sl_report_n_seqlets(const sl_report_t *rep);
int64_t sl_report_n_regions(const sl_report_t *rep);

#ifdef __cplusplus
}
#endif

#endif
