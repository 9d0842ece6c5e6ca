/* predict.c — batched, threaded forward passes with results streamed in input order.
 *
 * Work proceeds in rounds of a few batches per worker: workers take the round's
 * batches one at a time and run them with their own activations, then the calling
 * thread emits the round's values in order. Memory is bounded by one round whatever
 * n is.
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

/* Batches per worker and round: workers pull batches from a shared counter, so a
 * worker that the OS holds back does not stall the others until the round ends. */
#define BATCHES_PER_WORKER 4

typedef struct {
    const sl_net_t *net;
    int64_t n, base;      /* all sequences; first sequence of the round */
    int batch, n_batches; /* sequences per batch; batches in this round */
    int next;             /* next batch to take (under lock) */
    pthread_mutex_t lock;
    float *vals;          /* the round's values, [n_batches * batch][n_values] */
    size_t n_values;
    sl_predict_fill_f fill;
    void *ud;
} round_t;

typedef struct {
    round_t *r;
    sl_acts_t *acts;
    float *x; /* [batch][in_len][4] */
    int worker, ret;
} worker_t;

static int run_batch(worker_t *w, int bi)
{
    round_t *r = w->r;
    const sl_net_t *net = r->net;
    size_t in_size = sl_layer_size(&net->layers[0]);
    int64_t first = r->base + (int64_t)bi * r->batch;
    int count = (int)(r->n - first < r->batch ? r->n - first : r->batch);
    for (int k = 0; k < count; k++)
        if (r->fill(r->ud, w->worker, first + k, w->x + (size_t)k * in_size) < 0) return -1;
    if (sl_net_forward(net, w->acts, w->x, count) < 0) return -1;
    for (int k = 0; k < count; k++) {
        float *v = r->vals + ((size_t)bi * r->batch + k) * r->n_values;
        for (int o = 0; o < net->n_outputs; o++) {
            size_t s = sl_layer_size(&net->layers[net->output_layer[o]]);
            memcpy(v, w->acts->act[net->output_layer[o]] + (size_t)k * s, s * sizeof(float));
            v += s;
        }
    }
    return 0;
}

static void *run_worker(void *arg)
{
    worker_t *w = arg;
    round_t *r = w->r;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int bi = r->next < r->n_batches ? r->next++ : -1;
        pthread_mutex_unlock(&r->lock);
        if (bi < 0) return NULL;
        if (run_batch(w, bi) < 0) {
            w->ret = -1;
            pthread_mutex_lock(&r->lock);
            r->next = r->n_batches; /* the others stop after their current batch */
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
    }
}

int sl_net_predict(const sl_net_t *net, int64_t n, int n_threads, int batch, sl_predict_fill_f fill,
                   sl_predict_emit_f emit, void *ud)
{
    int ret = -1, nt = n_threads < 1 ? 1 : n_threads;
    if (batch < 1) batch = 1;
    size_t in_size = sl_layer_size(&net->layers[0]);
    int round_batches = nt * BATCHES_PER_WORKER;
    round_t r = {net, n, 0, batch, 0, 0, PTHREAD_MUTEX_INITIALIZER, NULL, sl_net_n_values(net), fill, ud};
    worker_t *w = sl_calloc((size_t)nt, sizeof *w, "workers");
    pthread_t *tid = sl_calloc((size_t)nt, sizeof *tid, "workers");
    r.vals = sl_malloc((size_t)round_batches * batch * r.n_values * sizeof(float), "prediction values");
    if (!w || !tid || !r.vals) goto fail;
    sl_net_blas_threads(1);
    for (int t = 0; t < nt; t++) {
        w[t].r = &r, w[t].worker = t;
        if (!(w[t].acts = sl_acts_create_outputs_only(net, batch))) goto fail;
        if (!(w[t].x = sl_malloc((size_t)batch * in_size * sizeof(float), "input batch"))) goto fail;
    }
    for (r.base = 0; r.base < n; r.base += (int64_t)round_batches * batch) {
        int64_t left = n - r.base;
        int started = 0, err = 0;
        r.n_batches = (int)((left + batch - 1) / batch < round_batches ? (left + batch - 1) / batch : round_batches);
        r.next = 0;
        for (int t = 0; t < nt; t++) w[t].ret = 0;
        for (int t = 1; t < nt && t < r.n_batches; t++, started++) {
            if (pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0) {
                sl_log_error("%s: cannot start a worker thread", net->path);
                break; /* the workers already started and this thread do the round */
            }
        }
        run_worker(&w[0]);
        for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
        for (int t = 0; t < nt; t++) err |= w[t].ret < 0;
        if (err) goto fail;
        int64_t end = r.base + (int64_t)r.n_batches * batch < n ? r.base + (int64_t)r.n_batches * batch : n;
        for (int64_t i = r.base; i < end; i++)
            if (emit(ud, i, r.vals + (size_t)(i - r.base) * r.n_values) < 0) goto fail;
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
    free(r.vals);
    return ret;
}
