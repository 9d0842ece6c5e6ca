/* h5.c — the few HDF5 reads the Keras reader needs: string attributes (fixed or
 * variable length, Keras's chunked lists) and float datasets of a given shape.
 * Every HDF5 return code is checked; HDF5's error stack is never printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras/keras_priv.h"
#include "seqlift/util.h"

void kh5_strs_free(kh5_strs_t *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL, s->n = 0;
}

void kh5_quiet(void)
{
    static int done;
    if (!done) H5Eset_auto2(H5E_DEFAULT, NULL, NULL), done = 1;
}

hid_t kh5_open(const char *path, const void *data, size_t len)
{
    kh5_quiet();
    hid_t f;
    if (!data) {
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    } else { /* a file image: the core driver reads it from a copy of the buffer */
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0) goto bad;
        f = -1;
        if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)data, len) >= 0)
            f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        H5Pclose(fapl);
    }
    if (f >= 0) return f;
bad:
    sl_log_error("%s: not a readable HDF5 file", path);
    return -1;
}

int kh5_has_group(hid_t obj, const char *name)
{
    if (H5Lexists(obj, name, H5P_DEFAULT) <= 0) return 0;
    H5O_info_t info;
    if (H5Oget_info_by_name(obj, name, &info, H5P_DEFAULT) < 0) return 0;
    return info.type == H5O_TYPE_GROUP;
}

/* Read every string of attribute `a` (n values) into out->v. 0 / -1 (not reported). */
static int read_strings(hid_t a, kh5_strs_t *out)
{
    int ret = -1;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    void *buf = NULL;
    out->v = NULL, out->n = 0;
    if (ft < 0 || n < 0 || n > (1 << 24)) goto done;
    if (n == 0) { /* Keras writes an empty list as an empty float64 array */
        ret = 0;
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING) goto done;
    htri_t vlen = H5Tis_variable_str(ft);
    H5T_cset_t cset = H5Tget_cset(ft);
    size_t size = H5Tget_size(ft);
    if (vlen < 0 || cset < 0 || (!vlen && (size == 0 || size > (1u << 20)))) goto done;
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, cset) < 0) goto done;
    if (!vlen) size++; /* room for the terminator of C's NULLTERM strings */
    if (H5Tset_size(mt, vlen ? H5T_VARIABLE : size) < 0) goto done;
    size_t elem = vlen ? sizeof(char *) : size;
    if (!(buf = calloc((size_t)n, elem)) || !(out->v = calloc((size_t)n, sizeof(char *)))) goto done;
    if (H5Aread(a, mt, buf) < 0) goto done;
    int ok = 1;
    for (hssize_t i = 0; i < n; i++) {
        const char *s = vlen ? ((char **)buf)[i] : (const char *)buf + (size_t)i * size;
        size_t l = !s ? 0 : vlen ? strlen(s) : strnlen(s, size);
        if (!(out->v[i] = malloc(l + 1))) {
            ok = 0;
            break;
        }
        if (l) memcpy(out->v[i], s, l);
        out->v[i][l] = 0;
        out->n = (int)i + 1;
    }
    if (vlen) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    ret = ok ? 0 : -1;
done:
    if (ret < 0) kh5_strs_free(out);
    free(buf);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    return ret;
}

/* One attribute's strings: 1 found, 0 absent, -1 unreadable (reported). */
static int attr_strings(hid_t obj, const char *name, const char *what, kh5_strs_t *out)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) {
        sl_log_error("%s: cannot read attribute '%s'", what, name);
        return -1;
    }
    if (!ex) return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int r = a >= 0 ? read_strings(a, out) : -1;
    if (a >= 0) H5Aclose(a);
    if (r < 0) {
        sl_log_error("%s: attribute '%s' is not a readable string list", what, name);
        return -1;
    }
    return 1;
}

int kh5_attr_str(hid_t obj, const char *name, const char *what, char **out)
{
    kh5_strs_t s = {0};
    int r = attr_strings(obj, name, what, &s);
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

int kh5_attr_strs(hid_t obj, const char *name, const char *what, kh5_strs_t *out)
{
    out->v = NULL, out->n = 0;
    int r = attr_strings(obj, name, what, out);
    if (r != 0) return r;
    /* chunked: name0, name1, ... (Keras's save_attributes_to_hdf5_group) */
    size_t nl = strlen(name) + 16;
    char *key = sl_malloc(nl, "attribute name");
    if (!key) return -1;
    int found = 0;
    for (int k = 0;; k++) {
        snprintf(key, nl, "%s%d", name, k);
        kh5_strs_t part = {0};
        r = attr_strings(obj, key, what, &part);
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
