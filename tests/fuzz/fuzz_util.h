/* fuzz_util.h — helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput (and maybe LLVMFuzzerInitialize). It is
 * linked either with libFuzzer (-fsanitize=fuzzer, scripts/fuzz.sh) or with replay.c, a
 * small main() that feeds it every file of the seed corpus and of the regression
 * cases (the fuzz_* ctest tests of the normal suite).
 *
 * Readers that take a path get the input through one scratch file per process. */
#ifndef SEQLIFT_FUZZ_UTIL_H
#define SEQLIFT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqlift/util.h"

#ifndef SEQLIFT_SRC_DIR
#define SEQLIFT_SRC_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path under the repository (test_data/...), in a static buffer per call site. */
static inline const char *fz_src(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", SEQLIFT_SRC_DIR, rel);
    return buf;
}

/* Whole file into memory (malloc'd, NUL-terminated); exits on failure: a harness
 * without its fixed counterpart cannot run. */
static inline char *fz_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fuzz: cannot open %s\n", path);
        exit(2);
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (!d || fread(d, 1, (size_t)n, fp) != (size_t)n) exit(2);
    d[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return d;
}

/* Scratch path "<TMPDIR>/seqlift-fuzz-<pid>-<tag><suffix>" (static storage per tag). */
static inline void fz_tmp_path(char *buf, size_t n, const char *tag, const char *suffix)
{
    const char *d = getenv("TMPDIR");
    snprintf(buf, n, "%s/seqlift-fuzz-%ld-%s%s", d && *d ? d : "/tmp", (long)getpid(), tag, suffix);
}

/* Write data to path (truncating); exits on failure. */
static inline void fz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        exit(2);
    }
}

/* NUL-terminated copy of the input (malloc'd). */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) exit(2);
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
