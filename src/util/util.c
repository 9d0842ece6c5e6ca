/* util.c — allocation, atomic output files, parsing, hashing. */
#define _GNU_SOURCE /* fopencookie: stdout held back until it is worth streaming */
#include "seqlift/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
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

/* ---- temporaries: registered so a signal handler can remove them ----------------- */

/* A static table, not a heap list: the handler of SIGINT/SIGTERM/SIGHUP only reads it
 * (async-signal-safe: no malloc, no locks), slot by slot, and unlinks what is in use. */
#define TMP_MAX_FILES 1024 /* outputs of one run: 2 + 6 per target at most today */
#define TMP_PATH_MAX 4096
static char tmp_slot[TMP_MAX_FILES][TMP_PATH_MAX];
static volatile sig_atomic_t tmp_used[TMP_MAX_FILES];
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;

static int tmp_register(const char *tmp)
{
    size_t n = strlen(tmp);
    if (n >= TMP_PATH_MAX) {
        sl_log_error("%s: path too long for a temporary file", tmp);
        return -1;
    }
    pthread_mutex_lock(&tmp_lock);
    int i = 0;
    while (i < TMP_MAX_FILES && tmp_used[i]) i++;
    if (i < TMP_MAX_FILES) {
        memcpy(tmp_slot[i], tmp, n + 1);
        atomic_signal_fence(memory_order_seq_cst); /* the path is complete before the flag */
        tmp_used[i] = 1;
    }
    pthread_mutex_unlock(&tmp_lock);
    if (i == TMP_MAX_FILES) {
        sl_log_error("%s: more than %d output files at once", tmp, TMP_MAX_FILES);
        return -1;
    }
    return 0;
}

static void tmp_unregister(const char *tmp)
{
    pthread_mutex_lock(&tmp_lock);
    for (int i = 0; i < TMP_MAX_FILES; i++)
        if (tmp_used[i] && strcmp(tmp_slot[i], tmp) == 0) {
            tmp_used[i] = 0;
            break;
        }
    pthread_mutex_unlock(&tmp_lock);
}

/* The file a path stands for in messages: a registered temporary ("X.tmp.<pid>", which
 * a writer such as the report may itself write through an sl_ofile_t) names X. */
static char *display_name(const char *path)
{
    int reg = 0;
    pthread_mutex_lock(&tmp_lock);
    for (int i = 0; i < TMP_MAX_FILES && !reg; i++) reg = tmp_used[i] && strcmp(tmp_slot[i], path) == 0;
    pthread_mutex_unlock(&tmp_lock);
    char suf[32];
    size_t n = strlen(path), k = (size_t)snprintf(suf, sizeof suf, ".tmp.%ld", (long)getpid());
    if (reg && n > k && strcmp(path + n - k, suf) == 0) {
        char *d = sl_strdup(path);
        if (d) d[n - k] = 0;
        return d;
    }
    return sl_strdup(path);
}

char *sl_tmp_path(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = sl_malloc(n, "temporary path");
    if (!t) return NULL;
    snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    if (tmp_register(t) < 0) {
        free(t);
        return NULL;
    }
    return t;
}

void sl_tmp_remove(const char *tmp)
{
    if (!tmp) return;
    remove(tmp);
    tmp_unregister(tmp);
}

char *sl_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    if (!fp) {
        sl_log_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb; /* a directory opens, and its "size" would be asked of malloc */
    if (fstat(fileno(fp), &sb) == 0 && !S_ISREG(sb.st_mode)) {
        sl_log_error("%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) < 0) goto fail;
    long sz = ftell(fp);
    if (sz < 0 || fseek(fp, 0, SEEK_SET) < 0) goto fail;
    if (!(buf = sl_malloc((size_t)sz + 1, path))) {
        fclose(fp);
        return NULL;
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) goto fail;
    buf[sz] = 0;
    *len = (size_t)sz;
    fclose(fp);
    return buf;
fail:
    sl_log_error("%s: cannot read the file", path);
    free(buf);
    fclose(fp);
    return NULL;
}

/* A model's weights are read once into floats: mapping the file's page-cache pages
 * saves the copy into fresh memory (and its page faults: 16 MB of them took ~15 % of a
 * Basset-like model's start). Anything mmap refuses goes through sl_read_file. */
const void *sl_map_file(const char *path, size_t *len, int *mapped)
{
    *mapped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
        if (p != MAP_FAILED) {
            *len = (size_t)sb.st_size, *mapped = 1;
            return p;
        }
    } else if (fd >= 0) {
        close(fd);
    }
    return sl_read_file(path, len); /* and its messages */
}

void sl_unmap_file(const void *p, size_t len, int mapped)
{
    if (mapped) munmap((void *)p, len);
    else free((void *)p);
}

void sl_tmp_settle(const char *tmp, const char *path, int commit, int *ret)
{
    if (!tmp) return;
    if (commit && *ret == 0) *ret = sl_rename_into_place(tmp, path);
    else sl_tmp_remove(tmp);
}

int sl_rename_into_place(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        sl_log_error("%s: cannot rename temporary file into place: %s", path, strerror(errno));
        sl_tmp_remove(tmp);
        return -1;
    }
    tmp_unregister(tmp);
    return 0;
}

void sl_tmp_cleanup(void)
{
    for (int i = 0; i < TMP_MAX_FILES; i++)
        if (tmp_used[i]) unlink(tmp_slot[i]);
}

int sl_tmp_count(void)
{
    int n = 0;
    for (int i = 0; i < TMP_MAX_FILES; i++) n += tmp_used[i] != 0;
    return n;
}

static void on_signal(int sig)
{
    sl_tmp_cleanup();
    _exit(128 + sig);
}

int sl_tmp_install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask); /* no second handler on top of the first */
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0) return -1;
    return 0;
}

/* stdout, all-or-nothing for outputs up to SL_OFILE_HOLD bytes: the bytes are held in
 * memory until the file is prepared (then written) or aborted (then dropped); past that
 * size they stream (a failure then leaves the part already written). */
typedef struct {
    char *buf;
    size_t n, cap;
    int streaming, drop;
} hold_t;

static int hold_spill(hold_t *h)
{
    int bad = h->n && fwrite(h->buf, 1, h->n, stdout) != h->n;
    free(h->buf);
    h->buf = NULL, h->n = h->cap = 0;
    return bad ? -1 : 0;
}

static ssize_t hold_write(void *c, const char *s, size_t n)
{
    hold_t *h = c;
    if (!h->streaming && h->n + n > SL_OFILE_HOLD) {
        h->streaming = 1;
        if (hold_spill(h) < 0) return -1;
    }
    if (h->streaming) return fwrite(s, 1, n, stdout) == n ? (ssize_t)n : -1;
    if (h->n + n > h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 1 << 16;
        while (nc < h->n + n) nc *= 2;
        char *b = realloc(h->buf, nc);
        if (!b) return -1;
        h->buf = b, h->cap = nc;
    }
    memcpy(h->buf + h->n, s, n);
    h->n += n;
    return (ssize_t)n;
}

static int hold_close(void *c)
{
    hold_t *h = c;
    int bad = 0;
    if (!h->drop) bad = hold_spill(h) < 0 || fflush(stdout) != 0 || ferror(stdout);
    free(h->buf);
    free(h);
    return bad ? -1 : 0;
}

static FILE *hold_open(void **held)
{
    hold_t *h = sl_calloc(1, sizeof *h, "stdout buffer");
    *held = h;
    cookie_io_functions_t io = {NULL, hold_write, NULL, hold_close};
    FILE *fp = h ? fopencookie(h, "w", io) : NULL;
    if (!fp) {
        if (h) sl_log_error("stdout: cannot buffer it: %s", strerror(errno));
        free(h);
    }
    return fp;
}

sl_ofile_t *sl_ofile_open(const char *path, const char *mode)
{
    sl_ofile_t *f = sl_calloc(1, sizeof(*f), "output file");
    if (!f) return NULL;
    if (!(f->path = sl_strdup(path)) || !(f->name = strcmp(path, "-") ? display_name(path) : sl_strdup("stdout")))
        goto fail;
    if (strcmp(path, "-") == 0) {
        if (!(f->fp = hold_open(&f->hold))) goto fail;
        f->direct = 1;
        return f;
    }
    /* Devices and pipes (/dev/null, a FIFO) are written in place: renaming a
     * temporary file onto them would replace the device with a regular file. */
    if (sl_path_is_special(path)) {
        if (!(f->fp = fopen(path, mode ? mode : "w"))) {
            sl_log_error("%s: cannot open for writing: %s", f->name, strerror(errno));
            goto fail;
        }
        f->direct = 1;
        return f;
    }
    if (!(f->tmp = sl_tmp_path(path))) goto fail;
    if (!(f->fp = fopen(f->tmp, mode ? mode : "w"))) {
        sl_log_error("%s: cannot open for writing: %s", f->name, strerror(errno));
        goto fail;
    }
    return f;
fail:
    if (f->tmp) sl_tmp_remove(f->tmp);
    free(f->path);
    free(f->name);
    free(f->tmp);
    free(f);
    return NULL;
}

int sl_ofile_prepare(sl_ofile_t *f)
{
    if (!f) return -1;
    if (!f->fp) return f->failed ? -1 : 0; /* prepared already */
    int bad = fflush(f->fp) != 0 || ferror(f->fp);
    int err = bad ? errno : 0;
    if (f->tmp || f->direct) {
        if (fclose(f->fp) != 0 && !bad) bad = 1, err = errno;
    }
    f->fp = NULL;
    if (bad) {
        sl_log_error("%s: write failed: %s", f->name, strerror(err ? err : EIO));
        f->failed = 1;
        return -1;
    }
    return 0;
}

static void ofile_free(sl_ofile_t *f)
{
    free(f->path);
    free(f->name);
    free(f->tmp);
    free(f);
}

int sl_ofile_commit(sl_ofile_t *f)
{
    if (!f) return -1;
    int ret = sl_ofile_prepare(f);
    if (f->tmp) {
        if (ret == 0) ret = sl_rename_into_place(f->tmp, f->path);
        else sl_tmp_remove(f->tmp);
    }
    ofile_free(f);
    return ret;
}

void sl_ofile_abort(sl_ofile_t *f)
{
    if (!f) return;
    if (f->fp && f->hold) ((hold_t *)f->hold)->drop = 1; /* nothing held reaches stdout */
    if (f->fp && (f->tmp || f->direct)) fclose(f->fp);
    if (f->tmp) sl_tmp_remove(f->tmp);
    ofile_free(f);
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
