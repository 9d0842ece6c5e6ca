/* h5.c — the few HDF5 reads the Keras reader needs: string attributes (fixed or
 * variable length, Keras's chunked lists) and float datasets of a given shape.
 * Every HDF5 return code is checked; HDF5's error stack is never printed.
 *
 * Variable-length strings are checked before libhdf5 reads them. Each is stored as
 * (length, address of a global heap collection, object index), and libhdf5 1.10 trusts
 * the collection (HDFGroup/hdf5, 1.10 branch: H5HG__cache_heap_deserialize in
 * H5HGcache.c, H5HG_read in H5HG.c, whose checks are asserts, off in release builds):
 * - it walks the collection's objects by their stored sizes, and a free-space object
 *   (index 0) of size 0 does not advance the walk: H5Aread spins forever
 *   (tests/fuzz/regressions/keras/hdf5_vlen_attribute_spin);
 * - an index past the last object, or an object running past the collection, is read
 *   out of bounds, and the object's stored size, not the string's length, is copied
 *   into a buffer of the string's length.
 * So the triples are read as they are on file (a no-op conversion to an opaque type,
 * raw_vlen below) and every collection they name is walked here, on the file's bytes,
 * as libhdf5 will walk it; only then does libhdf5 convert the strings. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras/keras_priv.h"
#include "seqlift/util.h"

#define RAW_TAG "seqlift: variable-length string as on file"
#define BAD_VLEN "corrupt variable-length string: "
#define GCOL_MIN 4096 /* H5HG_MINSIZE: libhdf5 reads this much of a collection first */

void kh5_strs_free(kh5_strs_t *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL, s->n = 0;
}

/* The conversion of a variable-length string on file to RAW_TAG: of the same size, it
 * leaves the bytes as they are, so H5Aread gives the (length, address, index) triples. */
static herr_t raw_vlen(hid_t src, hid_t dst, H5T_cdata_t *cd, size_t n, size_t stride, size_t bkg_stride,
                       void *buf, void *bkg, hid_t dxpl)
{
    (void)n, (void)stride, (void)bkg_stride, (void)buf, (void)bkg, (void)dxpl;
    if (cd->command != H5T_CONV_INIT) return 0;
    cd->need_bkg = H5T_BKG_NO;
    char *tag = H5Tget_class(dst) == H5T_OPAQUE ? H5Tget_tag(dst) : NULL;
    int ok = tag && strcmp(tag, RAW_TAG) == 0 && H5Tis_variable_str(src) > 0 && H5Tget_size(src) == H5Tget_size(dst);
    H5free_memory(tag);
    return ok ? 0 : -1;
}

/* Once per process: HDF5's error printing off, raw_vlen registered. */
static void kh5_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t s = H5Tcopy(H5T_C_S1), d = H5Tcreate(H5T_OPAQUE, 16);
    if (s >= 0 && d >= 0 && H5Tset_size(s, H5T_VARIABLE) >= 0 && H5Tset_tag(d, RAW_TAG) >= 0)
        H5Tregister(H5T_PERS_SOFT, "seqlift_raw_vlen", s, d, raw_vlen); /* else vlen strings are refused */
    if (s >= 0) H5Tclose(s);
    if (d >= 0) H5Tclose(d);
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

/* f->eoa as libhdf5 sets it from the superblock at f->base (H5F__super_read): the
 * stored end-of-file address less the stored base address. H5Fget_eoa would say, but
 * refuses the core driver of file images. 0 / -1 (an unknown superblock). */
static int super_eoa(kh5_file_t *f)
{
    const unsigned o = f->sizeof_addr;
    unsigned char b[3 * 8];
    if (o < 2 || o > 8 || file_bytes(f, f->base + 8, b, 1) < 0) return -1;
    /* the base address's offset: after the versions, sizes and B-tree Ks (0, 1) or the sizes and flags (2, 3) */
    static const unsigned at[4] = {24, 28, 12, 12};
    if (b[0] > 3 || file_bytes(f, f->base + at[b[0]], b, 3 * o) < 0) return -1;
    uint64_t base = le(b, o), end = le(b + 2 * o, o); /* base, free space or extension, end of file */
    if (end < base) return -1;
    f->eoa = end - base;
    return 0;
}

int kh5_open(kh5_file_t *f, const char *path, const void *data, size_t len)
{
    kh5_init();
    memset(f, 0, sizeof *f);
    f->id = -1, f->label = path;
    hid_t fapl = -1, fcpl = -1;
    if (!data) {
        struct stat st;
        if (!(f->fp = fopen(path, "rb"))) {
            sl_log_error("%s: cannot open: %s", path, strerror(errno));
            return -1;
        }
        if (fstat(fileno(f->fp), &st) == 0) {
            f->len = (uint64_t)st.st_size;
            f->id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        }
    } else { /* a file image: the core driver reads it from a copy of the buffer */
        f->img = data, f->len = len;
        if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0
            && H5Pset_file_image(fapl, (void *)data, len) >= 0)
            f->id = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    }
    /* libhdf5's own view: addresses relative to the user block, field sizes, its EOA */
    hsize_t ub = 0;
    size_t sa = 0, ss = 0;
    int ok = f->id >= 0 && (fcpl = H5Fget_create_plist(f->id)) >= 0 && H5Pget_userblock(fcpl, &ub) >= 0
             && H5Pget_sizes(fcpl, &sa, &ss) >= 0;
    f->base = ub, f->sizeof_addr = (unsigned)sa, f->sizeof_size = (unsigned)ss;
    ok = ok && super_eoa(f) == 0;
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    if (ok) return 0;
    sl_log_error("%s: not a readable HDF5 file", path);
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

#define ALIGN8(x) (((x) + 7) & ~(uint64_t)7) /* H5HG_ALIGN */

/* A global heap collection as libhdf5 decodes it: each index's object size; has[i] 0
 * where libhdf5 has no object i. */
typedef struct {
    uint64_t addr; /* relative; 0: none */
    uint64_t *size;
    unsigned char *has;
    unsigned n, cap;
} gcol_t;

/* Walk the collection at relative address addr as H5HG__cache_heap_deserialize does.
 * NULL if libhdf5 can decode it (g filled), else what is wrong. */
static const char *gcol_load(const kh5_file_t *f, uint64_t addr, gcol_t *g)
{
    const unsigned ss = f->sizeof_size, ohdr = 8 + ss; /* object header: index, refs, reserved, size */
    unsigned char h[16];
    g->addr = 0, g->n = 0;
    if (addr >= f->eoa || addr > f->len - f->base || file_bytes(f, f->base + addr, h, 8 + ss) < 0)
        return BAD_VLEN "its heap address is outside the file";
    if (memcmp(h, "GCOL", 4) != 0 || h[4] != 1) return BAD_VLEN "no global heap collection at its address";
    uint64_t size = le(h + 8, ss);
    if (size < GCOL_MIN || size > f->eoa - addr || size > f->len - f->base - addr)
        return BAD_VLEN "its global heap collection has an impossible size";
    unsigned char *b = sl_malloc((size_t)size, "global heap collection");
    if (!b) return "out of memory";
    const char *why = NULL;
    if (file_bytes(f, f->base + addr, b, (size_t)size) < 0) why = BAD_VLEN "its global heap collection is unreadable";
    for (uint64_t p = ALIGN8(8 + ss); !why && p < size && size - p >= ohdr;) { /* a shorter tail is free space */
        unsigned idx = (unsigned)le(b + p, 2);
        uint64_t osz = le(b + p + 8, ss), rem = size - p, need = osz; /* index 0: free space, header included */
        if (idx > 0) {
            if (osz > rem - ohdr) {
                why = BAD_VLEN "a heap object runs past its collection";
                break;
            }
            need = ohdr + ALIGN8(osz);
        }
        if (need == 0 || need > rem) { /* libhdf5 would stop there, or never */
            why = BAD_VLEN "the objects of its global heap collection do not fill it";
            break;
        }
        if (idx >= g->cap) {
            unsigned cap = idx + 1 > 2 * g->cap ? idx + 1 : 2 * g->cap;
            uint64_t *sz = realloc(g->size, cap * sizeof *sz);
            if (sz) g->size = sz;
            unsigned char *has = sz ? realloc(g->has, cap) : NULL;
            if (!has) {
                why = "out of memory";
                break;
            }
            g->has = has;
            memset(g->has + g->cap, 0, cap - g->cap);
            g->cap = cap;
        }
        if (idx >= g->n) {
            memset(g->has + g->n, 0, idx + 1 - g->n);
            g->n = idx + 1;
        }
        if (idx > 0) g->size[idx] = osz, g->has[idx] = 1;
        p += need;
    }
    free(b);
    if (!why) g->addr = addr;
    return why;
}

/* Check the n variable-length strings of attribute a of file f as libhdf5 will read
 * them. NULL if they can be read, else what is wrong. */
static const char *check_vlen(const kh5_file_t *f, hid_t a, size_t n)
{
    const unsigned sa = f->sizeof_addr, esz = 8 + sa; /* length (4), address, index (4) */
    if (sa < 2 || sa > 8 || f->sizeof_size < 2 || f->sizeof_size > 8) return "variable-length strings of a file with this address size are not supported";
    const char *why = "unreadable";
    hid_t mt = H5Tcreate(H5T_OPAQUE, esz);
    unsigned char *raw = n <= SIZE_MAX / esz ? malloc(n * esz) : NULL;
    gcol_t g = {0};
    if (mt < 0 || !raw || H5Tset_tag(mt, RAW_TAG) < 0 || H5Aread(a, mt, raw) < 0) goto done;
    why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        const unsigned char *e = raw + i * esz;
        uint64_t len = le(e, 4), addr = le(e + 4, sa), idx = le(e + 4 + sa, 4);
        if (addr == 0) continue; /* a null string: libhdf5 reads nothing */
        if (addr != g.addr) why = gcol_load(f, addr, &g);
        if (!why && (idx >= g.n || !g.has[idx])) why = BAD_VLEN "no such object in its global heap collection";
        if (!why && g.size[idx] != len) why = BAD_VLEN "its length is not its heap object's";
    }
done:
    free(g.size);
    free(g.has);
    free(raw);
    if (mt >= 0) H5Tclose(mt);
    return why;
}

int kh5_has_group(hid_t obj, const char *name)
{
    if (H5Lexists(obj, name, H5P_DEFAULT) <= 0) return 0;
    H5O_info_t info;
    if (H5Oget_info_by_name(obj, name, &info, H5P_DEFAULT) < 0) return 0;
    return info.type == H5O_TYPE_GROUP;
}

/* Read every string of attribute `a` of file f into out->v. NULL, or what is wrong
 * (not reported). */
static const char *read_strings(const kh5_file_t *f, hid_t a, kh5_strs_t *out)
{
    const char *why = "not a string list";
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    void *buf = NULL;
    out->v = NULL, out->n = 0;
    if (ft < 0 || n < 0 || n > (1 << 24)) goto done;
    if (n == 0) { /* Keras writes an empty list as an empty float64 array */
        why = NULL;
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING) goto done;
    htri_t vlen = H5Tis_variable_str(ft);
    H5T_cset_t cset = H5Tget_cset(ft);
    size_t size = H5Tget_size(ft);
    if (vlen < 0 || cset < 0 || (!vlen && (size == 0 || size > (1u << 20)))) goto done;
    if (vlen && (why = check_vlen(f, a, (size_t)n))) goto done;
    why = "unreadable";
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, cset) < 0) goto done;
    if (!vlen) size++; /* room for the terminator of C's NULLTERM strings */
    if (H5Tset_size(mt, vlen ? H5T_VARIABLE : size) < 0) goto done;
    size_t elem = vlen ? sizeof(char *) : size;
    why = "out of memory";
    if (!(buf = calloc((size_t)n, elem)) || !(out->v = calloc((size_t)n, sizeof(char *)))) goto done;
    why = "unreadable";
    if (H5Aread(a, mt, buf) < 0) goto done;
    why = NULL;
    for (hssize_t i = 0; i < n; i++) {
        const char *s = vlen ? ((char **)buf)[i] : (const char *)buf + (size_t)i * size;
        size_t l = !s ? 0 : vlen ? strlen(s) : strnlen(s, size);
        if (!(out->v[i] = malloc(l + 1))) {
            why = "out of memory";
            break;
        }
        if (l) memcpy(out->v[i], s, l);
        out->v[i][l] = 0;
        out->n = (int)i + 1;
    }
    if (vlen) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
done:
    if (why) kh5_strs_free(out);
    free(buf);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    return why;
}

/* One attribute's strings: 1 found, 0 absent, -1 unreadable (reported). */
static int attr_strings(const kh5_file_t *f, hid_t obj, const char *name, const char *what, kh5_strs_t *out)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) {
        sl_log_error("%s: cannot read attribute '%s'", what, name);
        return -1;
    }
    if (!ex) return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    const char *why = a >= 0 ? read_strings(f, a, out) : "cannot be opened";
    if (a >= 0) H5Aclose(a);
    if (why) {
        sl_log_error("%s: attribute '%s': %s", what, name, why);
        return -1;
    }
    return 1;
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

int kh5_read_floats(hid_t grp, const char *path, int rank, const long *dims, const char *what,
                    double **out)
{
    int ret = -1;
    hid_t d = -1, t = -1, sp = -1;
    const char *why = "missing";
    *out = NULL;
    if (path[0] == '/' || H5Lexists(grp, path, H5P_DEFAULT) <= 0) goto done;
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
