/* util.c — allocation, atomic output files, parsing, hashing. */
#include "seqlift/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *sl_malloc(size_t n, const char *what)
{
    void *p = malloc(n ? n : 1);
    if (!p) sl_log_error("out of memory allocating %zu bytes for %s", n, what);
    return p;
}

void *sl_calloc(size_t n, size_t size, const char *what)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) sl_log_error("out of memory allocating %zu x %zu bytes for %s", n, size, what);
    return p;
}

void *sl_realloc(void *p, size_t n, const char *what)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) sl_log_error("out of memory allocating %zu bytes for %s", n, what);
    return q;
}

char *sl_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sl_malloc(n, "string");
    if (d) memcpy(d, s, n);
    return d;
}

char *sl_tmp_path(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = sl_malloc(n, "temporary path");
    if (t) snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    return t;
}

int sl_rename_into_place(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        sl_log_error("%s: cannot rename temporary file into place: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

sl_ofile_t *sl_ofile_open(const char *path, const char *mode)
{
    sl_ofile_t *f = sl_calloc(1, sizeof(*f), "output file");
    if (!f) return NULL;
    if (!(f->path = sl_strdup(path))) goto fail;
    if (strcmp(path, "-") == 0) {
        f->fp = stdout;
        return f;
    }
    /* Devices and pipes (/dev/null, a FIFO) are written in place: renaming a
     * temporary file onto them would replace the device with a regular file. */
    if (sl_path_is_special(path)) {
        if (!(f->fp = fopen(path, mode ? mode : "w"))) {
            sl_log_error("%s: cannot open for writing: %s", path, strerror(errno));
            goto fail;
        }
        f->direct = 1;
        return f;
    }
    if (!(f->tmp = sl_tmp_path(path))) goto fail;
    if (!(f->fp = fopen(f->tmp, mode ? mode : "w"))) {
        sl_log_error("%s: cannot open for writing: %s", path, strerror(errno));
        goto fail;
    }
    return f;
fail:
    free(f->path);
    free(f->tmp);
    free(f);
    return NULL;
}

int sl_ofile_commit(sl_ofile_t *f)
{
    int ret = 0;
    if (!f) return -1;
    if (!f->tmp) {
        int bad = fflush(f->fp) != 0 || ferror(f->fp);
        if (f->direct && fclose(f->fp) != 0) bad = 1;
        if (bad) {
            sl_log_error("%s: write failed: %s", f->path, strerror(errno));
            ret = -1;
        }
    } else {
        int bad = ferror(f->fp);
        if (fclose(f->fp) != 0 || bad) {
            sl_log_error("%s: write failed: %s", f->path, strerror(errno));
            remove(f->tmp);
            ret = -1;
        } else {
            ret = sl_rename_into_place(f->tmp, f->path);
        }
    }
    free(f->path);
    free(f->tmp);
    free(f);
    return ret;
}

void sl_ofile_abort(sl_ofile_t *f)
{
    if (!f) return;
    if (f->tmp) {
        fclose(f->fp);
        remove(f->tmp);
    } else if (f->direct) {
        fclose(f->fp);
    }
    free(f->path);
    free(f->tmp);
    free(f);
}

int sl_parse_long(const char *s, long long *out)
{
    char *end;
    if (!s || !*s) return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int sl_parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s) return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

uint64_t sl_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sl_hash64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return sl_splitmix64(&h);
}

double sl_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int sl_path_is_special(const char *path)
{
    struct stat st;
    return strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode));
}
