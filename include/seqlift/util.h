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

/* Atomic output: write to "<path>.tmp.<pid>" and rename onto <path> on commit, so a
 * failed run never leaves a half-written file. path "-" means stdout; an existing
 * device or pipe (/dev/null, a FIFO) is written in place.
 * sl_ofile_open returns NULL on error (reported). commit returns 0 / -1 (reported);
 * abort removes the temporary file. Both free the handle. */
typedef struct sl_ofile_s {
    FILE *fp;       /* write here */
    char *path;     /* final path */
    char *tmp;      /* temporary path, NULL for stdout or a device written in place */
    int direct;     /* 1: fp is the device/pipe itself (closed on commit/abort) */
} sl_ofile_t;
sl_ofile_t *sl_ofile_open(const char *path, const char *mode);
int sl_ofile_commit(sl_ofile_t *f);
void sl_ofile_abort(sl_ofile_t *f);
/* For writers that manage their own file (bgzf, libBigWig): temp name for path
 * (caller frees) and the final rename (0 / -1 reported). */
char *sl_tmp_path(const char *path);
int sl_rename_into_place(const char *tmp, const char *path);
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
