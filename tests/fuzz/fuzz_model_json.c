/* fuzz_model_json.c — the model graph JSON (sl_net_load_mem) with the valid
 * safetensors of each test model, then a forward pass when it loads. */
#include "fuzz_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_models_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int i = 0; i < FZ_N_MODELS; i++) fz_load_and_run((const char *)data, size, fz_st[i], fz_st_len[i]);
    return 0;
}
