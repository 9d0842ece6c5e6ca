/* fuzz_npz.c — the .npz reader (sl_npz_read): ZIP local/central headers, ZIP64,
 * stored and deflated entries, the .npy header. Byte 0 picks the array name asked for. */
#include "fuzz_util.h"

#include "seqlift/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    static const char *const names[] = {NULL, "arr_0", "arr_0.npy", "x"};
    if (size < 1) return 0;
    if (!*path) fz_tmp_path(path, sizeof path, "npz", ".npz");
    fz_write(path, data + 1, size - 1);
    int nd;
    int64_t sh[SL_NPZ_MAX_DIM];
    float *d = NULL;
    if (sl_npz_read(path, names[data[0] % 4], &nd, sh, &d) == 0) free(d);
    remove(path);
    return 0;
}
