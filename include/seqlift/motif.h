/* motif.h — motif databases (MEME minimal format), seqlet-to-motif matching
 * (TOMTOM-like) and motif scanning of sequences (FIMO-like).
 *
 * Matrices are [w][4] doubles in A,C,G,T order, row-major. A database owns its
 * motifs and strings; sl_motif_db_destroy() frees everything.
 */
#ifndef SEQLIFT_MOTIF_H
#define SEQLIFT_MOTIF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *id;          /* MOTIF identifier (required) */
    char *name;        /* alternate name, or NULL */
    char *url;         /* URL line, or NULL */
    int w;             /* width (rows) */
    double *p;         /* [w][4] letter probabilities, each row sums to 1 */
    double nsites;     /* from nsites=, or 20 (MEME's default) when absent */
    double evalue;     /* from E= (0 when below the double range), or 0 */
    int64_t line;      /* line of the MOTIF header in the file */
} sl_motif_t;

typedef struct {
    sl_motif_t *m;     /* motifs in file order */
    int n;
    double bg[4];      /* background letter frequencies (uniform when absent) */
    int both_strands;  /* "strands: + -" (1, the default) or "strands: +" (0) */
    char *path;        /* file name used in messages */
} sl_motif_db_t;

/* Parse a MEME minimal-format file (plain or gzip). Tolerates: any "MEME version",
 * blank lines, CRLF, URL lines, missing w= (rows read until a non-row line), extra
 * key=value pairs, a "log-odds matrix:" section (skipped), a custom ALPHABET block
 * whose core letters are A,C,G,T, and rows whose sum differs from 1 by at most 0.02
 * (normalised). Everything else is an error: one line "file:line: what is wrong".
 * NULL on error. The caller owns the result. */
sl_motif_db_t *sl_motif_db_read(const char *path);
/* The same on an in-memory text (name is used in messages). */
sl_motif_db_t *sl_motif_db_parse(const char *text, size_t len, const char *name);
void sl_motif_db_destroy(sl_motif_db_t *db);
/* Index of motif id (or name) in db, -1 if absent. */
int sl_motif_db_find(const sl_motif_db_t *db, const char *id);
/* Reverse complement of a [w][4] matrix into out[w][4] (may not alias). */
void sl_motif_revcomp(const double *p, int w, double *out);

/* ---- matching (TOMTOM-like) --------------------------------------------------
 * The query is a [n][4] matrix (a seqlet's hypothetical contributions times its
 * sign, see sl_match_query_from_scores) with per-column weights w_i. For every motif,
 * strand and offset with at least min_overlap aligned columns, the score is
 * sum_i w_i * PCC(q_i, p_j) over aligned columns (PCC: Pearson correlation of the
 * 4 values), each term rounded to 1/50. Null (TOMTOM's): each query column's score
 * against the pool of all database columns (both strands; topped up with fixed
 * pseudo-random Dirichlet(0.5) columns to at least 1000; an even sample of 4096 of
 * them for large databases), columns independent, the
 * distribution of the sum computed exactly by convolution. The sum runs over ALL
 * query columns, unaligned ones scoring 0: a motif must explain the seqlet's strong
 * columns, not a corner of it (conservative for partial overlaps). The best
 * alignment's p-value is corrected for the alignments tried (1 - (1 - p)^n);
 * E = p * number of motifs. */
typedef struct sl_matcher_s sl_matcher_t;

typedef struct {
    int motif;         /* index into the database */
    char strand;       /* '+' motif as given, '-' its reverse complement */
    int offset;        /* query column aligned with motif column 0 (may be < 0) */
    int overlap;       /* aligned columns */
    double score;      /* weighted PCC sum */
    double pval;       /* offset-corrected p-value */
    double evalue;     /* pval * number of motifs */
} sl_match_t;

/* db is borrowed and must outlive the matcher. NULL on error (reported). */
sl_matcher_t *sl_matcher_create(const sl_motif_db_t *db, int min_overlap);
void sl_matcher_destroy(sl_matcher_t *mt);
/* Query q[n][4] with weights wt[n] in [0, 1] (NULL = all 1). Writes the best `top`
 * matches, sorted by p-value, into out[0..top) and returns how many (<= top, <= db->n),
 * or -1 (no memory or a weight outside [0, 1], reported). Thread-safe (the matcher is read-only after creation). */
int sl_matcher_match(const sl_matcher_t *mt, const double *q, const double *wt, int n,
                     int top, sl_match_t *out);

/* Query for the seqlet span [start, end) of a region of length L: rows from the
 * hypothetical contributions hyp[L][4] (or, when hyp is NULL, contrib[L][4] summed
 * per row and placed on the observed base of ohe[L][4]), multiplied by sign (+1/-1).
 * Column weight = the row's largest |value| divided by the largest over the span.
 * Non-finite values count as 0. q[(end-start)][4] and wt[end-start] are written by
 * the caller's buffers. */
void sl_match_query_from_scores(const float *ohe, const float *contrib, const float *hyp,
                                int start, int end, int sign, double *q, double *wt);

/* ---- scanning (FIMO-like) ------------------------------------------------------
 * Log-odds PWM log2(p' / bg) with FIMO's motif pseudocount 0.1:
 * p' = (p * nsites + 0.1 * bg) / (nsites + 0.1); scores rounded to 1/SL_SCAN_SCALE
 * bits. The p-value of a score is exact for that integer PWM: the distribution of
 * the sum over i.i.d. background bases is computed by dynamic programming; only its
 * tail up to SL_SCAN_PMAX is kept (memory), larger p-values are returned as 1.
 * Rows that are not one base (N: all zero, or max < 0.5) make a window unscorable.
 * Both strands when db->both_strands. */
#define SL_SCAN_SCALE 100
#define SL_SCAN_PMAX 0.1
typedef struct sl_scanner_s sl_scanner_t;

typedef struct {
    int motif;
    int start, end;    /* window in model order, half-open */
    char strand;       /* '+' or '-' (relative to the scored sequence) */
    double score;      /* log-odds bits */
    double pval;
} sl_hit_t;

/* db is borrowed and must outlive the scanner. NULL on error (reported): no memory, or
 * a motif whose log-odds scores are too extreme (background frequency near 0, huge
 * nsites=) for the exact p-value table. */
sl_scanner_t *sl_scanner_create(const sl_motif_db_t *db);
void sl_scanner_destroy(sl_scanner_t *sc);
/* p-value of integer score s (in 1/SL_SCAN_SCALE bits) of motif k on strand '+'/'-'. */
double sl_scanner_pvalue(const sl_scanner_t *sc, int k, char strand, int s);
/* Scan one-hot ohe[L][4]; hits with p <= pthresh are appended to *hits (realloc'd,
 * *n and *m updated). Returns the number of hits added, or -1 (no memory). */
int sl_scanner_scan(const sl_scanner_t *sc, const float *ohe, int L, double pthresh,
                    sl_hit_t **hits, int *n, int *m);

#ifdef __cplusplus
}
#endif

#endif
