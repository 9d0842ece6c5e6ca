/* keras_priv.h — internals of the Keras reader: HDF5 access (h5.c) and the graph
 * conversion (convert.c). */
#ifndef SEQLIFT_KERAS_PRIV_H
#define SEQLIFT_KERAS_PRIV_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "seqlift/keras.h"

/* A list of strings (attribute values); free with kh5_strs_free. */
typedef struct {
    char **v;
    int n;
} kh5_strs_t;
void kh5_strs_free(kh5_strs_t *s);

/* An open HDF5 file and its bytes: the reader reads attributes and checks object
 * headers on the bytes itself, as libhdf5 1.10 trusts them (h5.c). */
typedef struct {
    hid_t id;
    const unsigned char *img; /* a file image: the caller's buffer (not copied), or NULL */
    FILE *fp;                 /* else the file, opened again for those reads */
    uint64_t len;             /* bytes of the image or file */
    uint64_t base, eoa;       /* HDF5 addresses are relative to base (the user block) */
    unsigned sizeof_addr, sizeof_size;
    const char *label;
} kh5_file_t;

/* Open an HDF5 file, or a file image (data != NULL; it must outlive *f) named `path`
 * in messages; HDF5's own error printing is off from then on. 0 / -1 (reported). */
int kh5_open(kh5_file_t *f, const char *path, const void *data, size_t len);
/* Close f; -1 (reported) if an HDF5 object of the file was left open: every hid_t the
 * reader opens is its own to close. */
int kh5_close(kh5_file_t *f);

/* String attribute `name` of obj, an object of file f (scalar or one-element, fixed or
 * variable length). 1 found (*out malloc'd), 0 absent, -1 error (reported with `what`). */
int kh5_attr_str(const kh5_file_t *f, hid_t obj, const char *name, const char *what, char **out);
/* String-array attribute `name` of obj, also in Keras's chunked form (name0, name1, ...
 * when the list exceeds HDF5's 64 KiB object header). An empty array of any type is an
 * empty list. 1 found, 0 absent, -1 error (reported with `what`). */
int kh5_attr_strs(const kh5_file_t *f, hid_t obj, const char *name, const char *what, kh5_strs_t *out);
/* Is there a group `name` below obj, an object of file f? 1 / 0, -1 if an object header
 * on the way is corrupt (reported). */
int kh5_has_group(const kh5_file_t *f, hid_t obj, const char *name);

/* Read the float dataset `path` (relative to grp, of file f) of exactly `rank` dims `dims` as
 * doubles (float16 / float32 / float64 on file); *out malloc'd with the product of dims
 * values. 0 / -1 (reported as "<what>: dataset '<path>': problem"). */
int kh5_read_floats(const kh5_file_t *f, hid_t grp, const char *path, int rank, const long *dims,
                    const char *what, double **out);

/* Convert the Keras model whose weights are under `wroot` (the model_weights group of
 * file wf, or the root of a save_weights file) and whose architecture is the JSON text
 * arch. `file` and `wfile` name the architecture's and the weights' file in messages.
 * 0 / -1 (reported). */
int kconv_run(const char *file, const char *wfile, const char *arch, size_t arch_len, const kh5_file_t *wf,
              hid_t wroot, const char *keras_version, const char *alphabet, sl_keras_conv_t *out);

#endif
