/* keras.h — Keras 2 models read without TensorFlow, and the one model-loading entry
 * point that knows every model form.
 *
 * A Keras model (full-model HDF5 from `model.save("x.h5")`, or architecture JSON from
 * `model.to_json()` plus a weights HDF5 from `save_weights`) is converted in memory to
 * seqlift's own format (docs/model-format.md): a model JSON text and a safetensors
 * buffer, which sl_net_load_mem() then loads and checks like any other model. Nothing
 * of Keras survives the conversion; the converted model is an ordinary sl_net_t.
 *
 * Input channels: Keras genomics models take (N, L, 4) one-hot in A C G T order,
 * seqlift's own layout. A model trained on another order names it in `alphabet`
 * (a permutation of "ACGT"); the first layers' input weights are permuted to ACGT.
 *
 * Every problem is reported as one line naming the file and the layer (with its Keras
 * class) or the HDF5 dataset; HDF5's own error printing is switched off.
 */
#ifndef SEQLIFT_KERAS_H
#define SEQLIFT_KERAS_H

#include <stddef.h>

#include "seqlift/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A converted model: native JSON (NUL-terminated) and safetensors bytes, both owned
 * by the struct; free with sl_keras_conv_free(). */
typedef struct {
    char *json;
    size_t json_len;
    unsigned char *st;
    size_t st_len;
} sl_keras_conv_t;

/* Convert a Keras model: `path` is a full-model .h5 (weights_path NULL) or an
 * architecture JSON (weights_path the save_weights .h5). alphabet: NULL for "ACGT".
 * 0 / -1 (reported). */
int sl_keras_convert(const char *path, const char *weights_path, const char *alphabet,
                     sl_keras_conv_t *out);
/* The same from memory (for fuzzing): h5 is an HDF5 file image; arch_json NULL means
 * h5 is a full-model file, else h5 holds the weights (save_weights layout).
 * `label` names the model in messages. Buffers stay the caller's. 0 / -1 (reported). */
int sl_keras_convert_mem(const void *h5, size_t h5_len, const char *arch_json, size_t arch_len,
                         const char *alphabet, const char *label, sl_keras_conv_t *out);
void sl_keras_conv_free(sl_keras_conv_t *c);

/* 1 if the file starts with the HDF5 signature (at offset 0, 512, 1024, ...), 0 if not,
 * -1 if it cannot be read (reported). */
int sl_keras_is_hdf5(const char *path);

/* Load any model: seqlift JSON (weights_path must be NULL), a Keras full-model .h5
 * (recognised by its HDF5 signature; weights_path NULL), or a Keras architecture JSON
 * with weights_path the weights .h5. alphabet as above (NULL: ACGT; for a seqlift
 * model only "ACGT" is accepted). The caller owns the net (sl_net_destroy). NULL on
 * error (reported). */
sl_net_t *sl_model_load(const char *path, const char *weights_path, const char *alphabet);

#ifdef __cplusplus
}
#endif

#endif
