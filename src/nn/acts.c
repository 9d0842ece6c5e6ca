/* acts.c — activation planning and the whole-network forward pass.
 *
 * Full activations give every layer its own [max_batch][len][ch] buffer (the
 * attribution engine reads them all). Outputs-only activations give dedicated buffers
 * to the input, the outputs and everything dense layers touch (those run over the
 * whole batch and need [n][size] blocks); every other layer gets a slot shared with
 * layers that are dead by the time it runs. Slots are strided per sequence, which is
 * safe because those layers run sequence by sequence (see sl_net_forward).
 */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

static sl_acts_t *acts_new(const sl_net_t *net, int max_batch, int n_blocks)
{
    int max_in = 1;
    sl_acts_t *a = sl_calloc(1, sizeof *a, "activations");
    sl_acts_priv_t *p = sl_calloc(1, sizeof *p, "activations");
    if (!a || !p) {
        free(a);
        free(p);
        return NULL;
    }
    a->net = net, a->max_batch = max_batch < 1 ? 1 : max_batch, a->priv = p;
    for (int l = 0; l < net->n_layers; l++) {
        size_t s = sl_nn_col_size(&net->layers[l]);
        if (s > p->col_size) p->col_size = s;
        s = sl_nn_pad_size(&net->layers[l]);
        if (s > p->pad_size) p->pad_size = s;
        if (net->layers[l].n_in > max_in) max_in = net->layers[l].n_in;
    }
    if (!(a->act = sl_calloc((size_t)net->n_layers, sizeof *a->act, "activations"))
        || !(p->stride = sl_calloc((size_t)net->n_layers, sizeof *p->stride, "activations"))
        || !(p->blocks = sl_calloc((size_t)n_blocks, sizeof *p->blocks, "activations"))
        || !(p->ins = sl_calloc((size_t)max_in, sizeof *p->ins, "activations"))
        || (p->col_size && !(p->col = sl_malloc(p->col_size * sizeof(float), "im2col scratch")))
        || (p->pad_size && !(p->pad = sl_malloc(p->pad_size * sizeof(float), "dense scratch")))) {
        sl_acts_destroy(a);
        return NULL;
    }
    p->n_blocks = n_blocks;
    return a;
}

sl_acts_t *sl_acts_create(const sl_net_t *net, int max_batch)
{
    sl_acts_t *a = acts_new(net, max_batch, net->n_layers);
    if (!a) return NULL;
    sl_acts_priv_t *p = a->priv;
    for (int l = 0; l < net->n_layers; l++) {
        p->stride[l] = sl_layer_size(&net->layers[l]);
        p->blocks[l] = a->act[l] = sl_malloc((size_t)a->max_batch * p->stride[l] * sizeof(float), "activations");
        if (!a->act[l]) {
            sl_acts_destroy(a);
            return NULL;
        }
    }
    return a;
}

sl_acts_t *sl_acts_create_outputs_only(const sl_net_t *net, int max_batch)
{
    int nl = net->n_layers, n_slots = 0;
    sl_acts_t *a = NULL;
    int *last = sl_malloc((size_t)nl * sizeof *last, "plan"), *dedicated = sl_calloc((size_t)nl, sizeof(int), "plan");
    int *slot_of = sl_malloc((size_t)nl * sizeof(int), "plan"), *occupant = sl_malloc((size_t)nl * sizeof(int), "plan");
    size_t *slot_size = sl_calloc((size_t)nl, sizeof *slot_size, "plan");
    if (!last || !dedicated || !slot_of || !occupant || !slot_size) goto done;
    for (int l = 0; l < nl; l++) last[l] = l;
    dedicated[0] = 1;
    for (int o = 0; o < net->n_outputs; o++) dedicated[net->output_layer[o]] = 1, last[net->output_layer[o]] = nl;
    for (int l = 1; l < nl; l++) {
        const sl_layer_t *L = &net->layers[l];
        if (L->op == SL_OP_DENSE) dedicated[l] = 1;
        for (int i = 0; i < L->n_in; i++) {
            if (last[L->in[i]] < l) last[L->in[i]] = l;
            if (L->op == SL_OP_DENSE) dedicated[L->in[i]] = 1;
        }
    }
    /* greedy: a free slot (occupant dead before l), the best-fitting one first */
    for (int l = 1; l < nl; l++) {
        slot_of[l] = -1;
        if (dedicated[l]) continue;
        size_t sz = sl_layer_size(&net->layers[l]);
        int best = -1;
        for (int s = 0; s < n_slots; s++) {
            if (last[occupant[s]] >= l) continue;
            if (best < 0 || (slot_size[s] >= sz && (slot_size[best] < sz || slot_size[s] < slot_size[best]))
                || (slot_size[best] < sz && slot_size[s] > slot_size[best]))
                best = s;
        }
        if (best < 0) best = n_slots++;
        occupant[best] = l, slot_of[l] = best;
        if (slot_size[best] < sz) slot_size[best] = sz;
    }
    int n_ded = 0;
    for (int l = 0; l < nl; l++) n_ded += dedicated[l];
    if (!(a = acts_new(net, max_batch, n_ded + n_slots))) goto done;
    sl_acts_priv_t *p = a->priv;
    int bi = 0;
    for (int s = 0; s < n_slots; s++)
        if (!(p->blocks[bi++] = sl_malloc((size_t)a->max_batch * slot_size[s] * sizeof(float), "activations")))
            goto fail;
    for (int l = 0; l < nl; l++) {
        if (dedicated[l]) {
            p->stride[l] = sl_layer_size(&net->layers[l]);
            if (!(p->blocks[bi++] = a->act[l] = sl_malloc((size_t)a->max_batch * p->stride[l] * sizeof(float),
                                                           "activations")))
                goto fail;
        } else {
            p->stride[l] = slot_size[slot_of[l]];
            a->act[l] = p->blocks[slot_of[l]];
        }
    }
    goto done;
fail:
    sl_acts_destroy(a);
    a = NULL;
done:
    free(last);
    free(dedicated);
    free(slot_of);
    free(occupant);
    free(slot_size);
    return a;
}

void sl_acts_destroy(sl_acts_t *a)
{
    if (!a) return;
    sl_acts_priv_t *p = a->priv;
    if (p) {
        for (int i = 0; i < p->n_blocks && p->blocks; i++) free(p->blocks[i]);
        free(p->blocks);
        free(p->col);
        free(p->pad);
        free(p->ins);
        free(p->stride);
    }
    free(a->act);
    free(p);
    free(a);
}

/* Runs of layers other than dense go sequence by sequence, so that one sequence's
 * activations stay in cache from layer to layer; dense layers take the whole batch
 * as one GEMM. */
int sl_net_forward(const sl_net_t *net, sl_acts_t *a, const float *x, int n)
{
    sl_acts_priv_t *p = a->priv;
    if (n < 0 || n > a->max_batch || a->net != net) {
        sl_log_error("%s: forward pass of %d sequences with activations planned for %d", net->path, n,
                     a->max_batch);
        return -1;
    }
    memcpy(a->act[0], x, (size_t)n * sl_layer_size(&net->layers[0]) * sizeof(float));
    for (int l = 1; l < net->n_layers;) {
        int e = l + 1;
        if (net->layers[l].op != SL_OP_DENSE)
            while (e < net->n_layers && net->layers[e].op != SL_OP_DENSE) e++;
        int per_seq = net->layers[l].op != SL_OP_DENSE;
        for (int b = 0; b < (per_seq ? n : 1); b++) {
            for (int k = l; k < e; k++) {
                const sl_layer_t *L = &net->layers[k];
                for (int i = 0; i < L->n_in; i++) p->ins[i] = a->act[L->in[i]] + (size_t)b * p->stride[L->in[i]];
                sl_layer_forward(net, k, p->ins, a->act[k] + (size_t)b * p->stride[k], per_seq ? 1 : n, a);
            }
        }
        l = e;
    }
    return 0;
}
