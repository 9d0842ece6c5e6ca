/* sl_fault.c — LD_PRELOAD fault injection for the output tests: "disk full at byte N"
 * without root. Files opened for writing whose path matches the fnmatch pattern in
 * SL_FAULT_PATH fail as SL_FAULT_MODE says:
 *   open   the open fails (EACCES)
 *   write  writes succeed for the first SL_FAULT_AFTER bytes of the file, then fail
 *          with ENOSPC (a write crossing the limit is short, as on a full disk)
 *   close  everything is written, but close fails with ENOSPC (as NFS may report)
 * The writers reach the disk through open/openat + write/pwrite + close (npz) and
 * through stdio (TSV, bedGraph, report, libBigWig's fopen), whose internal writes
 * are not interposable: fopen of a matching path returns a fopencookie stream whose
 * write/read/seek/close go through the same checks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

static long long written[MAX_FD]; /* bytes written per tracked fd */
static char tracked[MAX_FD];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *mode_env(void)
{
    const char *m = getenv("SL_FAULT_MODE");
    return m ? m : "";
}

static int matches(const char *path)
{
    const char *pat = getenv("SL_FAULT_PATH");
    return pat && path && fnmatch(pat, path, 0) == 0;
}

static long long limit(void)
{
    const char *a = getenv("SL_FAULT_AFTER");
    return a ? atoll(a) : 0;
}

static void track(int fd)
{
    if (fd >= 0 && fd < MAX_FD) {
        pthread_mutex_lock(&lock);
        tracked[fd] = 1, written[fd] = 0;
        pthread_mutex_unlock(&lock);
    }
}

static int is_tracked(int fd) { return fd >= 0 && fd < MAX_FD && tracked[fd]; }

/* How many of n bytes may be written now (0: fail with ENOSPC). */
static size_t allow(int fd, size_t n)
{
    if (!is_tracked(fd) || strcmp(mode_env(), "write") != 0) return n;
    pthread_mutex_lock(&lock);
    long long room = limit() - written[fd];
    size_t k = room <= 0 ? 0 : (size_t)room < n ? (size_t)room : n;
    written[fd] += (long long)k;
    pthread_mutex_unlock(&lock);
    return k;
}

typedef ssize_t (*write_f)(int, const void *, size_t);
typedef ssize_t (*pwrite_f)(int, const void *, size_t, off_t);
typedef int (*close_f)(int);
typedef FILE *(*fopen_f)(const char *, const char *);
#define REAL(name, type) \
    static type real_##name; \
    if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

static int open_common(int (*real)(int, const char *, int, mode_t), int dirfd, const char *path, int flags,
                       mode_t mode)
{
    int w = (flags & (O_WRONLY | O_RDWR)) != 0 && matches(path);
    if (w && strcmp(mode_env(), "open") == 0) {
        errno = EACCES;
        return -1;
    }
    int fd = real(dirfd, path, flags, mode);
    if (w) track(fd);
    return fd;
}

typedef int (*openat_f)(int, const char *, int, ...);
static openat_f real_openat_p;
static int call_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    if (!real_openat_p) real_openat_p = (openat_f)dlsym(RTLD_NEXT, "openat");
    return real_openat_p(dirfd, path, flags, mode);
}

/* the mode argument, present only when a file may be created */
#define OPEN_MODE(flags, mode)                                                      \
    mode_t mode = 0;                                                                \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                          \
        va_list ap;                                                                 \
        va_start(ap, flags);                                                        \
        mode = (mode_t)va_arg(ap, int);                                             \
        va_end(ap);                                                                 \
    }

int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return open_common(call_openat, AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return open_common(call_openat, dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write, write_f);
    size_t k = allow(fd, n);
    if (n > 0 && k == 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, k);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite, pwrite_f);
    size_t k = allow(fd, n);
    if (n > 0 && k == 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite(fd, buf, k, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

int close(int fd)
{
    REAL(close, close_f);
    int t = is_tracked(fd);
    if (t) tracked[fd] = 0;
    int r = real_close(fd);
    if (t && r == 0 && strcmp(mode_env(), "close") == 0) {
        errno = ENOSPC;
        return -1;
    }
    return r;
}

/* ---- stdio streams of matching paths ---- */

static ssize_t ck_read(void *c, char *buf, size_t n) { return read((int)(intptr_t)c, buf, n); }
static ssize_t ck_write(void *c, const char *buf, size_t n)
{
    return write((int)(intptr_t)c, buf, n); /* -1 with errno: the stream's error */
}
static int ck_seek(void *c, off64_t *pos, int whence)
{
    off_t r = lseek((int)(intptr_t)c, (off_t)*pos, whence);
    if (r < 0) return -1;
    *pos = r;
    return 0;
}
static int ck_close(void *c) { return close((int)(intptr_t)c); }

FILE *fopen(const char *path, const char *mode)
{
    REAL(fopen, fopen_f);
    int w = strpbrk(mode, "wa+") != NULL;
    if (!w || !matches(path)) return real_fopen(path, mode);
    int flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
    if (mode[0] == 'w') flags |= O_CREAT | O_TRUNC;
    else if (mode[0] == 'a') flags |= O_CREAT | O_APPEND;
    int fd = open(path, flags, 0644);
    if (fd < 0) return NULL;
    cookie_io_functions_t io = {ck_read, ck_write, ck_seek, ck_close};
    FILE *fp = fopencookie((void *)(intptr_t)fd, mode, io);
    if (!fp) close(fd);
    return fp;
}
FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));
