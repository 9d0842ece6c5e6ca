/* fasta.c — every record of a FASTA file in order (plain or gzip), for scoring
 * sequences that are not on a genome. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/khash_str2int.h>
#include <htslib/kstring.h>

#include "io/io_internal.h"
#include "seqlift/util.h"

typedef struct {
    const char *path;
    int64_t width;
    sl_regions_t *rl;
    void *names;     /* name -> header line, for duplicates (keys owned by the regions) */
    int64_t seqs_m;  /* capacity of rl->seqs */
    int64_t hline;   /* header line of the open record, 0 if none */
    kstring_t seq;   /* sequence of the open record */
} reader_t;

/* Close the open record: checks, then append it with its sequence. The region
 * takes a copy of *namep (freed and set to NULL) once appended. */
static int finish_record(reader_t *rd, char **namep)
{
    char *name = *namep;
    const char *path = rd->path;
    long long hl = (long long)rd->hline;
    int first;
    if (rd->seq.l == 0) {
        sl_log_error("%s:%lld: record '%s' is empty", path, hl, sl_io_quote(name).s);
        return -1;
    }
    if (khash_str2int_get(rd->names, name, &first) == 0) {
        sl_log_error("%s:%lld: duplicate record name '%s' (first at line %d)", path, hl,
                     sl_io_quote(name).s, first);
        return -1;
    }
    if (rd->width > 0 && (int64_t)rd->seq.l != rd->width) {
        sl_log_error("%s:%lld: record '%s' has length %zu, the model width is %lld", path, hl,
                     sl_io_quote(name).s, rd->seq.l, (long long)rd->width);
        return -1;
    }
    sl_regions_t *rl = rd->rl;
    if (rl->n == rd->seqs_m) {
        int64_t m = rd->seqs_m ? rd->seqs_m * 2 : 64;
        char **s = sl_realloc(rl->seqs, (size_t)m * sizeof(*s), "FASTA records");
        if (!s) return -1;
        rl->seqs = s;
        rd->seqs_m = m;
    }
    /* name and sequence go to the list's arena: no allocation per record */
    char *seq = sl_io_regions_strdup(rl, rd->seq.s, rd->seq.l), *nm = seq ? sl_io_regions_strdup(rl, name, strlen(name)) : NULL;
    sl_region_t *r = nm ? sl_io_regions_push(rl) : NULL;
    if (!r) return -1;
    rl->seqs[r->index] = seq;
    r->name = name = nm;
    free(*namep);
    *namep = NULL;
    r->end = r->bed_end = (int64_t)rd->seq.l;
    r->line = r->index + 1;
    if (khash_str2int_set(rd->names, name, (int)hl) < 0) {
        sl_log_error("out of memory for the FASTA record names");
        return -1;
    }
    return 0;
}

/* Append the bases of one sequence line, uppercased; whitespace is ignored. */
static int add_line(reader_t *rd, const char *name, int64_t line, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == ' ' || c == '\t' || c == '\r') continue;
        if (sl_io_base_class[c] == SL_BASE_BAD) {
            if (isprint(c))
                sl_log_error("%s:%lld: record '%s': invalid base '%c' at position %zu", rd->path,
                             (long long)line, sl_io_quote(name).s, c, rd->seq.l + 1);
            else
                sl_log_error("%s:%lld: record '%s': invalid byte 0x%02x at position %zu", rd->path,
                             (long long)line, sl_io_quote(name).s, c, rd->seq.l + 1);
            return -1;
        }
        if (kputc(toupper(c), &rd->seq) < 0) {
            sl_log_error("out of memory reading %s", rd->path);
            return -1;
        }
    }
    return 0;
}

sl_regions_t *sl_regions_read_fasta(const char *path, int64_t width)
{
    reader_t rd = {path, width, NULL, NULL, 0, 0, KS_INITIALIZE};
    kstring_t ks = KS_INITIALIZE;
    char *name = NULL;
    int64_t line = 0;
    int ret;
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        sl_log_error("%s: cannot open FASTA file: %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    if (!(rd.rl = sl_io_regions_new(path)) || !(rd.names = khash_str2int_init())) goto fail;
    kputs("", &rd.seq);
    while ((ret = bgzf_getline(fp, '\n', &ks)) >= 0) {
        line++;
        if (ks.l && ks.s[0] == '>') {
            if (name && finish_record(&rd, &name) < 0) goto fail;
            size_t n = strcspn(ks.s + 1, " \t\r");
            if (n == 0) {
                sl_log_error("%s:%lld: FASTA header without a name", path, (long long)line);
                goto fail;
            }
            if (!(name = sl_malloc(n + 1, "record name"))) goto fail;
            memcpy(name, ks.s + 1, n);
            name[n] = 0;
            rd.hline = line;
            rd.seq.l = 0;
            rd.seq.s[0] = 0;
        } else if (!name) {
            if (strspn(ks.s, " \t\r") == ks.l) continue; /* blank lines before the first header */
            sl_log_error("%s:%lld: sequence before the first '>' header", path, (long long)line);
            goto fail;
        } else if (add_line(&rd, name, line, ks.s, ks.l) < 0) {
            goto fail;
        }
    }
    if (ret < -1) {
        sl_log_error("%s:%lld: read error (truncated or corrupt gzip?)", path, (long long)line + 1);
        goto fail;
    }
    if (name && finish_record(&rd, &name) < 0) goto fail;
    if (rd.rl->n == 0) {
        sl_log_error("%s: no FASTA records", path);
        goto fail;
    }
    khash_str2int_destroy(rd.names);
    free(ks.s);
    free(rd.seq.s);
    bgzf_close(fp);
    return rd.rl;
fail:
    free(name);
    khash_str2int_destroy(rd.names);
    free(ks.s);
    free(rd.seq.s);
    bgzf_close(fp);
    sl_regions_destroy(rd.rl);
    return NULL;
}
