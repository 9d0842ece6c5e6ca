/* h5.c — the few HDF5 reads the Keras reader needs: string attributes (fixed or
 * variable length, Keras's chunked lists) and float datasets of a given shape.
 * Every HDF5 return code is checked; HDF5's error stack is never printed.
 *
 * Attributes are read here from the file's bytes, not by libhdf5, which trusts them:
 * libhdf5 1.10 (HDFGroup/hdf5, 1.10 branch; its checks are asserts, off in release
 * builds) decodes every attribute message of an object header without bounding it by
 * the message (H5O_attr_decode, H5Oattr.c: H5Aexists read freed memory on
 * tests/fuzz/regressions/keras/hdf5_attribute_dataspace_overrun), and reads
 * variable-length strings from a global heap collection it does not check
 * (H5HG__cache_heap_deserialize, H5HGcache.c: a free-space object of size 0 never
 * advances its walk, H5Aread spins forever on
 * tests/fuzz/regressions/keras/hdf5_vlen_attribute_spin; H5HG_read copies an object's
 * stored size into a buffer of the string's length). So the reader walks the object
 * header (version 1 or 2, continuation chunks), decodes the attribute's datatype,
 * dataspace and data, and reads variable-length strings from their collections, each
 * size checked against what holds it. Every object header libhdf5 will load (the
 * root group's before H5Fopen, each object on a group or dataset path before it is
 * opened) is walked first too, each chunk within the file: libhdf5 allocates a chunk's
 * stated size before reading it (16 GiB on
 * tests/fuzz/regressions/keras/hdf5_continuation_chunk_16gib), and so is a group's
 * local heap (hdf5_local_heap_huge). Datasets, B-trees and fractal heaps are still
 * libhdf5's to read. Layouts: the HDF5 File Format Specification (version 3.0): II.A
 * superblock, IV.A.1 object headers, IV.A.2 messages (.b dataspace, .d datatype,
 * .m attribute, .v attribute info, .p continuation), III.E global heap. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras/keras_priv.h"
#include "seqlift/util.h"

#define BAD_VLEN "corrupt variable-length string: "
#define BAD_OH "corrupt object header: "
#define BAD_ATTR "corrupt attribute: "
#define GCOL_MIN 4096    /* H5HG_MINSIZE: no collection is smaller */
#define MAX_CHUNKS 256   /* object header chunks followed */
#define MAX_STRS (1 << 24)

void kh5_strs_free(kh5_strs_t *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL, s->n = 0;
}

/* Once per process: HDF5's error printing off. */
static void kh5_init(void)
{
    static int done;
    if (!done) H5Eset_auto2(H5E_DEFAULT, NULL, NULL), done = 1;
}

/* n bytes at absolute offset off of f. 0 / -1 (not all in the file). */
static int file_bytes(const kh5_file_t *f, uint64_t off, void *dst, size_t n)
{
    if (off > f->len || n > f->len - off) return -1;
    if (f->img) {
        if (n) memcpy(dst, f->img + off, n);
        return 0;
    }
    return pread(fileno(f->fp), dst, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static uint64_t le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    while (n--) v = v << 8 | p[n];
    return v;
}

static const char *oh_walk(const kh5_file_t *f, uint64_t oh, const char *name, unsigned char **msg,
                           uint64_t *msg_len);

/* The superblock, read before libhdf5 reads it (HDF5 File Format Specification,
 * II.A): f->base (libhdf5 looks for the signature at 0, 512, 1024, ...; addresses are
 * relative to it), the field sizes, f->eoa as libhdf5 sets it (H5F__super_read: the
 * stored end-of-file address less the stored base address), and the addresses of the
 * object headers libhdf5 loads when it opens the file (the root group's, the
 * superblock extension's). 0 / -1 (not a superblock the reader knows). */
static int super_read(kh5_file_t *f, uint64_t oh[2])
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[64];
    uint64_t at = 0;
    for (;; at = at ? 2 * at : 512) {
        if (at > f->len || f->len - at < 8) return -1;
        if (file_bytes(f, at, b, 8) == 0 && memcmp(b, sig, 8) == 0) break;
    }
    f->base = at;
    if (file_bytes(f, at, b, 16) < 0 || b[8] > 3) return -1;
    unsigned v = b[8], o = v < 2 ? b[13] : b[9];
    f->sizeof_addr = o, f->sizeof_size = v < 2 ? b[14] : b[10];
    if (o < 2 || o > 8 || f->sizeof_size < 2 || f->sizeof_size > 8) return -1;
    /* v0, v1: base, free space, end of file, driver info, root entry (link name, header)
     * after the versions, sizes and B-tree Ks; v2, v3: base, extension, end of file, root
     * header after the sizes and flags */
    unsigned a = v == 0 ? 24 : v == 1 ? 28 : 12;
    if (file_bytes(f, at + a, b, 6 * o) < 0) return -1;
    uint64_t base = le(b, o), end = le(b + 2 * o, o), undef = o == 8 ? UINT64_MAX : (1ull << 8 * o) - 1;
    if (end < base) return -1;
    f->eoa = end - base;
    if (v < 2 && le(b + 3 * o, o) != undef) { /* a driver info block (II.B): libhdf5 allocates its stated size */
        uint64_t drv = le(b + 3 * o, o);
        unsigned char d[8];
        if (drv > f->len - f->base || file_bytes(f, f->base + drv, d, 8) < 0 || le(d + 4, 4) > f->len - f->base - drv)
            return -1;
    }
    oh[0] = le(b + (v < 2 ? 5 : 3) * o, o);
    oh[1] = v < 2 || le(b + o, o) == undef ? 0 : le(b + o, o);
    return 0;
}

int kh5_open(kh5_file_t *f, const char *path, const void *data, size_t len)
{
    kh5_init();
    memset(f, 0, sizeof *f);
    f->id = -1, f->label = path;
    hid_t fapl = -1, fcpl = -1;
    const char *why = "not a readable HDF5 file";
    uint64_t oh[2];
    if (!data) {
        struct stat st;
        if (!(f->fp = fopen(path, "rb"))) {
            sl_log_error("%s: cannot open: %s", path, strerror(errno));
            return -1;
        }
        if (fstat(fileno(f->fp), &st) == 0) f->len = (uint64_t)st.st_size;
    } else {
        f->img = data, f->len = len;
    }
    if (f->len == 0 || super_read(f, oh) < 0) goto bad;
    for (int i = 0; i < 2; i++)
        if (oh[i] && (why = oh_walk(f, oh[i], NULL, NULL, NULL))) goto bad;
    why = "not a readable HDF5 file";
    if (!data) {
        f->id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    } else { /* a file image: the core driver reads it from a copy of the buffer */
        if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0
            && H5Pset_file_image(fapl, (void *)data, len) >= 0)
            f->id = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    }
    /* libhdf5 read the superblock as the reader did */
    hsize_t ub = 0;
    size_t sa = 0, ss = 0;
    int ok = f->id >= 0 && (fcpl = H5Fget_create_plist(f->id)) >= 0 && H5Pget_userblock(fcpl, &ub) >= 0
             && H5Pget_sizes(fcpl, &sa, &ss) >= 0 && ub == f->base && sa == f->sizeof_addr && ss == f->sizeof_size;
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    if (ok) return 0;
bad:
    sl_log_error("%s: %s", path, why);
    if (f->id >= 0) H5Fclose(f->id);
    if (f->fp) fclose(f->fp);
    f->id = -1, f->fp = NULL;
    return -1;
}

int kh5_close(kh5_file_t *f)
{
    int ret = 0;
    if (f->id >= 0) {
        ssize_t n = H5Fget_obj_count(f->id, H5F_OBJ_ALL); /* the file itself, and nothing else */
        if (n != 1) {
            sl_log_error("%s: %zd HDF5 objects left open by the Keras reader (a bug)", f->label, n - 1);
            ret = -1;
        }
        if (H5Fclose(f->id) < 0) ret = -1;
    }
    if (f->fp) fclose(f->fp);
    f->id = -1, f->fp = NULL;
    return ret;
}

#define ALIGN8(x) (((x) + 7) & ~(uint64_t)7)

/* n bytes at relative address addr of f, malloc'd. NULL if not all in the file (or
 * out of memory). */
static unsigned char *file_span(const kh5_file_t *f, uint64_t addr, uint64_t n)
{
    if (addr > f->len - f->base || n > f->len - f->base - addr || n > SIZE_MAX - 1) return NULL;
    unsigned char *b = malloc(n ? (size_t)n : 1);
    if (b && file_bytes(f, f->base + addr, b, (size_t)n) < 0) free(b), b = NULL;
    return b;
}

/* ---- global heap collections (variable-length strings) ---- */

/* A global heap collection: its bytes, and each index's object (offset, size). */
typedef struct {
    uint64_t addr; /* relative; 0: none loaded */
    unsigned char *b;
    uint64_t *off, *size; /* off 0: no object of that index */
    unsigned n, cap;
} gcol_t;

static void gcol_free(gcol_t *g)
{
    free(g->b), free(g->off), free(g->size);
    memset(g, 0, sizeof *g);
}

/* Load and walk the collection at relative address addr. NULL, or what is wrong. */
static const char *gcol_load(const kh5_file_t *f, uint64_t addr, gcol_t *g)
{
    const unsigned ss = f->sizeof_size, ohdr = 8 + ss; /* object: index, refs, reserved, size */
    unsigned char h[16];
    free(g->b), g->b = NULL, g->addr = 0, g->n = 0;
    if (addr >= f->eoa || addr > f->len - f->base || file_bytes(f, f->base + addr, h, 8 + ss) < 0)
        return BAD_VLEN "its heap address is outside the file";
    if (memcmp(h, "GCOL", 4) != 0 || h[4] != 1) return BAD_VLEN "no global heap collection at its address";
    uint64_t size = le(h + 8, ss);
    if (size < GCOL_MIN || size > f->eoa - addr || !(g->b = file_span(f, addr, size)))
        return BAD_VLEN "its global heap collection has an impossible size";
    /* objects tile the collection; a tail too short for an object header is free space */
    for (uint64_t p = ALIGN8(8 + ss); p < size && size - p >= ohdr;) {
        unsigned idx = (unsigned)le(g->b + p, 2);
        uint64_t osz = le(g->b + p + 8, ss), rem = size - p, need = osz; /* index 0: free space, header included */
        if (idx > 0) {
            if (osz > rem - ohdr) return BAD_VLEN "a heap object runs past its collection";
            need = ohdr + ALIGN8(osz);
        }
        if (need == 0 || need > rem) return BAD_VLEN "the objects of its global heap collection do not fill it";
        if (idx >= g->cap) {
            unsigned cap = idx + 1 > 2 * g->cap ? idx + 1 : 2 * g->cap;
            uint64_t *o = realloc(g->off, cap * sizeof *o);
            if (o) g->off = o;
            uint64_t *s = o ? realloc(g->size, cap * sizeof *s) : NULL;
            if (!s) return "out of memory";
            g->size = s, g->cap = cap;
        }
        for (; g->n <= idx; g->n++) g->off[g->n] = 0;
        if (idx > 0) g->off[idx] = p + ohdr, g->size[idx] = osz;
        p += need;
    }
    g->addr = addr;
    return NULL;
}

/* ---- attribute messages ---- */

/* An attribute message's parts (pointers into the message). */
typedef struct {
    const unsigned char *dt, *data;
    uint64_t dt_size, data_size, n; /* n elements */
} attr_t;

/* Elements of the dataspace encoding p[0..len). NULL, or what is wrong. */
static const char *dspace_n(const unsigned char *p, uint64_t len, unsigned ss, uint64_t *n)
{
    if (len < 4 || (p[0] != 1 && p[0] != 2)) return BAD_ATTR "unknown dataspace";
    unsigned rank = p[1], flags = p[2], at = p[0] == 1 ? 8 : 4, type = p[0] == 2 ? p[3] : rank ? 1 : 0;
    if (rank > 32 || type > 2 || (type != 1 && rank) || at + (uint64_t)rank * ss * (flags & 1 ? 2 : 1) > len)
        return BAD_ATTR "dataspace does not fit its message";
    *n = type == 2 ? 0 : 1; /* scalar, simple, null */
    for (unsigned i = 0; i < rank; i++) {
        uint64_t d = le(p + at + (uint64_t)i * ss, ss);
        *n = d && *n > MAX_STRS / d ? MAX_STRS + 1ull : *n * d;
    }
    return NULL;
}

/* Decode attribute message m[0..len) into *a. NULL, or what is wrong. */
static const char *attr_decode(const kh5_file_t *f, const unsigned char *m, uint64_t len, attr_t *a)
{
    if (len < 8 || m[0] < 1 || m[0] > 3) return BAD_ATTR "unknown attribute message";
    unsigned ver = m[0], flags = ver > 1 ? m[1] : 0;
    if (flags & 3) return "attributes with a shared datatype or dataspace are not supported";
    uint64_t nl = le(m + 2, 2), dts = le(m + 4, 2), dss = le(m + 6, 2), p = ver == 3 ? 9 : 8;
    p += ver == 1 ? ALIGN8(nl) : nl;
    a->dt = m + p, a->dt_size = dts;
    if (dts < 8 || p > len || dts > len - p) return BAD_ATTR "datatype does not fit its message";
    p += ver == 1 ? ALIGN8(dts) : dts;
    if (p > len || dss > len - p) return BAD_ATTR "dataspace does not fit its message";
    const char *why = dspace_n(m + p, dss, f->sizeof_size, &a->n);
    if (why) return why;
    p += ver == 1 ? ALIGN8(dss) : dss;
    unsigned cls = a->dt[0] & 15;
    /* a variable-length string is (length, heap address, index) on file */
    uint64_t esz = cls == 9 ? 8 + f->sizeof_addr : le(a->dt + 4, 4);
    if (a->n > MAX_STRS) return "attribute too large";
    a->data_size = a->n * esz;
    if (a->data_size && (p > len || a->data_size > len - p)) return BAD_ATTR "data does not fit its message";
    a->data = m + (p <= len ? p : len); /* no data past an aligned end */
    return NULL;
}

/* Is the name of attribute message m[0..len) `name`? */
static int attr_named(const unsigned char *m, uint64_t len, const char *name)
{
    size_t l = strlen(name), at = m[0] == 3 ? 9 : 8;
    return len >= 8 && le(m + 2, 2) == l + 1 && at + l < len && memcmp(m + at, name, l) == 0 && m[at + l] == 0;
}

/* Walk the object header at relative address oh, every chunk and message bounded by
 * the file (libhdf5 1.10 allocates a chunk's stated size before reading it), and find
 * attribute `name` in it: *msg (malloc'd) and *msg_len, or *msg NULL when there is
 * none. name NULL: only walk it. NULL, or what is wrong. */
/* Check the local heap at relative address addr (a group's link names): libhdf5 1.10
 * allocates its stated data segment size, and follows its free list (H5HL__fl_deserialize)
 * without bounding its length. "HEAP", version 0, reserved (3), data segment size,
 * free list head (sizes: sizeof_size), data segment address. NULL, or what is wrong. */
static const char *lheap_check(const kh5_file_t *f, uint64_t addr)
{
    const unsigned sa = f->sizeof_addr, ss = f->sizeof_size;
    unsigned char h[32];
    if (addr > f->len - f->base || file_bytes(f, f->base + addr, h, 8 + 2 * ss + sa) < 0 || memcmp(h, "HEAP", 4) != 0
        || h[4] != 0)
        return "corrupt group: no local heap at its address";
    uint64_t size = le(h + 8, ss), fl = le(h + 8 + ss, ss), data = le(h + 8 + 2 * ss, sa);
    if (data > f->eoa || size > f->eoa - data || data > f->len - f->base || size > f->len - f->base - data)
        return "corrupt group: its local heap runs past the file";
    /* free blocks: (next offset, size), each at least 2 lengths, disjoint; 1 ends the list */
    for (uint64_t k = 0; fl != 1; k++) {
        unsigned char e[16];
        if (fl >= size || size - fl < 2 * ss || k > size / (2 * ss) || file_bytes(f, f->base + data + fl, e, 2 * ss) < 0)
            return "corrupt group: bad local heap free list";
        fl = le(e, ss);
    }
    return NULL;
}

static const char *oh_walk(const kh5_file_t *f, uint64_t oh, const char *name, unsigned char **msg,
                           uint64_t *msg_len)
{
    const unsigned sa = f->sizeof_addr, ss = f->sizeof_size;
    unsigned char h[6 + 16 + 4 + 8], *none; /* a v2 prefix at its longest: times, phase change, 8-byte size */
    uint64_t none_len;
    if (!name) msg = &none, msg_len = &none_len;
    *msg = NULL;
    if (oh > f->len - f->base || file_bytes(f, f->base + oh, h, 6) < 0) return BAD_OH "outside the file";
    int v2 = memcmp(h, "OHDR", 4) == 0;
    uint64_t q[MAX_CHUNKS][2]; /* chunks: address and length of their messages */
    unsigned nq = 1, hdr_flags = 0;
    if (!v2) { /* version, reserved, messages (2), references (4), chunk size (4), padding (4) */
        if (h[0] != 1 || file_bytes(f, f->base + oh, h, 16) < 0) return BAD_OH "unknown version";
        q[0][0] = oh + 16, q[0][1] = le(h + 8, 4);
    } else { /* "OHDR", version, flags, [times], [attribute phase change], chunk size (1 << flags & 3) */
        hdr_flags = h[5];
        unsigned at = 6 + (hdr_flags & 0x20 ? 16 : 0) + (hdr_flags & 0x10 ? 4 : 0), sz = 1u << (hdr_flags & 3);
        if (h[4] != 2 || file_bytes(f, f->base + oh, h, at + sz) < 0) return BAD_OH "unknown version";
        q[0][0] = oh + at + sz, q[0][1] = le(h + at, sz);
    }
    const char *why = NULL;
    uint64_t total = 0; /* chunks do not overlap: together no larger than the file */
    for (unsigned c = 0; c < nq && !why && !*msg; c++) {
        unsigned char *b = (total += q[c][1]) <= f->len ? file_span(f, q[c][0], q[c][1]) : NULL;
        if (!b) return BAD_OH "a chunk runs past the file";
        uint64_t p = 0, end = q[c][1];
        if (v2 && c > 0) { /* "OCHK", messages, checksum */
            if (end < 8 || memcmp(b, "OCHK", 4) != 0) why = BAD_OH "bad continuation chunk";
            p = 4, end -= 4;
        }
        /* v1 message: type (2), size (2), flags, reserved (3); v2: type, size (2), flags, [order (2)] */
        const unsigned mh = v2 ? 4 + (hdr_flags & 0x04 ? 2 : 0) : 8;
        while (!why && end - p >= mh) {
            unsigned type = v2 ? b[p] : (unsigned)le(b + p, 2), mflags = b[p + (v2 ? 3 : 4)];
            uint64_t size = le(b + p + (v2 ? 1 : 2), 2), d = p + mh;
            if (size > end - d) {
                why = BAD_OH "a message runs past its chunk";
            } else if (type == 0x10) { /* continuation: address, length */
                if (size < sa + ss) why = BAD_OH "bad continuation message";
                else if (nq == MAX_CHUNKS) why = BAD_OH "too many continuation chunks";
                else q[nq][0] = le(b + d, sa), q[nq][1] = le(b + d + sa, ss), nq++;
            } else if (type == 0x11) { /* symbol table: B-tree address, local heap address */
                if (size < 2 * sa) why = BAD_OH "bad symbol table message";
                else why = lheap_check(f, le(b + d + sa, sa));
            } else if (type == 0x15 && name) { /* attribute info: version, flags, [index (2)], fractal heap address */
                uint64_t at = 2 + (size >= 2 && b[d + 1] & 1 ? 2 : 0);
                if (size < at + sa) why = BAD_OH "bad attribute info message";
                else if (le(b + d + at, sa) != (sa == 8 ? UINT64_MAX : (1ull << 8 * sa) - 1))
                    why = "attributes in dense storage (many attributes in an HDF5 1.8+ file) are not supported";
            } else if (type == 0x0C && name && attr_named(b + d, size, name)) {
                if (mflags & 2) why = "shared attribute messages are not supported";
                else if ((*msg = malloc(size ? size : 1))) memcpy(*msg, b + d, size), *msg_len = size;
                else why = "out of memory";
                break;
            }
            p = d + size;
        }
        free(b);
    }
    if (why) free(*msg), *msg = NULL;
    return why;
}

/* The strings of attribute a of file f into out->v. NULL, or what is wrong. */
static const char *attr_strings_of(const kh5_file_t *f, const attr_t *a, kh5_strs_t *out)
{
    if (a->n == 0) return NULL; /* Keras writes an empty list as an empty float64 array */
    unsigned cls = a->dt[0] & 15, sub = a->dt[1] & 15;
    int vlen = cls == 9 && sub == 1; /* a variable-length sequence of type string */
    uint64_t esz = vlen ? 8 + f->sizeof_addr : le(a->dt + 4, 4);
    if (!vlen && (cls != 3 || esz == 0 || esz > (1u << 20))) return "not a string list";
    if (!(out->v = calloc((size_t)a->n, sizeof(char *)))) return "out of memory";
    gcol_t g = {0};
    const char *why = NULL;
    for (uint64_t i = 0; i < a->n && !why; i++) {
        const unsigned char *e = a->data + i * esz, *s = e;
        uint64_t l = esz;
        if (vlen) { /* length, collection address, index */
            uint64_t addr = le(e + 4, f->sizeof_addr), idx = le(e + 4 + f->sizeof_addr, 4);
            l = le(e, 4), s = NULL;
            if (addr == 0) l = 0; /* a null string */
            else if (addr != g.addr && (why = gcol_load(f, addr, &g))) break;
            else if (idx >= g.n || !g.off[idx]) why = BAD_VLEN "no such object in its global heap collection";
            else if (g.size[idx] != l) why = BAD_VLEN "its length is not its heap object's";
            else s = g.b + g.off[idx];
        }
        if (why) break;
        size_t n = s ? strnlen((const char *)s, (size_t)l) : 0;
        if (!vlen && sub == 2) /* space padded (libhdf5 strips the spaces) */
            while (n && s[n - 1] == ' ') n--;
        if (!(out->v[i] = malloc(n + 1))) why = "out of memory";
        else memcpy(out->v[i], s ? (const char *)s : "", n), out->v[i][n] = 0, out->n = (int)i + 1;
    }
    gcol_free(&g);
    return why;
}

/* One attribute's strings: 1 found, 0 absent, -1 unreadable (reported). */
static int attr_strings(const kh5_file_t *f, hid_t obj, const char *name, const char *what, kh5_strs_t *out)
{
    H5O_info_t info;
    unsigned char *m = NULL;
    uint64_t ml = 0;
    attr_t a;
    out->v = NULL, out->n = 0;
    const char *why = H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0 ? "cannot be looked up"
                      : f->sizeof_addr < 2 || f->sizeof_addr > 8 || f->sizeof_size < 2 || f->sizeof_size > 8
                          ? "not supported in a file of this address size"
                          : oh_walk(f, info.addr, name, &m, &ml);
    if (!why && !m) return 0;
    if (!why) why = attr_decode(f, m, ml, &a);
    if (!why) why = attr_strings_of(f, &a, out);
    free(m);
    if (why) {
        kh5_strs_free(out);
        sl_log_error("%s: attribute '%s': %s", what, name, why);
        return -1;
    }
    return 1;
}

/* Check the object headers along `path` below obj (each component's link, then its
 * header, before libhdf5 loads it). NULL, MISSING, or what is wrong. */
static const char MISSING[] = "missing";
static const char *path_check(const kh5_file_t *f, hid_t obj, const char *path)
{
    size_t n = strlen(path);
    char *pre = sl_malloc(n + 1, "path");
    if (!pre) return "out of memory";
    const char *why = NULL;
    for (size_t i = 0; i <= n && !why; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        if (i == 0 || path[i - 1] == '/') continue; /* empty components: libhdf5 skips them */
        memcpy(pre, path, i), pre[i] = 0;
        H5L_info_t li;
        if (H5Lexists(obj, pre, H5P_DEFAULT) <= 0 || H5Lget_info(obj, pre, &li, H5P_DEFAULT) < 0) why = MISSING;
        else if (li.type != H5L_TYPE_HARD) why = "soft and external links are not supported";
        else why = oh_walk(f, li.u.address, NULL, NULL, NULL);
    }
    free(pre);
    return why;
}

int kh5_has_group(const kh5_file_t *f, hid_t obj, const char *name)
{
    const char *why = path_check(f, obj, name);
    if (why == MISSING) return 0;
    if (why) {
        sl_log_error("%s: object '%s': %s", f->label, name, why);
        return -1;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(obj, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return 0;
    return info.type == H5O_TYPE_GROUP;
}

int kh5_attr_str(const kh5_file_t *f, hid_t obj, const char *name, const char *what, char **out)
{
    kh5_strs_t s = {0};
    int r = attr_strings(f, obj, name, what, &s);
    if (r <= 0) return r;
    if (s.n != 1) {
        sl_log_error("%s: attribute '%s' holds %d strings, want one", what, name, s.n);
        kh5_strs_free(&s);
        return -1;
    }
    *out = s.v[0];
    free(s.v);
    return 1;
}

int kh5_attr_strs(const kh5_file_t *f, hid_t obj, const char *name, const char *what, kh5_strs_t *out)
{
    out->v = NULL, out->n = 0;
    int r = attr_strings(f, obj, name, what, out);
    if (r != 0) return r;
    /* chunked: name0, name1, ... (Keras's save_attributes_to_hdf5_group) */
    size_t nl = strlen(name) + 16;
    char *key = sl_malloc(nl, "attribute name");
    if (!key) return -1;
    int found = 0;
    for (int k = 0;; k++) {
        snprintf(key, nl, "%s%d", name, k);
        kh5_strs_t part = {0};
        r = attr_strings(f, obj, key, what, &part);
        if (r <= 0) break;
        found = 1;
        char **v = out->n + part.n <= (1 << 24) ? realloc(out->v, (size_t)(out->n + part.n + 1) * sizeof(char *)) : NULL;
        if (!v) {
            kh5_strs_free(&part);
            sl_log_error("%s: attribute '%s' too large", what, name);
            r = -1;
            break;
        }
        out->v = v;
        memcpy(out->v + out->n, part.v, (size_t)part.n * sizeof(char *));
        out->n += part.n;
        free(part.v);
    }
    free(key);
    if (r < 0) {
        kh5_strs_free(out);
        return -1;
    }
    return found;
}

int kh5_read_floats(const kh5_file_t *f, hid_t grp, const char *path, int rank, const long *dims,
                    const char *what, double **out)
{
    int ret = -1;
    hid_t d = -1, t = -1, sp = -1;
    const char *why = "missing";
    *out = NULL;
    if (path[0] == '/' || (why = path_check(f, grp, path)) == MISSING) {
        why = "missing";
        goto done;
    }
    if (why) goto done;
    why = "not a dataset";
    if ((d = H5Dopen2(grp, path, H5P_DEFAULT)) < 0) goto done;
    why = "unreadable type";
    if ((t = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) goto done;
    size_t tsize = H5Tget_size(t);
    why = "not float16/float32/float64";
    if (H5Tget_class(t) != H5T_FLOAT || (tsize != 2 && tsize != 4 && tsize != 8)) goto done;
    hsize_t hd[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(sp);
    char shape[128];
    int pos = 0;
    if (nd >= 0 && nd <= H5S_MAX_RANK && H5Sget_simple_extent_dims(sp, hd, NULL) == nd) {
        pos += snprintf(shape, sizeof shape, "(");
        for (int i = 0; i < nd && pos < (int)sizeof shape - 24; i++)
            pos += snprintf(shape + pos, sizeof shape - (size_t)pos, "%s%llu", i ? ", " : "", (unsigned long long)hd[i]);
        snprintf(shape + pos, sizeof shape - (size_t)pos, ")");
    } else {
        why = "unreadable shape";
        goto done;
    }
    int match = nd == rank;
    size_t n = 1;
    for (int i = 0; match && i < rank; i++) {
        match = hd[i] == (hsize_t)dims[i];
        n = dims[i] <= 0 ? 0 : n <= ((size_t)1 << 29) / (size_t)dims[i] ? n * (size_t)dims[i] : ((size_t)1 << 29);
    }
    if (!match) {
        char want[128];
        pos = snprintf(want, sizeof want, "(");
        for (int i = 0; i < rank && pos < (int)sizeof want - 24; i++)
            pos += snprintf(want + pos, sizeof want - (size_t)pos, "%s%ld", i ? ", " : "", dims[i]);
        snprintf(want + pos, sizeof want - (size_t)pos, ")");
        sl_log_error("%s: dataset '%s' has shape %s, want %s", what, path, shape, want);
        goto quiet;
    }
    why = "too large";
    if (n > ((size_t)1 << 28)) goto done;
    why = "out of memory";
    if (!(*out = malloc((n ? n : 1) * sizeof(double)))) goto done;
    why = "unreadable data";
    if (n && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) goto done;
    ret = 0;
done:
    if (ret < 0) sl_log_error("%s: dataset '%s': %s", what, path, why);
quiet:
    if (ret < 0) free(*out), *out = NULL;
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return ret;
}
