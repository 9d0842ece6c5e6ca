/* log.h — the one logging function of every module: levels and a callback.
 *
 * Library code reports an error as ONE line through sl_log_error() and returns an
 * error code (see util.h); warnings, progress and debugging go to the lower levels.
 * By default a message of a level up to the current one (SL_LOG_WARN) goes to stderr
 * as "seqlift: error: <msg>", "seqlift: warning: <msg>" or "seqlift: <msg>"; an
 * embedding program can raise or lower the level or take every message itself.
 *
 * The level and the callback are process-wide settings made by the program (the CLI's
 * -q / -v); no library call changes them. Set them before starting threads that log:
 * the level is read atomically, the callback pair is not synchronised with loggers.
 */
#ifndef SEQLIFT_LOG_H
#define SEQLIFT_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __GNUC__
#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SL_PRINTF(a, b)
#endif

/* A message is emitted when its level is at most the current level. */
typedef enum {
    SL_LOG_NONE = 0,  /* as a level: nothing, not even errors */
    SL_LOG_ERROR = 1, /* the run fails (one line naming the file/line/tensor) */
    SL_LOG_WARN = 2,  /* the default level: results are produced but look at this */
    SL_LOG_INFO = 3,  /* progress and summaries (the CLI's -v) */
    SL_LOG_DEBUG = 4  /* details for developers (-vv) */
} sl_log_level_t;

void sl_log_set_level(sl_log_level_t level);
sl_log_level_t sl_log_get_level(void);

/* Receives each emitted message (level already filtered), without prefix or newline;
 * msg is valid during the call only. cb NULL restores the default (stderr). */
typedef void (*sl_log_callback_f)(sl_log_level_t level, const char *msg, void *ud);
void sl_log_set_callback(sl_log_callback_f cb, void *ud);

void sl_log_error(const char *fmt, ...) SL_PRINTF(1, 2);
void sl_log_warn(const char *fmt, ...) SL_PRINTF(1, 2);
void sl_log_info(const char *fmt, ...) SL_PRINTF(1, 2);
void sl_log_debug(const char *fmt, ...) SL_PRINTF(1, 2);
/* Warnings issued so far by the process (whatever the level): a run reports the
 * difference in its summary. */
long sl_log_n_warnings(void);
/* A progress line: shown unless the level is below SL_LOG_WARN (-q). transient = 1
 * rewrites one line in place ("\r", for a terminal; the next message clears it first),
 * 0 writes a line of its own. With a callback set, it receives it as SL_LOG_INFO. */
void sl_log_progress(int transient, const char *fmt, ...) SL_PRINTF(2, 3);
/* Any level; for wrappers that forward a va_list (e.g. other libraries' messages). */
void sl_log_v(sl_log_level_t level, const char *fmt, va_list ap) SL_PRINTF(2, 0);

#ifdef __cplusplus
}
#endif

#endif
