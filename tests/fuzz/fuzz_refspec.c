/* fuzz_refspec.c — the --refs spec parser (sl_refspec_parse), then fit, finalize and
 * generation for a short sequence with N's. Specs naming a path are given only
 * relative names (no '/'): the fuzzer must not open devices. */
#include "fuzz_util.h"

#include "seqlift/reference.h"

#define LEN 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '/', size)) return 0;
    char *spec = fz_cstr(data, size);
    sl_refspec_t *rs = sl_refspec_parse(spec);
    if (rs) {
        static float oh[LEN * 4], out[64 * LEN * 4];
        for (int p = 0; p < LEN; p++) oh[p * 4 + (p * 5) % 4] = p % 7 == 3 ? 0.0f : 1.0f;
        if (sl_refspec_needs_fit(rs)) sl_refspec_observe(rs, oh, LEN);
        sl_region_t r = {.chrom = "chr1", .start = 10, .end = 10 + LEN, .strand = '+', .summit = -1};
        if (sl_refspec_finalize(rs, 1) == 0 && sl_refspec_n(rs) <= 64)
            sl_ref_generate(rs, oh, LEN, sl_region_seed(1, &r), 0, "chr1:10-34", out, NULL);
        sl_refspec_str(rs);
        sl_refspec_destroy(rs);
    }
    free(spec);
    return 0;
}
