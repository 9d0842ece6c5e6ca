/* test_attribution.c — the DeepLIFT rules against the reference implementation's own
 * unit-test numbers (/work/shared/REFERENCE_NUMBERS.md, items 1-5), to 1e-6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr_builder.h"
#include "nn/nn_priv.h"
#include "seqlift/attribution.h"
#include "seqlift/log.h"

#define TOL 1e-6

/* Score x against one reference ref with method m and max-pool rule mp (out is
 * initialised here); sl_attr_run's return. */
static int score1(const sl_net_t *net, sl_method_t m, sl_maxpool_rule_t mp, const char *targets,
                  const float *x, const float *ref, sl_attr_out_t *out)
{
    sl_target_t *tg;
    int nt;
    assert_int_equal(sl_targets_parse(net, targets, 0, &tg, &nt), 0);
    sl_attr_opts_t o;
    sl_attr_opts_default(&o);
    o.method = m;
    o.maxpool = mp;
    o.max_refs = 1;
    sl_attr_plan_t *p = sl_attr_plan_create(net, tg, nt, &o);
    assert_non_null(p);
    sl_attr_t *w = sl_attr_create(p);
    assert_non_null(w);
    assert_int_equal(sl_attr_out_init(out, nt, net->in_len), 0);
    int ret = sl_attr_run(w, 1, x, ref, 1, out);
    sl_attr_destroy(w);
    sl_attr_plan_destroy(p);
    sl_targets_free(tg, nt);
    return ret;
}

/* Score x against one all-zero reference; with a zero reference hyp[p][b] is the
 * multiplier of (p, b). */
static void score0(const sl_net_t *net, sl_method_t m, sl_maxpool_rule_t mp, const char *targets,
                   const float *x, sl_attr_out_t *out)
{
    float *ref = calloc((size_t)net->in_len * 4, sizeof(float));
    assert_int_equal(score1(net, m, mp, targets, x, ref, out), 0);
    free(ref);
}

static void assert_vec(const float *got, const double *want, int n, int stride)
{
    for (int i = 0; i < n; i++) {
        if (fabs(got[i * stride] - want[i]) > TOL)
            fail_msg("element %d: got %.9g, want %.9g", i, got[i * stride], want[i]);
    }
}

static const float W1[4] = {1, 2, 3, 4};

static sl_net_t *dense_net(int relu)
{
    ab_t b;
    ab_init(&b, 1);
    float w[8], bias[2] = {-1, 1};
    for (int i = 0; i < 4; i++) {
        w[i] = W1[i];
        w[4 + i] = -W1[i];
    }
    ab_tensor(&b, "d.w", w, 0, 2, 2, 4, 0);
    ab_tensor(&b, "d.b", bias, 0, 1, 2, 0, 0);
    ab_layer(&b, "\"name\":\"d\",\"op\":\"linear\",\"inputs\":[\"input\"],\"in_features\":4,\"out_features\":2,"
                 "\"weight\":\"d.w\",\"bias\":\"d.b\"");
    if (relu) ab_act(&b, "r", "relu", "d");
    sl_net_t *net = ab_build(&b, 1, relu ? "{\"name\":\"y\",\"layer\":\"r\"}" : "{\"name\":\"y\",\"layer\":\"d\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

/* 1. Dense: outputs and multipliers */
static void test_ref1_dense(void **state)
{
    (void)state;
    sl_net_t *net = dense_net(0);
    sl_acts_t *a = sl_acts_create(net, 2);
    float x[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    assert_int_equal(sl_net_forward(net, a, x, 2), 0);
    const double y[4] = {9, -9, 19, -19};
    assert_vec(a->act[1], y, 4, 1);
    sl_acts_destroy(a);
    for (int k = 0; k < 2; k++) {
        sl_attr_out_t o;
        score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y:0,y:1", x + 4 * k, &o);
        double w1[4], w2[4];
        for (int i = 0; i < 4; i++) {
            w1[i] = W1[i];
            w2[i] = -W1[i];
        }
        assert_vec(o.hyp, w1, 4, 1);
        assert_vec(o.hyp + 4, w2, 4, 1);
        assert_true(o.err[0] < 1e-6 && o.err[1] < 1e-6);
        sl_attr_out_free(&o);
    }
    sl_net_destroy(net);
}

/* 2. Dense + ReLU: Rescale and gradient */
static void test_ref2_dense_relu(void **state)
{
    (void)state;
    sl_net_t *net = dense_net(1);
    float x[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    const double s0[2] = {9.0 / 10, 19.0 / 20}, s1[2] = {1.0 / 10, 1.0 / 20};
    for (int k = 0; k < 2; k++) {
        sl_attr_out_t o;
        score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y:0,y:1", x + 4 * k, &o);
        double w1[4], w2[4];
        for (int i = 0; i < 4; i++) {
            w1[i] = s0[k] * W1[i];
            w2[i] = -s1[k] * W1[i];
        }
        assert_vec(o.hyp, w1, 4, 1);
        assert_vec(o.hyp + 4, w2, 4, 1);
        sl_attr_out_free(&o);
        score0(net, SL_METHOD_GRADIENT, SL_MAXPOOL_SUMMATION, "y:0,y:1", x + 4 * k, &o);
        double z[4] = {0, 0, 0, 0};
        for (int i = 0; i < 4; i++) w1[i] = W1[i];
        assert_vec(o.hyp, w1, 4, 1);
        assert_vec(o.hyp + 4, z, 4, 1);
        sl_attr_out_free(&o);
    }
    sl_net_destroy(net);
}

/* 3. Conv1d (Linear rule), stride 1 and 2; sign-split parts with reference 1.
 * The expected conv outputs [19,17,15] and parts need arange(16)-8 read channel-major
 * per example (channel 0 = -8..-5, channel 1 = -4..-1); the multipliers do not depend
 * on the input. */
static sl_net_t *conv_net(int stride)
{
    ab_t b;
    ab_init(&b, 1);
    float w[2 * 4 * 2] = {0}; /* [out][in][k] */
    const float k0[2] = {-2, -1}, k1[2] = {0, 1};
    for (int t = 0; t < 2; t++) {
        w[(0 * 4 + 0) * 2 + t] = k0[t];
        w[(0 * 4 + 1) * 2 + t] = k1[t];
        w[(1 * 4 + 0) * 2 + t] = -k0[t];
        w[(1 * 4 + 1) * 2 + t] = -k1[t];
    }
    float bias[2] = {-1, 1};
    int lo = (4 - 2) / stride + 1;
    float dw[6] = {1, -1, 1, -1, 1, -1}, db[1] = {1};
    ab_tensor(&b, "c.w", w, 0, 3, 2, 4, 2);
    ab_tensor(&b, "c.b", bias, 0, 1, 2, 0, 0);
    ab_tensor(&b, "d.w", dw, 0, 2, 1, 2 * lo, 0);
    ab_tensor(&b, "d.b", db, 0, 1, 1, 0, 0);
    ab_layer(&b, "\"name\":\"c\",\"op\":\"conv1d\",\"inputs\":[\"input\"],\"in_channels\":4,\"out_channels\":2,"
                 "\"kernel_size\":2,\"stride\":%d,\"padding\":\"valid\",\"weight\":\"c.w\",\"bias\":\"c.b\"", stride);
    ab_layer(&b, "\"name\":\"f\",\"op\":\"flatten\",\"inputs\":[\"c\"],\"order\":\"channel_last\"");
    ab_layer(&b, "\"name\":\"d\",\"op\":\"linear\",\"inputs\":[\"f\"],\"in_features\":%d,\"out_features\":1,"
                 "\"weight\":\"d.w\",\"bias\":\"d.b\"", 2 * lo);
    sl_net_t *net = ab_build(&b, 4, "{\"name\":\"y\",\"layer\":\"d\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

static void conv_input(float *x)
{
    for (int p = 0; p < 4; p++) {
        x[4 * p + 0] = -8.0f + p;
        x[4 * p + 1] = -4.0f + p;
        x[4 * p + 2] = x[4 * p + 3] = 0;
    }
}

static void test_ref3_conv(void **state)
{
    (void)state;
    float x[16];
    conv_input(x);
    sl_net_t *net = conv_net(1);
    sl_acts_t *a = sl_acts_create(net, 1);
    assert_int_equal(sl_net_forward(net, a, x, 1), 0);
    const double c0[3] = {19, 17, 15};
    assert_vec(a->act[1], c0, 3, 2);

    sl_attr_out_t o;
    score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y", x, &o);
    const double m0[4] = {-4, -6, -6, -2}, m1[4] = {0, 2, 2, 2};
    assert_vec(o.hyp, m0, 4, 4);
    assert_vec(o.hyp + 1, m1, 4, 4);
    assert_true(o.err[0] < 1e-6);
    sl_attr_out_free(&o);

    /* parts with reference 1 */
    float dx[16], dxp[16], dxn[16], yp[6], yn[6];
    for (int i = 0; i < 16; i++) dx[i] = x[i] - 1.0f;
    const sl_layer_t *L1 = &net->layers[1];
    float wp[64], wn[64]; /* W⁺, W⁻ */
    size_t nw = (size_t)L1->in_ch * L1->out_ch * L1->kernel;
    assert_true(nw <= 64);
    for (size_t j = 0; j < nw; j++) wp[j] = L1->w[j] > 0 ? L1->w[j] : 0, wn[j] = L1->w[j] < 0 ? L1->w[j] : 0;
    sl_attr_linear_parts(L1, wp, wn, dx, dxp, dxn, 16, yp, yn, 1, a);
    const double p0[3] = {26, 23, 20}, p1[3] = {4, 3, 2}, n0[3] = {-4, -3, -2}, n1[3] = {-26, -23, -20};
    assert_vec(yp, p0, 3, 2);
    assert_vec(yp + 1, p1, 3, 2);
    assert_vec(yn, n0, 3, 2);
    assert_vec(yn + 1, n1, 3, 2);
    sl_acts_destroy(a);
    sl_net_destroy(net);

    net = conv_net(2);
    score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y", x, &o);
    const double s0[4] = {-4, -2, -4, -2}, s1[4] = {0, 2, 0, 2};
    assert_vec(o.hyp, s0, 4, 4);
    assert_vec(o.hyp + 1, s1, 4, 4);
    sl_attr_out_free(&o);
    sl_net_destroy(net);
}

/* 4. Max pool (gradient rule) and average pool, width 2 stride 1 */
static sl_net_t *pool_net(const char *op)
{
    ab_t b;
    ab_init(&b, 1);
    float dw[12], db[1] = {0};
    for (int t = 0; t < 3; t++)
        for (int c = 0; c < 4; c++) dw[t * 4 + c] = c == 0 ? 2.0f : c == 1 ? 3.0f : 0.0f;
    ab_tensor(&b, "d.w", dw, 0, 2, 1, 12, 0);
    ab_tensor(&b, "d.b", db, 0, 1, 1, 0, 0);
    ab_layer(&b, "\"name\":\"p\",\"op\":\"%s\",\"inputs\":[\"input\"],\"kernel_size\":2,\"stride\":1", op);
    ab_layer(&b, "\"name\":\"f\",\"op\":\"flatten\",\"inputs\":[\"p\"],\"order\":\"channel_last\"");
    ab_layer(&b, "\"name\":\"d\",\"op\":\"linear\",\"inputs\":[\"f\"],\"in_features\":12,\"out_features\":1,"
                 "\"weight\":\"d.w\",\"bias\":\"d.b\"");
    sl_net_t *net = ab_build(&b, 4, "{\"name\":\"y\",\"layer\":\"d\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

static void test_ref4_pool(void **state)
{
    (void)state;
    const float c0[4] = {0, 1, 4, 3}, c1[4] = {3, 2, 1, 0};
    float x[16] = {0};
    for (int p = 0; p < 4; p++) {
        x[4 * p] = c0[p];
        x[4 * p + 1] = c1[p];
    }
    sl_net_t *net = pool_net("maxpool1d");
    const double g0[4] = {0, 2, 4, 0}, g1[4] = {3, 3, 3, 0};
    sl_attr_out_t o;
    score0(net, SL_METHOD_GRADIENT, SL_MAXPOOL_GRADIENT, "y", x, &o);
    assert_vec(o.hyp, g0, 4, 4);
    assert_vec(o.hyp + 1, g1, 4, 4);
    sl_attr_out_free(&o);
    /* DeepLIFT with the gradient rule routes through the input's argmax: the same here */
    score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_GRADIENT, "y", x, &o);
    assert_vec(o.hyp, g0, 4, 4);
    assert_vec(o.hyp + 1, g1, 4, 4);
    sl_attr_out_free(&o);
    /* summation rule: Σ contributions = Δoutput exactly */
    score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y", x, &o);
    assert_true(fabs(o.sum[0] - (o.out_x[0] - o.out_ref[0])) < 1e-5);
    sl_attr_out_free(&o);
    sl_net_destroy(net);

    net = pool_net("avgpool1d");
    const double a0[4] = {1, 2, 2, 1}, a1[4] = {1.5, 3, 3, 1.5};
    score0(net, SL_METHOD_RESCALE, SL_MAXPOOL_SUMMATION, "y", x, &o);
    assert_vec(o.hyp, a0, 4, 4);
    assert_vec(o.hyp + 1, a1, 4, 4);
    sl_attr_out_free(&o);
    sl_net_destroy(net);
}

/* The cross rule (shap, tangermeme) by hand: a max pool of kernel 2, stride 1, padding
 * 1 straight on a 2-position input, so 3 overlapping windows ({0}, {0,1}, {1}); target
 * the sum of the outputs. Per channel (x; r) and the multipliers the rule gives:
 *   0: (1, 0.5; 0, 2)    windows give 1·1/1 to 0; −1/−1.5 and −1.5/−1.5 to 1 (x[ax] < r[ar])
 *   1: (−3, −1; −2, −4)  padding never wins: 1 to 0; 1/3 + 1 to 1
 *   2: (1, 1; 0, 0)      ties go to the first maximum: 2 to 0, 1 to 1
 *   3: (2, 0; 2, 1)      Δx = 0 at 0: the gradient there (two windows), −1/−1 to 1 */
static void test_maxpool_cross(void **state)
{
    (void)state;
    ab_t b;
    ab_init(&b, 1);
    ab_layer(&b, "\"name\":\"p\",\"op\":\"maxpool1d\",\"inputs\":[\"input\"],\"kernel_size\":2,\"stride\":1,"
                 "\"padding\":1");
    sl_net_t *net = ab_build(&b, 2, "{\"name\":\"y\",\"layer\":\"p\"}");
    ab_free(&b);
    assert_non_null(net);
    const float x[8] = {1, -3, 1, 2, 0.5f, -1, 1, 0}, r[8] = {0, -2, 0, 2, 2, -4, 0, 1};
    const double m[8] = {1, 1, 2, 2, 5.0 / 3, 4.0 / 3, 1, 1};
    sl_attr_opts_t o;
    sl_attr_opts_default(&o);
    assert_int_equal(o.maxpool, SL_MAXPOOL_CROSS); /* the default */
    sl_attr_out_t out;
    assert_int_equal(score1(net, SL_METHOD_RESCALE, SL_MAXPOOL_CROSS, "y", x, r, &out), 0);
    double want[8], tot = 0; /* hyp of one reference: m[b] − Σ_c r[c]·m[c] */
    for (int q = 0; q < 2; q++) {
        double s = 0;
        for (int c = 0; c < 4; c++) s += r[4 * q + c] * m[4 * q + c], tot += (x[4 * q + c] - r[4 * q + c]) * m[4 * q + c];
        for (int c = 0; c < 4; c++) want[4 * q + c] = m[4 * q + c] - s;
    }
    assert_vec(out.hyp, want, 8, 1);
    /* Σ m·Δx = Δ of the three windows' sum: (1 − 1 − 1.5) + (−1 + 1 + 3) + (1 + 1 + 1) + (0 + 0 − 1) */
    assert_true(fabs(tot - 3.5) < 1e-12);
    assert_true(fabs(out.out_x[0] - out.out_ref[0] - 3.5) < TOL);
    assert_true(fabs(out.sum[0] + out.n_part[0] - 3.5) < 1e-5);
    sl_maxpool_rule_t rule;
    assert_int_equal(sl_maxpool_parse("cross", &rule), 0);
    assert_int_equal(rule, SL_MAXPOOL_CROSS);
    sl_attr_out_free(&out);
    sl_net_destroy(net);
}

static void keep_last(sl_log_level_t level, const char *msg, void *ud)
{
    (void)level;
    snprintf((char *)ud, 256, "%s", msg);
}

/* A non-finite target value (log of 0 here) is an error naming the layer, not NaN scores
 * (the engine keeps only some activations: the row is run again to find the layer). */
static void test_nonfinite_refused(void **state)
{
    (void)state;
    ab_t b;
    ab_init(&b, 1);
    ab_act(&b, "ex", "exp", "input");
    ab_act(&b, "lg", "log", "input");
    ab_layer(&b, "\"name\":\"s\",\"op\":\"add\",\"inputs\":[\"ex\",\"lg\"]");
    ab_layer(&b, "\"name\":\"g\",\"op\":\"global_avgpool\",\"inputs\":[\"s\"]");
    sl_net_t *net = ab_build(&b, 3, "{\"name\":\"y\",\"layer\":\"g\"}");
    ab_free(&b);
    assert_non_null(net);
    const float x[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    const sl_method_t ms[3] = {SL_METHOD_RESCALE, SL_METHOD_GRADIENT, SL_METHOD_ISM};
    for (int k = 0; k < 3; k++) {
        sl_attr_out_t out;
        char msg[256] = "";
        sl_log_set_callback(keep_last, msg);
        assert_int_equal(score1(net, ms[k], SL_MAXPOOL_CROSS, "y:0", x, x, &out), -1);
        sl_log_set_callback(NULL, NULL);
        assert_non_null(strstr(msg, "layer 'lg' (log) gives a non-finite value"));
        sl_attr_out_free(&out);
    }
    sl_net_destroy(net);
}

/* 5. RevealCancel through Dense + ReLU */
static void test_ref5_revealcancel(void **state)
{
    (void)state;
    ab_t b;
    ab_init(&b, 1);
    float w[4] = {1, -2, -3, 4}, bias[1] = {1};
    ab_tensor(&b, "d.w", w, 0, 2, 1, 4, 0);
    ab_tensor(&b, "d.b", bias, 0, 1, 1, 0, 0);
    ab_layer(&b, "\"name\":\"d\",\"op\":\"linear\",\"inputs\":[\"input\"],\"in_features\":4,\"out_features\":1,"
                 "\"weight\":\"d.w\",\"bias\":\"d.b\"");
    ab_act(&b, "r", "relu", "d");
    sl_net_t *net = ab_build(&b, 1, "{\"name\":\"y\",\"layer\":\"r\"}");
    ab_free(&b);
    assert_non_null(net);
    float x[4] = {-1, -1, 1, 1};
    const double m[4] = {0.625 * 1, 0.75 * -2, 0.625 * -3, 0.75 * 4};
    sl_method_t methods[2] = {SL_METHOD_REVEALCANCEL, SL_METHOD_GENOMICS};
    for (int k = 0; k < 2; k++) {
        sl_attr_out_t o;
        score0(net, methods[k], SL_MAXPOOL_SUMMATION, "y", x, &o);
        assert_vec(o.hyp, m, 4, 1);
        assert_true(fabs(o.sum[0] - 2.0) < TOL);
        assert_true(fabs(o.out_x[0] - o.out_ref[0] - 2.0) < TOL);
        sl_attr_out_free(&o);
    }
    /* the rule alone: parts of the ReLU output */
    sl_layer_t L = {0};
    L.op = SL_OP_RELU;
    float r = 1, dp = 6, dn = -4, yp, yn, mp, mn;
    sl_attr_revealcancel(&L, &r, &dp, &dn, &yp, &yn, &mp, &mn, 1);
    assert_true(fabs(yp - 4.5) < TOL && fabs(yn + 2.5) < TOL);
    assert_true(fabs(mp - 0.75) < TOL && fabs(mn - 0.625) < TOL);
    sl_net_destroy(net);
}

/* Thresholds: Rescale's gradient fallback at the reference, RevealCancel's pseudocount */
static void test_thresholds(void **state)
{
    (void)state;
    assert_true(sl_attr_pseudocount(0.0f) == 1e-7f);
    assert_true(sl_attr_pseudocount(-1e-8f) == -1e-8f - 1e-7f);
    assert_true(sl_attr_pseudocount(4e-8f) == 4e-8f + 1e-7f);
    assert_true(sl_attr_pseudocount(6e-8f) == 6e-8f);
    assert_true(sl_attr_pseudocount(-0.5f) == -0.5f);

    sl_layer_t L = {0};
    L.op = SL_OP_RELU;
    /* |Δx| < 1e-7: the gradient at the reference's input (1 at r = 0.5, 0 at r = -0.5) */
    float xin[4] = {0.5f + 5e-8f, -0.5f, 2.0f, -1.0f}, rin[4] = {0.5f, -0.5f, -2.0f, 1.0f};
    float xo[4], ro[4], m[4];
    sl_elementwise(&L, xin, xo, 4);
    sl_elementwise(&L, rin, ro, 4);
    sl_attr_rescale(&L, xin, rin, xo, ro, m, 4);
    assert_true(m[0] == 1.0f);
    assert_true(m[1] == 0.0f);
    assert_true(fabsf(m[2] - 0.5f) < 1e-7f); /* (2 - 0) / 4 */
    assert_true(fabsf(m[3] - 0.5f) < 1e-7f); /* (0 - 1) / -2 */
    L.op = SL_OP_SIGMOID;
    float xs[1] = {0.3f}, rs[1] = {0.3f}, ys[1], yr[1];
    sl_elementwise(&L, xs, ys, 1);
    sl_elementwise(&L, rs, yr, 1);
    sl_attr_rescale(&L, xs, rs, ys, yr, m, 1);
    double sg = 1.0 / (1.0 + exp(-0.3));
    assert_true(fabs(m[0] - sg * (1 - sg)) < 1e-6);
}

/* sl_attr_rescale_acc is dst += m·mout (acc 0: 0 + m·mout, -0 to +0 as a zeroed
 * buffer gives) with sl_attr_rescale's m, bit for bit: ReLU's
 * vectorised blocks (both branches, the tail) and the generic path (sigmoid) */
static void test_rescale_acc(void **state)
{
    (void)state;
    enum { N = 37 };
    sl_layer_t L = {0};
    sl_op_t ops[2] = {SL_OP_RELU, SL_OP_SIGMOID};
    for (int o = 0; o < 2; o++) {
        L.op = ops[o];
        float xin[N], rin[N], xo[N], ro[N], mo[N], m[N], want[N], got[N];
        for (int j = 0; j < N; j++) {
            rin[j] = (float)((j * 7919) % 23 - 11) / 5.0f;
            xin[j] = j % 5 == 0 ? rin[j] + (j % 2 ? 5e-8f : 0.0f) : (float)((j * 104729) % 29 - 14) / 7.0f;
            mo[j] = (float)(j % 11 - 5) / 3.0f;
            want[j] = got[j] = (float)j / 9.0f;
        }
        sl_elementwise(&L, xin, xo, N);
        sl_elementwise(&L, rin, ro, N);
        sl_attr_rescale(&L, xin, rin, xo, ro, m, N);
        for (int j = 0; j < N; j++) want[j] += m[j] * mo[j];
        sl_attr_rescale_acc(&L, xin, rin, xo, ro, mo, got, N, 1);
        assert_memory_equal(want, got, sizeof want);
        for (int j = 0; j < N; j++) want[j] = 0.0f, got[j] = NAN; /* acc 0: as on a zeroed dst */
        for (int j = 0; j < N; j++) want[j] += m[j] * mo[j];
        sl_attr_rescale_acc(&L, xin, rin, xo, ro, mo, got, N, 0);
        assert_memory_equal(want, got, sizeof want);
    }
}

/* Max-pool backward's AVX2 path (8 channels a block) and SSE2 path (4) give the same
 * bytes for every rule and method: 13 channels (a block of 8, of 4, a scalar tail),
 * overlapping and padded windows; without AVX2 both runs take the SSE2 path. */
static void test_maxpool_simd_paths(void **state)
{
    (void)state;
    enum { LEN = 24 };
    ab_t b;
    ab_init(&b, 7);
    ab_conv(&b, "c1", "input", 4, 13, 3, 1, 1, "1", 0.7f);
    ab_act(&b, "r1", "relu", "c1");
    ab_layer(&b, "\"name\":\"p1\",\"op\":\"maxpool1d\",\"inputs\":[\"r1\"],\"kernel_size\":3,\"stride\":2,"
                 "\"padding\":1"); /* 12 */
    ab_conv(&b, "c2", "p1", 13, 9, 2, 1, 1, "0", 0.5f);
    ab_act(&b, "r2", "relu", "c2");
    ab_layer(&b, "\"name\":\"p2\",\"op\":\"maxpool1d\",\"inputs\":[\"r2\"],\"kernel_size\":2,\"stride\":1"); /* 10 */
    ab_layer(&b, "\"name\":\"f\",\"op\":\"flatten\",\"inputs\":[\"p2\"],\"order\":\"channel_last\"");
    ab_dense(&b, "d", "f", 90, 1, 0.3f);
    sl_net_t *net = ab_build(&b, LEN, "{\"name\":\"y\",\"layer\":\"d\"}");
    ab_free(&b);
    assert_non_null(net);
    float x[LEN * 4] = {0}, r[LEN * 4];
    uint64_t z = 3;
    for (int p = 0; p < LEN; p++) {
        z = z * 6364136223846793005ULL + 1442695040888963407ULL;
        x[4 * p + (z >> 33) % 4] = 1.0f;
        for (int c = 0; c < 4; c++) r[4 * p + c] = p % 5 == 0 ? x[4 * p + c] : 0.1f + 0.2f * (float)((p * 7 + c * 3) % 5);
    }
    const sl_method_t ms[] = {SL_METHOD_RESCALE, SL_METHOD_GENOMICS, SL_METHOD_GRADIENT};
    const sl_maxpool_rule_t rs[] = {SL_MAXPOOL_CROSS, SL_MAXPOOL_SUMMATION, SL_MAXPOOL_GRADIENT};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            sl_attr_out_t o[2];
            for (int path = 0; path < 2; path++) {
                sl_nn_no_avx2 = path;
                assert_int_equal(score1(net, ms[i], rs[k], "y", x, r, &o[path]), 0);
            }
            sl_nn_no_avx2 = 0;
            assert_memory_equal(o[0].hyp, o[1].hyp, sizeof(float) * LEN * 4);
            assert_memory_equal(o[0].contrib, o[1].contrib, sizeof(float) * LEN * 4);
            sl_attr_out_free(&o[0]);
            sl_attr_out_free(&o[1]);
        }
    sl_net_destroy(net);
}

static void test_targets_parse(void **state)
{
    (void)state;
    sl_net_t *net = dense_net(0);
    sl_target_t *t;
    int n;
    assert_int_equal(sl_targets_parse(net, "y:1,0,y:profile", 0, &t, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(t[0].kind, SL_TARGET_CHANNEL);
    assert_int_equal(t[0].channel, 1);
    assert_int_equal(t[1].kind, SL_TARGET_SUM);
    assert_int_equal(t[2].kind, SL_TARGET_PROFILE);
    sl_targets_free(t, n);
    assert_int_equal(sl_targets_parse(net, "nope", 0, &t, &n), -1);
    assert_int_equal(sl_targets_parse(net, "y:2", 0, &t, &n), -1);
    assert_int_equal(sl_targets_parse(net, "y:abc", 0, &t, &n), -1);
    sl_net_destroy(net);

    /* sigmoid / softmax outputs: logits unless --post-activation (softmax: always) */
    for (int sm = 0; sm < 2; sm++) {
        ab_t b;
        ab_init(&b, 2);
        ab_dense(&b, "d", "input", 4, 3, 1.0f);
        ab_act(&b, "o", sm ? "softmax" : "sigmoid", "d");
        net = ab_build(&b, 1, "{\"name\":\"p\",\"layer\":\"o\"}");
        ab_free(&b);
        assert_non_null(net);
        assert_int_equal(sl_targets_parse(net, "p:2", 0, &t, &n), 0);
        assert_int_equal(t[0].layer, 1); /* the dense logits */
        assert_int_equal(t[0].softmax, sm);
        float g[3];
        sl_target_weights(net, &t[0], NULL, g);
        for (int c = 0; c < 3; c++) assert_true(fabsf(g[c] - ((c == 2) - (sm ? 1.0f / 3 : 0.0f))) < 1e-7f);
        sl_targets_free(t, n);
        assert_int_equal(sl_targets_parse(net, "p:2", 1, &t, &n), 0);
        assert_int_equal(t[0].layer, sm ? 1 : 2);
        sl_targets_free(t, n);
        if (sm) assert_int_equal(sl_targets_parse(net, "p", 0, &t, &n), -1); /* needs a class */
        sl_net_destroy(net);
    }
}

/* The plan splits W by sign exactly where RevealCancel reaches a weighted layer: the
 * genomics default after the dense layer only, revealcancel after both, rescale nowhere;
 * W⁺ + W⁻ = W. */
static void test_plan_split(void **state)
{
    (void)state;
    ab_t b;
    ab_init(&b, 3);
    ab_conv(&b, "c1", "input", 4, 3, 3, 1, 1, "\"same\"", 0.5f);
    ab_act(&b, "r1", "relu", "c1");
    ab_layer(&b, "\"name\":\"fl\",\"op\":\"flatten\",\"inputs\":[\"r1\"],\"order\":\"channel_last\"");
    ab_dense(&b, "d1", "fl", 24, 4, 0.5f);
    ab_act(&b, "r2", "relu", "d1");
    ab_dense(&b, "d2", "r2", 4, 1, 0.5f);
    sl_net_t *net = ab_build(&b, 8, "{\"name\":\"y\",\"layer\":\"d2\"}");
    ab_free(&b);
    assert_non_null(net);
    sl_target_t *tg;
    int nt;
    assert_int_equal(sl_targets_parse(net, "y", 0, &tg, &nt), 0);
    static const sl_method_t m[3] = {SL_METHOD_GENOMICS, SL_METHOD_REVEALCANCEL, SL_METHOD_RESCALE};
    static const int want_c1[3] = {0, 1, 0}, want_d1[3] = {1, 1, 0};
    for (int k = 0; k < 3; k++) {
        sl_attr_opts_t o;
        sl_attr_opts_default(&o);
        o.method = m[k];
        sl_attr_plan_t *p = sl_attr_plan_create(net, tg, nt, &o);
        assert_non_null(p);
        const float *wp, *wn;
        assert_int_equal(sl_attr_plan_split(p, 1, &wp, &wn) == 0, want_c1[k]);
        assert_int_equal(sl_attr_plan_split(p, 4, &wp, &wn) == 0, want_d1[k]);
        assert_int_equal(sl_attr_plan_split(p, 6, &wp, &wn), -1); /* the target layer */
        if (want_d1[k]) {
            const sl_layer_t *L = &net->layers[4];
            for (int j = 0; j < L->in_ch * L->out_ch; j++) {
                assert_true(wp[j] >= 0 && wn[j] <= 0);
                assert_true(wp[j] + wn[j] == L->w[j]);
            }
        }
        sl_attr_plan_destroy(p);
    }
    sl_targets_free(tg, nt);
    sl_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_split),        cmocka_unit_test(test_ref1_dense),        cmocka_unit_test(test_ref2_dense_relu),
        cmocka_unit_test(test_ref3_conv),         cmocka_unit_test(test_ref4_pool),
        cmocka_unit_test(test_ref5_revealcancel), cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_rescale_acc),       cmocka_unit_test(test_maxpool_simd_paths),
        cmocka_unit_test(test_targets_parse),     cmocka_unit_test(test_maxpool_cross),
        cmocka_unit_test(test_nonfinite_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
