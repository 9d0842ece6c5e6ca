/* fuzz_labels.c — labels made from user input: the per-target output file names
 * (sl_track_target_path: extension rules, '.gz', unsafe characters) and the region
 * label "chrom:start-end(strand)" written into buffers too small for it. The input is
 * "PATH\0LABEL" (no NUL: the whole input is the label, the path is "out.bedGraph.gz").
 * There is no region-label parser in seqlift; the Keras HDF5 reader (issue 14) gets its
 * own target, fuzz_keras.c, once it exists. */
#include "fuzz_util.h"

#include "seqlift/seqio.h"
#include "seqlift/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_cstr(data, size);
    const char *path = "out.bedGraph.gz", *label = s;
    size_t n = strlen(s);
    if (n < size) {
        path = s;
        label = s + n + 1;
    }
    for (int nt = 1; nt <= 2; nt++) free(sl_track_target_path(path, label, nt));
    sl_region_t r = {.chrom = (char *)label, .start = -5, .end = (int64_t)size, .strand = '-', .summit = -1};
    char buf[16];
    int len = sl_region_label(&r, buf, sizeof buf);
    char *full = malloc((size_t)len + 1);
    if (full) sl_region_label(&r, full, (size_t)len + 1);
    free(full);
    r.chrom = NULL;
    r.name = (char *)path;
    sl_region_label(&r, buf, sizeof buf);
    free(s);
    return 0;
}
