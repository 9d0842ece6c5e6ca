/* predict.c — batched, threaded forward passes with results streamed in input order,
 * on the shared worker pipeline (seqlift/pipeline.h): each worker runs its batches
 * with its own activations into a result slot; the calling thread emits in order.
 * The caller sets the BLAS threads (sl_net_blas_threads): a library call does not
 * change process-wide state. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/pipeline.h"
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

/* OpenBLAS's pthread build starts its server threads when it loads, and they spin in
 * sched_yield for ~0.1 s before sleeping (measured with perf: 15 % of the samples of a
 * short score run, on a core the workers need). With one GEMM thread they have nothing
 * to do, so they are stopped; OpenBLAS starts them again if more threads are asked for.
 * Weak: other OpenBLAS builds (serial, OpenMP) have no such threads. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void sl_net_blas_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
    if (n <= 1 && blas_thread_shutdown_) blas_thread_shutdown_();
}

/* Per worker: its activations and input batch; per slot: a batch's output values. */
typedef struct {
    const sl_net_t *net;
    int64_t n;
    int batch;
    size_t n_values;
    float *vals;          /* [n_slots][batch][n_values] */
    sl_acts_t **acts;     /* [n_workers] */
    float **x;            /* [n_workers][batch][in_len][4] */
    sl_predict_fill_f fill;
    sl_predict_emit_f emit;
    void *ud;
} predict_t;

static int work(void *ud, int worker, int64_t bi, int slot)
{
    predict_t *q = ud;
    const sl_net_t *net = q->net;
    size_t in_size = sl_layer_size(&net->layers[0]);
    int64_t first = bi * q->batch;
    int count = (int)(q->n - first < q->batch ? q->n - first : q->batch);
    float *x = q->x[worker], *v = q->vals + (size_t)slot * q->batch * q->n_values;
    for (int k = 0; k < count; k++)
        if (q->fill(q->ud, worker, first + k, x + (size_t)k * in_size) < 0) return -1;
    if (sl_net_forward(net, q->acts[worker], x, count) < 0) return -1;
    for (int k = 0; k < count; k++)
        for (int o = 0; o < net->n_outputs; o++) {
            size_t s = sl_layer_size(&net->layers[net->output_layer[o]]);
            memcpy(v, q->acts[worker]->act[net->output_layer[o]] + (size_t)k * s, s * sizeof(float));
            v += s;
        }
    return 0;
}

static int emit(void *ud, int64_t bi, int slot)
{
    predict_t *q = ud;
    int64_t first = bi * q->batch, count = q->n - first < q->batch ? q->n - first : q->batch;
    for (int64_t k = 0; k < count; k++)
        if (q->emit(q->ud, first + k, q->vals + ((size_t)slot * q->batch + (size_t)k) * q->n_values) < 0)
            return -1;
    return 0;
}

int sl_net_predict(const sl_net_t *net, int64_t n, int n_threads, int batch, sl_predict_fill_f fill,
                   sl_predict_emit_f emit_fn, void *ud)
{
    int ret = -1, nt = n_threads < 1 ? 1 : n_threads;
    sl_nn_wts_t wts = {NULL, 0};
    if (batch < 1) batch = 1;
    int64_t n_batches = (n + batch - 1) / batch;
    if (nt > n_batches) nt = n_batches > 0 ? (int)n_batches : 1; /* no idle workers' buffers */
    size_t in_size = sl_layer_size(&net->layers[0]);
    predict_t q = {net, n, batch, sl_net_n_values(net), NULL, NULL, NULL, fill, emit_fn, ud};
    q.vals = sl_malloc((size_t)sl_pipe_n_slots(nt) * batch * q.n_values * sizeof(float), "prediction values");
    q.acts = sl_calloc((size_t)nt, sizeof *q.acts, "workers");
    q.x = sl_calloc((size_t)nt, sizeof *q.x, "workers");
    if (!q.vals || !q.acts || !q.x) goto fail;
    /* the forward's copies of the weights, made once on the workers' threads and shared */
    if (sl_nn_wts_prepare(&wts, net, NULL, 1 << SL_NN_WT_F, NULL, NULL, nt) < 0) goto fail;
    for (int t = 0; t < nt; t++) {
        if (!(q.acts[t] = sl_acts_create_outputs_only(net, batch)) ||
            !(q.x[t] = sl_malloc((size_t)batch * in_size * sizeof(float), "input batch")))
            goto fail;
        sl_nn_acts_share_wts(q.acts[t], &wts);
    }
    ret = sl_pipe_run(n_batches, nt, work, emit, &q);
fail:
    for (int t = 0; t < nt; t++) {
        if (q.acts) sl_acts_destroy(q.acts[t]);
        if (q.x) free(q.x[t]);
    }
    free(q.acts);
    free(q.x);
    free(q.vals);
    sl_nn_wts_free(&wts);
    return ret;
}
