/* npz.c — .npz writer (one preallocated stored float32 entry, ZIP64 when needed) and
 * reader (stored or deflated, float32/float64). ZIP layout per PKWARE APPNOTE 6.3;
 * .npy layout per numpy's format.py (version 1.0 header padded to 64 bytes). */
#include "seqlift/npz.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "seqlift/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npz.c writes float32 in host order and assumes a little-endian host"
#endif

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_LOC_SIG 0x07064b50u
#define ZIP_DOS_DATE 0x0021u  /* 1980-01-01: reproducible output */
#define U32_MAX_FIELD 0xFFFFFFFFu

struct sl_npz_writer_s {
    int fd;
    char *path, *tmp, *entry;   /* entry = "<name>.npy" */
    int zip64;
    int64_t rows, row_size;     /* row_size in floats */
    int64_t local_len;          /* local header + name + extra */
    int64_t npy_len;            /* .npy header length (multiple of 64) */
    int64_t data_off;           /* file offset of the first float */
    int64_t usize;              /* .npy header + data bytes */
    atomic_llong rows_written;
    int failed;                 /* prepare failed */
    char *note_entry;           /* a second, small entry "<name>.npy" (sl_npz_set_note), or NULL */
    unsigned char *note;        /* its .npy bytes: a 0-d '<U' array */
    int64_t note_len;
};

/* ---- little-endian helpers ----------------------------------------------------- */
static void put16(unsigned char *p, uint32_t v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }
static void put64(unsigned char *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* Whole-buffer pread/pwrite at an offset: 0, or -1 on error or end of file. */
static int pio_all(int fd, void *buf, size_t n, int64_t off, int write)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = write ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k, n -= (size_t)k, off += k;
    }
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
    return pio_all(fd, (void *)buf, n, off, 1);
}

static int pread_all(int fd, void *buf, size_t n, int64_t off) { return pio_all(fd, buf, n, off, 0); }

/* ---- writer ------------------------------------------------------------------------ */

/* The .npy header of a float32 C-order array, padded with spaces and '\n' so that the
 * data starts at a multiple of 64 bytes from the start of the .npy (numpy >= 1.14). */
static int npy_header(const char *descr, int ndim, const int64_t *shape, char *out, size_t cap, int64_t *len)
{
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%" PRId64 "%s", shape[i],
                      ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t total = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535) return -1;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    put16((unsigned char *)out + 8, (uint32_t)(total - 10));
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', total - 10 - (size_t)n - 1);
    out[total - 1] = '\n';
    *len = (int64_t)total;
    return 0;
}

/* The 26 bytes that local and central headers share, from "version needed" to
 * "extra length": stored, fixed date, sizes (0xFFFFFFFF when in the ZIP64 extra). */
static void put_fields(unsigned char *h, int version, int zip64, int64_t usize, size_t nlen, uint32_t crc,
                       uint32_t extra_len)
{
    put16(h, (uint32_t)version);
    put16(h + 2, 0);             /* flags */
    put16(h + 4, 0);             /* stored */
    put16(h + 6, 0);             /* time */
    put16(h + 8, ZIP_DOS_DATE);
    put32(h + 10, crc);
    put32(h + 14, zip64 ? U32_MAX_FIELD : (uint32_t)usize);
    put32(h + 18, zip64 ? U32_MAX_FIELD : (uint32_t)usize);
    put16(h + 22, (uint32_t)nlen);
    put16(h + 24, extra_len);
}

static void put_entry_fields(unsigned char *h, const sl_npz_writer_t *w, uint32_t crc, uint32_t extra_len)
{
    put_fields(h, w->zip64 ? 45 : 20, w->zip64, w->usize, strlen(w->entry), crc, extra_len);
}

/* Local file header; crc is 0 at open and rewritten at close. */
static int write_local_header(sl_npz_writer_t *w, uint32_t crc)
{
    size_t nlen = strlen(w->entry);
    unsigned char h[30 + 20];
    put32(h, ZIP_LOCAL_SIG);
    put_entry_fields(h + 4, w, crc, w->zip64 ? 20 : 0);
    if (w->zip64) {  /* ZIP64 extra: uncompressed and compressed sizes */
        put16(h + 30, 1);
        put16(h + 32, 16);
        put64(h + 34, (uint64_t)w->usize);
        put64(h + 42, (uint64_t)w->usize);
    }
    if (pwrite_all(w->fd, h, 30, 0) < 0 || pwrite_all(w->fd, w->entry, nlen, 30) < 0 ||
        (w->zip64 && pwrite_all(w->fd, h + 30, 20, 30 + (int64_t)nlen) < 0)) {
        sl_log_error("%s: write failed: %s", w->path, strerror(errno));
        return -1;
    }
    return 0;
}

sl_npz_writer_t *sl_npz_open(const char *path, const char *array_name, int ndim, const int64_t *shape)
{
    return sl_npz_open_flags(path, array_name, ndim, shape, 0);
}

sl_npz_writer_t *sl_npz_open_flags(const char *path, const char *array_name, int ndim,
                                   const int64_t *shape, unsigned flags)
{
    sl_npz_writer_t *w = NULL;
    if (!array_name) array_name = "arr_0";
    if (ndim < 1 || ndim > SL_NPZ_MAX_DIM) {
        sl_log_error("%s: npz array must have 1 to %d dimensions, not %d", path, SL_NPZ_MAX_DIM, ndim);
        return NULL;
    }
    size_t alen = strlen(array_name);
    if (alen == 0 || alen > 1000) {
        sl_log_error("%s: bad npz array name '%s'", path, array_name);
        return NULL;
    }
    int64_t row_size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (i > 0 && shape[i] > 0 && row_size > INT64_MAX / 4 / shape[i])) {
            sl_log_error("%s: bad npz array shape (dimension %d is %" PRId64 ")", path, i, shape[i]);
            return NULL;
        }
        if (i > 0) row_size *= shape[i];
    }
    if (row_size > 0 && shape[0] > (INT64_MAX / 4 - 65536) / row_size) {
        sl_log_error("%s: npz array too large (%" PRId64 " rows)", path, shape[0]);
        return NULL;
    }
    if (sl_path_is_special(path)) { /* the final rename would replace a device or FIFO */
        sl_log_error("%s: not a regular file (stdout, a device, a pipe or a directory); "
                     "an npz must be written to a regular file", path);
        return NULL;
    }
    if (!(w = sl_calloc(1, sizeof(*w), "npz writer"))) return NULL;
    w->fd = -1;
    if (!(w->path = sl_strdup(path)) || !(w->tmp = sl_tmp_path(path)) ||
        !(w->entry = sl_malloc(alen + 5, "npz entry name")))
        goto fail;
    memcpy(w->entry, array_name, alen);
    memcpy(w->entry + alen, ".npy", 5);
    w->rows = shape[0];
    w->row_size = row_size;
    atomic_init(&w->rows_written, 0);

    char hdr[1024];
    if (npy_header("<f4", ndim, shape, hdr, sizeof hdr, &w->npy_len) < 0) {
        sl_log_error("%s: npz array shape too long for a .npy header", path);
        goto fail;
    }
    int64_t data_bytes = w->rows * w->row_size * 4;
    w->usize = w->npy_len + data_bytes;
    w->zip64 = (flags & SL_NPZ_FORCE_ZIP64) || w->usize >= (int64_t)U32_MAX_FIELD;
    w->local_len = 30 + (int64_t)alen + 4 + (w->zip64 ? 20 : 0);
    w->data_off = w->local_len + w->npy_len;

    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        sl_log_error("%s: cannot open for writing: %s", path, strerror(errno));
        goto fail;
    }
    /* Preallocate the stored entry (sparse: unwritten rows read as zeros). */
    if (ftruncate(w->fd, (off_t)(w->data_off + data_bytes)) != 0) {
        sl_log_error("%s: cannot size the npz file to %" PRId64 " bytes: %s", path,
                     w->data_off + data_bytes, strerror(errno));
        goto fail;
    }
    if (write_local_header(w, 0) < 0) goto fail;
    if (pwrite_all(w->fd, hdr, (size_t)w->npy_len, w->local_len) < 0) {
        sl_log_error("%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    return w;
fail:
    sl_npz_abort(w);
    return NULL;
}

int64_t sl_npz_row_size(const sl_npz_writer_t *w) { return w->row_size; }

int sl_npz_write_rows(sl_npz_writer_t *w, int64_t first_row, int64_t n_rows, const float *data)
{
    if (first_row < 0 || n_rows < 0 || first_row > w->rows || n_rows > w->rows - first_row) {
        sl_log_error("%s: rows %" PRId64 "..%" PRId64 " outside the array's %" PRId64 " rows",
                     w->path, first_row, first_row + n_rows, w->rows);
        return -1;
    }
    int64_t off = w->data_off + first_row * w->row_size * 4;
    if (pwrite_all(w->fd, data, (size_t)(n_rows * w->row_size * 4), off) < 0) {
        sl_log_error("%s: write failed: %s", w->path, strerror(errno));
        return -1;
    }
    atomic_fetch_add(&w->rows_written, n_rows);
    return 0;
}

/* The note's local header and bytes at off (after the array); its central entry needs
 * the ZIP64 extra for its offset alone when off reaches 4 GiB. */
static int write_note(sl_npz_writer_t *w, int64_t off, uint32_t crc)
{
    size_t nlen = strlen(w->note_entry);
    unsigned char h[30];
    put32(h, ZIP_LOCAL_SIG);
    put_fields(h + 4, off >= (int64_t)U32_MAX_FIELD ? 45 : 20, 0, w->note_len, nlen, crc, 0);
    if (pwrite_all(w->fd, h, 30, off) < 0 || pwrite_all(w->fd, w->note_entry, nlen, off + 30) < 0 ||
        pwrite_all(w->fd, w->note, (size_t)w->note_len, off + 30 + (int64_t)nlen) < 0) {
        sl_log_error("%s: write failed: %s", w->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Central directory (the array, then the note if any), ZIP64 end records when needed,
 * end of central directory. */
static int write_trailer(sl_npz_writer_t *w, uint32_t crc, uint32_t note_crc)
{
    size_t nlen = strlen(w->entry), nlen2 = w->note_entry ? strlen(w->note_entry) : 0;
    int64_t note_off = w->local_len + w->usize;
    int64_t cd_off = note_off + (w->note_entry ? 30 + (int64_t)nlen2 + w->note_len : 0);
    int n_ent = w->note_entry ? 2 : 1, note64 = note_off >= (int64_t)U32_MAX_FIELD;
    int cd64 = w->zip64 || cd_off >= (int64_t)U32_MAX_FIELD;
    unsigned char buf[46 + 28 + 56 + 20 + 22];
    unsigned char *c = buf;
    put32(c, ZIP_CENTRAL_SIG);
    put16(c + 4, (3u << 8) | (w->zip64 ? 45 : 20)); /* made by: Unix */
    put_entry_fields(c + 6, w, crc, w->zip64 ? 28 : 0);
    put16(c + 32, 0);
    put16(c + 34, 0);
    put16(c + 36, 0);
    put32(c + 38, 0100644u << 16);
    put32(c + 42, w->zip64 ? U32_MAX_FIELD : 0); /* local header offset */
    size_t clen = 46;
    unsigned char extra[28];
    if (w->zip64) { /* usize, csize, offset: the fields set to 0xFFFFFFFF above */
        put16(extra, 1);
        put16(extra + 2, 24);
        put64(extra + 4, (uint64_t)w->usize);
        put64(extra + 12, (uint64_t)w->usize);
        put64(extra + 20, 0);
    }
    int64_t off = cd_off;
    if (pwrite_all(w->fd, c, clen, off) < 0 || pwrite_all(w->fd, w->entry, nlen, off + 46) < 0 ||
        (w->zip64 && pwrite_all(w->fd, extra, 28, off + 46 + (int64_t)nlen) < 0))
        goto fail;
    int64_t cd_size = 46 + (int64_t)nlen + (w->zip64 ? 28 : 0);
    if (w->note_entry) {
        put32(c, ZIP_CENTRAL_SIG);
        put16(c + 4, (3u << 8) | (note64 ? 45 : 20));
        put_fields(c + 6, note64 ? 45 : 20, 0, w->note_len, nlen2, note_crc, note64 ? 12 : 0);
        put16(c + 32, 0);
        put16(c + 34, 0);
        put16(c + 36, 0);
        put32(c + 38, 0100644u << 16);
        put32(c + 42, note64 ? U32_MAX_FIELD : (uint32_t)note_off);
        put16(extra, 1); /* ZIP64 extra: the offset only */
        put16(extra + 2, 8);
        put64(extra + 4, (uint64_t)note_off);
        int64_t o2 = off + cd_size;
        if (pwrite_all(w->fd, c, 46, o2) < 0 || pwrite_all(w->fd, w->note_entry, nlen2, o2 + 46) < 0 ||
            (note64 && pwrite_all(w->fd, extra, 12, o2 + 46 + (int64_t)nlen2) < 0))
            goto fail;
        cd_size += 46 + (int64_t)nlen2 + (note64 ? 12 : 0);
    }
    off += cd_size;
    unsigned char *e = buf;
    size_t elen = 0;
    if (cd64) {
        put32(e, ZIP64_EOCD_SIG);
        put64(e + 4, 44);
        put16(e + 12, (3u << 8) | 45);
        put16(e + 14, 45);
        put32(e + 16, 0);
        put32(e + 20, 0);
        put64(e + 24, (uint64_t)n_ent);
        put64(e + 32, (uint64_t)n_ent);
        put64(e + 40, (uint64_t)cd_size);
        put64(e + 48, (uint64_t)cd_off);
        put32(e + 56, ZIP64_LOC_SIG);
        put32(e + 60, 0);
        put64(e + 64, (uint64_t)off);
        put32(e + 72, 1);
        elen = 76;
    }
    unsigned char *d = e + elen;
    put32(d, ZIP_EOCD_SIG);
    put16(d + 4, 0);
    put16(d + 6, 0);
    put16(d + 8, w->zip64 ? 0xFFFF : (uint32_t)n_ent);
    put16(d + 10, w->zip64 ? 0xFFFF : (uint32_t)n_ent);
    put32(d + 12, (uint32_t)cd_size);
    put32(d + 16, cd64 ? U32_MAX_FIELD : (uint32_t)cd_off);
    put16(d + 20, 0);
    if (pwrite_all(w->fd, e, elen + 22, off) < 0) goto fail;
    return 0;
fail:
    sl_log_error("%s: write failed: %s", w->path, strerror(errno));
    return -1;
}

/* The next code point of UTF-8 text (U+FFFD for a bad byte); advances *s. */
static uint32_t utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c = *p++;
    int more = c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : c < 0x80 ? 0 : -1;
    if (more > 0) {
        c &= 0x3fu >> more;
        for (int k = 0; k < more; k++, p++) {
            if ((*p & 0xc0) != 0x80) {
                *s = p;
                return 0xfffd;
            }
            c = c << 6 | (*p & 0x3f);
        }
    }
    *s = p;
    return more < 0 || c > 0x10ffff || (c >= 0xd800 && c < 0xe000) ? 0xfffd : c;
}

int sl_npz_set_note(sl_npz_writer_t *w, const char *name, const char *text)
{
    size_t alen = strlen(name), cap = strlen(text) + 1;
    char descr[32], hdr[256];
    uint32_t *cp = sl_malloc(cap * sizeof *cp, "npz note");
    int64_t n = 0, hlen;
    if (!cp) return -1;
    for (const unsigned char *p = (const unsigned char *)text; *p;) cp[n++] = utf8_next(&p);
    if (n == 0) cp[n++] = 0; /* numpy has no '<U0' */
    snprintf(descr, sizeof descr, "<U%" PRId64, n);
    free(w->note_entry);
    free(w->note);
    w->note_entry = sl_malloc(alen + 5, "npz note");
    w->note = NULL;
    if (w->note_entry && npy_header(descr, 0, NULL, hdr, sizeof hdr, &hlen) == 0 &&
        (w->note = sl_malloc((size_t)(hlen + 4 * n), "npz note"))) {
        memcpy(w->note_entry, name, alen);
        memcpy(w->note_entry + alen, ".npy", 5);
        memcpy(w->note, hdr, (size_t)hlen);
        for (int64_t i = 0; i < n; i++) put32(w->note + hlen + 4 * i, cp[i]);
        w->note_len = hlen + 4 * n;
    }
    free(cp);
    if (w->note) return 0;
    free(w->note_entry);
    w->note_entry = NULL;
    return -1;
}

char *sl_npz_target_path(const char *prefix, const char *target, const char *kind)
{
    size_t n = strlen(prefix) + (target ? strlen(target) + 1 : 0) + strlen(kind) + 6;
    char *p = sl_malloc(n, "npz path");
    if (!p) return NULL;
    if (!target) {
        snprintf(p, n, "%s.%s.npz", prefix, kind);
        return p;
    }
    size_t k = (size_t)snprintf(p, n, "%s.", prefix);
    for (const char *c = target; *c; c++) p[k++] = sl_file_name_char(*c);
    snprintf(p + k, n - k, ".%s.npz", kind);
    return p;
}

int sl_npz_prepare(sl_npz_writer_t *w)
{
    if (!w) return -1;
    if (w->fd < 0) return w->failed ? -1 : 0; /* prepared already */
    int64_t written = atomic_load(&w->rows_written);
    if (written < w->rows)
        sl_log_warn("%s: only %" PRId64 " of %" PRId64 " rows written; the others are 0",
                    w->path, written, w->rows);
    /* CRC-32 of the .npy (header + data): one sequential re-read. */
    size_t bufsz = 1 << 20;
    unsigned char *buf = sl_malloc(bufsz, "npz CRC buffer");
    if (!buf) goto fail;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int64_t pos = 0; pos < w->usize;) {
        size_t n = (size_t)(w->usize - pos < (int64_t)bufsz ? w->usize - pos : (int64_t)bufsz);
        if (pread_all(w->fd, buf, n, w->local_len + pos) < 0) {
            sl_log_error("%s: cannot re-read the npz data for its CRC: %s", w->path, strerror(errno));
            free(buf);
            goto fail;
        }
        crc = crc32_z(crc, buf, n);
        pos += (int64_t)n;
    }
    free(buf);
    uint32_t note_crc = w->note ? (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), w->note, (size_t)w->note_len) : 0;
    if (write_local_header(w, (uint32_t)crc) < 0 || (w->note && write_note(w, w->local_len + w->usize, note_crc) < 0) ||
        write_trailer(w, (uint32_t)crc, note_crc) < 0)
        goto fail;
    int rc = close(w->fd);
    w->fd = -1;
    if (rc != 0) {
        sl_log_error("%s: write failed: %s", w->path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    w->failed = 1;
    return -1;
}

static void npz_free(sl_npz_writer_t *w)
{
    free(w->note_entry);
    free(w->note);
    free(w->path);
    free(w->tmp);
    free(w->entry);
    free(w);
}

int sl_npz_commit(sl_npz_writer_t *w)
{
    if (!w) return -1;
    if (sl_npz_prepare(w) < 0) {
        sl_npz_abort(w);
        return -1;
    }
    int ret = sl_rename_into_place(w->tmp, w->path);
    npz_free(w);
    return ret;
}

int sl_npz_close(sl_npz_writer_t *w) { return sl_npz_commit(w); }

void sl_npz_abort(sl_npz_writer_t *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) sl_tmp_remove(w->tmp);
    npz_free(w);
}

/* ---- reader ------------------------------------------------------------------------ */

/* Sequential bytes of one ZIP entry, stored or inflated, with a running CRC. */
typedef struct {
    int fd;
    int method;             /* 0 stored, 8 deflate */
    int64_t pos, left;      /* next compressed byte in the file, compressed bytes left */
    int64_t out_left;       /* uncompressed bytes left (declared size) */
    uLong crc;
    z_stream z;
    int z_init, z_end;
    unsigned char in[1 << 16];
} entry_src_t;

static int src_read(entry_src_t *s, void *buf, size_t n)
{
    if ((int64_t)n > s->out_left) return -1;
    if (s->method == 0) {
        if (pread_all(s->fd, buf, n, s->pos) < 0) return -1;
        s->pos += (int64_t)n, s->left -= (int64_t)n;
    } else {
        s->z.next_out = buf;
        size_t done = 0;
        while (done < n) {
            size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
            s->z.next_out = (unsigned char *)buf + done;
            s->z.avail_out = (uInt)chunk;
            while (s->z.avail_out > 0) {
                if (s->z.avail_in == 0) {
                    if (s->left <= 0) return -1;
                    size_t k = s->left < (int64_t)sizeof s->in ? (size_t)s->left : sizeof s->in;
                    if (pread_all(s->fd, s->in, k, s->pos) < 0) return -1;
                    s->pos += (int64_t)k, s->left -= (int64_t)k;
                    s->z.next_in = s->in;
                    s->z.avail_in = (uInt)k;
                }
                int r = inflate(&s->z, Z_NO_FLUSH);
                if (r == Z_STREAM_END) {
                    s->z_end = 1;
                    if (s->z.avail_out > 0) return -1;
                    break;
                }
                if (r != Z_OK) return -1;
            }
            done += chunk;
        }
    }
    s->crc = crc32_z(s->crc, buf, n);
    s->out_left -= (int64_t)n;
    return 0;
}

/* Parse the dict of a .npy header: descr, fortran_order, shape. */
static const char *find_key(const char *h, const char *key)
{
    const char *p = strstr(h, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int parse_npy_dict(const char *h, char descr[8], int *ndim, int64_t *shape)
{
    const char *p = find_key(h, "'descr'");
    if (!p || (*p != '\'' && *p != '"')) return -1;
    char q = *p++;
    const char *e = strchr(p, q);
    if (!e || e - p > 6) return -1;
    memcpy(descr, p, (size_t)(e - p));
    descr[e - p] = 0;
    if (!(p = find_key(h, "'fortran_order'")) || strncmp(p, "False", 5) != 0) return -1;
    if (!(p = find_key(h, "'shape'")) || *p != '(') return -1;
    p++;
    *ndim = 0;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9' || *ndim >= SL_NPZ_MAX_DIM) return -1;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return -1;
            v = v * 10 + (*p++ - '0');
        }
        if (*p == 'L') p++;  /* Python 2 longs */
        shape[(*ndim)++] = v;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') return -1;
    }
    return 0;
}

typedef struct {
    uint32_t crc;
    int method, flags;
    int64_t csize, usize, local_off;
} zip_entry_t;

/* Locate the central directory (ZIP64 aware) and the entry `want` (NULL: the first). */
static int zip_find_entry(int fd, int64_t fsize, const char *path, const char *want, zip_entry_t *ent)
{
    unsigned char *tail = NULL, *cd = NULL;
    int ret = -1;
    int64_t tlen = fsize < 22 + 65535 ? fsize : 22 + 65535;
    if (tlen < 22) {
        sl_log_error("%s: not an npz file (too short)", path);
        return -1;
    }
    if (!(tail = sl_malloc((size_t)tlen, "npz tail"))) return -1;
    if (pread_all(fd, tail, (size_t)tlen, fsize - tlen) < 0) {
        sl_log_error("%s: read failed: %s", path, strerror(errno));
        goto done;
    }
    int64_t i = tlen - 22;
    for (; i >= 0; i--)
        if (get32(tail + i) == ZIP_EOCD_SIG && i + 22 + (int64_t)get16(tail + i + 20) == tlen) break;
    if (i < 0) {
        sl_log_error("%s: not an npz/zip file (no end of central directory)", path);
        goto done;
    }
    int64_t eocd = fsize - tlen + i;
    uint64_t n_ent = get16(tail + i + 10), cd_size = get32(tail + i + 12), cd_off = get32(tail + i + 16);
    if (n_ent == 0xFFFF || cd_size == U32_MAX_FIELD || cd_off == U32_MAX_FIELD) {
        unsigned char loc[20], e64[56];
        if (eocd < 20 || pread_all(fd, loc, 20, eocd - 20) < 0 || get32(loc) != ZIP64_LOC_SIG) {
            sl_log_error("%s: ZIP64 end-of-central-directory locator missing", path);
            goto done;
        }
        uint64_t e64_off = get64(loc + 8);
        if (e64_off > (uint64_t)eocd - 20 || (uint64_t)eocd - 20 - e64_off < 56 ||
            pread_all(fd, e64, 56, (int64_t)e64_off) < 0 || get32(e64) != ZIP64_EOCD_SIG) {
            sl_log_error("%s: bad ZIP64 end-of-central-directory record", path);
            goto done;
        }
        n_ent = get64(e64 + 32), cd_size = get64(e64 + 40), cd_off = get64(e64 + 48);
        eocd = (int64_t)e64_off;
    }
    if (cd_off > (uint64_t)eocd || cd_size > (uint64_t)eocd - cd_off || n_ent == 0) {
        sl_log_error("%s: bad zip central directory (offset %" PRIu64 ", size %" PRIu64 ", %" PRIu64
                     " entries)", path, cd_off, cd_size, n_ent);
        goto done;
    }
    if (!(cd = sl_malloc((size_t)cd_size, "npz central directory"))) goto done;
    if (pread_all(fd, cd, (size_t)cd_size, (int64_t)cd_off) < 0) {
        sl_log_error("%s: read failed: %s", path, strerror(errno));
        goto done;
    }
    size_t wlen = want ? strlen(want) : 0;
    uint64_t p = 0;
    for (uint64_t k = 0; k < n_ent; k++) {
        if (cd_size - p < 46 || get32(cd + p) != ZIP_CENTRAL_SIG) {
            sl_log_error("%s: bad zip central directory entry %" PRIu64, path, k);
            goto done;
        }
        const unsigned char *c = cd + p;
        uint64_t nlen = get16(c + 28), xlen = get16(c + 30), mlen = get16(c + 32);
        if (cd_size - p - 46 < nlen + xlen + mlen) {
            sl_log_error("%s: zip central directory entry %" PRIu64 " runs past its end", path, k);
            goto done;
        }
        const char *name = (const char *)c + 46;
        int match = !want || (nlen == wlen && memcmp(name, want, wlen) == 0) ||
                    (nlen == wlen + 4 && memcmp(name, want, wlen) == 0 && memcmp(name + wlen, ".npy", 4) == 0);
        if (match) {
            ent->flags = (int)get16(c + 8);
            ent->method = (int)get16(c + 10);
            ent->crc = get32(c + 16);
            uint64_t cs = get32(c + 20), us = get32(c + 24), lo = get32(c + 42);
            /* ZIP64 extra: the fields that are 0xFFFFFFFF, in the order usize, csize, offset */
            const unsigned char *x = c + 46 + nlen, *xe = x + xlen;
            while (xe - x >= 4) {
                uint32_t id = get16(x), sz = get16(x + 2);
                if ((uint64_t)(xe - x - 4) < sz) break;
                if (id == 1) {
                    const unsigned char *f = x + 4, *fe = f + sz;
                    if (us == U32_MAX_FIELD && fe - f >= 8) us = get64(f), f += 8;
                    if (cs == U32_MAX_FIELD && fe - f >= 8) cs = get64(f), f += 8;
                    if (lo == U32_MAX_FIELD && fe - f >= 8) lo = get64(f), f += 8;
                }
                x += 4 + sz;
            }
            if (cs > (uint64_t)INT64_MAX || us > (uint64_t)INT64_MAX || lo > (uint64_t)INT64_MAX) {
                sl_log_error("%s: bad zip entry sizes", path);
                goto done;
            }
            ent->csize = (int64_t)cs, ent->usize = (int64_t)us, ent->local_off = (int64_t)lo;
            ret = 0;
            goto done;
        }
        p += 46 + nlen + xlen + mlen;
    }
    sl_log_error("%s: no array '%s' in the npz", path, want ? want : "(any)");
done:
    free(tail);
    free(cd);
    return ret;
}

int sl_npz_read(const char *path, const char *name, int *ndim_out, int64_t shape_out[SL_NPZ_MAX_DIM],
                float **data_out)
{
    int ret = -1, fd = -1;
    entry_src_t *s = NULL;
    char *hdr = NULL;
    float *out = NULL;
    double *dbuf = NULL;
    zip_entry_t ent;
    struct stat st;

    if ((fd = open(path, O_RDONLY)) < 0) {
        sl_log_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        sl_log_error("%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (zip_find_entry(fd, (int64_t)st.st_size, path, name, &ent) < 0) goto fail;
    if (ent.flags & 1) {
        sl_log_error("%s: encrypted zip entries are not supported", path);
        goto fail;
    }
    if (ent.method != 0 && ent.method != 8) {
        sl_log_error("%s: zip compression method %d not supported (stored or deflate only)", path, ent.method);
        goto fail;
    }
    unsigned char lh[30];
    if (ent.local_off > (int64_t)st.st_size - 30 || pread_all(fd, lh, 30, ent.local_off) < 0 ||
        get32(lh) != ZIP_LOCAL_SIG) {
        sl_log_error("%s: bad zip local header at offset %" PRId64, path, ent.local_off);
        goto fail;
    }
    int64_t data_pos = ent.local_off + 30 + (int64_t)get16(lh + 26) + (int64_t)get16(lh + 28);
    if (data_pos > (int64_t)st.st_size || ent.csize > (int64_t)st.st_size - data_pos ||
        (ent.method == 0 && ent.csize != ent.usize)) {
        sl_log_error("%s: zip entry runs past the end of the file (truncated?)", path);
        goto fail;
    }
    if (!(s = sl_calloc(1, sizeof(*s), "npz reader"))) goto fail;
    s->fd = fd, s->method = ent.method, s->pos = data_pos, s->left = ent.csize, s->out_left = ent.usize;
    s->crc = crc32(0L, Z_NULL, 0);
    if (s->method == 8) {
        if (inflateInit2(&s->z, -MAX_WBITS) != Z_OK) {
            sl_log_error("%s: cannot initialise zlib", path);
            goto fail;
        }
        s->z_init = 1;
    }

    /* .npy: magic, version, header length, dict */
    unsigned char pre[12];
    if (src_read(s, pre, 10) < 0 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] < 1 || pre[6] > 3) {
        sl_log_error("%s: entry is not a .npy array (bad magic, version or data)", path);
        goto fail;
    }
    int64_t hlen = get16(pre + 8), pre_len = 10;
    if (pre[6] >= 2) {
        if (src_read(s, pre + 10, 2) < 0) goto bad_npy;
        hlen = get32(pre + 8), pre_len = 12;
    }
    if (hlen > (1 << 20)) goto bad_npy;
    if (!(hdr = sl_malloc((size_t)hlen + 1, "npy header"))) goto fail;
    if (src_read(s, hdr, (size_t)hlen) < 0) goto bad_npy;
    hdr[hlen] = 0;
    for (int64_t i = hlen; i > 0 && (hdr[i - 1] == ' ' || hdr[i - 1] == '\n'); i--) hdr[i - 1] = 0;
    char descr[8];
    int ndim;
    int64_t shape[SL_NPZ_MAX_DIM];
    if (parse_npy_dict(hdr, descr, &ndim, shape) < 0) {
        for (char *c = hdr; *c; c++) /* hostile bytes stay out of the terminal */
            if (*c < 32 || *c > 126) *c = '?';
        sl_log_error("%s: unsupported .npy header (need C-order float32/float64): %.200s", path, hdr);
        goto fail;
    }
    int item = 0, swap = 0;
    if (strcmp(descr, "<f4") == 0) item = 4;
    else if (strcmp(descr, "<f8") == 0) item = 8;
    else if (strcmp(descr, ">f4") == 0) item = 4, swap = 1;
    else if (strcmp(descr, ">f8") == 0) item = 8, swap = 1;
    else {
        for (char *c = descr; *c; c++)
            if (*c < 32 || *c > 126) *c = '?';
        sl_log_error("%s: .npy dtype '%s' not supported (float32 or float64)", path, descr);
        goto fail;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] > 0 && n > INT64_MAX / 8 / shape[i]) goto bad_npy;
        n *= shape[i];
    }
    if (ent.usize - pre_len - hlen != n * item) {
        sl_log_error("%s: .npy data is %" PRId64 " bytes, shape needs %" PRId64, path,
                     ent.usize - pre_len - hlen, n * item);
        goto fail;
    }
    if (!(out = sl_malloc((size_t)n * sizeof(float), "npz array"))) goto fail;
    if (item == 4) {
        if (src_read(s, out, (size_t)n * 4) < 0) goto bad_npy;
        if (swap)
            for (int64_t i = 0; i < n; i++) {
                uint32_t u;
                memcpy(&u, out + i, 4);
                u = __builtin_bswap32(u);
                memcpy(out + i, &u, 4);
            }
    } else {
        const int64_t chunk = 8192;
        if (!(dbuf = sl_malloc((size_t)chunk * 8, "npz conversion buffer"))) goto fail;
        for (int64_t i = 0; i < n; i += chunk) {
            int64_t k = n - i < chunk ? n - i : chunk;
            if (src_read(s, dbuf, (size_t)k * 8) < 0) goto bad_npy;
            for (int64_t j = 0; j < k; j++) {
                uint64_t u;
                memcpy(&u, dbuf + j, 8);
                if (swap) u = __builtin_bswap64(u);
                double d;
                memcpy(&d, &u, 8);
                out[i + j] = (float)d;
            }
        }
    }
    if (s->method == 8 && !s->z_end) { /* the stream must end exactly here */
        unsigned char extra;
        s->out_left = 1;
        if (src_read(s, &extra, 1) == 0 || !s->z_end) goto bad_npy;
    }
    if ((uint32_t)s->crc != ent.crc) {
        sl_log_error("%s: CRC mismatch in the npz entry (corrupt file)", path);
        goto fail;
    }
    *ndim_out = ndim;
    memcpy(shape_out, shape, (size_t)ndim * sizeof(int64_t));
    *data_out = out;
    out = NULL;
    ret = 0;
    goto fail;
bad_npy:
    sl_log_error("%s: truncated or corrupt .npy data in the npz", path);
fail:
    if (s && s->z_init) inflateEnd(&s->z);
    free(s);
    free(hdr);
    free(out);
    free(dbuf);
    close(fd);
    return ret;
}
