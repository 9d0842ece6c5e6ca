/* io_internal.h — helpers shared by the files of the I/O module (not public). */
#ifndef SEQLIFT_IO_INTERNAL_H
#define SEQLIFT_IO_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "seqlift/seqio.h"

/* Base class of a byte: 0..3 for A,C,G,T (any case), SL_BASE_AMBIG for N and
 * IUPAC ambiguity codes, SL_BASE_BAD for anything else. */
#define SL_BASE_AMBIG 4
#define SL_BASE_BAD 5
extern const uint8_t sl_io_base_class[256];

/* An empty list read from path; priv interns contig names. NULL on error (reported). */
sl_regions_t *sl_io_regions_new(const char *path);
/* Append a zeroed region (index set); NULL on error (reported). */
sl_region_t *sl_io_regions_push(sl_regions_t *rl);
/* A copy of s[0..n) (NUL added) in the list's arena, freed with the list: names and
 * FASTA sequences, with no allocation per region. NULL on error (reported). */
char *sl_io_regions_strdup(sl_regions_t *rl, const char *s, size_t n);
/* The list's own copy of a contig name (shared by all its regions); NULL on error. */
char *sl_io_regions_intern(sl_regions_t *rl, const char *chrom);

/* A field as quoted in an error line: at most SL_IO_QUOTE_MAX bytes of it and "...",
 * so that a 20 MB field (a binary file, a missing newline) still gives a readable line. */
#define SL_IO_QUOTE_MAX 40
typedef struct {
    char s[SL_IO_QUOTE_MAX + 4];
} sl_io_quote_t;
static inline sl_io_quote_t sl_io_quote(const char *f)
{
    sl_io_quote_t q;
    snprintf(q.s, sizeof q.s, "%.*s%s", SL_IO_QUOTE_MAX, f, strlen(f) > SL_IO_QUOTE_MAX ? "..." : "");
    return q;
}

#endif
