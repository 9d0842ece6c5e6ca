/* progress.c — a run's progress reports (sl_progress_t, score.h): the run counts the
 * regions it emitted; the callback is called at most every SL_PROGRESS_EVERY seconds
 * and once at the end, on the calling thread. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "seqlift/log.h"

#include "run/run_priv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sl_run_progress_start(sl_run_progress_t *g, sl_progress_f cb, void *ud, int64_t total)
{
    memset(g, 0, sizeof *g);
    g->cb = cb, g->ud = ud;
    g->p.total = total;
    g->p.worst_err = NAN;
    g->t0 = g->last = now();
    g->w0 = sl_log_n_warnings();
}

static void report(sl_run_progress_t *g, double t)
{
    g->p.seconds = t - g->t0;
    g->p.warnings = sl_log_n_warnings() - g->w0;
    g->last = t;
    g->cb(&g->p, g->ud);
}

void sl_run_progress_add(sl_run_progress_t *g, int64_t n)
{
    g->p.done += n;
    if (!g->cb) return;
    double t = now();
    if (t - g->last >= SL_PROGRESS_EVERY) report(g, t);
}

void sl_run_progress_end(sl_run_progress_t *g)
{
    g->p.final = 1;
    if (g->cb) report(g, now());
}
