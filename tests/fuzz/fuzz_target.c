/* fuzz_target.c — the --target spec parser (sl_targets_parse) on the test models, with
 * and without --post-activation, then the target weights on a forward pass. */
#include "fuzz_model.h"

static sl_net_t *nets[FZ_N_MODELS];
static sl_acts_t *acts[FZ_N_MODELS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_models_init();
    for (int i = 0; i < FZ_N_MODELS; i++) {
        nets[i] = sl_net_load_mem(fz_json[i], fz_json_len[i], fz_st[i], fz_st_len[i], fz_model_names[i]);
        if (!nets[i] || !(acts[i] = sl_acts_create(nets[i], 1))) exit(2);
        float *x = calloc((size_t)nets[i]->in_len * 4, sizeof(float));
        if (!x) exit(2);
        for (int p = 0; p < nets[i]->in_len; p++) x[p * 4 + p % 4] = 1.0f;
        sl_net_forward(nets[i], acts[i], x, 1);
        free(x);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *spec = fz_cstr(data + 1, size - 1);
    int i = data[0] % FZ_N_MODELS, post = (data[0] >> 1) & 1;
    sl_target_t *t = NULL;
    int n = 0;
    if (sl_targets_parse(nets[i], spec, post, &t, &n) == 0) {
        for (int k = 0; k < n; k++) {
            const sl_layer_t *L = &nets[i]->layers[t[k].layer];
            float *g = malloc(sl_layer_size(L) * sizeof(float));
            if (g) sl_target_weights(nets[i], &t[k], acts[i]->act[t[k].layer], g);
            free(g);
        }
        sl_targets_free(t, n);
    }
    free(spec);
    return 0;
}
