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

/* commit and abort of a sink whose NAME_free(s, commit, &ret) commits (renames) or
 * aborts (removes) every file it holds and frees its state */
#define SINK_END(NAME)                                                     \
    static int NAME##_commit(sl_sink_t *s, const sl_score_info_t *c)       \
    {                                                                      \
        (void)c;                                                           \
        int ret = 0;                                                       \
        NAME##_free(s, 1, &ret);                                           \
        return ret;                                                        \
    }                                                                      \
    static void NAME##_abort(sl_sink_t *s, const sl_score_info_t *c)       \
    {                                                                      \
        (void)c;                                                           \
        int ret = 0;                                                       \
        NAME##_free(s, 0, &ret);                                           \
    }

/* ---- progress (progress.c) ---- */
#include "seqlift/score.h"

typedef struct {
    sl_progress_f cb;
    void *ud;
    sl_progress_t p;
    double t0, last;
    long w0;              /* warnings before the run */
} sl_run_progress_t;
/* Start counting (cb NULL: count only); add n emitted regions (reports when due); the
 * final report, after the commit. */
void sl_run_progress_start(sl_run_progress_t *g, sl_progress_f cb, void *ud, int64_t total);
void sl_run_progress_add(sl_run_progress_t *g, int64_t n);
void sl_run_progress_end(sl_run_progress_t *g);

/* ---- provenance (about.c) ---- */
/* "seqlift VERSION COMMAND model=... [weights=...] genome=... regions=... | seqs=...
 * OPTIONS" (NULL inputs left out), one line. Caller frees; NULL (reported). */
char *sl_run_about(const char *command, const char *model, const char *weights, const char *fasta,
                   const char *regions, const char *seqs, const char *options);

/* ---- shards (shard.c) ---- */
#include <cjson/cJSON.h>

#include "seqlift/score.h"

#define SL_RUN_DESCRIPTOR_EXT ".seqlift-run.json"
/* The common part of a shard's run descriptor (version, command, model files with
 * their sizes and hashes, genome, region file, options, N, K, region counts, row order
 * and region_index: the run's index of each of the shard's rows). NULL (reported). */
cJSON *sl_run_descriptor(const char *kind, const char *command, const char *model, const char *weights,
                         const char *fasta, const char *regions, const char *options, const sl_shard_t *s,
                         const sl_regions_t *rl, const char *row_order);
/* Write d to path (a temporary of the caller's: sl_ofile renames it onto itself);
 * shown names it in messages. 0 / -1 (reported). */
int sl_run_descriptor_write(cJSON *d, const char *path, const char *shown);
/* What changes the numbers of a scoring run, as one string compared by merge (and
 * written into every output by sl_run_about). Caller frees; NULL (reported). */
char *sl_run_score_options(const sl_score_info_t *c);
/* A shard's report state of target t (0-based), beside its descriptor: "OUT.seqlift-
 * report-<t>" (SL_RUN_STATE_EXT in the descriptor's outputs, "-<t>" added). malloc'd. */
#define SL_RUN_STATE_EXT ".seqlift-report"
char *sl_shard_state_path(const sl_score_outputs_t *o, int t);
/* The run descriptor as a sink (a no-op unless the run is sharded). */
extern const sl_sink_ops_t sl_sink_descriptor;

#endif
