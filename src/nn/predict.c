/* predict.c — batched, threaded forward passes with results streamed in input order.
 *
 * Worker threads take batches in order, each running them with its own activations
 * and leaving the values in a result slot; the calling thread writes the slots in
 * input order as they complete, overlapping the writing with the computing. A worker
 * waits when it is SLOTS_PER_WORKER batches ahead of the writer, so memory is bounded
 * whatever n is.
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

/* Result slots per worker: a worker may run ahead of the in-order writer by this
 * many batches (bounds memory; keeps workers busy while the writer catches up). */
#define SLOTS_PER_WORKER 4

typedef struct {
    const sl_net_t *net;
    int64_t n, n_batches; /* sequences; batches of `batch` */
    int batch, n_slots;
    float *vals;          /* [n_slots][batch][n_values] */
    int64_t *done;        /* [n_slots]: batch whose values are in the slot, or -1 */
    int64_t next;         /* next batch to hand out */
    int64_t emitted;      /* batches written so far */
    int stop;             /* an error: hand out nothing more */
    size_t n_values;
    sl_predict_fill_f fill;
    void *ud;
    pthread_mutex_t lock;
    pthread_cond_t cv_done, cv_free;
} pipe_t;

typedef struct {
    pipe_t *q;
    sl_acts_t *acts;
    float *x; /* [batch][in_len][4] */
    int worker;
} worker_t;

static int run_batch(worker_t *w, int64_t bi)
{
    pipe_t *q = w->q;
    const sl_net_t *net = q->net;
    size_t in_size = sl_layer_size(&net->layers[0]);
    int64_t first = bi * q->batch;
    int count = (int)(q->n - first < q->batch ? q->n - first : q->batch);
    float *slot = q->vals + (size_t)(bi % q->n_slots) * q->batch * q->n_values;
    for (int k = 0; k < count; k++)
        if (q->fill(q->ud, w->worker, first + k, w->x + (size_t)k * in_size) < 0) return -1;
    if (sl_net_forward(net, w->acts, w->x, count) < 0) return -1;
    for (int k = 0; k < count; k++) {
        float *v = slot + (size_t)k * q->n_values;
        for (int o = 0; o < net->n_outputs; o++) {
            size_t s = sl_layer_size(&net->layers[net->output_layer[o]]);
            memcpy(v, w->acts->act[net->output_layer[o]] + (size_t)k * s, s * sizeof(float));
            v += s;
        }
    }
    return 0;
}

/* Workers take batches in order while a result slot is free. */
static void *run_worker(void *arg)
{
    worker_t *w = arg;
    pipe_t *q = w->q;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && q->next < q->n_batches && q->next - q->emitted >= q->n_slots)
            pthread_cond_wait(&q->cv_free, &q->lock);
        if (q->stop || q->next >= q->n_batches) break;
        int64_t bi = q->next++;
        pthread_mutex_unlock(&q->lock);
        int rc = run_batch(w, bi);
        pthread_mutex_lock(&q->lock);
        if (rc < 0) q->stop = 1;
        else q->done[bi % q->n_slots] = bi;
        pthread_cond_broadcast(&q->cv_done);
        if (rc < 0) pthread_cond_broadcast(&q->cv_free);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int sl_net_predict(const sl_net_t *net, int64_t n, int n_threads, int batch, sl_predict_fill_f fill,
                   sl_predict_emit_f emit, void *ud)
{
    int ret = -1, nt = n_threads < 1 ? 1 : n_threads, started = 0;
    if (batch < 1) batch = 1;
    if (nt > (n + batch - 1) / batch) nt = n > 0 ? (int)((n + batch - 1) / batch) : 1; /* no idle workers' buffers */
    size_t in_size = sl_layer_size(&net->layers[0]);
    pipe_t q = {net, n, (n + batch - 1) / batch, batch, nt * SLOTS_PER_WORKER, NULL, NULL, 0, 0, 0,
                sl_net_n_values(net), fill, ud, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                PTHREAD_COND_INITIALIZER};
    worker_t *w = sl_calloc((size_t)nt, sizeof *w, "workers");
    pthread_t *tid = sl_calloc((size_t)nt, sizeof *tid, "workers");
    q.vals = sl_malloc((size_t)q.n_slots * batch * q.n_values * sizeof(float), "prediction values");
    q.done = sl_malloc((size_t)q.n_slots * sizeof *q.done, "prediction slots");
    if (!w || !tid || !q.vals || !q.done) goto fail;
    for (int s = 0; s < q.n_slots; s++) q.done[s] = -1;
    sl_net_blas_threads(1);
    for (int t = 0; t < nt; t++) {
        w[t].q = &q, w[t].worker = t;
        if (!(w[t].acts = sl_acts_create_outputs_only(net, batch))) goto fail;
        if (!(w[t].x = sl_malloc((size_t)batch * in_size * sizeof(float), "input batch"))) goto fail;
    }
    for (; started < nt && started < q.n_batches; started++) {
        if (pthread_create(&tid[started], NULL, run_worker, &w[started]) != 0) {
            sl_log_error("%s: cannot start a worker thread", net->path);
            if (started == 0) goto fail;
            break; /* the workers already running do the work */
        }
    }
    /* This thread writes the batches in order as they complete. */
    int err = 0;
    for (int64_t bi = 0; bi < q.n_batches && !err; bi++) {
        int slot = (int)(bi % q.n_slots);
        pthread_mutex_lock(&q.lock);
        while (q.done[slot] != bi && !q.stop) pthread_cond_wait(&q.cv_done, &q.lock);
        err = q.done[slot] != bi;
        pthread_mutex_unlock(&q.lock);
        if (err) break;
        int64_t first = bi * batch, count = n - first < batch ? n - first : batch;
        for (int64_t k = 0; k < count && !err; k++)
            err = emit(ud, first + k, q.vals + ((size_t)slot * batch + (size_t)k) * q.n_values) < 0;
        pthread_mutex_lock(&q.lock);
        q.done[slot] = -1;
        q.emitted++;
        if (err) q.stop = 1;
        pthread_cond_broadcast(&q.cv_free);
        pthread_mutex_unlock(&q.lock);
    }
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    if (!err && !q.stop) ret = 0;
fail:
    if (w)
        for (int t = 0; t < nt; t++) {
            sl_acts_destroy(w[t].acts);
            free(w[t].x);
        }
    free(w);
    free(tid);
    free(q.vals);
    free(q.done);
    return ret;
}
