/* nn_priv.h — internals shared by the nn module's files (not a public header). */
#ifndef SEQLIFT_NN_PRIV_H
#define SEQLIFT_NN_PRIV_H

#include "seqlift/model.h"

/* Conv layers with at most this many input channels run as one im2col GEMM per
 * sequence (the per-tap GEMMs would have a tiny K); others as one GEMM per tap. */
#define SL_NN_IM2COL_MAX_CH 16

/* Rows of every dense GEMM call (see dense_gemm in forward.c): fixed, so that a
 * sequence's numbers do not depend on the batch. */
#define SL_NN_GEMM_ROWS 16

/* Scratch owned by an sl_acts_t. */
typedef struct {
    float *col;        /* im2col buffer: max over im2col convs of out_len * kernel * in_ch */
    size_t col_size;
    float *pad;        /* dense GEMM padding: max over dense layers of sl_nn_pad_size */
    size_t pad_size;
    const float **ins; /* producer pointers for the layer being run */
    size_t *stride;    /* [n_layers] floats between sequences in act[l] (the layer's size,
                        * or a shared slot's size in outputs-only activations) */
    float **blocks;    /* allocations behind act[] */
    int n_blocks;
} sl_acts_priv_t;

/* Floats of im2col scratch layer L needs (0 when it does not use im2col). */
size_t sl_nn_col_size(const sl_layer_t *L);
/* Floats of padding scratch layer L's GEMMs need (0 unless dense). */
size_t sl_nn_pad_size(const sl_layer_t *L);

#endif
