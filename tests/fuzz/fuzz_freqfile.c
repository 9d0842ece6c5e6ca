/* fuzz_freqfile.c — reference files: frequency files (text and JSON) through
 * expected:FILE and background:N:FILE, and reference FASTA through fasta:FILE[:K];
 * then generation for lengths 1, 4 and 24. Byte 0 picks the kind, the rest is FILE. */
#include "fuzz_util.h"

#include "seqlift/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    static const char *const kinds[] = {"expected:%s", "background:3:%s", "fasta:%s", "fasta:%s:2"};
    static const int lens[] = {1, 4, 24};
    if (size < 1) return 0;
    if (!*path) fz_tmp_path(path, sizeof path, "freq", ".txt");
    fz_write(path, data + 1, size - 1);
    char spec[300];
    snprintf(spec, sizeof spec, kinds[data[0] % 4], path);
    sl_refspec_t *rs = sl_refspec_parse(spec);
    if (rs && sl_refspec_finalize(rs, -1) == 0 && sl_refspec_n(rs) <= 8) {
        static float oh[24 * 4], out[8 * 24 * 4];
        for (int p = 0; p < 24; p++) oh[p * 4 + p % 4] = 1.0f;
        sl_region_t r = {.name = "s", .end = 24, .strand = '.', .summit = -1};
        for (int k = 0; k < 3; k++)
            for (int idx = 0; idx < 2; idx++)
                sl_ref_generate(rs, oh, lens[k], sl_region_seed(1, &r), idx, "s", out, NULL);
    }
    sl_refspec_destroy(rs);
    remove(path);
    return 0;
}
