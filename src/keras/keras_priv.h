/* keras_priv.h — internals of the Keras reader: HDF5 access (h5.c) and the graph
 * conversion (convert.c). */
#ifndef SEQLIFT_KERAS_PRIV_H
#define SEQLIFT_KERAS_PRIV_H

#include <hdf5.h>
#include <stddef.h>

#include "seqlift/keras.h"

/* A list of strings (attribute values); free with kh5_strs_free. */
typedef struct {
    char **v;
    int n;
} kh5_strs_t;
void kh5_strs_free(kh5_strs_t *s);

/* Switch off HDF5's own error printing (once per process). */
void kh5_quiet(void);
/* Open an HDF5 file, or a file image (data != NULL, copied) under `label`. -1 on error
 * (reported). */
hid_t kh5_open(const char *path, const void *data, size_t len);

/* String attribute `name` of obj (scalar or one-element, fixed or variable length).
 * 1 found (*out malloc'd), 0 absent, -1 error (reported with `what`). */
int kh5_attr_str(hid_t obj, const char *name, const char *what, char **out);
/* String-array attribute `name` of obj, also in Keras's chunked form (name0, name1, ...
 * when the list exceeds HDF5's 64 KiB object header). An empty array of any type is an
 * empty list. 1 found, 0 absent, -1 error (reported with `what`). */
int kh5_attr_strs(hid_t obj, const char *name, const char *what, kh5_strs_t *out);
/* Is there a group `name` below obj? */
int kh5_has_group(hid_t obj, const char *name);

/* Read the float dataset `path` (relative to grp) of exactly `rank` dims `dims` as
 * doubles (float16 / float32 / float64 on file); *out malloc'd with the product of dims
 * values. 0 / -1 (reported as "<what>: dataset '<path>': problem"). */
int kh5_read_floats(hid_t grp, const char *path, int rank, const long *dims, const char *what,
                    double **out);

/* Convert the Keras model whose weights are under `wroot` (the file's model_weights
 * group, or the root of a save_weights file) and whose architecture is the JSON text
 * arch. `file` and `wfile` name the architecture's and the weights' file in messages.
 * 0 / -1 (reported). */
int kconv_run(const char *file, const char *wfile, const char *arch, size_t arch_len, hid_t wroot,
              const char *keras_version, const char *alphabet, sl_keras_conv_t *out);

#endif
