/* reference.h — DeepLIFT references: seeded k-mer shuffles, GC / background
 * samples, expected (frequency) rows, zero, and user FASTA references.
 *
 * [The reference module (src/ref/) owns this header.]
 *
 * A spec string selects the kind and the number N of references per region:
 *   dinuc[:N]           N dinucleotide-preserving shuffles (default "dinuc:20")
 *   kmer:K[:N]          N (default 20) shuffles preserving every K-mer count (K = 1 is a plain
 *                       permutation); uniform among all sequences with those counts
 *   gc:N                N i.i.d. sequences with the sequence's own GC fraction
 *   gc=F:N              same with a given GC fraction F in [0,1]
 *   background:N        N i.i.d. samples from per-position base frequencies
 *                       estimated across all input regions (needs the fit step;
 *                       every region must have the same length; a position that
 *                       is N in every input gets 0.25 each)
 *   background-global:N N i.i.d. samples from the global base frequencies of all
 *                       input regions (needs the fit step)
 *   background:N:FILE   N i.i.d. samples from frequencies read from FILE
 *   expected            one reference whose rows ARE the per-position frequencies
 *   expected-global     ... the global frequencies
 *   expected:FILE       ... the frequencies of FILE
 *   zero                one all-zero reference
 *   fasta:PATH[:K]      K (default 1) references per region from a FASTA file:
 *                       records k*K .. k*K+K-1 for the region of index k (input
 *                       order), or the same K records for every region when the
 *                       file holds exactly K. Records are in model order (already
 *                       strand-adjusted) and must have the region's length.
 *
 * Frequency FILE: whitespace/tab separated, 4 numbers per line in A C G T order,
 * either 1 line (global) or L lines (per position); '#' lines and a header line
 * "A C G T" are skipped. Or JSON: [a,c,g,t], [[a,c,g,t],...] or
 * {"A":a,"C":c,"G":g,"T":t}. Rows must be non-negative and are normalised to sum 1.
 *
 * N mask: every generated kind except zero and fasta keeps the input's N (all-zero)
 * rows as zero rows, so a reference has the same N mask as its input. Shuffles
 * shuffle each ACGT run between N's separately, preserving each run's K-mer counts
 * (and its first and last K-1 bases, for K >= 2); a run shorter than K is unchanged.
 * A sequence shorter than K (in total) is an error.
 *
 * GC kinds: P(C) = P(G) = F/2, P(A) = P(T) = (1-F)/2; the own F is (C+G)/(A+C+G+T)
 * of the sequence's non-N rows.
 *
 * Determinism: references of a region depend only on the spec, its one-hot input
 * and the region seed (sl_region_seed): same whatever the thread, batch, shard or
 * order. Reference i of a region is the i-th draw of a xoshiro256** generator seeded
 * (via splitmix64) from the region seed.
 *
 * Typical use:
 *   sl_refspec_t *rs = sl_refspec_parse(spec);            // NULL: reported
 *   if (sl_refspec_needs_fit(rs)) {                        // background / expected
 *       for each region: sl_refspec_observe(rs, onehot, len);
 *   }
 *   sl_refspec_finalize(rs, n_regions);                    // always, once
 *   // then from any number of threads, each with its own workspace:
 *   sl_ref_ws_t *ws = sl_ref_ws_create();                  // NULL: reported
 *   float *refs = malloc(sl_refspec_n(rs) * len * 4 * sizeof(float));
 *   for each region:
 *       sl_ref_generate(rs, onehot, len, sl_region_seed(seed, r), r->index, label, refs, ws);
 *   sl_ref_ws_destroy(ws);
 *   sl_refspec_destroy(rs);
 */
#ifndef SEQLIFT_REFERENCE_H
#define SEQLIFT_REFERENCE_H

#include <stdint.h>

#include "seqlift/seqio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_REF_DEFAULT_SPEC "dinuc:20"
#define SL_REF_DEFAULT_SEED 1
#define SL_REF_MAX_K 16   /* largest K for kmer:K:N */
#define SL_REF_MAX_N 100000 /* largest N references per region */

typedef enum {
    SL_REF_SHUFFLE,    /* dinuc / kmer */
    SL_REF_GC,         /* gc:N, gc=F:N */
    SL_REF_BACKGROUND, /* background*:N */
    SL_REF_EXPECTED,   /* expected* */
    SL_REF_ZERO,       /* zero */
    SL_REF_FASTA       /* fasta:PATH[:K] */
} sl_ref_kind_t;

typedef struct sl_refspec_s sl_refspec_t;

/* Workspace: the scratch buffers of sl_ref_generate and sl_ref_kmer_shuffle, kept
 * between calls so that scoring many regions does not allocate per region. Buffers
 * grow on demand: the first call for a length allocates, later calls of equal or
 * smaller length allocate nothing. It holds no results and does not change them
 * (same output with any workspace, fresh or reused, or NULL). Not thread-safe: one
 * workspace per thread. The creator owns it: sl_ref_ws_destroy (NULL is a no-op).
 * sl_ref_ws_create returns NULL on error (reported). */
typedef struct sl_ref_ws_s sl_ref_ws_t;
sl_ref_ws_t *sl_ref_ws_create(void);
void sl_ref_ws_destroy(sl_ref_ws_t *ws);

/* Parse a spec (NULL or "" means SL_REF_DEFAULT_SPEC). Reads FILE / PATH now, so a
 * missing or malformed file is reported here. NULL on error (one line, reported).
 * The caller owns the result: sl_refspec_destroy. */
sl_refspec_t *sl_refspec_parse(const char *spec);
/* The same; on error *bad_spec (when not NULL) tells why: 1 the spec string itself is
 * wrong (bad usage: the CLI exits 2), 0 a file it names cannot be read or is malformed,
 * or no memory (exit 1). */
sl_refspec_t *sl_refspec_parse2(const char *spec, int *bad_spec);
void sl_refspec_destroy(sl_refspec_t *rs);

/* References per region (N, or K for fasta, 1 for expected/zero). */
int sl_refspec_n(const sl_refspec_t *rs);
sl_ref_kind_t sl_refspec_kind(const sl_refspec_t *rs);
/* Canonical spec string, e.g. "kmer:2:20" (owned by rs), for logs and metadata. */
const char *sl_refspec_str(const sl_refspec_t *rs);
/* 1 if the frequencies come from the data: call sl_refspec_observe on every input
 * region (its one-hot, in model order) before sl_refspec_finalize. Else 0. */
int sl_refspec_needs_fit(const sl_refspec_t *rs);

/* Fit step (not thread-safe; one call per input region, any order). onehot is
 * [len][4]; zero rows (N) are not counted. 0 / -1 (reported: length differs from
 * earlier regions for per-position kinds). */
int sl_refspec_observe(sl_refspec_t *rs, const float *onehot, int64_t len);
/* Call once before generating, with the number of regions that will be scored,
 * or -1 if not known yet (checks a fasta file's record count — with -1 only that it
 * is a multiple of K, the rest when generating; turns observed counts into
 * frequencies). 0 / -1 (reported). */
int sl_refspec_finalize(sl_refspec_t *rs, int64_t n_regions);

/* Write the region's sl_refspec_n(rs) references into out[n][len][4] (float32,
 * A,C,G,T). onehot is the region's input [len][4] in model order; region_index is
 * its 0-based input index (fasta kind); label names the region in error messages
 * (may be NULL). ws is the calling thread's workspace, or NULL for a temporary one
 * (allocated and freed in this call). Thread-safe with one ws per thread: rs is
 * read-only. 0 / -1 (reported: sequence shorter than K, length mismatch with a frequency
 * file or fasta record, region index beyond the fasta file, no memory). */
int sl_ref_generate(const sl_refspec_t *rs, const float *onehot, int64_t len,
                    uint64_t region_seed, int64_t region_index, const char *label,
                    float *out, sl_ref_ws_t *ws);

/* Seed of a region's generator from the global seed and the region's identity:
 * (chrom, start, end, strand) for genome regions, (name, index) for FASTA records
 * (chrom == NULL). Independent of thread, batch, shard and processing order. */
uint64_t sl_region_seed(uint64_t global_seed, const sl_region_t *r);

/* ---- lower level: the generator and the k-mer shuffle ---------------------- */

/* xoshiro256** (Blackman & Vigna), state filled from splitmix64(seed). */
typedef struct {
    uint64_t s[4];
} sl_rng_t;
void sl_rng_seed(sl_rng_t *rng, uint64_t seed);
uint64_t sl_rng_next(sl_rng_t *rng);
/* Uniform integer in [0, n), unbiased (Lemire's method); n >= 1. */
uint64_t sl_rng_below(sl_rng_t *rng, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double sl_rng_uniform(sl_rng_t *rng);

/* Base codes for the shuffles: 0..3 = A,C,G,T, 4 = N (anything else). */
#define SL_REF_CODE_N 4
/* One-hot rows [len][4] to codes (zero row: N). A row that is neither zero nor
 * one-hot: -1, reported naming label and position. */
int sl_ref_onehot_codes(const float *onehot, int64_t len, uint8_t *codes, const char *label);
/* Shuffle codes[0..len) into out (may not alias codes) preserving every k-mer count
 * of every ACGT run between N's, uniformly among the sequences with those counts
 * (Kandel et al. 1996 random last-edge arborescence; k = 1: Fisher-Yates). N codes
 * stay in place. ws: the thread's workspace, or NULL for a temporary one. 0 / -1
 * (reported: k out of 1..SL_REF_MAX_K, len < k, an ACGT run of 2^29 bp or more,
 * no memory). */
int sl_ref_kmer_shuffle(const uint8_t *codes, int64_t len, int k, sl_rng_t *rng, uint8_t *out,
                        sl_ref_ws_t *ws);

#ifdef __cplusplus
}
#endif

#endif
