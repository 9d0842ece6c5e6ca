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

#endif
