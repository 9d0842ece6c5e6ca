/* fuzz_safetensors.c — the safetensors header and data (sl_net_load_mem) with the
 * valid graph JSON of a test model (byte 0 picks which), then a forward pass when it
 * loads (NaN/Inf weights, odd dtypes). */
#include "fuzz_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_models_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int i = data[0] % FZ_N_MODELS;
    fz_load_and_run(fz_json[i], fz_json_len[i], data + 1, size - 1);
    return 0;
}
