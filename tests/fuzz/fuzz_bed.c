/* fuzz_bed.c — BED / narrowPeak reader (sl_regions_read_bed) against the test genome,
 * every --edge mode and width mode (keep intervals, resize, refuse resizing), then the
 * windows are fetched (padding with N off both contig ends).
 * Input: byte 0 selects the mode, the rest is the file. */
#include "fuzz_util.h"

#include "seqlift/seqio.h"

#define MAX_FETCH 4096

static sl_genome_t *genome;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char p[512];
    if (!(genome = sl_genome_open(fz_src(p, sizeof p, "test_data/genome.fa")))) exit(2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char bed[256], np[256];
    static const int64_t widths[] = {0, 1, 100, 1000};
    if (size < 1) return 0;
    if (!*bed) {
        fz_tmp_path(bed, sizeof bed, "bed", ".bed");
        fz_tmp_path(np, sizeof np, "bed", ".narrowPeak");
    }
    uint8_t m = data[0];
    const char *path = m & 0x40 ? np : bed;
    sl_region_opts_t o = {.width = widths[m & 3], .refuse_resize = (m >> 2) & 1,
                          .edge = (sl_edge_t)(((m >> 3) & 7) % 3)};
    fz_write(path, data + 1, size - 1);
    sl_regions_t *rl = sl_regions_read_bed(path, m & 0x80 ? NULL : genome, &o);
    if (rl) {
        static char seq[MAX_FETCH];
        static float oh[MAX_FETCH * 4];
        char lab[64];
        for (int64_t i = 0; i < rl->n && i < 64; i++) {
            const sl_region_t *r = &rl->r[i];
            sl_region_label(r, lab, sizeof lab);
            if (r->end - r->start <= MAX_FETCH) sl_regions_load(rl, i, genome, seq, oh);
        }
        sl_regions_destroy(rl);
    }
    remove(path);
    return 0;
}
