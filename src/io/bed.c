/* bed.c — BED 3-12+ / narrowPeak reader (plain, gzip or bgzip via htslib BGZF). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include "io/io_internal.h"
#include "seqlift/util.h"

#define MAX_FIELDS 12
/* Coordinates beyond this are surely an error, and keep start +/- width from overflowing. */
#define MAX_COORD ((int64_t)1 << 48)

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Lines that carry no region: blank, '#', `track ...`, `browser ...`. */
static int is_skipped_line(const char *s)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == 0 || *p == '#') return 1;
    static const char *kw[] = {"track", "browser"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(kw[i]);
        if (strncmp(s, kw[i], n) == 0 && (s[n] == 0 || s[n] == ' ' || s[n] == '\t')) return 1;
    }
    return 0;
}

/* Split on tabs in place; returns the number of fields (all of them, though only
 * the first MAX_FIELDS are stored). */
static int split_tabs(char *s, char **f)
{
    int n = 0;
    for (char *p = s;; p++) {
        if (n < MAX_FIELDS) f[n] = p;
        n++;
        p = strchr(p, '\t');
        if (!p) break;
        *p = 0;
    }
    return n;
}

static int parse_coord(const char *path, int64_t line, const char *what, const char *s, int64_t *out)
{
    long long v;
    if (sl_parse_long(s, &v) != 0) {
        sl_log_error("%s:%lld: %s '%s' is not an integer", path, (long long)line, what, sl_io_quote(s).s);
        return -1;
    }
    if (v < 0) {
        sl_log_error("%s:%lld: negative %s %lld", path, (long long)line, what, v);
        return -1;
    }
    if (v > MAX_COORD) {
        sl_log_error("%s:%lld: %s %lld is too large", path, (long long)line, what, v);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse one data line into r (already pushed). 0 / -1 (reported). */
static int parse_line(const char *path, int64_t line, char *s, int narrowpeak, sl_genome_t *g,
                      sl_regions_t *rl, sl_region_t *r)
{
    char *f[MAX_FIELDS];
    int nf = split_tabs(s, f);
    if (nf < 3) {
        sl_log_error("%s:%lld: too few columns (%d; BED needs tab-separated chrom, start, end)",
                     path, (long long)line, nf);
        return -1;
    }
    if (!*f[0]) {
        sl_log_error("%s:%lld: empty contig name", path, (long long)line);
        return -1;
    }
    if (g && sl_genome_contig_len(g, f[0]) < 0) {
        sl_log_error("%s:%lld: unknown contig '%s' (not in the genome FASTA index)", path,
                     (long long)line, sl_io_quote(f[0]).s);
        return -1;
    }
    if (parse_coord(path, line, "start", f[1], &r->bed_start) < 0 ||
        parse_coord(path, line, "end", f[2], &r->bed_end) < 0)
        return -1;
    if (r->bed_start > r->bed_end) {
        sl_log_error("%s:%lld: start %lld > end %lld", path, (long long)line,
                     (long long)r->bed_start, (long long)r->bed_end);
        return -1;
    }
    if (nf >= 6) {
        if ((f[5][0] != '+' && f[5][0] != '-' && f[5][0] != '.') || f[5][1]) {
            sl_log_error("%s:%lld: bad strand '%s' (expected +, - or .)", path, (long long)line,
                         sl_io_quote(f[5]).s);
            return -1;
        }
        r->strand = f[5][0];
    }
    if ((narrowpeak || nf == 10) && nf >= 10) {
        long long off;
        if (sl_parse_long(f[9], &off) != 0 || off < -1 ||
            (off >= 0 && off >= r->bed_end - r->bed_start)) {
            sl_log_error("%s:%lld: bad narrowPeak summit '%s' (expected -1 or an offset in [0, %lld))",
                         path, (long long)line, sl_io_quote(f[9]).s, (long long)(r->bed_end - r->bed_start));
            return -1;
        }
        r->summit = off >= 0 ? r->bed_start + off : -1;
    }
    if (!(r->chrom = sl_io_regions_intern(rl, f[0]))) return -1;
    if (nf >= 4 && strcmp(f[3], ".") != 0 && !(r->name = sl_io_regions_strdup(rl, f[3], strlen(f[3])))) return -1;
    r->line = line;
    return 0;
}

/* 1 if the window leaves [0, contig length) (upper bound only when g is known). */
static int off_contig(const sl_region_t *r, sl_genome_t *g, int64_t *len)
{
    *len = g ? sl_genome_contig_len(g, r->chrom) : -1;
    return r->start < 0 || (*len >= 0 && r->end > *len);
}

sl_regions_t *sl_regions_read_bed(const char *path, sl_genome_t *g, const sl_region_opts_t *opts)
{
    static const sl_region_opts_t defaults = {0, 0, SL_EDGE_PAD};
    if (!opts) opts = &defaults;
    sl_regions_t *rl = NULL;
    kstring_t ks = KS_INITIALIZE;
    int64_t line = 0;
    int ret;
    if (opts->width < 0) {
        sl_log_error("%s: negative model width %lld", path, (long long)opts->width);
        return NULL;
    }
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        sl_log_error("%s: cannot open BED file: %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    int narrowpeak = ends_with_ci(path, ".narrowPeak") || ends_with_ci(path, ".narrowPeak.gz");
    if (!(rl = sl_io_regions_new(path))) goto fail;
    while ((ret = bgzf_getline(fp, '\n', &ks)) >= 0) {
        line++;
        if (ks.l && ks.s[ks.l - 1] == '\r') ks.s[--ks.l] = 0;
        if (is_skipped_line(ks.s)) continue;
        sl_region_t *r = sl_io_regions_push(rl);
        if (!r) goto fail;
        if (parse_line(path, line, ks.s, narrowpeak, g, rl, r) < 0) goto fail;
        int64_t len = r->bed_end - r->bed_start;
        if (opts->width > 0 && opts->refuse_resize && len != opts->width) {
            sl_log_error("%s:%lld: region length %lld differs from the model width %lld "
                         "(resizing was refused)", path, (long long)line, (long long)len,
                         (long long)opts->width);
            goto fail;
        }
        if (opts->width == 0 && len == 0) {
            sl_log_error("%s:%lld: empty interval (start == end) and no width to resize to",
                         path, (long long)line);
            goto fail;
        }
        sl_region_resize(r, opts->width);
        int64_t clen;
        if (off_contig(r, g, &clen)) {
            char lab[256], where[64];
            sl_region_label(r, lab, sizeof lab);
            if (r->start < 0) snprintf(where, sizeof where, "starts before the contig");
            else snprintf(where, sizeof where, "runs past the contig end (%lld)", (long long)clen);
            if (opts->edge == SL_EDGE_ERROR) {
                sl_log_error("%s:%lld: window %s %s; use --edge pad or --edge skip", path,
                             (long long)line, lab, where);
                goto fail;
            }
            if (opts->edge == SL_EDGE_SKIP) {
                sl_log_warn("%s:%lld: window %s %s; skipped", path, (long long)line, lab, where);
                rl->n--; /* its name stays in the arena until the list goes */
            }
        }
    }
    if (ret < -1) {
        sl_log_error("%s:%lld: read error (truncated or corrupt gzip?)", path, (long long)line + 1);
        goto fail;
    }
    free(ks.s);
    bgzf_close(fp);
    return rl;
fail:
    free(ks.s);
    bgzf_close(fp);
    sl_regions_destroy(rl);
    return NULL;
}
