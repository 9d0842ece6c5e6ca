/* track.c — streaming bedGraph (plain or BGZF) and bigWig (libBigWig) writer.
 *
 * Regions arrive in genome order. Per-base merge state (sum/count or chosen value) is
 * kept in a buffer that starts at the current region's start: every base left of it
 * can no longer be covered by a later region, so it is emitted and dropped.
 *
 * Errors must surface. The bedGraph goes through stdio (sl_ofile_t); a .gz one is cut
 * into BGZF blocks here and each compressed with htslib's bgzf_compress (the bytes
 * bgzf_write gives), but not written through a BGZF handle: bgzf_close() leaks its
 * handle and logs on its own when the final write fails. libBigWig ignores the failure of buffer flushes made inside
 * bwAppendIntervals and then writes past its 32 KiB buffer, so it is only ever fed
 * what fits in that buffer; a full buffer is flushed through bwAddIntervals, whose
 * flush is checked, and after the first failure nothing more is fed. The closed
 * bigWig is reopened and checked (header, contigs, zoom levels, size). */
#include "seqlift/track.h"

#include <bigWig.h>
#include <bwCommon.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <htslib/bgzf.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/util.h"

#define SL_TRACK_FMT "%.7g"
#define BW_BATCH 4096
#define BW_ZOOMS 10

typedef struct {
    int64_t start, end;
    float value;
    char text[32];
} entry_t;

struct sl_track_s {
    sl_track_opts_t opts;
    int n;                      /* contigs, sorted by strcmp */
    char **names;
    int64_t *sizes;
    /* bedGraph */
    sl_ofile_t *bg;
    char *bg_path;
    int bg_gz;                  /* BGZF blocks */
    unsigned char *blk, *zblk;  /* pending uncompressed block, compressed block */
    size_t blk_n;
    int bg_prepared;
    /* bigWig */
    bigWigFile_t *bw;
    char *bw_path, *bw_tmp;
    int bw_prepared, bw_finalised;
    int bw_chrom_started;       /* bwAddIntervals done for the current contig */
    uint32_t bw_n, *bw_start, *bw_end;
    float *bw_val;
    /* order check */
    int have_last;
    sl_region_t last;           /* chrom points into names[] */
    /* merge buffer of the current contig: slot i is genome base buf_start + i */
    int cur;                    /* contig index, -1 before the first region */
    int64_t buf_start, buf_len, buf_cap;
    double *sum;
    float *val;
    int32_t *cnt;
    /* the entry being built (extended by merge_runs) */
    int have_pending;
    entry_t pending;
    int64_t n_entries;
    double vmin, vmax;          /* of the entries: libBigWig 0.4.7 gets them wrong */
    int failed;
};

/* ---- options, order, names ------------------------------------------------------- */

void sl_track_opts_init(sl_track_opts_t *o)
{
    o->overlap = SL_OVERLAP_MEAN;
    o->track_width = 0;
    o->merge_runs = 0;
    o->threads = 0;
    o->comment = NULL;
}

static const char *const overlap_names[] = {"mean", "max-abs", "first"};

int sl_track_parse_overlap(const char *s, sl_overlap_t *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, overlap_names[i]) == 0) {
            *out = (sl_overlap_t)i;
            return 0;
        }
    return -1;
}

const char *sl_track_overlap_name(sl_overlap_t o)
{
    return (unsigned)o < 3 ? overlap_names[o] : "?";
}

int sl_track_region_cmp(const sl_region_t *a, const sl_region_t *b)
{
    if (!a->chrom || !b->chrom) {
        if (a->chrom || b->chrom) return a->chrom ? -1 : 1;
    } else {
        int c = strcmp(a->chrom, b->chrom);
        if (c) return c;
    }
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int sl_track_region_ptr_cmp(const void *a, const void *b)
{
    return sl_track_region_cmp(*(const sl_region_t *const *)a, *(const sl_region_t *const *)b);
}

int sl_track_sort_order(const sl_regions_t *rl, int64_t *order)
{
    const sl_region_t **p = sl_malloc((size_t)(rl->n ? rl->n : 1) * sizeof(*p), "region order");
    if (!p) return -1;
    for (int64_t i = 0; i < rl->n; i++) p[i] = &rl->r[i];
    qsort(p, (size_t)rl->n, sizeof(*p), sl_track_region_ptr_cmp);
    for (int64_t i = 0; i < rl->n; i++) order[i] = p[i] - rl->r;
    free(p);
    return 0;
}

char *sl_track_target_path(const char *path, const char *target, int n_targets)
{
    if (n_targets <= 1 || !target) return sl_strdup(path);
    size_t plen = strlen(path), tlen = strlen(target);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t ext = plen; /* where the extension (".gz" and one more) starts */
    if (plen - (size_t)(base - path) > 3 && strcmp(path + plen - 3, ".gz") == 0) ext -= 3;
    for (size_t i = ext; i > (size_t)(base - path) + 1; i--)
        if (path[i - 1] == '.') {
            ext = i - 1;
            break;
        }
    char *out = sl_malloc(plen + tlen + 2, "track file name");
    if (!out) return NULL;
    memcpy(out, path, ext);
    out[ext] = '.';
    for (size_t i = 0; i < tlen; i++) out[ext + 1 + i] = sl_file_name_char(target[i]);
    memcpy(out + ext + 1 + tlen, path + ext, plen - ext + 1);
    return out;
}

/* ---- output ----------------------------------------------------------------------- */

#define BGZF_IN BGZF_BLOCK_SIZE /* uncompressed bytes per block, as htslib */
#define BGZF_OUT BGZF_MAX_BLOCK_SIZE
static const unsigned char bgzf_eof[28] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43,
                                           2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static int bg_fail(sl_track_t *w, int err)
{
    sl_log_error("%s: write failed: %s", w->bg_path, strerror(err ? err : EIO));
    return -1;
}

/* One BGZF block, compressed by htslib (its bytes, libdeflate or zlib as built). */
static int bgzf_block(sl_track_t *w)
{
    size_t clen = BGZF_MAX_BLOCK_SIZE;
    if (bgzf_compress(w->zblk, &clen, w->blk, w->blk_n, -1) != 0) {
        sl_log_error("%s: cannot compress a BGZF block", w->bg_path);
        return -1;
    }
    w->blk_n = 0;
    if (fwrite(w->zblk, 1, clen, w->bg->fp) != clen) return bg_fail(w, errno);
    return 0;
}

static int bg_write(sl_track_t *w, const char *s, size_t n)
{
    if (!w->bg_gz) return fwrite(s, 1, n, w->bg->fp) == n ? 0 : bg_fail(w, errno);
    while (n > 0) {
        size_t k = BGZF_IN - w->blk_n < n ? BGZF_IN - w->blk_n : n;
        memcpy(w->blk + w->blk_n, s, k);
        w->blk_n += k, s += k, n -= k;
        if (w->blk_n == BGZF_IN && bgzf_block(w) < 0) return -1;
    }
    return 0;
}

static int bw_fail(sl_track_t *w, const char *what)
{
    FILE *fp = w->bw ? w->bw->URL->x.fp : NULL;
    int err = fp && ferror(fp) ? errno : 0;
    if (err) sl_log_error("%s: write failed (%s): %s", w->bw_path, what, strerror(err));
    else sl_log_error("%s: write failed (%s; libBigWig gives no reason; is the disk full?)", w->bw_path, what);
    w->failed = 1;
    return -1;
}

/* Hand the batch to libBigWig without ever letting it flush its buffer unchecked:
 * bwAppendIntervals gets only what fits in the buffer; when the buffer is full, one
 * entry goes through bwAddIntervals, which flushes first and reports a failure. */
static int bw_flush(sl_track_t *w)
{
    if (!w->bw || w->bw_n == 0) return 0;
    if (w->failed) return -1;
    bwWriteBuffer_t *wb = w->bw->writeBuffer;
    uint32_t cap = w->bw->hdr->bufSize, i = 0;
    char *chrom = w->names[w->cur];
    while (i < w->bw_n) {
        uint32_t room = wb->l + 12 <= cap ? (cap - wb->l) / 12 : 0, k = w->bw_n - i;
        int r;
        if (!w->bw_chrom_started || room == 0) {
            r = bwAddIntervals(w->bw, (const char *const *)&chrom, w->bw_start + i, w->bw_end + i, w->bw_val + i, 1);
            w->bw_chrom_started = 1;
            k = 1;
        } else {
            if (k > room) k = room;
            r = bwAppendIntervals(w->bw, w->bw_start + i, w->bw_end + i, w->bw_val + i, k);
        }
        if (r != 0 || ferror(w->bw->URL->x.fp)) return bw_fail(w, "adding intervals");
        i += k;
    }
    w->bw_n = 0;
    return 0;
}

static int emit_pending(sl_track_t *w)
{
    if (!w->have_pending) return 0;
    entry_t *e = &w->pending;
    w->have_pending = 0;
    if (w->n_entries++ == 0 || e->value < w->vmin) w->vmin = e->value;
    if (w->n_entries == 1 || e->value > w->vmax) w->vmax = e->value;
    if (w->bg) {
        char line[512];
        int n = snprintf(line, sizeof line, "%s\t%" PRId64 "\t%" PRId64 "\t%s\n", w->names[w->cur],
                         e->start, e->end, e->text);
        if (n < 0 || n >= (int)sizeof line) { /* a contig name of hundreds of bytes */
            if (bg_write(w, w->names[w->cur], strlen(w->names[w->cur])) < 0) return -1;
            n = snprintf(line, sizeof line, "\t%" PRId64 "\t%" PRId64 "\t%s\n", e->start, e->end, e->text);
        }
        if (bg_write(w, line, (size_t)n) < 0) return -1;
    }
    if (w->bw) {
        w->bw_start[w->bw_n] = (uint32_t)e->start;
        w->bw_end[w->bw_n] = (uint32_t)e->end;
        w->bw_val[w->bw_n] = e->value;
        if (++w->bw_n == BW_BATCH && bw_flush(w) < 0) return -1;
    }
    return 0;
}

/* One base with a value: printed text and the float it parses back to. */
static int emit_base(sl_track_t *w, int64_t pos, float v)
{
    entry_t *e = &w->pending;
    char text[32];
    if (v == 0.0f) v = 0.0f; /* no "-0" */
    snprintf(text, sizeof text, SL_TRACK_FMT, (double)v);
    if (w->have_pending && w->opts.merge_runs && e->end == pos && strcmp(e->text, text) == 0) {
        e->end++;
        return 0;
    }
    if (emit_pending(w) < 0) return -1;
    e->start = pos, e->end = pos + 1;
    e->value = strtof(text, NULL);
    memcpy(e->text, text, sizeof text);
    w->have_pending = 1;
    return 0;
}

/* Emit and drop every buffered base left of genome position pos. */
static int flush_until(sl_track_t *w, int64_t pos)
{
    if (pos <= w->buf_start) return 0;
    /* pos may be INT64_MAX and buf_start negative (a window starting before the
     * contig): compare against the buffer's end, never form pos - buf_start */
    int64_t k = pos >= w->buf_start + w->buf_len ? w->buf_len : pos - w->buf_start;
    for (int64_t i = 0; i < k; i++) {
        if (w->cnt[i] == 0) continue;
        float v = w->opts.overlap == SL_OVERLAP_MEAN ? (float)(w->sum[i] / w->cnt[i]) : w->val[i];
        if (emit_base(w, w->buf_start + i, v) < 0) return -1;
    }
    w->buf_len -= k;
    if (w->buf_len > 0) {
        memmove(w->sum, w->sum + k, (size_t)w->buf_len * sizeof(*w->sum));
        memmove(w->val, w->val + k, (size_t)w->buf_len * sizeof(*w->val));
        memmove(w->cnt, w->cnt + k, (size_t)w->buf_len * sizeof(*w->cnt));
    }
    w->buf_start = pos;
    return 0;
}

static int finish_contig(sl_track_t *w)
{
    if (w->cur < 0) return 0;
    if (flush_until(w, INT64_MAX) < 0 || emit_pending(w) < 0 || bw_flush(w) < 0) return -1;
    w->buf_len = 0;
    return 0;
}

static int grow(sl_track_t *w, int64_t need)
{
    if (need <= w->buf_cap) return 0;
    int64_t cap = w->buf_cap ? w->buf_cap : 1024;
    while (cap < need) cap *= 2;
    double *s = sl_realloc(w->sum, (size_t)cap * sizeof(*s), "track buffer");
    if (!s) return -1;
    w->sum = s;
    float *v = sl_realloc(w->val, (size_t)cap * sizeof(*v), "track buffer");
    if (!v) return -1;
    w->val = v;
    int32_t *c = sl_realloc(w->cnt, (size_t)cap * sizeof(*c), "track buffer");
    if (!c) return -1;
    w->cnt = c;
    w->buf_cap = cap;
    return 0;
}

static int find_contig(const sl_track_t *w, const char *name)
{
    int lo = 0, hi = w->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(w->names[mid], name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int sl_track_add(sl_track_t *w, const sl_region_t *r, const float *values)
{
    const char *out = w->bg_path ? w->bg_path : w->bw_path;
    if (w->failed) {
        sl_log_error("%s: track writer used after an error", out);
        return -1;
    }
    if (!r->chrom) {
        sl_log_error("%s: region '%s' has no chromosome: tracks need genome (BED) regions", out,
                     r->name ? r->name : "?");
        goto fail;
    }
    int c = find_contig(w, r->chrom);
    if (c < 0) {
        sl_log_error("%s: chromosome '%s' of region %s:%" PRId64 "-%" PRId64 " is not in the genome index",
                     out, r->chrom, r->chrom, r->start, r->end);
        goto fail;
    }
    if (r->end < r->start) {
        sl_log_error("%s: region %s:%" PRId64 "-%" PRId64 " has end before start", out, r->chrom, r->start, r->end);
        goto fail;
    }
    if (w->have_last && (c < w->cur || (c == w->cur && r->start < w->last.start))) {
        sl_log_error("%s: region %s:%" PRId64 "-%" PRId64 " (input line %" PRId64 ") comes after %s:%" PRId64
                     "-%" PRId64 ": regions must be added in genome order (chrom by byte order, then start)",
                     out, r->chrom, r->start, r->end, r->line, w->last.chrom, w->last.start, w->last.end);
        goto fail;
    }
    if (c != w->cur) {
        if (finish_contig(w) < 0) goto fail;
        w->cur = c;
        w->bw_chrom_started = 0;
        w->buf_start = r->start;
        w->buf_len = 0;
    }
    w->last = *r;
    w->last.chrom = w->names[c];
    w->have_last = 1;
    if (flush_until(w, r->start) < 0) goto fail;

    /* kept genome bases: the central track_width bases (genome coordinates), clipped */
    int64_t ks, ke;
    sl_track_kept(r, w->opts.track_width, &ks, &ke);
    if (ks < 0) ks = 0;
    if (ke > w->sizes[c]) ke = w->sizes[c];
    if (ke <= ks) return 0;
    int64_t need = ke - w->buf_start;
    if (grow(w, need) < 0) goto fail;
    for (int64_t i = w->buf_len; i < need; i++) w->sum[i] = 0, w->val[i] = 0, w->cnt[i] = 0;
    if (need > w->buf_len) w->buf_len = need;
    for (int64_t g = ks; g < ke; g++) {
        float v = values[r->strand == '-' ? r->end - 1 - g : g - r->start];
        if (!isfinite(v)) continue;
        int64_t i = g - w->buf_start;
        switch (w->opts.overlap) {
        case SL_OVERLAP_MEAN: w->sum[i] += v; break;
        case SL_OVERLAP_MAX_ABS:
            if (w->cnt[i] == 0 || fabsf(v) > fabsf(w->val[i])) w->val[i] = v;
            break;
        case SL_OVERLAP_FIRST:
            if (w->cnt[i] == 0) w->val[i] = v;
            break;
        }
        w->cnt[i]++;
    }
    return 0;
fail:
    w->failed = 1;
    return -1;
}

void sl_track_kept(const sl_region_t *r, int64_t track_width, int64_t *ks, int64_t *ke)
{
    int64_t len = r->end - r->start;
    *ks = r->start, *ke = r->end;
    if (track_width > 0 && track_width < len) {
        *ks = r->start + (len - track_width) / 2;
        *ke = *ks + track_width;
    }
}

int sl_track_add_entry(sl_track_t *w, const char *chrom, int64_t start, int64_t end, float value, const char *text)
{
    const char *out = w->bg_path ? w->bg_path : w->bw_path;
    char buf[32];
    if (w->failed) return -1;
    int c = find_contig(w, chrom);
    if (c < 0 || end <= start || start < 0 || end > w->sizes[c] ||
        (w->cur >= 0 && (c < w->cur || (c == w->cur && w->have_pending && start < w->pending.end)))) {
        sl_log_error("%s: entry %s:%" PRId64 "-%" PRId64 " is not in the genome index or not after the "
                     "previous one (entries must be sorted and not overlap)", out, chrom, start, end);
        w->failed = 1;
        return -1;
    }
    if (c != w->cur) {
        if (finish_contig(w) < 0) goto fail;
        w->cur = c;
        w->bw_chrom_started = 0;
    }
    if (!text) {
        snprintf(buf, sizeof buf, SL_TRACK_FMT, (double)value);
        text = buf;
    }
    entry_t *e = &w->pending;
    if (w->have_pending && w->opts.merge_runs && e->end == start && strcmp(e->text, text) == 0) {
        e->end = end;
        return 0;
    }
    if (emit_pending(w) < 0) goto fail;
    e->start = start, e->end = end, e->value = value;
    snprintf(e->text, sizeof e->text, "%s", text);
    w->have_pending = 1;
    return 0;
fail:
    w->failed = 1;
    return -1;
}

int64_t sl_track_n_entries(const sl_track_t *w) { return w->n_entries; }

void sl_track_project(const float *contrib, const float *onehot, int64_t len, int n_absent, float *out)
{
    for (int64_t p = 0; p < len; p++) {
        const float *c = contrib + p * SL_NBASES;
        out[p] = c[0] + c[1] + c[2] + c[3];
        if (n_absent && onehot) {
            const float *x = onehot + p * SL_NBASES;
            if (x[0] == 0 && x[1] == 0 && x[2] == 0 && x[3] == 0) out[p] = NAN;
        }
    }
}

/* ---- open / close ----------------------------------------------------------------- */

static pthread_once_t bw_once = PTHREAD_ONCE_INIT;
static int bw_init_ret;
static void bw_init(void) { bw_init_ret = bwInit(1 << 17); }

typedef struct {
    const char *name;
    int64_t size;
} contig_t;

static int cmp_contig(const void *a, const void *b)
{
    return strcmp(((const contig_t *)a)->name, ((const contig_t *)b)->name);
}

static void free_writer(sl_track_t *w)
{
    if (w->names)
        for (int i = 0; i < w->n; i++) free(w->names[i]);
    free(w->names);
    free(w->sizes);
    free(w->bg_path);
    free(w->blk);
    free(w->zblk);
    free(w->bw_path);
    free(w->bw_tmp);
    free(w->bw_start);
    free(w->bw_end);
    free(w->bw_val);
    free(w->sum);
    free(w->val);
    free(w->cnt);
    free(w);
}

static int open_bigwig(sl_track_t *w)
{
    uint32_t *len32 = NULL;
    pthread_once(&bw_once, bw_init);
    if (bw_init_ret != 0) {
        sl_log_error("%s: libBigWig initialisation failed", w->bw_path);
        return -1;
    }
    if (sl_path_is_special(w->bw_path)) { /* the rename would replace a device or FIFO */
        sl_log_error("%s: not a regular file (stdout, a device, a pipe or a directory); "
                     "a bigWig must be written to a regular file", w->bw_path);
        return -1;
    }
    if (!(w->bw_tmp = sl_tmp_path(w->bw_path))) return -1;
    if (!(w->bw_start = sl_malloc(BW_BATCH * sizeof(uint32_t), "bigWig batch")) ||
        !(w->bw_end = sl_malloc(BW_BATCH * sizeof(uint32_t), "bigWig batch")) ||
        !(w->bw_val = sl_malloc(BW_BATCH * sizeof(float), "bigWig batch")) ||
        !(len32 = sl_malloc((size_t)w->n * sizeof(*len32), "bigWig chromosome sizes")))
        goto fail;
    for (int i = 0; i < w->n; i++) {
        if (w->sizes[i] > (int64_t)UINT32_MAX) {
            sl_log_error("%s: contig %s (%" PRId64 " bp) is too long for bigWig", w->bw_path, w->names[i], w->sizes[i]);
            goto fail;
        }
        len32[i] = (uint32_t)w->sizes[i];
    }
    /* open it once here: libBigWig prints its own message when it cannot */
    FILE *probe = fopen(w->bw_tmp, "w");
    if (!probe) {
        sl_log_error("%s: cannot open for writing: %s", w->bw_path, strerror(errno));
        goto fail;
    }
    if (fclose(probe) != 0) {
        sl_log_error("%s: write failed: %s", w->bw_path, strerror(errno));
        goto fail;
    }
    errno = 0;
    if (!(w->bw = bwOpen(w->bw_tmp, NULL, "w"))) {
        sl_log_error("%s: cannot open for writing: %s", w->bw_path, strerror(errno ? errno : EIO));
        goto fail;
    }
    if (bwCreateHdr(w->bw, BW_ZOOMS) != 0 ||
        !(w->bw->cl = bwCreateChromList((const char *const *)w->names, len32, w->n)) ||
        bwWriteHdr(w->bw) != 0 || ferror(w->bw->URL->x.fp)) {
        bw_fail(w, "header");
        goto fail;
    }
    free(len32);
    return 0;
fail:
    free(len32);
    return -1;
}

sl_track_t *sl_track_open(const char *bedgraph, const char *bigwig, int n,
                          const char *const *names, const int64_t *sizes,
                          const sl_track_opts_t *opts)
{
    sl_track_t *w = NULL;
    if (!bedgraph && !bigwig) {
        sl_log_error("sl_track_open: neither a bedGraph nor a bigWig path given");
        return NULL;
    }
    const char *out = bedgraph ? bedgraph : bigwig;
    if (n <= 0) {
        sl_log_error("%s: no contigs (is the genome .fai empty?)", out);
        return NULL;
    }
    if (opts && ((unsigned)opts->overlap > SL_OVERLAP_FIRST || opts->track_width < 0)) {
        sl_log_error("%s: bad track options (overlap %d, track width %" PRId64 ")", out,
                     (int)opts->overlap, opts->track_width);
        return NULL;
    }
    if (!(w = sl_calloc(1, sizeof(*w), "track writer"))) return NULL;
    w->cur = -1;
    if (opts) w->opts = *opts;
    else sl_track_opts_init(&w->opts);
    w->n = n;
    /* contigs in byte order: the order of the entries and of the bigWig header */
    contig_t *order = NULL;
    if (!(w->names = sl_calloc((size_t)n, sizeof(char *), "contig names")) ||
        !(w->sizes = sl_malloc((size_t)n * sizeof(int64_t), "contig sizes")) ||
        !(order = sl_malloc((size_t)n * sizeof(*order), "contig order")))
        goto fail;
    for (int i = 0; i < n; i++) order[i].name = names[i], order[i].size = sizes[i];
    qsort(order, (size_t)n, sizeof(*order), cmp_contig);
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(order[i - 1].name, order[i].name) == 0) {
            sl_log_error("%s: contig '%s' appears twice in the genome index", out, order[i].name);
            goto fail;
        }
        if (order[i].size < 0) {
            sl_log_error("%s: contig '%s' has a negative size", out, order[i].name);
            goto fail;
        }
        w->sizes[i] = order[i].size;
        if (!(w->names[i] = sl_strdup(order[i].name))) goto fail;
    }
    free(order);
    order = NULL;
    if (bedgraph) {
        if (!(w->bg_path = sl_strdup(bedgraph))) goto fail;
        size_t bl = strlen(bedgraph);
        w->bg_gz = bl > 3 && strcmp(bedgraph + bl - 3, ".gz") == 0;
        if (w->bg_gz && (!(w->blk = sl_malloc(BGZF_IN, "BGZF block")) || !(w->zblk = sl_malloc(BGZF_OUT, "BGZF block"))))
            goto fail;
        /* "-" (stdout), a device or a FIFO is written in place (sl_ofile_open) */
        if (!(w->bg = sl_ofile_open(bedgraph, "w"))) goto fail;
        if (w->opts.comment) { /* one line, whatever the caller gave */
            size_t cl = strlen(w->opts.comment);
            char *line = sl_malloc(cl + 4, "bedGraph comment");
            if (!line) goto fail;
            snprintf(line, cl + 4, "# %s\n", w->opts.comment);
            for (char *p = line + 2; p < line + cl + 2; p++)
                if ((unsigned char)*p < 0x20) *p = '?';
            int rc = bg_write(w, line, cl + 3);
            free(line);
            if (rc < 0) goto fail;
        }
        w->opts.comment = NULL; /* not kept: the caller's string */
    }
    if (bigwig) {
        if (!(w->bw_path = sl_strdup(bigwig)) || open_bigwig(w) < 0) goto fail;
    }
    return w;
fail:
    free(order);
    sl_track_abort(w);
    return NULL;
}

/* bwClose() finalises a file opened for writing and only prints when that fails:
 * finalise here (checked), then let bwClose free the handle without finalising.
 * What bwClose does not free is freed here: the list of data-block index nodes until
 * bwFinalize has turned it into the index tree (which bwClose frees); after a failed
 * bwFinalize, the zoom buffers not yet written and, when the failure came while a
 * zoom level's blocks were written, that level's index list (libBigWig frees these
 * only on success; the conditions below are those under which they are still live). */
static void free_index_list(bwWriteBuffer_t *wb)
{
    for (bwLL *l = wb->firstIndexNode, *next; l; l = next) {
        next = l->next;
        bwDestroyIndexNode(l->node);
        free(l);
    }
    wb->firstIndexNode = wb->currentIndexNode = NULL;
}

static void bw_free(bigWigFile_t *bw, int finalised)
{
    if (!bw) return;
    bwWriteBuffer_t *wb = bw->writeBuffer;
    /* the data index list lives until writeIndex has built bw->idx->root from it */
    if (wb && (!bw->idx || !bw->idx->root)) free_index_list(wb);
    bwZoomHdr_t *z = bw->hdr ? bw->hdr->zoomHdrs : NULL;
    if (wb && finalised && z && wb->firstZoomBuffer) {
        int cur = -1;
        for (int i = 0; i < bw->hdr->nLevels; i++) {
            if (!wb->firstZoomBuffer[i]) continue;
            if (cur < 0) cur = i;
            for (bwZoomBuffer_t *b = wb->firstZoomBuffer[i], *next; b; b = next) {
                next = b->next;
                free(b->p);
                free(b);
            }
            wb->firstZoomBuffer[i] = NULL;
        }
        if (cur >= 0 && z->dataOffset && z->dataOffset[cur] && z->idx && z->idx[cur] && !z->idx[cur]->root)
            free_index_list(wb);
    }
    bw->isWrite = 0;
    bwClose(bw);
}

static int bw_prepare(sl_track_t *w)
{
    /* libBigWig's running min/max uses "else if" and misses a maximum that comes
     * after a smaller first value: set the file summary from our own. */
    if (w->n_entries > 0) w->bw->hdr->minVal = w->vmin, w->bw->hdr->maxVal = w->vmax;
    FILE *fp = w->bw->URL->x.fp;
    /* without entries libBigWig writes no index and says so (a header-only file) */
    int fin = bwFinalize(w->bw);
    w->bw_finalised = 1;
    if ((fin != 0 && w->n_entries > 0) || fflush(fp) != 0 || ferror(fp))
        return bw_fail(w, "finishing the index and zoom levels");
    long size = ftell(fp);
    int nzoom = w->bw->hdr->nLevels;
    /* closed here, so that a failing close is seen; bwClose gets /dev/null to close */
    FILE *nul = fopen("/dev/null", "r");
    if (!nul) {
        sl_log_error("%s: cannot open /dev/null: %s", w->bw_path, strerror(errno));
        return -1;
    }
    bigWigFile_t *bw = w->bw;
    w->bw = NULL;
    int err = fclose(fp) != 0 ? errno : 0;
    bw->URL->x.fp = nul;
    bw_free(bw, 1);
    if (err) {
        sl_log_error("%s: write failed: %s", w->bw_path, strerror(err));
        return -1;
    }
    struct stat st;
    if (stat(w->bw_tmp, &st) != 0 || size < 0 || st.st_size != (off_t)size) {
        sl_log_error("%s: the written bigWig has %lld bytes, not %ld", w->bw_path, (long long)st.st_size, size);
        return -1;
    }
    if (w->n_entries == 0) return 0;
    bigWigFile_t *r = bwOpen(w->bw_tmp, NULL, "r");
    int ok = r && r->hdr && r->cl && r->cl->nKeys == (int64_t)w->n && r->hdr->nLevels >= 1 && nzoom >= 1;
    if (r) bwClose(r);
    if (!ok) {
        sl_log_error("%s: the written bigWig does not read back (header, contigs or zoom levels)", w->bw_path);
        return -1;
    }
    return 0;
}

int sl_track_prepare(sl_track_t *w)
{
    if (!w) return -1;
    if (w->failed) return -1;
    if (finish_contig(w) < 0) goto fail;
    if (w->bg && !w->bg_prepared) {
        if (w->bg_gz && ((w->blk_n > 0 && bgzf_block(w) < 0) ||
                         (fwrite(bgzf_eof, 1, sizeof bgzf_eof, w->bg->fp) != sizeof bgzf_eof && bg_fail(w, errno))))
            goto fail;
        if (sl_ofile_prepare(w->bg) < 0) goto fail;
        w->bg_prepared = 1;
    }
    if (w->bw && !w->bw_prepared) {
        if (bw_prepare(w) < 0) goto fail;
        w->bw_prepared = 1;
    }
    return 0;
fail:
    w->failed = 1;
    return -1;
}

int sl_track_commit(sl_track_t *w)
{
    if (!w) return -1;
    if (sl_track_prepare(w) < 0) {
        sl_track_abort(w);
        return -1;
    }
    int ret = 0;
    if (w->bg) {
        if (sl_ofile_commit(w->bg) < 0) ret = -1;
        w->bg = NULL;
    }
    if (w->bw_tmp) {
        if (ret == 0 && sl_rename_into_place(w->bw_tmp, w->bw_path) < 0) ret = -1;
        else if (ret < 0) sl_tmp_remove(w->bw_tmp);
    }
    free_writer(w);
    return ret;
}

int sl_track_close(sl_track_t *w) { return sl_track_commit(w); }

void sl_track_abort(sl_track_t *w)
{
    if (!w) return;
    sl_ofile_abort(w->bg);
    bw_free(w->bw, w->bw_finalised);
    if (w->bw_tmp) sl_tmp_remove(w->bw_tmp);
    free_writer(w);
}
