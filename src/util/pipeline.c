/* pipeline.c — bounded, in-order worker pipeline (see pipeline.h).
 * Moved out of nn/predict.c so that predict and score share one threading model. */
#include "seqlift/pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "seqlift/util.h"

typedef struct {
    int64_t n_batches;
    int n_slots;
    int64_t *done;   /* [n_slots]: batch whose results are in the slot, or -1 */
    int64_t next;    /* next batch to hand out */
    int64_t emitted; /* batches emitted so far */
    int stop;        /* an error: hand out nothing more */
    sl_pipe_work_f work;
    void *ud;
    pthread_mutex_t lock;
    pthread_cond_t cv_done, cv_free;
} pipe_t;

typedef struct {
    pipe_t *q;
    int worker;
} worker_t;

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
        int64_t b = q->next++;
        pthread_mutex_unlock(&q->lock);
        int rc = q->work(q->ud, w->worker, b, (int)(b % q->n_slots));
        pthread_mutex_lock(&q->lock);
        if (rc < 0) q->stop = 1;
        else q->done[b % q->n_slots] = b;
        pthread_cond_broadcast(&q->cv_done);
        if (rc < 0) pthread_cond_broadcast(&q->cv_free);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int sl_pipe_run(int64_t n_batches, int n_workers, sl_pipe_work_f work, sl_pipe_emit_f emit, void *ud)
{
    int nt = n_workers < 1 ? 1 : n_workers, started = 0, err = 0;
    if (n_batches <= 0) return 0;
    if (nt > n_batches) nt = (int)n_batches;
    pipe_t q = {n_batches, sl_pipe_n_slots(n_workers), NULL, 0, 0, 0, work, ud, PTHREAD_MUTEX_INITIALIZER,
                PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
    worker_t *w = sl_calloc((size_t)nt, sizeof *w, "workers");
    pthread_t *tid = sl_calloc((size_t)nt, sizeof *tid, "workers");
    q.done = sl_malloc((size_t)q.n_slots * sizeof *q.done, "pipeline slots");
    if (!w || !tid || !q.done) goto fail;
    for (int s = 0; s < q.n_slots; s++) q.done[s] = -1;
    for (; started < nt; started++) {
        w[started].q = &q, w[started].worker = started;
        if (pthread_create(&tid[started], NULL, run_worker, &w[started]) != 0) {
            if (started == 0) {
                sl_log_error("cannot start a worker thread");
                goto fail;
            }
            break; /* the workers already running do the work */
        }
    }
    /* This thread emits the batches in order as they complete. */
    for (int64_t b = 0; b < n_batches && !err; b++) {
        int slot = (int)(b % q.n_slots);
        pthread_mutex_lock(&q.lock);
        while (q.done[slot] != b && !q.stop) pthread_cond_wait(&q.cv_done, &q.lock);
        err = q.done[slot] != b;
        pthread_mutex_unlock(&q.lock);
        if (err) break;
        err = emit(ud, b, slot) < 0;
        pthread_mutex_lock(&q.lock);
        q.done[slot] = -1;
        q.emitted++;
        if (err) q.stop = 1;
        pthread_cond_broadcast(&q.cv_free);
        pthread_mutex_unlock(&q.lock);
    }
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    free(w);
    free(tid);
    free(q.done);
    return err || q.stop ? -1 : 0;
fail:
    free(w);
    free(tid);
    free(q.done);
    return -1;
}

typedef struct {
    atomic_int next;
    int n;
    sl_pipe_task_f task;
    void *ud;
} for_t;

static void *run_tasks(void *arg)
{
    for_t *f = arg;
    for (int i; (i = atomic_fetch_add(&f->next, 1)) < f->n;) f->task(f->ud, i);
    return NULL;
}

void sl_pipe_for(int n, int n_threads, sl_pipe_task_f task, void *ud)
{
    enum { MAX_HELPERS = 63 };
    pthread_t tid[MAX_HELPERS];
    for_t f = {0, n, task, ud};
    int nh = (n_threads < n ? n_threads : n) - 1, started = 0;
    if (nh > MAX_HELPERS) nh = MAX_HELPERS;
    while (started < nh && pthread_create(&tid[started], NULL, run_tasks, &f) == 0) started++;
    run_tasks(&f);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
}
