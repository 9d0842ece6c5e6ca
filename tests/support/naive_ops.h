/* naive_ops.h — every op of the model format written again as plain loops in double,
 * from the builder's PyTorch-layout tensors (not the loader's repacked weights): the
 * independent reference of tests/test_ops.c and tests/test_model.c. One entry per
 * sl_op_t, like the engine's own table (src/nn/ops.c). */
#ifndef SEQLIFT_TEST_NAIVE_OPS_H
#define SEQLIFT_TEST_NAIVE_OPS_H

#include "seqlift/model.h"
#include "support/model_builder.h"

/* Batchnorm layers of models checked against the naive loops use this eps (the loader
 * folds it into a scale, so the naive loop cannot read it back). */
#define SL_NAIVE_BN_EPS 1e-3

/* out = layer L of one sequence from its producers' activations in[i] (engine layout). */
typedef void sl_naive_forward_f(sl_mb_t *mb, const sl_net_t *net, const sl_layer_t *L, const float *const *in,
                                double *out);
/* Elementwise ops: f(x) with L's attributes. */
typedef double sl_naive_f(const sl_layer_t *L, double x);

typedef struct {
    sl_naive_forward_f *forward; /* NULL only for the input */
    sl_naive_f *f;               /* elementwise ops */
    int positive;                /* f is defined for x > 0 only (test f' there) */
} sl_naive_op_t;

extern const sl_naive_op_t sl_naive_ops[SL_OP_COUNT];

/* Every layer l >= 1 of the n sequences in a (a forward pass of net) against
 * sl_naive_layer on its producers' activations, within tol relative (absolute below 1).
 * 0, or -1 with the first difference described in msg. */
int sl_naive_check_layers(sl_mb_t *mb, const sl_net_t *net, const sl_acts_t *a, int n, double tol, char *msg,
                          size_t size);

/* n floats uniform from the builder's stream (malloc'ed), and <a, b> in double. */
float *sl_naive_rand(sl_mb_t *mb, size_t n);
double sl_naive_dot(const float *a, const float *b, size_t n);

/* Layer l of one sequence through sl_naive_ops; 0, or -1 when the op has no entry. */
int sl_naive_layer(sl_mb_t *mb, const sl_net_t *net, int l, const float *const *in, double *out);

#endif
