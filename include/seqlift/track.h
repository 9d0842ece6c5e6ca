/* track.h — genome-browser tracks: a streaming bedGraph (plain or bgzip) and bigWig writer.
 *
 * One writer per target. The caller gives, for every scored region in genome order,
 * one value per position of the scored window in MODEL order (position p is genome
 * base sl_region_genome_pos(r, p), so '-' strand windows run backwards); NaN or
 * ±Inf = no value (e.g. N bases): such bases are absent from the track, never zero.
 * Values of windows that overlap are merged per base (mean, max-abs or first).
 *
 * Output entries are 0-based half-open, non-overlapping, never empty, sorted as
 * `LC_ALL=C sort -k1,1 -k2,2n` (chromosome by strcmp, then start), clipped to the
 * chromosome sizes. Values are printed with "%.7g" and the bigWig stores exactly the
 * float that the printed text parses to, so both files hold the same numbers.
 * Memory: only the windows that can still overlap later regions are held.
 * Both files are written to temporary names and renamed on sl_track_close(), except
 * a bedGraph to "-" (stdout) or to an existing device or FIFO, written in place; a
 * bigWig path that is a device or FIFO is refused (libBigWig needs a regular file).
 *
 * Several targets: open one writer per target and name the files with
 * sl_track_target_path() — "out.bedGraph" for one target, "out.<target>.bedGraph"
 * (and "out.<target>.bedGraph.gz", "out.<target>.bw") for several.
 */
#ifndef SEQLIFT_TRACK_H
#define SEQLIFT_TRACK_H

#include <stdint.h>

#include "seqlift/seqio.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_OVERLAP_MEAN = 0,  /* mean over the windows covering the base (default) */
    SL_OVERLAP_MAX_ABS,   /* the value of largest |v| (earliest window on ties) */
    SL_OVERLAP_FIRST      /* the value of the first window added (genome order) */
} sl_overlap_t;

typedef struct {
    sl_overlap_t overlap;
    int64_t track_width;  /* keep the central W bases of each window; 0 = all */
    int merge_runs;       /* 1: merge adjacent entries with equal printed values */
    int threads;          /* unused (kept for callers): BGZF blocks are compressed on the writing thread */
    const char *comment;  /* NULL, or the bedGraph's first line "# comment" (bedGraphToBigWig,
                           * IGV, UCSC and bedtools skip it; a bigWig holds no free text) */
} sl_track_opts_t;

/* Defaults: mean, all bases, no merging. */
void sl_track_opts_init(sl_track_opts_t *o);
/* "mean", "max-abs" or "first"; 0 / -1 (not reported: the CLI prints usage). */
int sl_track_parse_overlap(const char *s, sl_overlap_t *out);
const char *sl_track_overlap_name(sl_overlap_t o);

/* Genome order of regions: chrom by strcmp (byte order), then start, then end, then
 * input index. Regions without chrom (FASTA records) sort last. qsort-compatible on
 * `const sl_region_t *const *` is sl_track_region_ptr_cmp. */
int sl_track_region_cmp(const sl_region_t *a, const sl_region_t *b);
int sl_track_region_ptr_cmp(const void *a, const void *b);
/* order[0..rl->n) = region indices in genome order. 0 / -1 (reported: no memory). */
int sl_track_sort_order(const sl_regions_t *rl, int64_t *order);

typedef struct sl_track_s sl_track_t;

/* Open a writer. bedgraph: path ("-" = stdout; ending in ".gz" = bgzip) or NULL;
 * bigwig: path or NULL (not both NULL). names/sizes: the n contigs of the genome (any
 * order: the writer sorts them by byte order for the bigWig header); the strings are
 * copied. opts NULL = defaults. NULL on error (reported).
 * Ownership: the caller frees the writer with sl_track_close() or sl_track_abort(). */
sl_track_t *sl_track_open(const char *bedgraph, const char *bigwig, int n,
                          const char *const *names, const int64_t *sizes,
                          const sl_track_opts_t *opts);
/* Same, with the contigs of an open genome (its .fai). */
sl_track_t *sl_track_open_genome(const char *bedgraph, const char *bigwig,
                                 const sl_genome_t *g, const sl_track_opts_t *opts);
/* Add region r with values[0 .. r->end - r->start) in model order. Regions must come
 * in sl_track_region_cmp order (an error names the offending region otherwise); r must
 * have a chrom known to the writer. Bases outside [0, contig size) are dropped.
 * 0 / -1 (reported; the writer is then unusable: abort it). Not thread-safe: one
 * thread adds the regions of a writer (one writer per target). */
int sl_track_add(sl_track_t *w, const sl_region_t *r, const float *values);
/* Flush, finish both files and rename them into place; frees w. 0 / -1 (reported,
 * temporary files removed). Two-phase form (outputs committed together):
 * sl_track_prepare finishes, closes and checks both temporaries (the bigWig is
 * reopened and its header, contigs, zoom levels and size checked; a track without
 * entries is an error for a bigWig) and keeps w; sl_track_commit renames them into
 * place and frees w (preparing first when needed; sl_track_close is the same). */
int sl_track_prepare(sl_track_t *w);
int sl_track_commit(sl_track_t *w);
int sl_track_close(sl_track_t *w);
/* Remove the temporary files and free w (w may be NULL). */
void sl_track_abort(sl_track_t *w);
/* Per-position track values from per-channel contributions contrib[len][4] (the layout
 * of the one-hot): out[p] = sum over A,C,G,T of contrib[p][c], the contribution of the
 * position. With onehot non-NULL and n_absent set, positions whose one-hot row is all
 * zero (N and other ambiguity codes) get NaN, i.e. no value in the track. */
void sl_track_project(const float *contrib, const float *onehot, int64_t len, int n_absent, float *out);

/* The genome bases [*ks, *ke) of window r a track keeps: its central track_width
 * bases (all when 0 or wider), before clipping to the contig. */
void sl_track_kept(const sl_region_t *r, int64_t track_width, int64_t *ks, int64_t *ke);
/* Add one finished entry [start, end) of chrom (a merge of tracks written by this
 * writer): value is what the bigWig stores, text what the bedGraph prints (NULL:
 * value printed as the writer prints it); with merge_runs an entry that starts where
 * the previous one ends with the same text extends it. Entries must be sorted and not
 * overlap; not mixed with sl_track_add. 0 / -1 (reported). */
int sl_track_add_entry(sl_track_t *w, const char *chrom, int64_t start, int64_t end, float value, const char *text);

/* Number of entries written to the bedGraph/bigWig so far (for tests and logs). */
int64_t sl_track_n_entries(const sl_track_t *w);

/* File name for one target: path itself when n_targets <= 1, else ".<target>" inserted
 * before the extension (a trailing ".gz" and one extension such as ".bedGraph", ".bw"
 * are kept at the end: out.bedGraph.gz -> out.CTCF.bedGraph.gz). Characters of target
 * other than [A-Za-z0-9._-] become '_'. Caller frees; NULL on error (reported). */
char *sl_track_target_path(const char *path, const char *target, int n_targets);

#ifdef __cplusplus
}
#endif

#endif
