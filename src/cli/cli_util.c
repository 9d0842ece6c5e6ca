/* cli_util.c — option parsing shared by the commands. */
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "seqlift/log.h"
#include "seqlift/reference.h"
#include "seqlift/score.h"
#include "seqlift/util.h"

static const char *cli_command = "";

void sl_cli_set_command(const char *name) { cli_command = name ? name : ""; }

int sl_cli_bad(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_log_error("%s (see 'seqlift %s --help')", msg, cli_command);
    return SL_EXIT_USAGE;
}

/* the library's message about a bad value, kept to be printed with the usage hint */
static void keep_error(sl_log_level_t level, const char *msg, void *ud)
{
    if (level == SL_LOG_ERROR) snprintf(ud, 512, "%s", msg);
}

int sl_cli_refs(const char *spec)
{
    char msg[512] = "";
    sl_log_set_callback(keep_error, msg);
    int bad_spec = 0;
    sl_refspec_t *rs = sl_refspec_parse2(spec, &bad_spec);
    sl_log_set_callback(NULL, NULL);
    if (rs) {
        sl_refspec_destroy(rs);
        return 0;
    }
    if (!bad_spec) { /* a file the spec names cannot be read: a runtime error, not usage */
        sl_log_error("%s", msg[0] ? msg : "cannot read the references");
        return SL_EXIT_ERROR;
    }
    return sl_cli_bad("--refs: %s", msg[0] ? msg : "bad reference spec");
}

int sl_cli_unknown_option(char **argv, int optind_)
{
    return sl_cli_bad("unknown option or missing value: '%s'", argv[optind_ - 1]);
}

int sl_cli_int(const char *opt, const char *s, long long lo, long long hi, long long *v)
{
    if (sl_parse_long(s, v) != 0 || *v < lo || *v > hi) {
        sl_cli_bad("--%s: '%s' is not an integer in [%lld, %lld]", opt, s, lo, hi);
        return -1;
    }
    return 0;
}

int sl_cli_edge(const char *s, sl_edge_t *edge)
{
    if (strcmp(s, "pad") == 0) *edge = SL_EDGE_PAD;
    else if (strcmp(s, "skip") == 0) *edge = SL_EDGE_SKIP;
    else if (strcmp(s, "error") == 0) *edge = SL_EDGE_ERROR;
    else {
        sl_cli_bad("--edge: '%s' is not pad, skip or error", s);
        return -1;
    }
    return 0;
}

int sl_cli_check_inputs(int argc, char **argv, int optind_, const char *fa, const char *bed, const char *seqs)
{
    if (optind_ < argc) {
        sl_cli_bad("unexpected argument '%s'", argv[optind_]);
        return -1;
    }
    if (seqs ? fa || bed : !fa || !bed) {
        sl_cli_bad("give either -f GENOME.fa and -b REGIONS.bed, or -s SEQS.fa");
        return -1;
    }
    return 0;
}

int sl_cli_check_list(const char *opt, const char *list)
{
    for (const char *a = list; a;) {
        const char *ae = strchr(a, ',');
        size_t an = ae ? (size_t)(ae - a) : strlen(a);
        for (const char *b = ae ? ae + 1 : NULL; b;) {
            const char *be = strchr(b, ',');
            size_t bn = be ? (size_t)(be - b) : strlen(b);
            if (an == bn && strncmp(a, b, an) == 0) {
                sl_cli_bad("--%s: '%.*s' is given twice", opt, (int)an, a);
                return -1;
            }
            b = be ? be + 1 : NULL;
        }
        a = ae ? ae + 1 : NULL;
    }
    return 0;
}
int sl_cli_output_dirs(const char *path)
{
    char buf[4096];
    if (!path || strcmp(path, "-") == 0 || strncmp(path, "/dev/", 5) == 0) return 0;
    size_t n = strlen(path);
    if (n >= sizeof buf) return 0; /* let the open report it */
    memcpy(buf, path, n + 1);
    char *sl = strrchr(buf, '/');
    if (!sl || sl == buf) return 0;
    *sl = 0;
    /* mkdir -p of the parent: each prefix in turn, existing ones are fine */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        struct stat st;
        if (stat(buf, &st) != 0) {
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                sl_log_error("%s: cannot create the output directory %s: %s", path, buf, strerror(errno));
                return -1;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            sl_log_error("%s: %s is not a directory", path, buf);
            return -1;
        }
        if (!c) break;
        *p = c;
    }
    return 0;
}

int sl_cli_version(const char *cmd)
{
    printf("seqlift %s %s\n", cmd, SEQLIFT_VERSION);
    return SL_EXIT_OK;
}

int sl_cli_shard(const char *s, int *k, int *n)
{
    if (sl_shard_parse(s, k, n) == 0) return 0;
    sl_cli_bad("--shard: '%s' is not K/N with 1 <= K <= N", s);
    return -1;
}

char *sl_cli_command_line(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = sl_malloc(n + 8, "command line"), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "seqlift");
    for (int i = 0; i < argc; i++) p += sprintf(p, " %s", argv[i]);
    return s;
}

/* ---- progress on stderr: a line rewritten in place on a terminal, else (--progress)
 * a plain line every PLAIN_SECS seconds or PLAIN_FRAC of the regions; the summary. */
#define PLAIN_SECS 10.0
#define PLAIN_FRAC 0.05

typedef struct {
    int tty, lines;       /* lines: show progress at all (else the summary only) */
    double next_t, next_frac;
} cli_progress_t;

static void hms(double s, char *buf, size_t n)
{
    long t = s < 0 || s > 1e9 ? 0 : (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static void cli_progress(const sl_progress_t *p, void *ud)
{
    cli_progress_t *c = ud;
    double rate = p->seconds > 0 ? (double)p->done / p->seconds : 0;
    if (p->final) {
        char err[64] = "";
        if (p->worst_err == p->worst_err) snprintf(err, sizeof err, ", worst summation-to-delta error %.3g", p->worst_err);
        sl_log_progress(0, "%lld regions in %.1f s (%.1f regions/s)%s, %lld warning%s", (long long)p->done,
                        p->seconds, rate, err, (long long)p->warnings, p->warnings == 1 ? "" : "s");
        return;
    }
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 1;
    if (!c->lines || (!c->tty && p->seconds < c->next_t && frac < c->next_frac)) return;
    c->next_t = p->seconds + PLAIN_SECS;
    c->next_frac = frac + PLAIN_FRAC;
    char eta[32];
    hms(rate > 0 ? (double)(p->total - p->done) / rate : 0, eta, sizeof eta);
    sl_log_progress(c->tty, "%lld / %lld regions (%.1f %%), %.1f regions/s, ETA %s", (long long)p->done,
                    (long long)p->total, 100 * frac, rate, eta);
}

sl_progress_f sl_cli_progress(int asked, void **ud)
{
    static cli_progress_t c;
    if (sl_log_get_level() < SL_LOG_WARN) return NULL; /* -q */
    c.tty = isatty(fileno(stderr));
    c.lines = c.tty || asked;
    c.next_t = PLAIN_SECS, c.next_frac = PLAIN_FRAC;
    if (!c.lines && sl_log_get_level() < SL_LOG_INFO) return NULL; /* -v: the summary alone */
    *ud = &c;
    return cli_progress;
}
