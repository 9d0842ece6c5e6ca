/* test_model.c — loading and shapes, the whole-network forward of an all-ops model
 * against the naive loops (tests/support/naive_ops.c), outputs-only activations,
 * gradients chained through the backward ops against central finite differences,
 * batched prediction, and the DeepLIFT reference implementation's conv/dense numbers.
 * Each op on its own (forward, adjoint, f', DeepLIFT rules): tests/test_ops.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h" /* the liveness planner */
#include "seqlift/model.h"
#include "support/model_builder.h"
#include "support/naive_ops.h"

#define BN_EPS SL_NAIVE_BN_EPS

/* ---- the all-ops model ------------------------------------------------------------ */

static sl_mb_t *all_ops_model(void)
{
    sl_mb_t *mb = sl_mb_create(40, 7);
    sl_mb_conv1d(mb, "c1", "input", 4, 6, 5, 1, 1, "\"same\"", 1);        /* [40][6] im2col */
    sl_mb_batchnorm(mb, "bn1", "c1", 6, BN_EPS);
    sl_mb_op(mb, "e1", "elu", "bn1", "\"alpha\":0.7");
    sl_mb_conv1d(mb, "c2", "e1", 6, 20, 3, 2, 1, "[1,2]", 0);             /* [21][20] strided im2col */
    sl_mb_conv1d(mb, "c3", "c2", 20, 20, 3, 1, 2, "2", 1);                /* [21][20] per tap, dilated */
    sl_mb_layer(mb, "{\"name\":\"add1\",\"op\":\"add\",\"inputs\":[\"c2\",\"c3\"]}");
    sl_mb_conv1d(mb, "c4", "add1", 20, 8, 4, 3, 1, "\"valid\"", 1);       /* [6][8] per tap, strided */
    sl_mb_op(mb, "sp", "softplus", "c4", "\"beta\":2,\"threshold\":0.5");
    sl_mb_op(mb, "mp", "maxpool1d", "c3", "\"kernel_size\":3,\"stride\":2,\"padding\":1");   /* [11][20] */
    sl_mb_op(mb, "ap", "avgpool1d", "add1",
             "\"kernel_size\":4,\"stride\":2,\"padding\":2,\"count_include_pad\":false");   /* [11][20] */
    sl_mb_op(mb, "ap2", "avgpool1d", "add1", "\"kernel_size\":3,\"padding\":1");            /* [7][20] */
    sl_mb_layer(mb, "{\"name\":\"cat\",\"op\":\"concat\",\"axis\":\"channel\",\"inputs\":[\"mp\",\"ap\"]}");
    sl_mb_op(mb, "cr", "crop", "cat", "\"start\":2,\"stop\":-3");          /* [6][40] */
    sl_mb_op(mb, "cr2", "crop", "cat", "\"start\":-4,\"stop\":null");      /* [4][40] */
    sl_mb_layer(mb, "{\"name\":\"catl\",\"op\":\"concat\",\"axis\":\"length\",\"inputs\":[\"cr\",\"cr2\"]}");
    sl_mb_op(mb, "g1", "gelu", "catl", "");
    sl_mb_op(mb, "t1", "tanh", "g1", "");
    sl_mb_op(mb, "x1", "exp", "t1", "");
    sl_mb_op(mb, "s1", "sigmoid", "sp", "");
    sl_mb_op(mb, "gap", "global_avgpool", "x1", "");
    sl_mb_op(mb, "gmp", "global_maxpool", "s1", "");
    sl_mb_op(mb, "fl1", "flatten", "sp", "\"order\":\"channel_first\"");  /* [1][48] */
    sl_mb_op(mb, "fl2", "flatten", "x1", "\"order\":\"channel_last\"");   /* [1][400] */
    sl_mb_dense(mb, "d1", "fl1", 48, 5, 1);
    sl_mb_dense(mb, "d2", "fl2", 400, 3, 0);
    sl_mb_dense(mb, "d3", "gap", 40, 4, 1);
    sl_mb_op(mb, "dr", "dropout", "d3", "");
    sl_mb_op(mb, "id", "identity", "dr", "");
    sl_mb_op(mb, "r1", "relu", "id", "");
    sl_mb_layer(mb, "{\"name\":\"cat2\",\"op\":\"concat\",\"axis\":\"channel\",\"inputs\":[\"d1\",\"d2\",\"r1\",\"gmp\"]}");
    sl_mb_op(mb, "sm", "softmax", "cat2", "");
    sl_mb_op(mb, "prof", "softmax", "c1", "");
    sl_mb_output(mb, "probs", "sm");
    sl_mb_output(mb, "d1", "d1");
    sl_mb_output(mb, "profile", "prof");
    sl_mb_output(mb, "pooled", "ap2");
    return mb;
}

static int find_layer(const sl_net_t *net, const char *name)
{
    for (int l = 0; l < net->n_layers; l++)
        if (strcmp(net->layers[l].name, name) == 0) return l;
    fail_msg("no layer %s", name);
    return -1;
}

static void test_shapes(void **state)
{
    (void)state;
    sl_mb_t *mb = all_ops_model();
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    static const struct { const char *name; int len, ch; } want[] = {
        {"c1", 40, 6}, {"c2", 21, 20}, {"c3", 21, 20}, {"c4", 6, 8}, {"mp", 11, 20}, {"ap", 11, 20},
        {"ap2", 7, 20}, {"cat", 11, 40}, {"cr", 6, 40}, {"cr2", 4, 40}, {"catl", 10, 40}, {"gap", 1, 40},
        {"gmp", 1, 8}, {"fl1", 1, 48}, {"fl2", 1, 400}, {"cat2", 1, 20}, {"sm", 1, 20}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sl_layer_t *L = &net->layers[find_layer(net, want[i].name)];
        assert_int_equal(L->len, want[i].len);
        assert_int_equal(L->ch, want[i].ch);
    }
    const sl_layer_t *c1 = &net->layers[find_layer(net, "c1")];
    assert_int_equal(c1->pad_left, 2);
    assert_int_equal(c1->pad_right, 2);
    assert_int_equal(net->layers[find_layer(net, "cr")].crop_start, 2);
    assert_int_equal(net->layers[find_layer(net, "cr2")].crop_start, 7);
    assert_int_equal(net->n_outputs, 4);
    assert_int_equal(sl_net_find_output(net, "d1"), 1);
    assert_int_equal(sl_net_find_output(net, "2"), 2);
    assert_int_equal(sl_net_find_output(net, "nope"), -1);
    assert_int_equal(sl_net_find_output(net, "4"), -1);
    sl_net_destroy(net);
    sl_mb_destroy(mb);

    /* 'same' with an even span puts floor(total/2) on the left, as PyTorch */
    mb = sl_mb_create(10, 1);
    sl_mb_conv1d(mb, "c", "input", 4, 2, 4, 1, 1, "\"same\"", 0);
    sl_mb_conv1d(mb, "d", "c", 2, 2, 3, 1, 3, "\"same\"", 0);
    sl_mb_output(mb, "o", "d");
    net = sl_mb_load(mb);
    assert_non_null(net);
    assert_int_equal(net->layers[1].pad_left, 1);
    assert_int_equal(net->layers[1].pad_right, 2);
    assert_int_equal(net->layers[2].pad_left, 3);
    assert_int_equal(net->layers[2].pad_right, 3);
    assert_int_equal(net->layers[2].len, 10);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

static void test_forward_all_ops(void **state)
{
    (void)state;
    sl_mb_t *mb = all_ops_model();
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    const int n = 3;
    sl_acts_t *a = sl_acts_create(net, n);
    assert_non_null(a);
    float *x = sl_mb_random_onehot(mb, n, 40);
    assert_int_equal(sl_net_forward(net, a, x, n), 0);
    char msg[256];
    if (sl_naive_check_layers(mb, net, a, n, 2e-5, msg, sizeof msg) < 0) fail_msg("%s", msg);
    /* the softmax output sums to one */
    int sm = net->output_layer[0];
    double s = 0;
    for (int c = 0; c < 20; c++) s += a->act[sm][c];
    assert_true(fabs(s - 1) < 1e-5);
    /* batch independence: sequence 2 alone gives the same values */
    float *out3 = malloc(sl_layer_size(&net->layers[sm]) * sizeof(float));
    memcpy(out3, a->act[sm] + 2 * 20, 20 * sizeof(float));
    assert_int_equal(sl_net_forward(net, a, x + 2 * 40 * 4, 1), 0);
    assert_memory_equal(out3, a->act[sm], 20 * sizeof(float));
    assert_int_equal(sl_net_forward(net, a, x, n + 1), -1); /* more than planned */
    free(out3);
    free(x);
    sl_acts_destroy(a);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

/* Outputs-only activations (shared slots, crops as views into their producers) give the
 * same outputs as full ones, and activations keeping every other layer the same values
 * on those, on the all-ops model and on a residual stack, over several batch sizes. */
static void test_outputs_only_acts(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        sl_mb_t *mb = m ? sl_mb_create(60, 9) : all_ops_model();
        if (m) {
            sl_mb_conv1d(mb, "c0", "input", 4, 8, 5, 1, 1, "\"valid\"", 1);
            sl_mb_op(mb, "r0", "relu", "c0", "");
            const char *prev = "r0";
            char nm[4][16];
            int len = 56;
            for (int i = 1; i <= 3; i++) {
                snprintf(nm[0], 16, "c%d", i), snprintf(nm[1], 16, "r%d", i);
                snprintf(nm[2], 16, "k%d", i), snprintf(nm[3], 16, "a%d", i);
                sl_mb_conv1d(mb, nm[0], prev, 8, 8, 3, 1, 1 << i, "\"valid\"", 1);
                sl_mb_op(mb, nm[1], "relu", nm[0], "");
                char attr[64];
                snprintf(attr, sizeof attr, "\"start\":%d,\"stop\":%d", 1 << i, len - (1 << i));
                sl_mb_op(mb, nm[2], "crop", prev, attr);
                sl_mb_layer(mb, "{\"name\":\"%s\",\"op\":\"add\",\"inputs\":[\"%s\",\"%s\"]}", nm[3], nm[2], nm[1]);
                len -= 2 << i;
                prev = i == 1 ? "a1" : i == 2 ? "a2" : "a3";
            }
            sl_mb_conv1d(mb, "prof", prev, 8, 2, 5, 1, 1, "\"same\"", 1);
            sl_mb_op(mb, "gap", "global_avgpool", prev, "");
            sl_mb_dense(mb, "cnt", "gap", 8, 1, 1);
            sl_mb_output(mb, "profile", "prof");
            sl_mb_output(mb, "count", "cnt");
            sl_mb_output(mb, "mid", "r2");
        }
        sl_net_t *net = sl_mb_load(mb);
        assert_non_null(net);
        const int n = 5;
        char *keep = calloc((size_t)net->n_layers, 1);
        assert_non_null(keep);
        for (int l = 1; l < net->n_layers; l += 2) keep[l] = 1;
        sl_acts_t *full = sl_acts_create(net, n), *lean = sl_acts_create_outputs_only(net, n);
        sl_acts_t *some = sl_acts_create_keep(net, n, keep);
        assert_non_null(full);
        assert_non_null(lean);
        assert_non_null(some);
        int shared = 0;
        for (int l = 1; l < net->n_layers; l++)
            for (int j = 0; j < l; j++) /* the same slot, or a view into j's buffer */
                if (lean->act[l] >= lean->act[j] && lean->act[l] < lean->act[j] + sl_layer_size(&net->layers[j])) {
                    shared++;
                    break;
                }
        assert_true(shared >= (m ? 8 : 4)); /* buffers really are reused */
        float *x = sl_mb_random_onehot(mb, n, net->in_len);
        for (int k = 1; k <= n; k += 2) {
            assert_int_equal(sl_net_forward(net, full, x, k), 0);
            assert_int_equal(sl_net_forward(net, lean, x, k), 0);
            assert_int_equal(sl_net_forward(net, some, x, k), 0);
            for (int o = 0; o < net->n_outputs; o++) {
                int l = net->output_layer[o];
                assert_memory_equal(full->act[l], lean->act[l], (size_t)k * sl_layer_size(&net->layers[l]) * 4);
            }
            for (int l = 1; l < net->n_layers; l += 2)
                assert_memory_equal(full->act[l], some->act[l], (size_t)k * sl_layer_size(&net->layers[l]) * 4);
        }
        free(x);
        free(keep);
        sl_acts_destroy(full);
        sl_acts_destroy(lean);
        sl_acts_destroy(some);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
    }
}

/* The liveness planner: buffers whose lives overlap never share a slot, every slot
 * holds its largest buffer, unplanned buffers get none, and disjoint lives do share. */
static void test_plan_slots(void **state)
{
    (void)state;
    enum { N = 40 };
    int first[N], last[N], slot[N];
    size_t size[N], slot_size[N];
    sl_mb_t *mb = sl_mb_create(1, 5);
    for (int i = 0; i < N; i++) {
        first[i] = i % 7 == 6 ? -1 : (int)((sl_mb_rand(mb) + 1) * 10); /* [0, 20) */
        last[i] = first[i] + (int)((sl_mb_rand(mb) + 1) * 3);
        size[i] = 1 + (size_t)((sl_mb_rand(mb) + 1) * 50);
    }
    int n = sl_nn_plan_slots(N, first, last, size, slot, slot_size);
    assert_true(n > 0 && n < N);
    for (int i = 0; i < N; i++) {
        if (first[i] < 0) {
            assert_int_equal(slot[i], -1);
            continue;
        }
        assert_true(slot[i] >= 0 && slot[i] < n);
        assert_true(slot_size[slot[i]] >= size[i]);
        for (int j = 0; j < i; j++)
            if (first[j] >= 0 && slot[j] == slot[i]) assert_true(last[j] < first[i] || last[i] < first[j]);
    }
    sl_mb_destroy(mb);
}

/* F16 and BF16 weights load to the same floats (the builder's values are exact). */
static void test_half_dtypes(void **state)
{
    (void)state;
    static const char *dt[2] = {"F16", "BF16"};
    for (int d = 0; d < 2; d++) {
        sl_mb_t *mb = all_ops_model();
        sl_net_t *ref = sl_mb_load(mb);
        sl_mb_set_dtype(mb, dt[d]);
        sl_net_t *net = sl_mb_load(mb);
        assert_non_null(ref);
        assert_non_null(net);
        for (int l = 0; l < net->n_layers; l++) {
            const sl_layer_t *A = &ref->layers[l], *B = &net->layers[l];
            if (A->op == SL_OP_CONV1D || A->op == SL_OP_DENSE) {
                size_t nw = (size_t)A->in_ch * A->out_ch * (A->op == SL_OP_CONV1D ? A->kernel : 1);
                assert_memory_equal(A->w, B->w, nw * sizeof(float));
                if (A->b) assert_memory_equal(A->b, B->b, (size_t)A->out_ch * sizeof(float));
            }
            if (A->op == SL_OP_BATCHNORM) assert_memory_equal(A->bn_scale, B->bn_scale, (size_t)A->ch * 4);
        }
        sl_net_destroy(ref);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
    }
}

/* ---- backward -------------------------------------------------------------------- */

/* Gradient of a scalar (sum of outputs times fixed weights) w.r.t. the input by
 * chaining the engine's backward ops, against central differences of the forward. */
static void test_gradient_fd(void **state)
{
    (void)state;
    sl_mb_t *mb = sl_mb_create(24, 3);
    sl_mb_conv1d(mb, "c1", "input", 4, 6, 5, 1, 1, "\"same\"", 1);
    sl_mb_op(mb, "a1", "softplus", "c1", "");
    sl_mb_conv1d(mb, "c2", "a1", 6, 18, 3, 1, 2, "\"valid\"", 1);
    sl_mb_batchnorm(mb, "bn", "c2", 18, BN_EPS);
    sl_mb_op(mb, "a2", "elu", "bn", "");
    sl_mb_conv1d(mb, "c3", "a2", 18, 18, 3, 2, 1, "1", 1);
    sl_mb_op(mb, "cr", "crop", "a2", "\"start\":1,\"stop\":null");
    sl_mb_op(mb, "ap", "avgpool1d", "cr", "\"kernel_size\":2,\"padding\":1");
    sl_mb_layer(mb, "{\"name\":\"s\",\"op\":\"add\",\"inputs\":[\"ap\",\"c3\"]}");
    sl_mb_op(mb, "g", "gelu", "s", "");
    sl_mb_op(mb, "fl", "flatten", "g", "\"order\":\"channel_first\"");
    sl_mb_dense(mb, "d1", "fl", 180, 7, 1);
    sl_mb_op(mb, "t", "tanh", "d1", "");
    sl_mb_dense(mb, "d2", "t", 7, 2, 1);
    sl_mb_op(mb, "gp", "global_avgpool", "c3", "");
    sl_mb_output(mb, "o", "d2");
    sl_mb_output(mb, "p", "gp");
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    assert_int_equal(net->layers[find_layer(net, "c3")].len, 10);
    sl_acts_t *a = sl_acts_create(net, 1);
    float *x = sl_naive_rand(mb, 24 * 4);
    int nl = net->n_layers, lo = net->output_layer[0], lp = net->output_layer[1];
    float **d = calloc((size_t)nl, sizeof *d);
    for (int l = 0; l < nl; l++) d[l] = calloc(sl_layer_size(&net->layers[l]), sizeof(float));
    d[lo][0] = 1.0f, d[lo][1] = -0.5f;
    for (int c = 0; c < 18; c++) d[lp][c] = 0.1f * (c % 3);
    assert_int_equal(sl_net_forward(net, a, x, 1), 0);
    for (int l = nl - 1; l >= 1; l--) {
        const sl_layer_t *L = &net->layers[l];
        if (sl_op_is_linear(L->op)) {
            float *dx[8];
            for (int i = 0; i < L->n_in; i++) dx[i] = d[L->in[i]];
            sl_layer_backward_linear(net, l, d[l], dx, 1, a);
        } else {
            size_t sz = sl_layer_size(L);
            float *g = malloc(sz * sizeof(float));
            sl_elementwise_grad(L, a->act[L->in[0]], g, sz);
            for (size_t j = 0; j < sz; j++) d[L->in[0]][j] += g[j] * d[l][j];
            free(g);
        }
    }
    double gmax = 0;
    for (int j = 0; j < 96; j++) gmax = fmax(gmax, fabs(d[0][j]));
    assert_true(gmax > 1e-3);
    for (int j = 0; j < 96; j++) {
        double f[2];
        float keep = x[j];
        for (int s = 0; s < 2; s++) {
            x[j] = keep + (s ? -1e-2f : 1e-2f);
            sl_net_forward(net, a, x, 1);
            f[s] = a->act[lo][0] - 0.5 * a->act[lo][1];
            for (int c = 0; c < 18; c++) f[s] += 0.1 * (c % 3) * a->act[lp][c];
        }
        x[j] = keep;
        double fd = (f[0] - f[1]) / (2 * 1e-2);
        if (fabs(fd - d[0][j]) > 2e-3 * fmax(gmax, 1e-2)) fail_msg("input %d: gradient %.6g, FD %.6g", j, d[0][j], fd);
    }
    for (int l = 0; l < nl; l++) free(d[l]);
    free(d);
    free(x);
    sl_acts_destroy(a);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

/* ---- sl_net_predict ----------------------------------------------------------- */

typedef struct {
    const float *x;
    int in_size, fail_at;
    size_t nv;
    int64_t next;
    float *got;
} pred_t;

static int pred_fill(void *ud, int worker, int64_t i, float *x)
{
    pred_t *p = ud;
    (void)worker;
    if (i == p->fail_at) return -1;
    memcpy(x, p->x + (size_t)i * p->in_size, (size_t)p->in_size * sizeof(float));
    return 0;
}

static int pred_emit(void *ud, int64_t i, const float *v)
{
    pred_t *p = ud;
    if (i != p->next++) return -1; /* in input order */
    memcpy(p->got + (size_t)i * p->nv, v, p->nv * sizeof(float));
    return 0;
}

/* Threaded, batched predictions equal one forward pass of everything, row by row, in
 * order; a failing fill stops the run. Column labels follow the [len][ch] rule. */
static void test_predict(void **state)
{
    (void)state;
    sl_mb_t *mb = all_ops_model();
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    const int n = 11;
    size_t nv = sl_net_n_values(net);
    assert_int_equal(nv, 20 + 5 + 40 * 6 + 7 * 20);
    char lab[64];
    sl_net_value_label(net, 0, lab, sizeof lab);
    assert_string_equal(lab, "probs_0");
    sl_net_value_label(net, 20 + 5 + 7, lab, sizeof lab);
    assert_string_equal(lab, "profile_7"); /* position 1, channel 1 of [40][6] */
    float *x = sl_mb_random_onehot(mb, n, 40);
    sl_acts_t *a = sl_acts_create(net, n);
    assert_int_equal(sl_net_forward(net, a, x, n), 0);
    for (int t = 1; t <= 3; t++) {
        pred_t p = {x, 40 * 4, -1, nv, 0, calloc((size_t)n * nv, sizeof(float))};
        assert_int_equal(sl_net_predict(net, n, t, 2, pred_fill, pred_emit, &p), 0);
        assert_int_equal(p.next, n);
        for (int i = 0; i < n; i++) {
            const float *v = p.got + (size_t)i * nv;
            for (int o = 0; o < net->n_outputs; o++) {
                const sl_layer_t *L = &net->layers[net->output_layer[o]];
                size_t s = sl_layer_size(L);
                for (size_t j = 0; j < s; j++)
                    assert_true(fabsf(v[j] - a->act[net->output_layer[o]][(size_t)i * s + j]) <= 1e-6f);
                v += s;
            }
        }
        p.fail_at = 7, p.next = 0;
        assert_int_equal(sl_net_predict(net, n, t, 2, pred_fill, pred_emit, &p), -1);
        assert_true(p.next <= 7);
        free(p.got);
    }
    sl_net_blas_threads(1);
    free(x);
    sl_acts_destroy(a);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

/* ---- numbers from the DeepLIFT reference implementation (REFERENCE_NUMBERS.md) ---- */

static void test_reference_conv(void **state)
{
    (void)state;
    for (int stride = 1; stride <= 2; stride++) {
        sl_mb_t *mb = sl_mb_create(4, 1);
        /* kernel [out][in][k]: out 0 = [-2,-1] on in 0, [0,1] on in 1; out 1 = negation */
        float w[8] = {-2, -1, 0, 1, 2, 1, 0, -1}, b[2] = {-1, 1}, dw[6] = {1, -1, 1, -1, 1, -1}, db[1] = {1};
        int64_t ws[3] = {2, 2, 2}, bs[1] = {2}, dws[2] = {1, 6}, dbs[1] = {1};
        sl_mb_tensor(mb, "conv.weight", 3, ws, w);
        sl_mb_tensor(mb, "conv.bias", 1, bs, b);
        sl_mb_tensor(mb, "fc.weight", 2, dws, stride == 1 ? dw : dw); /* resized below */
        sl_mb_tensor(mb, "fc.bias", 1, dbs, db);
        /* The test input has 2 channels, the seqlift input 4: channels 2, 3 carry zero weights. */
        float w4[16] = {0};
        int64_t w4s[3] = {2, 4, 2};
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) w4[(o * 4 + i) * 2 + j] = w[(o * 2 + i) * 2 + j];
        sl_mb_tensor(mb, "conv4.weight", 3, w4s, w4);
        sl_mb_layer(mb, "{\"name\":\"conv\",\"op\":\"conv1d\",\"inputs\":[\"input\"],\"in_channels\":4,"
                        "\"out_channels\":2,\"kernel_size\":2,\"stride\":%d,\"weight\":\"conv4.weight\","
                        "\"bias\":\"conv.bias\"}", stride);
        int lo = stride == 1 ? 3 : 2;
        int64_t fs[2] = {1, 2 * lo};
        sl_mb_tensor(mb, "fc2.weight", 2, fs, dw);
        sl_mb_op(mb, "fl", "flatten", "conv", "\"order\":\"channel_last\"");
        sl_mb_layer(mb, "{\"name\":\"fc\",\"op\":\"dense\",\"inputs\":[\"fl\"],\"in_features\":%d,"
                        "\"out_features\":1,\"weight\":\"fc2.weight\",\"bias\":\"fc.bias\"}", 2 * lo);
        sl_mb_output(mb, "out", "fc");
        sl_net_t *net = sl_mb_load(mb);
        assert_non_null(net);
        sl_acts_t *a = sl_acts_create(net, 2);
        /* arange(16) - 8 as (batch 2, channels 2, length 4): the numbers [19, 17, 15] come
         * from this channel-first reading (REFERENCE_NUMBERS.md calls it position-major,
         * which would give [16, 12, 8]) */
        float x[2 * 4 * 4] = {0};
        for (int e = 0; e < 2; e++)
            for (int p = 0; p < 4; p++)
                for (int c = 0; c < 2; c++) x[(e * 4 + p) * 4 + c] = (float)(e * 8 + c * 4 + p) - 8;
        assert_int_equal(sl_net_forward(net, a, x, 2), 0);
        if (stride == 1) {
            assert_float_equal(a->act[1][0], 19, 1e-6);
            assert_float_equal(a->act[1][2], 17, 1e-6);
            assert_float_equal(a->act[1][4], 15, 1e-6);
        }
        /* multipliers of the output: backward through dense, flatten, conv */
        float dy[1] = {1}, dfl[6] = {0}, dconv[6] = {0}, dxs[2][16];
        for (int s = 0; s < 2; s++) {
            float *pdfl = dfl, *pdconv = dconv, *pdx = dxs[s];
            memset(dfl, 0, sizeof dfl), memset(dconv, 0, sizeof dconv), memset(pdx, 0, sizeof dxs[s]);
            sl_layer_backward_linear(net, 3, dy, &pdfl, 1, a);
            sl_layer_backward_linear(net, 2, dfl, &pdconv, 1, a);
            sl_layer_backward_linear(net, 1, dconv, &pdx, 1, s ? NULL : a); /* im2col and per-tap */
        }
        static const float want1[2][4] = {{-4, -6, -6, -2}, {0, 2, 2, 2}};
        static const float want2[2][4] = {{-4, -2, -4, -2}, {0, 2, 0, 2}};
        for (int s = 0; s < 2; s++)
            for (int p = 0; p < 4; p++)
                for (int c = 0; c < 2; c++)
                    assert_float_equal(dxs[s][p * 4 + c], stride == 1 ? want1[c][p] : want2[c][p], 1e-6);
        sl_acts_destroy(a);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
    }
}

static void test_reference_dense(void **state)
{
    (void)state;
    sl_mb_t *mb = sl_mb_create(1, 1);
    float w[8] = {1, 2, 3, 4, -1, -2, -3, -4}, b[2] = {-1, 1};
    int64_t ws[2] = {2, 4}, bs[1] = {2};
    sl_mb_tensor(mb, "fc.weight", 2, ws, w);
    sl_mb_tensor(mb, "fc.bias", 1, bs, b);
    sl_mb_layer(mb, "{\"name\":\"fc\",\"op\":\"linear\",\"inputs\":[\"input\"],\"in_features\":4,"
                    "\"out_features\":2,\"weight\":\"fc.weight\",\"bias\":\"fc.bias\"}");
    sl_mb_output(mb, "out", "fc");
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    sl_acts_t *a = sl_acts_create(net, 2);
    float x[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    assert_int_equal(sl_net_forward(net, a, x, 2), 0);
    assert_float_equal(a->act[1][0], 9, 0);
    assert_float_equal(a->act[1][1], -9, 0);
    assert_float_equal(a->act[1][2], 19, 0);
    assert_float_equal(a->act[1][3], -19, 0);
    sl_acts_destroy(a);
    sl_net_destroy(net);
    sl_mb_destroy(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_forward_all_ops),
        cmocka_unit_test(test_outputs_only_acts),
        cmocka_unit_test(test_plan_slots),
        cmocka_unit_test(test_half_dtypes),
        cmocka_unit_test(test_gradient_fd),
        cmocka_unit_test(test_predict),
        cmocka_unit_test(test_reference_conv),
        cmocka_unit_test(test_reference_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
