/* seqlets.h — seqlets: short stretches of significant contribution in one region.
 *
 * Method (recursive spans with a data-derived Laplace null):
 *  - x[p] is the projected contribution of base p (row sum of contrib[L][4]:
 *    sl_track_project() in track.h).
 *  - Null, fitted per region (so a region's seqlets never depend on other regions,
 *    shards or threads): for each length k in [min_len, max_len], the sums of all
 *    windows of length k are fitted with a Laplace distribution by robust estimates
 *    (location = median, scale = MAD / ln 2, as TF-MoDISco fits its Laplace null):
 *    the few windows on real signal hardly move these.
 *  - A span of length k with sum s has p = 0.5 exp(-(s - mu_k) / b_k) for positive
 *    seqlets (mirror image for negative ones). It is significant when p < threshold
 *    AND (k == min_len or both its sub-spans of length k-1 are significant), so every
 *    sub-span of length >= min_len is significant.
 *  - Seqlets: the significant spans taken greedily, longest first (then smallest p),
 *    not overlapping an accepted seqlet of either sign. Spans may touch both edges.
 *    Since any window holding one strong base is significant, a span can reach up to
 *    min_len - 1 bases into noise: its end bases are trimmed (down to min_len) while
 *    they are not significant on their own (Laplace null fitted to single bases);
 *    score and p-value are those of the trimmed span.
 * Options: --seqlet-threshold (0.01), --min-len (4), --max-len (25), --flank (5 bases
 * added each side, clipped at the region edges, for motif matching and drawing).
 * Because the Laplace tail is heavier than that of sums of light-tailed noise, the
 * realised false-positive rate on noise is below the nominal threshold.
 */
#ifndef SEQLIFT_SEQLETS_H
#define SEQLIFT_SEQLETS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double threshold;  /* span p-value threshold */
    int min_len, max_len;
    int flank;
} sl_seqlet_opts_t;

typedef struct {
    int start, end;    /* core span in model order, half-open (no flank) */
    int sign;          /* +1 positive contribution, -1 negative */
    double score;      /* summed contribution over the core (signed) */
    double pval;       /* span p-value under the region's null */
    int rank;          /* 1-based within the region, by |score| descending */
} sl_seqlet_t;

void sl_seqlet_opts_default(sl_seqlet_opts_t *o);
/* 0, or -1 with one error line naming the bad option. */
int sl_seqlet_opts_check(const sl_seqlet_opts_t *o);

/* Call seqlets on x[0..L). *out (malloc'd, caller frees; NULL when none) gets the
 * seqlets sorted by rank, *n their number. 0 / -1 (no memory, reported). */
int sl_seqlets_call(const float *x, int L, const sl_seqlet_opts_t *o, sl_seqlet_t **out, int *n);

/* Flanked span of s in a region of length L: [*fs, *fe). */
void sl_seqlet_flanked(const sl_seqlet_t *s, int L, int flank, int *fs, int *fe);

#ifdef __cplusplus
}
#endif

#endif
