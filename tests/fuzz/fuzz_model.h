/* fuzz_model.h — shared by the model targets: the fixed valid counterparts and a
 * forward pass on whatever loads, so that a graph the loader accepts but the engine
 * cannot run (shapes that do not chain) is found too. */
#ifndef SEQLIFT_FUZZ_MODEL_H
#define SEQLIFT_FUZZ_MODEL_H

#include "fuzz_util.h"

#include "seqlift/attribution.h"
#include "seqlift/model.h"

/* The valid models of test_data: tiny (100 bp CNN) and the demo model. */
#define FZ_N_MODELS 2
static const char *const fz_model_names[FZ_N_MODELS] = {"test_data/models/tiny",
                                                        "test_data/demo/model"};
static char *fz_json[FZ_N_MODELS], *fz_st[FZ_N_MODELS];
static size_t fz_json_len[FZ_N_MODELS], fz_st_len[FZ_N_MODELS];

static inline void fz_models_init(void)
{
    char p[512], rel[256];
    for (int i = 0; i < FZ_N_MODELS; i++) {
        snprintf(rel, sizeof rel, "%s.json", fz_model_names[i]);
        fz_json[i] = fz_slurp(fz_src(p, sizeof p, rel), &fz_json_len[i]);
        snprintf(rel, sizeof rel, "%s.safetensors", fz_model_names[i]);
        fz_st[i] = fz_slurp(fz_src(p, sizeof p, rel), &fz_st_len[i]);
    }
}

/* Load, then (when small enough to be quick) plan its attribution and run one forward
 * pass of an all-A and a partly N input. */
static inline void fz_load_and_run(const char *json, size_t jl, const void *st, size_t sl)
{
    sl_net_t *net = sl_net_load_mem(json, jl, st, sl, "fuzz");
    if (!net) return;
    size_t total = 0;
    for (int l = 0; l < net->n_layers; l++) total += sl_layer_size(&net->layers[l]);
    if (total <= ((size_t)1 << 20) && net->in_len <= 1 << 16) {
        sl_target_t *tg = NULL; /* the attribution plan of output 0 (sign-split weights) */
        int nt = 0;
        if (sl_targets_parse(net, NULL, 0, &tg, &nt) == 0) {
            sl_attr_opts_t o;
            sl_attr_opts_default(&o);
            sl_attr_plan_destroy(sl_attr_plan_create(net, tg, nt, &o));
            sl_targets_free(tg, nt);
        }
        sl_acts_t *a = sl_acts_create(net, 2);
        float *x = calloc((size_t)net->in_len * 4 * 2, sizeof(float));
        if (a && x) {
            for (int p = 0; p < net->in_len; p++) x[p * 4] = 1.0f;
            for (int p = 0; p < net->in_len; p += 2) x[(net->in_len + p) * 4 + p % 4] = 1.0f;
            sl_net_forward(net, a, x, 2);
        }
        free(x);
        sl_acts_destroy(a);
    }
    sl_net_destroy(net);
}

#endif
