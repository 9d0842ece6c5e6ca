/* pipeline.h — one bounded, in-order worker pipeline (predict and score run on it).
 *
 * n_batches items of work are handed out in order to n_workers persistent threads;
 * a worker computes batch b into result slot b % n_slots (n_slots = n_workers ×
 * slots_per_worker) and the calling thread emits the slots in batch order as they
 * complete, so writing overlaps computing and the results come out in input order
 * whatever the number of workers. A worker waits when it is n_slots batches ahead of
 * the writer: memory is bounded whatever n_batches is. The caller owns the workers'
 * workspaces (indexed by worker) and the slots' storage (indexed by slot).
 */
#ifndef SEQLIFT_PIPELINE_H
#define SEQLIFT_PIPELINE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compute batch b into slot, on worker (0..n_workers-1). 0 / -1 (reported) stops the run. */
typedef int (*sl_pipe_work_f)(void *ud, int worker, int64_t b, int slot);
/* Emit batch b from slot, on the calling thread, b = 0..n_batches-1 in order. 0 / -1
 * (reported) stops the run. */
typedef int (*sl_pipe_emit_f)(void *ud, int64_t b, int slot);

/* Result slots per worker: how far a worker may run ahead of the writer. */
#define SL_PIPE_SLOTS_PER_WORKER 4

/* Number of result slots for n_workers workers. */
static inline int sl_pipe_n_slots(int n_workers) { return (n_workers < 1 ? 1 : n_workers) * SL_PIPE_SLOTS_PER_WORKER; }

/* Run the pipeline; returns when every batch was emitted or after the first error
 * (the workers are joined either way). 0 / -1 (reported). */
int sl_pipe_run(int64_t n_batches, int n_workers, sl_pipe_work_f work, sl_pipe_emit_f emit, void *ud);

/* Task i of sl_pipe_for, on any thread. */
typedef void (*sl_pipe_task_f)(void *ud, int i);

/* Run tasks 0..n-1 once each, in any order, on up to n_threads threads (the calling
 * thread is one of them; if a thread cannot start, the others do its share): for
 * independent tasks that write only their own results, e.g. the weights' copies a
 * plan makes before its workers start. Tasks are handed out in index order, so put
 * the large ones first. */
void sl_pipe_for(int n, int n_threads, sl_pipe_task_f task, void *ud);

#ifdef __cplusplus
}
#endif

#endif
