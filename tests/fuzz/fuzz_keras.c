/* fuzz_keras.c — the Keras 2 HDF5 reader (issue 14, the keras module): an HDF5 file
 * image through sl_keras_convert_mem, byte 0 selecting a full-model file (0) or a
 * save_weights file under the real architecture JSON of test_data/keras (1); what
 * converts is loaded and run like any model (fuzz_model.h); no HDF5 object may stay
 * open after an input (abort).
 * Until the keras module is in the tree (no seqlift/keras.h) this target does nothing;
 * its seeds: the .h5 files of test_data/keras (tests/fuzz/make_corpus.py). */
#include "fuzz_model.h"

#if defined(__has_include)
#if __has_include("seqlift/keras.h")
#define FZ_HAVE_KERAS 1
#include <hdf5.h>
#include <stdlib.h>

#include "seqlift/keras.h"
#endif
#endif

#ifdef FZ_HAVE_KERAS
static char *arch;
static size_t arch_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char p[512];
    arch = fz_slurp(fz_src(p, sizeof p, "test_data/keras/keras2_conv1d_record_5_model_PQzyq_modelJson.json"),
                    &arch_len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int weights_only = data[0] & 1;
    sl_keras_conv_t c = {0};
    if (sl_keras_convert_mem(data + 1, size - 1, weights_only ? arch : NULL, weights_only ? arch_len : 0,
                             NULL, "fuzz.h5", &c) == 0) {
        fz_load_and_run(c.json, c.json_len, c.st, c.st_len);
        sl_keras_conv_free(&c);
    }
    /* every HDF5 object the reader opened is closed again, on every path */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    return 0;
}
#endif
