/* target.c — what is explained: an output (or one channel of it), on its logits,
 * as a linear functional Σ g·a of one layer's activation so that DeepLIFT's
 * summation-to-delta holds exactly for every target kind. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/attribution.h"
#include "seqlift/util.h"

void sl_targets_free(sl_target_t *t, int n)
{
    if (!t) return;
    for (int i = 0; i < n; i++) free(t[i].label);
    free(t);
}

static int parse_one(const sl_net_t *net, const char *item, int post_activation, sl_target_t *t)
{
    char *buf = sl_strdup(item), *sel = NULL;
    int ret = -1;
    if (!buf) return -1;
    int o = sl_net_find_output(net, buf);
    if (o < 0 && (sel = strrchr(buf, ':')) != NULL) {
        *sel++ = 0;
        o = sl_net_find_output(net, buf);
    }
    if (o < 0) { /* name the outputs there are (issue 16) */
        char names[512] = "";
        size_t k = 0;
        for (int i = 0; i < net->n_outputs && k < sizeof names; i++) {
            int n = snprintf(names + k, sizeof names - k, "%s%d '%s'", i ? ", " : "", i, net->output_names[i]);
            k = n < 0 ? sizeof names : k + (size_t)n;
        }
        if (k >= sizeof names) strcpy(names + sizeof names - 5, "...");
        sl_log_error("target '%s': no output named or numbered '%s' in %s (outputs: %s)", item, buf,
                     net->path ? net->path : "the model", names);
        goto fail;
    }
    t->output = o;
    t->layer = net->output_layer[o];
    t->kind = SL_TARGET_SUM;
    t->channel = -1;
    t->softmax = 0;
    const sl_layer_t *L = &net->layers[t->layer];
    if (L->op == SL_OP_SOFTMAX) {
        t->softmax = 1; /* mean-normalised logits, as the reference implementation */
        t->layer = L->in[0];
    } else if (L->op == SL_OP_SIGMOID && !post_activation) {
        t->layer = L->in[0]; /* logits: a saturated sigmoid would hide the signal */
    }
    L = &net->layers[t->layer];
    if (sel && strcmp(sel, "profile") == 0) {
        t->kind = SL_TARGET_PROFILE;
        t->softmax = 0;
    } else if (sel && strcmp(sel, "sum") == 0) {
        t->kind = SL_TARGET_SUM;
    } else if (sel) {
        long long k;
        if (sl_parse_long(sel, &k) < 0 || k < 0 || k >= L->ch) {
            sl_log_error("target '%s': '%s' is neither 'profile', 'sum' nor a channel in 0..%d of output '%s'",
                         item, sel, L->ch - 1, net->output_names[o]);
            goto fail;
        }
        t->kind = SL_TARGET_CHANNEL;
        t->channel = (int)k;
    }
    if (t->softmax && t->kind == SL_TARGET_SUM) {
        if (L->ch != 1) {
            sl_log_error("target '%s': softmax output '%s' needs a class, e.g. '%s:0' (the mean-normalised logits sum to 0)",
                         item, net->output_names[o], net->output_names[o]);
            goto fail;
        }
    }
    t->label = sl_strdup(item);
    if (!t->label) goto fail;
    ret = 0;
fail:
    free(buf);
    return ret;
}

int sl_targets_parse(const sl_net_t *net, const char *spec, int post_activation,
                     sl_target_t **out, int *n_out)
{
    sl_target_t *t = NULL;
    int n = 0;
    char *buf = sl_strdup(spec && *spec ? spec : "0"), *save = NULL;
    if (!buf) return -1;
    size_t m = 1;
    for (const char *p = buf; *p; p++) m += *p == ',';
    t = sl_calloc(m, sizeof(*t), "targets");
    if (!t) goto fail;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (parse_one(net, tok, post_activation, &t[n]) < 0) goto fail;
        n++;
    }
    if (n == 0) {
        sl_log_error("target '%s': no target given", spec);
        goto fail;
    }
    free(buf);
    *out = t;
    *n_out = n;
    return 0;
fail:
    free(buf);
    sl_targets_free(t, n);
    return -1;
}

void sl_target_weights(const sl_net_t *net, const sl_target_t *t, const float *act_x, float *g)
{
    const sl_layer_t *L = &net->layers[t->layer];
    size_t n = sl_layer_size(L);
    int C = L->ch;
    if (t->kind == SL_TARGET_PROFILE) {
        /* softmax over every value of the head, taken on the input and held constant
         * (bpnet-lite / chrombpnet); with Σw = 1, Σ w(z − mean z) has gradient w − 1/N */
        double mx = -INFINITY, s = 0;
        for (size_t i = 0; i < n; i++) mx = act_x[i] > mx ? act_x[i] : mx;
        for (size_t i = 0; i < n; i++) s += exp(act_x[i] - mx);
        for (size_t i = 0; i < n; i++) g[i] = (float)(exp(act_x[i] - mx) / s - 1.0 / (double)n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)C);
        float v = t->kind == SL_TARGET_CHANNEL ? (c == t->channel) : 1.0f;
        if (t->softmax) v -= 1.0f / (float)C;
        g[i] = v;
    }
}
