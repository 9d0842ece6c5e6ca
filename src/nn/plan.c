/* plan.c — the buffer liveness planner: one greedy interval colouring shared by the
 * activations of `predict` (net_forward.c) and the attribution engine's multipliers
 * and Δ⁺/Δ⁻ buffers (src/attr/engine.c). Sizes are small (one item per layer), so the
 * quadratic scan is cheaper than anything cleverer. */
#include <stdlib.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

int sl_nn_plan_slots(int n, const int *first, const int *last, const size_t *size, int *slot, size_t *slot_size)
{
    int n_slots = 0, n_order = 0;
    int *order = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int), "buffer plan");
    int *busy = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int), "buffer plan"); /* last step of each slot */
    if (!order || !busy) {
        free(order);
        free(busy);
        return -1;
    }
    /* items by first step (stable insertion sort: n is the number of layers) */
    for (int i = 0; i < n; i++) {
        slot[i] = -1;
        if (first[i] < 0) continue;
        int j = n_order++;
        while (j > 0 && first[order[j - 1]] > first[i]) order[j] = order[j - 1], j--;
        order[j] = i;
    }
    for (int k = 0; k < n_order; k++) {
        int i = order[k], best = -1;
        size_t sz = size[i];
        /* a free slot (every occupant dead before first[i]): the smallest that fits,
         * else the largest (it grows) */
        for (int s = 0; s < n_slots; s++) {
            if (busy[s] >= first[i]) continue;
            if (best < 0 || (slot_size[s] >= sz && (slot_size[best] < sz || slot_size[s] < slot_size[best]))
                || (slot_size[best] < sz && slot_size[s] > slot_size[best]))
                best = s;
        }
        if (best < 0) best = n_slots++, slot_size[best] = 0;
        slot[i] = best;
        busy[best] = last[i];
        if (slot_size[best] < sz) slot_size[best] = sz;
    }
    free(order);
    free(busy);
    return n_slots;
}
