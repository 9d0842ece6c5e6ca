/* util.h — logging, atomic output files and small helpers shared by every module.
 *
 * Conventions (all modules): functions return 0 on success and a negative value
 * on error (or NULL); the error has already been reported through sl_log_error()
 * as ONE line naming the file, line, tensor or layer. Only the CLI's main() exits.
 */
#ifndef SEQLIFT_UTIL_H
#define SEQLIFT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "seqlift/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocation that reports failure (with what) through sl_log_error; returns NULL. */
void *sl_malloc(size_t n, const char *what);
void *sl_calloc(size_t n, size_t size, const char *what);
void *sl_realloc(void *p, size_t n, const char *what);
char *sl_strdup(const char *s);

/* Atomic output: write to "<path>.tmp.<pid>" (in the directory of path) and rename
 * onto <path> on commit, so a failed run never leaves a half-written file. path "-"
 * means stdout (held back, see SL_OFILE_HOLD); an existing device or pipe (/dev/null, a FIFO) is written in place.
 * sl_ofile_open returns NULL on error (reported). Two-phase use (several outputs that
 * appear together or not at all): sl_ofile_prepare flushes, closes and checks the
 * temporary (0 / -1 reported; fp is then NULL), sl_ofile_commit renames it into place
 * (prepares it first if needed). commit returns 0 / -1 (reported); abort removes the
 * temporary file. Both free the handle. */
typedef struct sl_ofile_s {
    FILE *fp;       /* write here */
    char *path;     /* final path */
    char *name;     /* the file messages name (path, or what a temporary path stands for) */
    char *tmp;      /* temporary path, NULL for stdout or a device written in place */
    int direct;     /* 1: fp is the device/pipe itself (closed on commit/abort) */
    int failed;     /* prepare failed */
    void *hold;     /* stdout: its bytes held until prepare (up to SL_OFILE_HOLD), else NULL */
} sl_ofile_t;
/* stdout ("-") is all-or-nothing too for outputs up to this size: held in memory until
 * prepare, dropped by abort; a larger output streams from there on. */
#define SL_OFILE_HOLD ((size_t)16 << 20)
sl_ofile_t *sl_ofile_open(const char *path, const char *mode);
int sl_ofile_prepare(sl_ofile_t *f);
int sl_ofile_commit(sl_ofile_t *f);
void sl_ofile_abort(sl_ofile_t *f);
/* For writers that manage their own file (bgzf, libBigWig, npz): temp name for path
 * (caller frees), registered so that sl_tmp_cleanup() can remove it; the final rename
 * (0 / -1 reported; unregisters it) or its removal (sl_tmp_remove: unregisters it). */
char *sl_tmp_path(const char *path);
int sl_rename_into_place(const char *tmp, const char *path);
void sl_tmp_remove(const char *tmp);
/* A whole regular file into memory, NUL-terminated (caller frees); *len its size.
 * NULL with one line ("cannot open: <reason>", "not a regular file", "cannot read
 * the file") naming path. */
char *sl_read_file(const char *path, size_t *len);
/* The same read only, mapped where the system allows (*mapped = 1) or read; NULL with
 * sl_read_file's messages. The file must not change while mapped. Release with
 * sl_unmap_file(p, len, mapped). */
const void *sl_map_file(const char *path, size_t *len, int *mapped);
void sl_unmap_file(const void *p, size_t len, int mapped);
/* The end of a temporary of a two-phase output: renamed onto path when commit and
 * *ret == 0 (*ret then takes the rename's result), else removed. NULL tmp: nothing. */
void sl_tmp_settle(const char *tmp, const char *path, int commit, int *ret);
/* Unlink every registered temporary file; async-signal-safe (what a signal handler
 * calls). sl_tmp_count: how many are registered (tests). */
void sl_tmp_cleanup(void);
int sl_tmp_count(void);
/* For programs (the CLI), never called by the library: SIGINT, SIGTERM and SIGHUP
 * remove every registered temporary file and exit with 128 + the signal. 0 / -1. */
int sl_tmp_install_signal_handlers(void);
/* 1 if path is "-" (stdout) or exists and is not a regular file (device, pipe,
 * directory): write it in place, never rename a temporary file onto it. */
int sl_path_is_special(const char *path);

/* A character safe in a file name made from a user label (target names in output
 * file names): [A-Za-z0-9._-] are kept, anything else becomes '_'. */
static inline char sl_file_name_char(char c)
{
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-';
    return ok ? c : '_';
}

/* Strict number parsing of a whole string; 0 on success, -1 if not a number. */
int sl_parse_long(const char *s, long long *out);
int sl_parse_double(const char *s, double *out);

/* 64-bit hash of bytes (FNV-1a folded through splitmix64); used to derive
 * per-region seeds that do not depend on thread, batch or shard. */
uint64_t sl_hash64(const void *data, size_t n, uint64_t seed);
uint64_t sl_splitmix64(uint64_t *state);

/* Wall-clock seconds (monotonic), for benchmarks and progress. */
double sl_seconds(void);

#ifdef __cplusplus
}
#endif

#endif
