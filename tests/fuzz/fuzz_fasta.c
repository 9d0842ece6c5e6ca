/* fuzz_fasta.c — the FASTA readers: every record of a file (sl_regions_read_fasta, `-s`)
 * with each width mode, and an indexed genome (sl_genome_open builds the .fai, then
 * sl_genome_fetch reads windows running off both contig ends, both strands).
 * Input: byte 0 selects the mode, the rest is the file. */
#include "fuzz_util.h"

#include "seqlift/seqio.h"

#define MAX_FETCH 4096

static void read_records(const char *path, int64_t width)
{
    sl_regions_t *rl = sl_regions_read_fasta(path, width);
    if (!rl) return;
    int64_t L = sl_regions_max_len(rl);
    char *seq = malloc((size_t)L + 1);
    float *oh = malloc(((size_t)L + 1) * 4 * sizeof(float));
    for (int64_t i = 0; seq && oh && i < rl->n && i < 64; i++) sl_regions_load(rl, i, NULL, seq, oh);
    free(seq);
    free(oh);
    sl_regions_destroy(rl);
}

static void read_genome(const char *path)
{
    char fai[512];
    snprintf(fai, sizeof fai, "%s.fai", path);
    remove(fai);
    sl_genome_t *g = sl_genome_open(path);
    if (g) {
        static char seq[MAX_FETCH + 16];
        int n = sl_genome_n_contigs(g);
        for (int i = 0; i < n && i < 16; i++) {
            sl_region_t r = {.summit = -1};
            r.chrom = (char *)sl_genome_contig_name(g, i);
            int64_t len = sl_genome_contig_len(g, r.chrom);
            if (len < 0 || len > MAX_FETCH) continue;
            r.start = -3;
            r.end = len + 3;
            r.strand = i & 1 ? '-' : '+';
            sl_genome_fetch(g, &r, seq);
        }
        sl_genome_close(g);
    }
    remove(fai);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (size < 1) return 0;
    if (!*path) fz_tmp_path(path, sizeof path, "fasta", ".fa");
    fz_write(path, data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: read_records(path, 0); break;
    case 1: read_records(path, 8); break;
    case 2: read_records(path, 100); break;
    default: read_genome(path); break;
    }
    remove(path);
    return 0;
}
