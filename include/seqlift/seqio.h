/* seqio.h — sequence input: FASTA (plain/gzip/bgzip, indexed), BED/narrowPeak,
 * regions resized to the model's input length, strand, one-hot encoding.
 *
 * Coordinates are 0-based, half-open, as in BED. Ownership is stated per function.
 * [The I/O module owns the rest of this header; sl_region_t is shared by every
 *  later stage (references seed from it, writers map scores back through it).]
 */
#ifndef SEQLIFT_SEQIO_H
#define SEQLIFT_SEQIO_H

#include <stdint.h>

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
    int64_t index;        /* 0-based position in input order */
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
/* The scored window of r (length r->end - r->start) into out, uppercase, reverse-
 * complemented for '-' strand, 'N' outside the contig. 0 / -1 (reported).
 * Thread-safe only with one sl_genome_t per thread (faidx is not). */
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
} sl_regions_t;

/* Read BED / narrowPeak (plain or gz) and resize to opts->width (summit-centred
 * for narrowPeak, else midpoint), checking contigs against g (may be NULL to skip
 * the contig check). The caller owns the list. NULL on error (reported with line). */
sl_regions_t *sl_regions_read_bed(const char *path, sl_genome_t *g, const sl_region_opts_t *opts);
/* Every record of a FASTA file (plain/gz) in order, as regions with their sequences;
 * width > 0 requires every record to have that length. */
sl_regions_t *sl_regions_read_fasta(const char *path, int64_t width);
void sl_regions_destroy(sl_regions_t *rl);

/* ---- one-hot --------------------------------------------------------------- */
/* seq[0..len) to out[len][4] (A,C,G,T). Lowercase is the same base; N and IUPAC
 * ambiguity codes give a zero row. Any other byte: -1 with the position in *bad_pos. */
int sl_onehot(const char *seq, int64_t len, float *out, int64_t *bad_pos);
/* Reverse complement in place. */
void sl_revcomp(char *seq, int64_t len);

#endif
