/* predict.c — batched, threaded forward passes with results streamed in input order.
 *
 * Work proceeds in rounds of n_threads * batch sequences: worker w fills and runs
 * batch w of the round with its own activations, then the calling thread emits the
 * round's values in order. Memory is bounded by one round whatever n is.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/util.h"

size_t sl_net_n_values(const sl_net_t *net)
{
    size_t n = 0;
    for (int o = 0; o < net->n_outputs; o++) n += sl_layer_size(&net->layers[net->output_layer[o]]);
    return n;
}

int sl_net_value_label(const sl_net_t *net, size_t j, char *buf, size_t size)
{
    for (int o = 0; o < net->n_outputs; o++) {
        size_t s = sl_layer_size(&net->layers[net->output_layer[o]]);
        if (j < s) {
            if (s == 1) return snprintf(buf, size, "%s", net->output_names[o]);
            return snprintf(buf, size, "%s_%zu", net->output_names[o], j);
        }
        j -= s;
    }
    return snprintf(buf, size, "?");
}

int sl_net_auto_batch(const sl_net_t *net, size_t bytes)
{
    size_t per = 0;
    for (int l = 0; l < net->n_layers; l++) per += sl_layer_size(&net->layers[l]) * sizeof(float);
    size_t b = per ? bytes / per : 64;
    return b < 1 ? 1 : b > 64 ? 64 : (int)b;
}

void sl_net_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

typedef struct {
    const sl_net_t *net;
    sl_acts_t *acts;
    float *x;             /* [batch][in_len][4] */
    float *vals;          /* the round's values, shared; this worker writes its rows */
    int worker, batch;
    int64_t first, count; /* sequences of this worker in the current round */
    int64_t round_first;
    size_t n_values;
    sl_predict_fill_f fill;
    void *ud;
    int ret;
} worker_t;

static void *run_worker(void *arg)
{
    worker_t *w = arg;
    const sl_net_t *net = w->net;
    size_t in_size = sl_layer_size(&net->layers[0]);
    w->ret = 0;
    if (w->count <= 0) return NULL;
    for (int64_t k = 0; k < w->count; k++) {
        if (w->fill(w->ud, w->worker, w->first + k, w->x + (size_t)k * in_size) < 0) {
            w->ret = -1;
            return NULL;
        }
    }
    if (sl_net_forward(net, w->acts, w->x, (int)w->count) < 0) {
        w->ret = -1;
        return NULL;
    }
    for (int64_t k = 0; k < w->count; k++) {
        float *v = w->vals + (size_t)(w->first + k - w->round_first) * w->n_values;
        for (int o = 0; o < net->n_outputs; o++) {
            size_t s = sl_layer_size(&net->layers[net->output_layer[o]]);
            memcpy(v, w->acts->act[net->output_layer[o]] + (size_t)k * s, s * sizeof(float));
            v += s;
        }
    }
    return NULL;
}

int sl_net_predict(const sl_net_t *net, int64_t n, int n_threads, int batch, sl_predict_fill_f fill,
                   sl_predict_emit_f emit, void *ud)
{
    int ret = -1, nt = n_threads < 1 ? 1 : n_threads;
    if (batch < 1) batch = 1;
    size_t nv = sl_net_n_values(net), in_size = sl_layer_size(&net->layers[0]);
    size_t round = (size_t)nt * batch;
    worker_t *w = sl_calloc((size_t)nt, sizeof *w, "workers");
    pthread_t *tid = sl_calloc((size_t)nt, sizeof *tid, "workers");
    float *vals = sl_malloc(round * nv * sizeof(float), "prediction values");
    if (!w || !tid || !vals) goto fail;
    sl_net_blas_threads(1);
    for (int t = 0; t < nt; t++) {
        w[t] = (worker_t){net, NULL, NULL, vals, t, batch, 0, 0, 0, nv, fill, ud, 0};
        if (!(w[t].acts = sl_acts_create(net, batch))) goto fail;
        if (!(w[t].x = sl_malloc((size_t)batch * in_size * sizeof(float), "input batch"))) goto fail;
    }
    for (int64_t base = 0; base < n; base += (int64_t)round) {
        int started = 0, err = 0;
        for (int t = 0; t < nt; t++) {
            w[t].round_first = base;
            w[t].first = base + (int64_t)t * batch;
            w[t].count = n - w[t].first < batch ? n - w[t].first : batch;
        }
        for (int t = 1; t < nt && w[t].count > 0; t++, started++) {
            if (pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0) {
                sl_log_error("%s: cannot start a worker thread", net->path);
                err = 1;
                break;
            }
        }
        run_worker(&w[0]);
        for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
        for (int t = 0; t < nt; t++) err |= w[t].ret < 0;
        if (err) goto fail;
        int64_t end = base + (int64_t)round < n ? base + (int64_t)round : n;
        for (int64_t i = base; i < end; i++)
            if (emit(ud, i, vals + (size_t)(i - base) * nv) < 0) goto fail;
    }
    ret = 0;
fail:
    if (w)
        for (int t = 0; t < nt; t++) {
            sl_acts_destroy(w[t].acts);
            free(w[t].x);
        }
    free(w);
    free(tid);
    free(vals);
    return ret;
}
