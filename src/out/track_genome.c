/* track_genome.c — sl_track_open_genome: contigs from an open genome's .fai.
 * Kept apart from track.c so the writer links without the I/O module. */
#include <stdlib.h>

#include "seqlift/track.h"
#include "seqlift/util.h"

sl_track_t *sl_track_open_genome(const char *bedgraph, const char *bigwig,
                                 const sl_genome_t *g, const sl_track_opts_t *opts)
{
    int n = sl_genome_n_contigs(g);
    const char **names = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof(*names), "contig names");
    int64_t *sizes = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof(*sizes), "contig sizes");
    sl_track_t *w = NULL;
    if (names && sizes) {
        for (int i = 0; i < n; i++) {
            names[i] = sl_genome_contig_name(g, i);
            sizes[i] = sl_genome_contig_len(g, names[i]);
        }
        w = sl_track_open(bedgraph, bigwig, n, names, sizes, opts);
    }
    free(names);
    free(sizes);
    return w;
}
