/* test_pipeline.c — the bounded in-order worker pipeline (seqlift/pipeline.h): results
 * emitted in batch order whatever the workers' speed, no worker more than n_slots
 * batches ahead of the writer, a slot never reused before it was emitted, and the
 * first error (from a worker or from the writer) stops the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "seqlift/pipeline.h"

#define NB 200

typedef struct {
    int64_t slot_batch[64]; /* which batch a slot holds */
    int64_t next_emit, started, max_ahead;
    int fail_work_at, fail_emit_at, n_workers;
    int worker_seen[8];
    pthread_mutex_t lock;
} state_t;

static int work(void *ud, int worker, int64_t b, int slot)
{
    state_t *s = ud;
    pthread_mutex_lock(&s->lock);
    s->started++;
    if (b - s->next_emit > s->max_ahead) s->max_ahead = b - s->next_emit;
    s->worker_seen[worker] = 1;
    pthread_mutex_unlock(&s->lock);
    struct timespec ts = {0, (long)((b * 7919) % 5) * 100000}; /* uneven work */
    nanosleep(&ts, NULL);
    if (b == s->fail_work_at) return -1;
    s->slot_batch[slot] = b;
    return 0;
}

static int emit(void *ud, int64_t b, int slot)
{
    state_t *s = ud;
    assert_int_equal(b, s->next_emit);
    assert_int_equal(s->slot_batch[slot], b);
    s->slot_batch[slot] = -1;
    pthread_mutex_lock(&s->lock);
    s->next_emit++;
    pthread_mutex_unlock(&s->lock);
    return b == s->fail_emit_at ? -1 : 0;
}

static void run_case(int n_workers, int fail_work_at, int fail_emit_at, int want)
{
    state_t s = {.fail_work_at = fail_work_at, .fail_emit_at = fail_emit_at, .n_workers = n_workers};
    pthread_mutex_init(&s.lock, NULL);
    for (int i = 0; i < 64; i++) s.slot_batch[i] = -1;
    assert_true(sl_pipe_n_slots(n_workers) <= 64);
    assert_int_equal(sl_pipe_run(NB, n_workers, work, emit, &s), want);
    assert_true(s.max_ahead < sl_pipe_n_slots(n_workers));
    if (want == 0) {
        assert_int_equal(s.next_emit, NB);
        assert_int_equal(s.started, NB);
    } else {
        int64_t stop = fail_work_at >= 0 ? fail_work_at : fail_emit_at + 1;
        assert_true(s.next_emit <= stop);
        assert_true(s.started < NB || fail_work_at >= NB - sl_pipe_n_slots(n_workers));
    }
    pthread_mutex_destroy(&s.lock);
}

static void test_in_order(void **state)
{
    (void)state;
    for (int w = 1; w <= 4; w++) run_case(w, -1, -1, 0);
}

static void test_errors_stop(void **state)
{
    (void)state;
    run_case(3, 50, -1, -1); /* a worker fails */
    run_case(3, -1, 20, -1); /* the writer fails */
    run_case(1, 0, -1, -1);
}

static void test_empty(void **state)
{
    (void)state;
    assert_int_equal(sl_pipe_run(0, 4, work, emit, NULL), 0);
}

/* The writer runs beside the workers, not between rounds: while the emit of batch 0 is
 * slow, the workers go on and fill every other result slot (they wait only when all
 * n_slots are full), and batch 0's emit sees them do it. */
static int ahead_done;
static pthread_mutex_t ahead_lock = PTHREAD_MUTEX_INITIALIZER;
static int ahead_work(void *ud, int worker, int64_t b, int slot)
{
    (void)ud, (void)worker, (void)b, (void)slot;
    pthread_mutex_lock(&ahead_lock);
    ahead_done++;
    pthread_mutex_unlock(&ahead_lock);
    return 0;
}
static int ahead_emit(void *ud, int64_t b, int slot)
{
    (void)slot;
    int *seen = ud, done = 0;
    for (int t = 0; b == 0 && t < 5000 && done < sl_pipe_n_slots(2); t++) { /* up to 5 s */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&ahead_lock);
        done = ahead_done;
        pthread_mutex_unlock(&ahead_lock);
    }
    if (b == 0) *seen = done;
    return 0;
}

static void test_writer_beside_workers(void **state)
{
    (void)state;
    int seen = 0;
    assert_int_equal(sl_pipe_run(NB, 2, ahead_work, ahead_emit, &seen), 0);
    assert_int_equal(seen, sl_pipe_n_slots(2)); /* all slots filled while batch 0 was written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_errors_stop),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_writer_beside_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
