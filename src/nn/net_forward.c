/* net_forward.c — activation planning and the whole-network forward pass.
 *
 * Full activations give every layer its own [max_batch][len][ch] buffer (the
 * attribution engine reads them all). Outputs-only activations give dedicated buffers
 * to the input, the outputs and everything batch-wide (dense) layers touch (those run
 * over the whole batch and need [n][size] blocks); every other layer gets a slot shared with
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

/* A crop that is not kept is a view: its act[] points into its producer's buffer at the
 * first kept position (same per-sequence stride), and its forward copies nothing. */
static int is_view(const sl_net_t *net, int l, const char *kept)
{
    return net->layers[l].op == SL_OP_CROP && !kept[l];
}

/* Activations through the liveness planner: a layer lives from its own step to its
 * last consumer's; kept layers (keep_all, keep[l] or without keep the outputs, the input,
 * and everything a batch-wide layer touches) live throughout and so get a buffer of their
 * own. A view's consumers keep the buffer it points into alive. Layers no kept layer
 * depends on are not computed (act[] NULL). */
static sl_acts_t *acts_plan(const sl_net_t *net, int max_batch, int keep_all, const char *keep)
{
    int nl = net->n_layers, end = nl, n_slots = -1;
    sl_acts_t *a = NULL;
    int *first = sl_malloc((size_t)nl * sizeof(int), "plan"), *last = sl_malloc((size_t)nl * sizeof(int), "plan");
    int *slot = sl_malloc((size_t)nl * sizeof(int), "plan"), *root = sl_malloc((size_t)nl * sizeof(int), "plan");
    size_t *size = sl_malloc((size_t)nl * sizeof(size_t), "plan"), *slot_size = sl_malloc((size_t)nl * sizeof(size_t), "plan");
    char *kept = sl_calloc((size_t)nl, 1, "plan"), *used = sl_calloc((size_t)nl, 1, "plan");
    if (!first || !last || !slot || !root || !size || !slot_size || !kept || !used) goto done;
    kept[0] = 1;
    for (int l = 1; l < nl; l++) kept[l] = keep_all || (keep && keep[l]);
    for (int o = 0; !keep && o < net->n_outputs; o++) kept[net->output_layer[o]] = 1;
    for (int l = nl - 1; l >= 0; l--) {
        const sl_layer_t *L = &net->layers[l];
        used[l] |= kept[l];
        for (int i = 0; used[l] && i < L->n_in; i++) used[L->in[i]] = 1;
    }
    for (int l = 1; l < nl; l++) {
        const sl_layer_t *L = &net->layers[l];
        if (!used[l] || !(sl_ops[L->op].flags & SL_OPF_BATCHWIDE)) continue;
        kept[l] = 1;
        for (int i = 0; i < L->n_in; i++) kept[L->in[i]] = 1;
    }
    for (int l = 0; l < nl; l++) {
        first[l] = last[l] = l, size[l] = sl_layer_size(&net->layers[l]);
        root[l] = l > 0 && is_view(net, l, kept) ? root[net->layers[l].in[0]] : l;
        if (kept[l]) first[l] = 0, last[l] = end;
    }
    if (!(a = acts_new(net, max_batch, nl))) goto done;
    sl_acts_priv_t *p = a->priv;
    if (!(p->skip = sl_calloc((size_t)nl, 1, "activations")) || !(p->relu_in = sl_calloc((size_t)nl, 1, "activations")))
        goto fail;
    for (int l = 1; l < nl; l++) { /* a ReLU read only by a two-input add is applied inside it */
        int c = -1, uses = 0;
        for (int j = l + 1; j < nl; j++)
            for (int i = 0; used[j] && i < net->layers[j].n_in; i++)
                if (net->layers[j].in[i] == l) uses++, c = j;
        if (net->layers[l].op != SL_OP_RELU || !used[l] || kept[l] || uses != 1 || net->layers[c].op != SL_OP_ADD ||
            net->layers[c].n_in != 2)
            continue;
        p->skip[l] = 2;
        p->relu_in[c] |= net->layers[c].in[0] == l ? 1 : 2;
        root[l] = root[net->layers[l].in[0]]; /* for liveness: the add reads the ReLU's input */
    }
    for (int l = 1; l < nl; l++) {
        const sl_layer_t *L = &net->layers[l];
        for (int i = 0; used[l] && i < L->n_in; i++) {
            int r = root[L->in[i]];
            if (last[r] < l) last[r] = l;
        }
    }
    for (int l = 1; l < nl; l++)
        if (root[l] != l || !used[l]) first[l] = -1; /* a view, fused or not needed: no buffer */
    if ((n_slots = sl_nn_plan_slots(nl, first, last, size, slot, slot_size)) < 0) goto fail;
    p->n_blocks = n_slots;
    for (int s = 0; s < n_slots; s++)
        if (!(p->blocks[s] = sl_malloc((size_t)a->max_batch * slot_size[s] * sizeof(float), "activations")))
            goto fail;
    /* a kept layer has a slot of exactly its size: [n][size] blocks */
    for (int l = 0; l < nl; l++) {
        if (!used[l] || p->skip[l]) { /* not computed (act NULL) */
            p->skip[l] = 1;
            continue;
        }
        if (root[l] == l) {
            p->stride[l] = slot_size[slot[l]], a->act[l] = p->blocks[slot[l]];
            continue;
        }
        const sl_layer_t *L = &net->layers[l];
        p->skip[l] = 1;
        p->stride[l] = p->stride[L->in[0]];
        a->act[l] = a->act[L->in[0]] + (size_t)L->crop_start * L->ch;
    }
    goto done;
fail:
    sl_acts_destroy(a);
    a = NULL;
done:
    free(first);
    free(last);
    free(slot);
    free(root);
    free(size);
    free(slot_size);
    free(kept);
    free(used);
    return a;
}

sl_acts_t *sl_acts_create(const sl_net_t *net, int max_batch) { return acts_plan(net, max_batch, 1, NULL); }

sl_acts_t *sl_acts_create_outputs_only(const sl_net_t *net, int max_batch) { return acts_plan(net, max_batch, 0, NULL); }

sl_acts_t *sl_acts_create_keep(const sl_net_t *net, int max_batch, const char *keep)
{
    return acts_plan(net, max_batch, 0, keep);
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
        free(p->skip);
        free(p->relu_in);
        sl_nn_wts_free(&p->wt);
    }
    free(a->act);
    free(p);
    free(a);
}

/* Runs of layers other than batch-wide ones go sequence by sequence, so that one
 * sequence's activations stay in cache from layer to layer; batch-wide (dense) layers
 * take the whole batch in fixed blocks of rows. */
static int wide(const sl_net_t *net, int l) { return !!(sl_ops[net->layers[l].op].flags & SL_OPF_BATCHWIDE); }

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
        int e = l + 1, per_seq = !wide(net, l);
        if (per_seq)
            while (e < net->n_layers && !wide(net, e)) e++;
        for (int b = 0; b < (per_seq ? n : 1); b++) {
            for (int k = l; k < e; k++) {
                const sl_layer_t *L = &net->layers[k];
                if (p->skip[k]) continue; /* a view (its values are its producer's), fused or not needed */
                for (int i = 0; i < L->n_in; i++) {
                    /* relu_in is set only on two-input adds: no shift past its width on many-input adds */
                    int q = p->relu_in[k] && p->relu_in[k] >> i & 1 ? net->layers[L->in[i]].in[0] : L->in[i];
                    p->ins[i] = a->act[q] + (size_t)b * p->stride[q];
                }
                float *out = a->act[k] + (size_t)b * p->stride[k];
                if (p->relu_in[k]) sl_nn_add_relu(p->ins[0], p->ins[1], p->relu_in[k], out, (per_seq ? 1 : n) * sl_layer_size(L));
                else sl_layer_forward(net, k, p->ins, out, per_seq ? 1 : n, a);
            }
        }
        l = e;
    }
    return 0;
}
