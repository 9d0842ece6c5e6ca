/* log.c — levels and a callback for every message of the library (log.h). */
#include "seqlift/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int log_level = SL_LOG_WARN;
static sl_log_callback_f log_cb;
static void *log_ud;
static atomic_long n_warnings;
static atomic_int transient_shown; /* a progress line is on the terminal, without newline */

void sl_log_set_level(sl_log_level_t level)
{
    if (level < SL_LOG_NONE) level = SL_LOG_NONE;
    if (level > SL_LOG_DEBUG) level = SL_LOG_DEBUG;
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

sl_log_level_t sl_log_get_level(void)
{
    return (sl_log_level_t)atomic_load_explicit(&log_level, memory_order_relaxed);
}

void sl_log_set_callback(sl_log_callback_f cb, void *ud)
{
    log_cb = cb;
    log_ud = ud;
}

/* One fprintf per message: glibc writes an unbuffered stream's call in one write, so
 * lines of concurrent threads do not interleave. */
static void log_stderr(sl_log_level_t level, const char *msg)
{
    static const char *const tag[] = {"", "error: ", "warning: ", "", ""};
    /* a progress line in place is cleared first ("\r", erase to the end of the line) */
    fprintf(stderr, "%sseqlift: %s%s\n", atomic_exchange(&transient_shown, 0) ? "\r\033[K" : "", tag[level], msg);
}

long sl_log_n_warnings(void) { return atomic_load(&n_warnings); }

void sl_log_progress(int transient, const char *fmt, ...)
{
    if (sl_log_get_level() < SL_LOG_WARN) return; /* -q */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_log_callback_f cb = log_cb;
    if (cb) cb(SL_LOG_INFO, msg, log_ud);
    else if (!transient) log_stderr(SL_LOG_INFO, msg);
    else {
        fprintf(stderr, "\rseqlift: %s\033[K", msg);
        atomic_store(&transient_shown, 1);
    }
}

void sl_log_v(sl_log_level_t level, const char *fmt, va_list ap)
{
    if (level == SL_LOG_WARN) atomic_fetch_add(&n_warnings, 1);
    if (level <= SL_LOG_NONE || level > sl_log_get_level()) return;
    char small[512], *msg = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof(small), fmt, aq);
    va_end(aq);
    if (n < 0) return;
    if ((size_t)n >= sizeof(small)) {
        if ((msg = malloc((size_t)n + 1))) vsnprintf(msg, (size_t)n + 1, fmt, ap);
        else msg = small; /* out of memory: the truncated message is still one line */
    }
    sl_log_callback_f cb = log_cb;
    if (cb) cb(level, msg, log_ud);
    else log_stderr(level, msg);
    if (msg != small) free(msg);
}

#define SL_LOG_FN(fn, level)              \
    void fn(const char *fmt, ...)         \
    {                                     \
        va_list ap;                       \
        va_start(ap, fmt);                \
        sl_log_v(level, fmt, ap);         \
        va_end(ap);                       \
    }
SL_LOG_FN(sl_log_error, SL_LOG_ERROR)
SL_LOG_FN(sl_log_warn, SL_LOG_WARN)
SL_LOG_FN(sl_log_info, SL_LOG_INFO)
SL_LOG_FN(sl_log_debug, SL_LOG_DEBUG)
