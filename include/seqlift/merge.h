/* merge.h — put the shards of one run (score/predict --shard K/N) back together.
 *
 *     const char *shards[] = {"s1.tsv.seqlift-run.json", "s2.tsv.seqlift-run.json"};
 *     sl_merge_opts_t m = {"out/all", 2, shards};
 *     if (sl_merge_run(&m) < 0) ...;   // reported; no output file was created
 *
 * Each shard is named by its run descriptor (OUT.seqlift-run.json beside its first
 * output). The shards must be 1..N of one run: the same model files (sizes and
 * hashes), genome, region file (size and hash), options that change numbers, N, and
 * each K exactly once; otherwise one line names the first thing that differs.
 * Outputs, named from the prefix `out` by the run's rules (per-target files as
 * sl_track_target_path / sl_npz_target_path): out.tsv (one header; rows in the order
 * one run writes them: genome order when the run wrote tracks, else input order by
 * region_index), out.{ohe,hyp,contrib}.npz and out.windows.bed (rows by region_index),
 * out.bedGraph[.gz] and out.bw (the shards' owned entries in genome order through the
 * track writer; with --merge-runs entries meeting at a shard boundary are joined),
 * out.html, out.json and out.seqlets.bed (one report built from every shard's report
 * state, sl_report_add_state, and written as one run writes it). bedGraph, TSV, npz,
 * report HTML/JSON and seqlets BED are byte-identical to one run's, the bigWig
 * value-identical. All outputs are written to
 * temporaries and renamed into place only when all are complete.
 */
#ifndef SEQLIFT_MERGE_H
#define SEQLIFT_MERGE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *out;             /* output prefix */
    int n;                       /* number of shards */
    const char *const *shards;   /* their run descriptors */
} sl_merge_opts_t;

/* 0 on success; -1 on error (reported as one line, no output file left behind). */
int sl_merge_run(const sl_merge_opts_t *o);

#ifdef __cplusplus
}
#endif

#endif
