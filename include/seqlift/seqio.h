/* seqio.h — sequence input: FASTA (plain/gzip/bgzip, indexed), BED/narrowPeak,
 * regions resized to the model's input length, strand, one-hot encoding.
 *
 * Coordinates are 0-based, half-open, as in BED. Ownership is stated per function.
 * [The I/O module owns the rest of this header; sl_region_t is shared by every
 *  later stage (references seed from it, writers map scores back through it).]
 *
 * Resizing rule (opts->width = W > 0): the centre base is c = bed_start + summit for
 * a narrowPeak with a summit (column 10 != -1), else c = bed_start + floor(len / 2);
 * the window is [c - floor(W / 2), c - floor(W / 2) + W). A region whose length is
 * already W keeps its coordinates. Centring is in genome coordinates, whatever the
 * strand.
 */
#ifndef SEQLIFT_SEQIO_H
#define SEQLIFT_SEQIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One scored window. For genome regions chrom/start/end are the window actually
 * scored (after resizing; may run past a contig end only when padded with N).
 * For FASTA records chrom is NULL, name is the record name and start = 0. */
typedef struct {
    char *chrom;          /* contig name, or NULL for a FASTA record (owned by the list) */
    int64_t start, end;   /* scored window, 0-based half-open */
    int64_t bed_start, bed_end; /* the interval as given in the input */
    char strand;          /* '+', '-' or '.'; '-' means the reverse complement is scored */
    char *name;           /* BED name / FASTA record name, or NULL (owned by the list) */
    int64_t line;         /* 1-based line in the BED file (record index for FASTA) */
    int64_t index;        /* 0-based position in the list (input order, skipped regions removed) */
    int64_t summit;       /* narrowPeak summit as a genome position, or -1 */
} sl_region_t;

/* Position p (0-based within the scored window, in model/sequence order) of region r
 * lies on genome base sl_region_genome_pos(r, p): reverse-strand windows run backwards. */
static inline int64_t sl_region_genome_pos(const sl_region_t *r, int64_t p)
{
    return r->strand == '-' ? r->end - 1 - p : r->start + p;
}

/* One-hot layout: [position][A,C,G,T] float32, row-major. */
#define SL_ALPHABET "ACGT"
#define SL_NBASES 4


/* ---- genome (indexed FASTA through htslib faidx) ---------------------------- */
typedef struct sl_genome_s sl_genome_t;
/* Open an indexed FASTA (plain or bgzip); builds the .fai (.gzi) when missing and
 * the directory is writable. NULL on error (reported, with the fix). */
sl_genome_t *sl_genome_open(const char *path);
void sl_genome_close(sl_genome_t *g);
int sl_genome_n_contigs(const sl_genome_t *g);
const char *sl_genome_contig_name(const sl_genome_t *g, int i); /* in .fai order */
int64_t sl_genome_contig_len(const sl_genome_t *g, const char *chrom); /* -1 if unknown */
/* The scored window of r (length r->end - r->start; no NUL added) into out, in the
 * case of the file (soft-masking kept, as bedtools getfasta does), reverse-
 * complemented for '-' strand (IUPAC codes complemented too), 'N' outside the
 * contig. 0 / -1 (reported). Thread-safe only with one sl_genome_t per thread
 * (faidx is not). */
int sl_genome_fetch(sl_genome_t *g, const sl_region_t *r, char *out);

/* ---- region lists ------------------------------------------------------------ */
typedef enum { SL_EDGE_PAD, SL_EDGE_SKIP, SL_EDGE_ERROR } sl_edge_t;
typedef struct {
    int64_t width;     /* model input length; 0 keeps the BED intervals as they are */
    int refuse_resize; /* 1: a region whose length != width is an error */
    sl_edge_t edge;    /* windows running off a contig end */
} sl_region_opts_t;

typedef struct {
    sl_region_t *r;    /* regions in input order */
    int64_t n, m;
    char **seqs;       /* FASTA mode: sequence of each record (uppercase), else NULL */
    void *priv;        /* string storage */
    char *path;        /* the input file, for messages (owned by the list) */
} sl_regions_t;

/* Read BED / narrowPeak (plain or gz; "-" is stdin) and resize to opts->width
 * (summit-centred for narrowPeak, else midpoint; see the rule above), checking
 * contigs against g (may be NULL to skip the contig check; then only windows
 * starting before 0 count as running off an end). opts NULL: keep intervals, pad.
 * `track`, `browser`, `#` and blank lines are skipped. A file is narrowPeak when its
 * name ends in .narrowPeak[.gz] or a line has exactly 10 columns. Name "." is NULL.
 * SL_EDGE_SKIP drops a window running off a contig with a warning naming the line.
 * The caller owns the list. NULL on error (one line: FILE:LINE: what). */
sl_regions_t *sl_regions_read_bed(const char *path, sl_genome_t *g, const sl_region_opts_t *opts);
/* Every record of a FASTA file (plain/gz) in order, as regions with their sequences
 * (uppercased); width > 0 requires every record to have that length. The name is
 * the first word of the header; line is the 1-based record number, strand '.'.
 * Errors (NULL, reported with FILE:LINE): sequence before the first header, empty
 * header name, empty record, duplicate name, a byte that is not a base letter
 * (ACGT, N or an IUPAC code, any case; whitespace inside lines is ignored), no record. */
sl_regions_t *sl_regions_read_fasta(const char *path, int64_t width);
void sl_regions_destroy(sl_regions_t *rl);

/* Set r->start/end from r->bed_start/bed_end/summit for width (0 keeps the
 * interval), by the resizing rule above. */
void sl_region_resize(sl_region_t *r, int64_t width);
/* Header label as `bedtools getfasta -s` writes it: "chrom:start-end(strand)",
 * or the record name for FASTA records. Returns snprintf's length. */
int sl_region_label(const sl_region_t *r, char *buf, size_t size);

/* Longest window of the list (for sizing buffers); 0 for an empty list. */
int64_t sl_regions_max_len(const sl_regions_t *rl);
/* The sequence the model sees for region i, into seq (length r->end - r->start, no
 * NUL): the FASTA record, or fetched from g (may be NULL for FASTA lists); and, when
 * onehot is not NULL, its one-hot encoding into onehot[len][4]. A byte that is not a
 * base is reported naming the region, its input line and the position. 0 / -1. */
int sl_regions_load(const sl_regions_t *rl, int64_t i, sl_genome_t *g, char *seq, float *onehot);

/* ---- one-hot --------------------------------------------------------------- */
/* seq[0..len) to out[len][4] (A,C,G,T). Lowercase is the same base; N and IUPAC
 * ambiguity codes give a zero row. Any other byte: -1 with the position in *bad_pos. */
int sl_onehot(const char *seq, int64_t len, float *out, int64_t *bad_pos);
/* Reverse complement in place, keeping case; IUPAC codes are complemented
 * (R<->Y, K<->M, B<->V, D<->H; S, W, N unchanged); other bytes are kept. */
void sl_revcomp(char *seq, int64_t len);

#ifdef __cplusplus
}
#endif

#endif
