/* cli_util.c — option parsing shared by the commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cli_int(const char *opt, const char *s, long long lo, long long hi, long long *v)
{
    if (sl_parse_long(s, v) != 0 || *v < lo || *v > hi) {
        sl_log_error("--%s: '%s' is not an integer in [%lld, %lld]", opt, s, lo, hi);
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
        sl_log_error("--edge: '%s' is not pad, skip or error", s);
        return -1;
    }
    return 0;
}

int sl_cli_check_inputs(int argc, char **argv, int optind_, const char *fa, const char *bed, const char *seqs)
{
    if (optind_ < argc) {
        sl_log_error("unexpected argument '%s'", argv[optind_]);
        return -1;
    }
    if (seqs ? fa || bed : !fa || !bed) {
        sl_log_error("give either -f GENOME.fa and -b REGIONS.bed, or -s SEQS.fa");
        return -1;
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
