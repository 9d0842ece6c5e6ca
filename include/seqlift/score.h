/* score.h — a scoring run as a library call: model + regions (or FASTA records) +
 * references + targets + method -> a list of sinks (npz, TSV, tracks, report, ...).
 *
 *     sl_score_opts_t o; sl_score_opts_default(&o);
 *     o.model = "model.json"; o.fasta = "genome.fa"; o.bed = "peaks.bed";
 *     o.out.npz = "out/run"; o.out.tsv = "out/run.tsv";
 *     if (sl_score_run(&o) < 0) ...;   // error reported; no output file was created
 *
 * The regions go through one bounded, in-order worker pipeline (seqlift/pipeline.h):
 * `threads` persistent workers, each with its own attribution workspace, genome handle
 * and reference scratch, score batches of `batch` regions while the calling thread
 * hands the finished regions, in order, to every sink. Outputs are all-or-nothing:
 * each sink writes temporaries next to its files; when the run and every sink's
 * prepare (flush, close, check) succeeded, all are committed (renamed into place),
 * else every temporary is removed and no final file is touched.
 * The run changes no process-wide state: the caller sets the BLAS threads
 * (sl_net_blas_threads(1) when threads > 1), htslib's log level and signal handlers.
 */
#ifndef SEQLIFT_SCORE_H
#define SEQLIFT_SCORE_H

#include <stdint.h>

#include "seqlift/attribution.h"
#include "seqlift/report.h"
#include "seqlift/seqio.h"
#include "seqlift/track.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress of a run (score or predict), handed to the run's progress callback on the
 * calling thread: after emitted regions at most every SL_PROGRESS_EVERY seconds, and
 * once more (final = 1) when the run is over, after its outputs were committed. */
typedef struct {
    int64_t done, total;      /* regions written / to write */
    double seconds;           /* since the run started (monotonic clock) */
    double worst_err;         /* score: worst relative summation-to-delta error so far; NaN: none */
    int64_t warnings;         /* warnings logged during the run (sl_log_n_warnings) */
    int final;                /* 1: the run is over (and succeeded) */
} sl_progress_t;
typedef void (*sl_progress_f)(const sl_progress_t *p, void *ud);
#define SL_PROGRESS_EVERY 0.5

/* Outputs of a run; NULL = not written. Per-target files are named by one rule:
 * sl_track_target_path() for files given by path, sl_npz_target_path() for npz. */
typedef struct {
    const char *npz;          /* prefix: PREFIX.ohe.npz, PREFIX[.<target>].{hyp,contrib}.npz */
    const char *tsv;          /* one row per region and target; "-" = stdout */
    const char *bedgraph;     /* per-base contribution track (".gz": BGZF) */
    const char *bigwig;
    const char *report;       /* HTML motif report, and/or */
    const char *report_json;  /* its JSON */
    const char *motifs;       /* MEME motif database for the report (optional) */
    const char *seqlets_bed;  /* seqlets BED9 (per target); NULL: beside the report */
    const char *igv_session;  /* IGV session XML loading the run's outputs (browser.h) */
    const char *ucsc_hub;     /* UCSC track hub directory (needs ro.genome_name) */
    sl_track_opts_t track;
    sl_report_opts_t ro;
} sl_score_outputs_t;

typedef struct {
    const char *model;        /* model: seqlift JSON, Keras .h5 or Keras JSON (sl_model_load) */
    const char *weights;      /* Keras JSON: its weights .h5 (else NULL) */
    const char *alphabet;     /* Keras: input channel order if not ACGT (else NULL) */
    const char *fasta, *bed;  /* genome + regions, or */
    const char *seqs;         /* FASTA records */
    const char *refs;         /* reference spec (NULL = SL_REF_DEFAULT_SPEC) */
    const char *target;       /* target spec (NULL = output 0) */
    int post_activation;
    sl_edge_t edge;
    uint64_t seed;
    int threads;              /* workers (>= 1) */
    sl_attr_opts_t ao;        /* method, maxpool, ig_steps, ig_rule, rc_average, batch */
    sl_score_outputs_t out;
    int shard_k, shard_n;     /* --shard K/N (1 <= K <= N); N = 0: not sharded (sl_shard_plan) */
    const char *command;      /* the command line, for the run descriptor (or NULL) */
    sl_progress_f progress;   /* progress and the final summary (NULL: none) */
    void *progress_ud;
} sl_score_opts_t;

void sl_score_opts_default(sl_score_opts_t *o);
/* Run it. 0 on success; -1 on error, -2 when the options are bad (a target the model
 * does not have, a target given twice, two outputs on one file): reported as one line,
 * no output file left behind. */
int sl_score_run(const sl_score_opts_t *o);

/* ---- prediction run: the model's outputs, a TSV with one row per input ------------- */

typedef struct {
    const char *model, *weights, *alphabet; /* as in sl_score_opts_t */
    const char *fasta, *bed;  /* genome + regions, or */
    const char *seqs;         /* FASTA records */
    sl_edge_t edge;
    int threads;              /* workers (>= 1) */
    int batch;                /* sequences per forward pass; <= 0: automatic */
    const char *out;          /* TSV path; NULL or "-" = stdout */
    int shard_k, shard_n;     /* as in sl_score_opts_t (a sharded run needs a TSV path) */
    const char *command;
    sl_progress_f progress;   /* as in sl_score_opts_t */
    void *progress_ud;
} sl_predict_opts_t;

/* Columns: chrom start end strand name (BED) or name (FASTA), then every output
 * value (sl_net_value_label), "%.9g", then region_index (the row's 0-based index among
 * the regions). 0 / -1 (reported; no output file left). */
int sl_predict_run(const sl_predict_opts_t *o);

/* ---- shards: exact pieces of one run, put together by sl_merge_run (merge.h) ------- */

/* Shard K of N: the regions in genome order (sl_track_region_cmp) cut into N blocks of
 * floor(K*n/N) - floor((K-1)*n/N) regions. Block K's boundary is the first base its
 * first window keeps in a track (sl_track_kept); shard K owns the track bases from its
 * boundary to the next non-empty block's (chromosome, position) boundary, so it also
 * scores, for the tracks only, the earlier regions whose kept bases reach past its
 * boundary (its left halo). npz/TSV/report rows: its own regions, in input order (or
 * genome order when the run writes tracks), keeping their global region_index. */
typedef struct {
    int k, n;
    int64_t n_own;
    int64_t *own;             /* [n_own] its regions, input order */
    int64_t *row;             /* [rl->n] npz row of region i in this shard, -1 = not its own */
    int64_t *proc;            /* [n_proc] halo then own regions, genome order */
    int64_t n_proc;
    const char *lo_chrom;     /* owned track bases: (chrom, pos) >= (lo_chrom, lo_pos) */
    int64_t lo_pos;           /* lo_chrom NULL: from the genome's start */
    const char *hi_chrom;     /* ... and < (hi_chrom, hi_pos); hi_chrom NULL: to its end */
    int64_t hi_pos;
} sl_shard_t;

/* "K/N" with 1 <= K <= N <= 100000; 0 / -1 (not reported: the CLI prints usage). */
int sl_shard_parse(const char *s, int *k, int *n);
/* Plan shard k of n of rl for tracks keeping track_width (0 = all) bases. 0 / -1
 * (reported: no memory). sl_shard_free frees what it holds (not s). */
int sl_shard_plan(const sl_regions_t *rl, int k, int n, int64_t track_width, sl_shard_t *s);
void sl_shard_free(sl_shard_t *s);
/* 1 when the shard owns genome base pos of chrom. */
int sl_shard_owns(const sl_shard_t *s, const char *chrom, int64_t pos);
/* The run descriptor's path: OUT.seqlift-run.json of the run's first output file
 * (npz prefix, TSV, bedGraph, bigWig, report JSON, report); NULL when there is none.
 * Caller frees. */
char *sl_shard_descriptor_path(const sl_score_outputs_t *out);

/* ---- sinks ---------------------------------------------------------------------- */

/* What a sink sees of the run. */
typedef struct {
    const sl_score_opts_t *opts;
    const sl_net_t *net;
    const sl_regions_t *rl;
    const sl_target_t *tg;
    int nt, len, n_refs;
    int bed_mode;             /* 1: genome regions, 0: FASTA records */
    const sl_shard_t *shard;  /* a sharded run, else NULL: sinks write its own rows only */
    sl_progress_t *progress;  /* the run's progress (the statistics sink keeps worst_err) */
    const char *about;        /* the provenance line every output carries (version, inputs,
                               * the options that determine the content; no output path,
                               * shard, threads or batch) */
} sl_score_info_t;

typedef struct sl_sink_s sl_sink_t;
/* A sink: open (create temporaries), region (called on the calling thread for every
 * region, in input order or in genome order when genome_order is set, with its input
 * index i, one-hot [len][4] in model order and results), prepare (finish, flush, close
 * and check every temporary), commit (rename them into place; frees the state) or
 * abort (remove them; frees the state; also after a failed open). 0 / -1 (reported). */
typedef struct {
    const char *name;
    int genome_order;
    int (*wanted)(const sl_score_outputs_t *out);
    /* The final paths it will write, named by the one rule (malloc'd, the run frees
     * them): up to max into paths; returns how many, -1 on error (reported). The run
     * refuses two outputs on one path before anything is opened. */
    int (*paths)(const sl_score_info_t *in, char **paths, int max);
    int (*open)(sl_sink_t *s, const sl_score_info_t *in);
    int (*region)(sl_sink_t *s, const sl_score_info_t *in, int64_t i, const float *onehot,
                  const sl_attr_out_t *res);
    int (*prepare)(sl_sink_t *s, const sl_score_info_t *in);
    int (*commit)(sl_sink_t *s, const sl_score_info_t *in);
    void (*abort)(sl_sink_t *s, const sl_score_info_t *in);
} sl_sink_ops_t;

struct sl_sink_s {
    const sl_sink_ops_t *ops;
    void *st;                 /* the sink's state, owned by it */
};

/* The output kinds, in the order they see each region; ends with a NULL name. */
extern const sl_sink_ops_t sl_sink_kinds[];

#ifdef __cplusplus
}
#endif

#endif
