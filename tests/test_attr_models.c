/* test_attr_models.c — the attribution engine on random models covering every op:
 * summation-to-delta (checked against independent forward passes), gradients against
 * central finite differences, Rescale = grad×input where theory says so, ISM against
 * explicit forward passes, integrated gradients converging, BPNet- and Basset-like nets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attr_builder.h"
#include "seqlift/attribution.h"

/* ---- models ----------------------------------------------------------------------- */

#define ALLOPS_LEN 40
/* Every op: conv (same / dilated / explicit / valid / stride), batchnorm, all the
 * elementwise nonlinearities, max/avg/global pools, add, concat on both axes, crop,
 * dropout, flatten in both orders, dense, and RevealCancel through a batchnorm. */
static sl_net_t *allops_net(uint64_t seed)
{
    ab_t b;
    ab_init(&b, seed);
    ab_conv(&b, "c1", "input", 4, 8, 5, 1, 1, "\"same\"", 0.5f);
    ab_bn(&b, "b1", "c1", 8);
    ab_act(&b, "r1", "relu", "b1");
    ab_conv(&b, "c2", "r1", 8, 8, 3, 1, 2, "\"same\"", 0.4f);
    ab_act(&b, "e2", "elu", "c2");
    ab_layer(&b, "\"name\":\"a2\",\"op\":\"add\",\"inputs\":[\"r1\",\"e2\"]");
    ab_conv(&b, "c3", "a2", 8, 8, 3, 1, 1, "[1,1]", 0.4f);
    ab_act(&b, "g3", "gelu", "c3");
    ab_conv(&b, "c4", "a2", 8, 8, 3, 1, 1, "\"same\"", 0.4f);
    ab_act(&b, "t4", "tanh", "c4");
    ab_layer(&b, "\"name\":\"cat\",\"op\":\"concat\",\"inputs\":[\"g3\",\"t4\"],\"axis\":\"channel\"");
    ab_layer(&b, "\"name\":\"mp\",\"op\":\"maxpool1d\",\"inputs\":[\"cat\"],\"kernel_size\":2");
    ab_conv(&b, "c5", "mp", 16, 8, 3, 1, 1, "\"valid\"", 0.3f); /* 18 */
    ab_act(&b, "s5", "softplus", "c5");
    ab_layer(&b, "\"name\":\"ap\",\"op\":\"avgpool1d\",\"inputs\":[\"s5\"],\"kernel_size\":2"); /* 9 */
    ab_layer(&b, "\"name\":\"cr\",\"op\":\"crop\",\"inputs\":[\"ap\"],\"start\":1,\"stop\":8");  /* 7 */
    ab_conv(&b, "c6", "s5", 8, 8, 4, 2, 1, "\"valid\"", 0.3f);                            /* 8 */
    ab_act(&b, "x6", "exp", "c6");
    ab_layer(&b, "\"name\":\"cl\",\"op\":\"concat\",\"inputs\":[\"cr\",\"x6\"],\"axis\":\"length\""); /* 15 */
    ab_layer(&b, "\"name\":\"dr\",\"op\":\"dropout\",\"inputs\":[\"cl\"]");
    ab_layer(&b, "\"name\":\"gm\",\"op\":\"global_maxpool\",\"inputs\":[\"dr\"]");
    ab_layer(&b, "\"name\":\"ga\",\"op\":\"global_avgpool\",\"inputs\":[\"dr\"]");
    ab_layer(&b, "\"name\":\"f1\",\"op\":\"flatten\",\"inputs\":[\"dr\"],\"order\":\"channel_first\"");
    ab_layer(&b, "\"name\":\"f2\",\"op\":\"flatten\",\"inputs\":[\"gm\"],\"order\":\"channel_last\"");
    ab_dense(&b, "d1", "f1", 120, 10, 0.2f);
    ab_bn(&b, "bd", "d1", 10);
    ab_act(&b, "sg", "sigmoid", "bd");
    ab_dense(&b, "d2", "f2", 8, 10, 0.3f);
    ab_act(&b, "rd", "relu", "d2");
    ab_layer(&b, "\"name\":\"ah\",\"op\":\"add\",\"inputs\":[\"sg\",\"rd\"]");
    ab_dense(&b, "d3", "ah", 10, 3, 0.5f);
    ab_dense(&b, "d4", "ga", 8, 3, 0.5f);
    ab_layer(&b, "\"name\":\"y\",\"op\":\"add\",\"inputs\":[\"d3\",\"d4\"]");
    sl_net_t *net = ab_build(&b, ALLOPS_LEN, "{\"name\":\"y\",\"layer\":\"y\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

#define BPNET_LEN 200
static sl_net_t *bpnet_net(uint64_t seed)
{
    ab_t b;
    ab_init(&b, seed);
    ab_conv(&b, "c0", "input", 4, 16, 21, 1, 1, "\"same\"", 0.15f);
    ab_act(&b, "r0", "relu", "c0");
    const char *prev = "r0";
    char names[4][3][16];
    for (int i = 0; i < 4; i++) {
        snprintf(names[i][0], 16, "c%d", i + 1);
        snprintf(names[i][1], 16, "r%d", i + 1);
        snprintf(names[i][2], 16, "a%d", i + 1);
        ab_conv(&b, names[i][0], prev, 16, 16, 3, 1, 1 << (i + 1), "\"same\"", 0.25f);
        ab_act(&b, names[i][1], "relu", names[i][0]);
        ab_layer(&b, "\"name\":\"%s\",\"op\":\"add\",\"inputs\":[\"%s\",\"%s\"]", names[i][2], prev, names[i][1]);
        prev = names[i][2];
    }
    ab_conv(&b, "prof", prev, 16, 2, 25, 1, 1, "\"same\"", 0.1f);
    ab_layer(&b, "\"name\":\"gap\",\"op\":\"global_avgpool\",\"inputs\":[\"%s\"]", prev);
    ab_dense(&b, "count", "gap", 16, 1, 0.3f);
    sl_net_t *net = ab_build(&b, BPNET_LEN,
                             "{\"name\":\"profile\",\"layer\":\"prof\"},{\"name\":\"count\",\"layer\":\"count\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

#define BASSET_LEN 200
static sl_net_t *basset_net(uint64_t seed)
{
    ab_t b;
    ab_init(&b, seed);
    ab_conv(&b, "c1", "input", 4, 16, 11, 1, 1, "\"same\"", 0.3f);
    ab_bn(&b, "b1", "c1", 16);
    ab_act(&b, "r1", "relu", "b1");
    ab_layer(&b, "\"name\":\"p1\",\"op\":\"maxpool1d\",\"inputs\":[\"r1\"],\"kernel_size\":3"); /* 66 */
    ab_conv(&b, "c2", "p1", 16, 16, 5, 1, 1, "\"valid\"", 0.2f);                           /* 62 */
    ab_bn(&b, "b2", "c2", 16);
    ab_act(&b, "r2", "relu", "b2");
    ab_layer(&b, "\"name\":\"p2\",\"op\":\"maxpool1d\",\"inputs\":[\"r2\"],\"kernel_size\":2"); /* 31 */
    ab_layer(&b, "\"name\":\"f\",\"op\":\"flatten\",\"inputs\":[\"p2\"],\"order\":\"channel_first\"");
    ab_dense(&b, "d1", "f", 496, 32, 0.08f);
    ab_bn(&b, "b3", "d1", 32);
    ab_act(&b, "r3", "relu", "b3");
    ab_layer(&b, "\"name\":\"do\",\"op\":\"dropout\",\"inputs\":[\"r3\"]");
    ab_dense(&b, "d2", "do", 32, 8, 0.3f);
    ab_act(&b, "out", "sigmoid", "d2");
    sl_net_t *net = ab_build(&b, BASSET_LEN, "{\"name\":\"tasks\",\"layer\":\"out\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
    sl_target_t *tg;
    int nt;
    sl_attr_plan_t *p;
    sl_attr_t *w;
    sl_attr_out_t out;
} run_t;

static void run_open(run_t *r, const sl_net_t *net, const char *targets, sl_method_t m, int K, int steps)
{
    assert_int_equal(sl_targets_parse(net, targets, 0, &r->tg, &r->nt), 0);
    sl_attr_opts_t o;
    sl_attr_opts_default(&o);
    o.method = m;
    o.max_refs = K;
    o.ig_steps = steps;
    r->p = sl_attr_plan_create(net, r->tg, r->nt, &o);
    assert_non_null(r->p);
    r->w = sl_attr_create(r->p);
    assert_non_null(r->w);
    assert_int_equal(sl_attr_out_init(&r->out, r->nt, net->in_len), 0);
}

static void run_close(run_t *r)
{
    sl_attr_out_free(&r->out);
    sl_attr_destroy(r->w);
    sl_attr_plan_destroy(r->p);
    sl_targets_free(r->tg, r->nt);
}

/* Target value by an independent route: the target layer's activation from a plain
 * forward pass, read as the target asks (channel / sum / profile with given weights). */
static double fwd_target(const sl_net_t *net, const sl_target_t *t, const float *x, const float *gx)
{
    sl_acts_t *a = sl_acts_create(net, 1);
    assert_int_equal(sl_net_forward(net, a, x, 1), 0);
    const sl_layer_t *L = &net->layers[t->layer];
    const float *v = a->act[t->layer];
    double s = 0;
    size_t n = sl_layer_size(L);
    if (t->kind == SL_TARGET_PROFILE) {
        /* Σ w·(z − mean z) with w = softmax of the input's values */
        double mean = 0, mx = -INFINITY, z = 0;
        for (size_t i = 0; i < n; i++) {
            mean += v[i] / (double)n;
            mx = fmax(mx, gx[i]);
        }
        for (size_t i = 0; i < n; i++) z += exp(gx[i] - mx);
        for (size_t i = 0; i < n; i++) s += exp(gx[i] - mx) / z * (v[i] - mean);
    } else {
        for (size_t i = 0; i < n; i++)
            if (t->kind == SL_TARGET_SUM || (int)(i % (size_t)L->ch) == t->channel) s += v[i];
    }
    sl_acts_destroy(a);
    return s;
}

/* the target layer's activation on x (for profile weights) */
static float *layer_act(const sl_net_t *net, int l, const float *x)
{
    sl_acts_t *a = sl_acts_create(net, 1);
    assert_int_equal(sl_net_forward(net, a, x, 1), 0);
    size_t n = sl_layer_size(&net->layers[l]);
    float *v = malloc(n * sizeof(float));
    memcpy(v, a->act[l], n * sizeof(float));
    sl_acts_destroy(a);
    return v;
}

/* Summation-to-delta of method m against K random one-hot references, checked with
 * independent forward passes; returns the worst relative error seen. */
static double check_summation(const sl_net_t *net, const char *targets, sl_method_t m, int K, uint64_t seed,
                              double tol)
{
    ab_t rng;
    ab_init(&rng, seed);
    int L = net->in_len;
    float *x = malloc((size_t)L * 4 * sizeof(float)), *refs = malloc((size_t)K * L * 4 * sizeof(float));
    ab_onehot(&rng, L, x, 17);
    for (int k = 0; k < K; k++) ab_onehot(&rng, L, refs + (size_t)k * L * 4, k ? 17 : 0); /* ref 0: no N */
    run_t r;
    run_open(&r, net, targets, m, K, 50);
    assert_int_equal(sl_attr_run(r.w, 1, x, refs, K, &r.out), 0);
    double worst = 0;
    for (int t = 0; t < r.nt; t++) {
        float *gx = layer_act(net, r.tg[t].layer, x);
        double fx = fwd_target(net, &r.tg[t], x, gx), fr = 0, absd = 0;
        for (int k = 0; k < K; k++) {
            double v = fwd_target(net, &r.tg[t], refs + (size_t)k * L * 4, gx);
            fr += v / K;
            absd += fabs(fx - v) / K;
        }
        free(gx);
        double sum = r.out.n_part[t]; /* contrib is projected: the N positions' part apart */
        for (int i = 0; i < L * 4; i++) sum += r.out.contrib[(size_t)t * L * 4 + i];
        double d = fx - fr, e = fabs(sum - d) / fmax(fmax(fabs(d), absd), 1e-6);
        if (e > worst) worst = e;
        if (r.out.err[t] > worst) worst = r.out.err[t];
        if (e > tol || !(r.out.err[t] <= tol) || fabs(r.out.out_x[t] - fx) > 1e-4 * fmax(1, fabs(fx)))
            fail_msg("%s target %s: sum %.7g vs delta %.7g (rel %.3g), engine err %.3g, out %.7g vs %.7g",
                     sl_method_name(m), r.tg[t].label, sum, d, e, r.out.err[t], r.out.out_x[t], fx);
    }
    run_close(&r);
    free(x);
    free(refs);
    return worst;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_summation_allops(void **state)
{
    (void)state;
    const sl_method_t ms[3] = {SL_METHOD_RESCALE, SL_METHOD_REVEALCANCEL, SL_METHOD_GENOMICS};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sl_net_t *net = allops_net(seed);
        for (int k = 0; k < 3; k++) check_summation(net, "y:0,y:2,y,y:profile", ms[k], 5, seed * 10 + k, 1e-4);
        sl_net_destroy(net);
    }
}

static void test_summation_bpnet_basset(void **state)
{
    (void)state;
    const sl_method_t ms[3] = {SL_METHOD_RESCALE, SL_METHOD_REVEALCANCEL, SL_METHOD_GENOMICS};
    double wb = 0, wk = 0;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        sl_net_t *net = bpnet_net(seed);
        for (int k = 0; k < 3; k++) wb = fmax(wb, check_summation(net, "profile:profile,count", ms[k], 4, seed + 7 * k, 1e-4));
        sl_net_destroy(net);
        net = basset_net(seed);
        for (int k = 0; k < 3; k++) wk = fmax(wk, check_summation(net, "tasks:0,tasks:5", ms[k], 4, seed + 5 * k, 1e-4));
        sl_net_destroy(net);
    }
    printf("worst summation-to-delta relative error: BPNet-like %.3g, Basset-like %.3g\n", wb, wk);
}

/* Activation pattern of the piecewise-linear ops at x: a hash of the ReLU signs and
 * of every max pool's argmax; the gradient is only defined where it does not change. */
static uint64_t kink_pattern(const sl_net_t *net, const float *x)
{
    sl_acts_t *a = sl_acts_create(net, 1);
    assert_int_equal(sl_net_forward(net, a, x, 1), 0);
    uint64_t h = 1469598103934665603ull;
    for (int l = 1; l < net->n_layers; l++) {
        const sl_layer_t *L = &net->layers[l];
        const sl_layer_t *P = &net->layers[L->in[0]];
        const float *in = a->act[L->in[0]];
        if (L->op == SL_OP_RELU) {
            for (size_t i = 0; i < sl_layer_size(L); i++) h = (h ^ (uint64_t)(in[i] > 0)) * 1099511628211ull;
        } else if (sl_op_is_maxpool(L->op)) {
            int glob = L->op == SL_OP_GLOBAL_MAXPOOL;
            for (int t = 0; t < L->len; t++)
                for (int c = 0; c < L->ch; c++) {
                    int best = -1, n = glob ? P->len : L->kernel, st = glob ? 0 : t * L->stride - L->pad_left;
                    for (int j = 0; j < n; j++) {
                        int q = st + j;
                        if (q >= 0 && q < P->len && (best < 0 || in[q * P->ch + c] > in[best * P->ch + c])) best = q;
                    }
                    h = (h ^ (uint64_t)(best + 1)) * 1099511628211ull;
                }
        }
    }
    sl_acts_destroy(a);
    return h;
}

/* gradient method vs central finite differences, at random continuous points,
 * skipping elements whose perturbation crosses a ReLU or max-pool kink */
static void test_gradient_fd(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        sl_net_t *net = allops_net(seed + 20);
        ab_t rng;
        ab_init(&rng, seed);
        int L = net->in_len;
        float *x = malloc((size_t)L * 4 * sizeof(float));
        for (int i = 0; i < L * 4; i++) x[i] = 0.5f * (ab_unif(&rng) + 1.0f);
        run_t r;
        run_open(&r, net, "y:1", SL_METHOD_GRADIENT, 1, 1);
        assert_int_equal(sl_attr_run(r.w, 1, x, NULL, 0, &r.out), 0);
        float *g0 = layer_act(net, r.tg[0].layer, x);
        int checked = 0;
        const float h = 5e-3f;
        for (int i = 0; i < L * 4; i++) {
            float keep = x[i];
            x[i] = keep + h;
            double fp = fwd_target(net, &r.tg[0], x, g0);
            uint64_t kp = kink_pattern(net, x);
            x[i] = keep - h;
            double fm = fwd_target(net, &r.tg[0], x, g0);
            uint64_t km = kink_pattern(net, x);
            x[i] = keep;
            if (kp != km) continue;
            checked++;
            double fd = (fp - fm) / (2 * h), g = r.out.hyp[i];
            /* float32 forward: ~1e-4 of noise in the differences */
            if (fabs(g - fd) > 5e-4 + 1e-2 * fabs(fd)) fail_msg("element %d: gradient %.6g, finite difference %.6g", i, g, fd);
        }
        assert_true(checked > L * 4 / 2);
        free(g0);
        free(x);
        run_close(&r);
        sl_net_destroy(net);
    }
}

/* zero biases, zero reference, ReLU conv net: Rescale multipliers are the gradient */
static void test_rescale_is_grad_input(void **state)
{
    (void)state;
    ab_t b;
    ab_init(&b, 5);
    float zeros[16] = {0};
    ab_tensor(&b, "c1.w", NULL, 0.5f, 3, 8, 4, 5);
    ab_tensor(&b, "c1.b", zeros, 0, 1, 8, 0, 0);
    ab_tensor(&b, "c2.w", NULL, 0.4f, 3, 8, 8, 3);
    ab_tensor(&b, "c2.b", zeros, 0, 1, 8, 0, 0);
    ab_tensor(&b, "d.w", NULL, 0.5f, 2, 1, 8, 0);
    ab_tensor(&b, "d.b", zeros, 0, 1, 1, 0, 0);
    ab_layer(&b, "\"name\":\"c1\",\"op\":\"conv1d\",\"inputs\":[\"input\"],\"in_channels\":4,\"out_channels\":8,"
                 "\"kernel_size\":5,\"padding\":\"same\",\"weight\":\"c1.w\",\"bias\":\"c1.b\"");
    ab_act(&b, "r1", "relu", "c1");
    ab_layer(&b, "\"name\":\"c2\",\"op\":\"conv1d\",\"inputs\":[\"r1\"],\"in_channels\":8,\"out_channels\":8,"
                 "\"kernel_size\":3,\"dilation\":2,\"padding\":\"same\",\"weight\":\"c2.w\",\"bias\":\"c2.b\"");
    ab_act(&b, "r2", "relu", "c2");
    ab_layer(&b, "\"name\":\"g\",\"op\":\"global_avgpool\",\"inputs\":[\"r2\"]");
    ab_layer(&b, "\"name\":\"d\",\"op\":\"linear\",\"inputs\":[\"g\"],\"in_features\":8,\"out_features\":1,"
                 "\"weight\":\"d.w\",\"bias\":\"d.b\"");
    sl_net_t *net = ab_build(&b, 50, "{\"name\":\"y\",\"layer\":\"d\"}");
    ab_free(&b);
    assert_non_null(net);
    ab_t rng;
    ab_init(&rng, 9);
    float x[200], ref[200] = {0};
    ab_onehot(&rng, 50, x, 0);
    run_t a, g;
    run_open(&a, net, "y", SL_METHOD_RESCALE, 1, 1);
    run_open(&g, net, "y", SL_METHOD_GRAD_INPUT, 1, 1);
    assert_int_equal(sl_attr_run(a.w, 1, x, ref, 1, &a.out), 0);
    assert_int_equal(sl_attr_run(g.w, 1, x, NULL, 0, &g.out), 0);
    double mx = 0;
    for (int i = 0; i < 200; i++) mx = fmax(mx, fabs(g.out.contrib[i]));
    assert_true(mx > 1e-3);
    for (int i = 0; i < 200; i++)
        if (fabs(a.out.contrib[i] - g.out.contrib[i]) > 1e-5 * mx)
            fail_msg("element %d: rescale %.7g, grad x input %.7g", i, a.out.contrib[i], g.out.contrib[i]);
    run_close(&a);
    run_close(&g);
    sl_net_destroy(net);
}

/* ISM equals explicit forward passes (a base changed to itself changes nothing) */
static void test_ism(void **state)
{
    (void)state;
    sl_net_t *net = allops_net(7);
    int L = net->in_len;
    ab_t rng;
    ab_init(&rng, 3);
    float *x = malloc((size_t)L * 4 * sizeof(float)), *y = malloc((size_t)L * 4 * sizeof(float));
    ab_onehot(&rng, L, x, 13);
    run_t r;
    run_open(&r, net, "y:0,y:profile", SL_METHOD_ISM, 1, 1);
    assert_int_equal(sl_attr_run(r.w, 1, x, NULL, 0, &r.out), 0);
    for (int t = 0; t < r.nt; t++) {
        float *gx = layer_act(net, r.tg[t].layer, x);
        double f0 = fwd_target(net, &r.tg[t], x, gx);
        for (int p = 0; p < L; p++) {
            double d[4], mean = 0;
            for (int bb = 0; bb < 4; bb++) {
                memcpy(y, x, (size_t)L * 4 * sizeof(float));
                for (int c = 0; c < 4; c++) y[4 * p + c] = c == bb;
                d[bb] = fwd_target(net, &r.tg[t], y, gx) - f0;
                if (x[4 * p + bb] == 1.0f) assert_true(d[bb] == 0.0); /* to itself */
                mean += d[bb] / 4;
            }
            for (int bb = 0; bb < 4; bb++) {
                float got = r.out.hyp[(size_t)t * L * 4 + 4 * p + bb];
                if (fabs(got - (d[bb] - mean)) > 1e-5 * fmax(1, fabs(d[bb])))
                    fail_msg("target %d position %d base %d: ism %.7g, explicit %.7g", t, p, bb, got, d[bb] - mean);
            }
        }
        free(gx);
    }
    run_close(&r);
    free(x);
    free(y);
    sl_net_destroy(net);
}

/* Projected contributions: contrib = hyp × one-hot (0 off the observed base and at N),
 * sum = Σ contrib, and the N positions' part n_part makes up the rest of Δ (references
 * without N where the input has them); for every method with references. */
static void test_projected(void **state)
{
    (void)state;
    const sl_method_t ms[3] = {SL_METHOD_RESCALE, SL_METHOD_GENOMICS, SL_METHOD_IG};
    sl_net_t *net = allops_net(5);
    int L = net->in_len;
    for (int k = 0; k < 3; k++) {
        ab_t rng;
        ab_init(&rng, 40 + k);
        float *x = malloc((size_t)L * 4 * sizeof(float)), *refs = malloc((size_t)2 * L * 4 * sizeof(float));
        ab_onehot(&rng, L, x, 7);
        ab_onehot(&rng, L, refs, 0);
        ab_onehot(&rng, L, refs + L * 4, 0);
        run_t r;
        run_open(&r, net, "y:0,y:profile", ms[k], 2, 256);
        assert_int_equal(sl_attr_run(r.w, 1, x, refs, 2, &r.out), 0);
        for (int t = 0; t < r.nt; t++) {
            const float *c = r.out.contrib + (size_t)t * L * 4, *h = r.out.hyp + (size_t)t * L * 4;
            double s = 0;
            for (int i = 0; i < L * 4; i++) {
                assert_true(c[i] == h[i] * x[i]);
                s += c[i];
            }
            assert_true(fabs(s - r.out.sum[t]) <= 1e-5 * fmax(1, fabs(s)));
            double d = r.out.out_x[t] - r.out.out_ref[t];
            assert_true(fabs(r.out.n_part[t]) > 0); /* N columns against ACGT references */
            double e = fabs(r.out.sum[t] + r.out.n_part[t] - d) / fmax(fabs(d), 1e-3);
            if (e > (ms[k] == SL_METHOD_IG ? 5e-2 : 1e-4)) /* IG: its quadrature error */
                fail_msg("%s target %d: sum %.7g + n_part %.7g vs delta %.7g", sl_method_name(ms[k]), t,
                         r.out.sum[t], r.out.n_part[t], d);
        }
        run_close(&r);
        free(x);
        free(refs);
    }
    sl_net_destroy(net);
}

/* o[p][b] = a[L−1−p][3−b] over n blocks */
static void rc_blocks(const float *a, float *o, int L, int n)
{
    for (int k = 0; k < n; k++)
        for (int p = 0; p < L; p++)
            for (int b = 0; b < 4; b++) o[((size_t)k * L + p) * 4 + b] = a[((size_t)k * L + L - 1 - p) * 4 + 3 - b];
}

/* --rc average: equal to the mean of a forward run on x and a run on revcomp(x)
 * (references reverse-complemented) mapped back, for every method; TSV values the
 * means of the two strands; summation-to-delta on the means. */
static void test_rc_average(void **state)
{
    (void)state;
    const sl_method_t ms[4] = {SL_METHOD_RESCALE, SL_METHOD_GENOMICS, SL_METHOD_IG, SL_METHOD_ISM};
    sl_net_t *net = bpnet_net(3);
    int L = net->in_len, K = 2;
    size_t L4 = (size_t)L * 4;
    ab_t rng;
    ab_init(&rng, 77);
    float *x = malloc(L4 * sizeof(float)), *refs = malloc(K * L4 * sizeof(float));
    float *xr = malloc(L4 * sizeof(float)), *rr = malloc(K * L4 * sizeof(float)), *back = malloc(L4 * sizeof(float));
    ab_onehot(&rng, L, x, 23);
    for (int k = 0; k < K; k++) ab_onehot(&rng, L, refs + k * L4, 0);
    rc_blocks(x, xr, L, 1);
    rc_blocks(refs, rr, L, K);
    for (int m = 0; m < 4; m++) {
        run_t f, r, a;
        int uses = sl_method_uses_refs(ms[m]);
        run_open(&f, net, "count,profile:profile", ms[m], K, 8);
        run_open(&r, net, "count,profile:profile", ms[m], K, 8);
        assert_int_equal(sl_targets_parse(net, "count,profile:profile", 0, &a.tg, &a.nt), 0);
        sl_attr_opts_t o;
        sl_attr_opts_default(&o);
        o.method = ms[m], o.max_refs = K, o.ig_steps = 8, o.rc_average = 1;
        assert_non_null(a.p = sl_attr_plan_create(net, a.tg, a.nt, &o));
        assert_non_null(a.w = sl_attr_create(a.p));
        assert_int_equal(sl_attr_out_init(&a.out, a.nt, L), 0);
        assert_int_equal(sl_attr_run(f.w, 1, x, uses ? refs : NULL, K, &f.out), 0);
        assert_int_equal(sl_attr_run(r.w, 1, xr, uses ? rr : NULL, K, &r.out), 0);
        assert_int_equal(sl_attr_run(a.w, 1, x, uses ? refs : NULL, K, &a.out), 0);
        for (int t = 0; t < a.nt; t++) {
            for (int q = 0; q < 2; q++) {
                const float *fv = (q ? f.out.hyp : f.out.contrib) + t * L4, *rv = (q ? r.out.hyp : r.out.contrib) + t * L4;
                const float *av = (q ? a.out.hyp : a.out.contrib) + t * L4;
                rc_blocks(rv, back, L, 1);
                for (size_t j = 0; j < L4; j++)
                    if (fabsf(av[j] - 0.5f * (fv[j] + back[j])) > 1e-6f * fmaxf(1, fabsf(av[j])))
                        fail_msg("%s target %d %s [%zu]: %.9g vs mean %.9g", sl_method_name(ms[m]), t,
                                 q ? "hyp" : "contrib", j, av[j], 0.5f * (fv[j] + back[j]));
            }
            assert_true(fabs(a.out.out_x[t] - 0.5 * (f.out.out_x[t] + r.out.out_x[t])) < 1e-9);
            if (!uses) continue;
            assert_true(fabs(a.out.out_ref[t] - 0.5 * (f.out.out_ref[t] + r.out.out_ref[t])) < 1e-9);
            assert_true(fabs(a.out.n_part[t] - 0.5 * (f.out.n_part[t] + r.out.n_part[t])) < 1e-9);
            double d = a.out.out_x[t] - a.out.out_ref[t], e = fabs(a.out.sum[t] + a.out.n_part[t] - d);
            if (ms[m] != SL_METHOD_IG) {
                assert_true(e <= 1e-4 * fmax(fabs(d), 1e-2));
                assert_true(a.out.err[t] <= 1e-4);
            }
        }
        run_close(&f);
        run_close(&r);
        run_close(&a);
    }
    free(x), free(refs), free(xr), free(rr), free(back);
    sl_net_destroy(net);
}

/* The quadrature nodes: Gauss–Legendre against the closed forms for 1–3 nodes, and
 * exact (1e-14) on the monomials α^k, k < 2n, for n = 16 and 50; the midpoint rule. */
static void test_ig_nodes(void **state)
{
    (void)state;
    double a[50], w[50];
    assert_int_equal(sl_ig_nodes(SL_IG_GAUSS_LEGENDRE, 1, a, w), 0);
    assert_true(fabs(a[0] - 0.5) < 1e-15 && fabs(w[0] - 1) < 1e-15);
    assert_int_equal(sl_ig_nodes(SL_IG_GAUSS_LEGENDRE, 2, a, w), 0);
    assert_true(fabs(a[0] - 0.5 * (1 - 1 / sqrt(3.0))) < 1e-15 && fabs(a[1] - 0.5 * (1 + 1 / sqrt(3.0))) < 1e-15);
    assert_true(fabs(w[0] - 0.5) < 1e-15 && fabs(w[1] - 0.5) < 1e-15);
    assert_int_equal(sl_ig_nodes(SL_IG_GAUSS_LEGENDRE, 3, a, w), 0);
    assert_true(fabs(a[0] - 0.5 * (1 - sqrt(0.6))) < 1e-15 && fabs(a[1] - 0.5) < 1e-15);
    assert_true(fabs(w[0] - 5.0 / 18) < 1e-15 && fabs(w[1] - 8.0 / 18) < 1e-15 && fabs(w[2] - 5.0 / 18) < 1e-15);
    const int ns[2] = {16, 50};
    for (int i = 0; i < 2; i++) {
        int n = ns[i];
        assert_int_equal(sl_ig_nodes(SL_IG_GAUSS_LEGENDRE, n, a, w), 0);
        for (int j = 1; j < n; j++) assert_true(a[j] > a[j - 1] && a[0] > 0 && a[n - 1] < 1);
        for (int k = 0; k < 2 * n; k++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += w[j] * pow(a[j], k);
            if (fabs(s - 1.0 / (k + 1)) > 1e-14) fail_msg("%d nodes: ∫α^%d = %.17g, want %.17g", n, k, s, 1.0 / (k + 1));
        }
    }
    assert_int_equal(sl_ig_nodes(SL_IG_RIEMANN_MIDDLE, 4, a, w), 0);
    assert_true(a[0] == 0.125 && a[3] == 0.875 && w[2] == 0.25);
    sl_ig_rule_t r;
    assert_int_equal(sl_ig_rule_parse("gauss-legendre", &r), 0);
    assert_int_equal(r, SL_IG_GAUSS_LEGENDRE);
    assert_int_equal(sl_ig_rule_parse("riemann-middle", &r), 0);
    assert_int_equal(r, SL_IG_RIEMANN_MIDDLE);
    assert_int_equal(sl_ig_rule_parse("gauss", &r), -1);
    assert_int_equal(sl_ig_nodes(SL_IG_GAUSS_LEGENDRE, 0, a, w), -1);
}

/* integrated gradients: the summation-to-delta error shrinks with the steps */
static void test_ig_converges(void **state)
{
    (void)state;
    sl_net_t *net = allops_net(11);
    int L = net->in_len;
    ab_t rng;
    ab_init(&rng, 4);
    float *x = malloc((size_t)L * 4 * sizeof(float)), *refs = malloc((size_t)2 * L * 4 * sizeof(float));
    ab_onehot(&rng, L, x, 0);
    ab_onehot(&rng, L, refs, 0);
    ab_onehot(&rng, L, refs + L * 4, 0);
    const int steps[3] = {2, 16, 256};
    double err[3];
    for (int s = 0; s < 3; s++) {
        run_t r;
        run_open(&r, net, "y:0", SL_METHOD_IG, 2, steps[s]);
        assert_int_equal(sl_attr_run(r.w, 1, x, refs, 2, &r.out), 0);
        double d = r.out.out_x[0] - r.out.out_ref[0];
        err[s] = fabs(r.out.sum[0] - d) / fmax(fabs(d), 1e-6);
        run_close(&r);
    }
    printf("integrated gradients summation error: %d steps %.3g, %d steps %.3g, %d steps %.3g\n", steps[0], err[0],
           steps[1], err[1], steps[2], err[2]);
    assert_true(err[2] < err[0]);
    assert_true(err[2] < 1e-2);
    free(x);
    free(refs);
    sl_net_destroy(net);
}

/* conv, relu, flatten, then dense layers of 320 -> 32 -> 1 and 320 -> 3: OpenBLAS 0.3.21
 * computes a row of such GEMMs (N < 4, K >= 32) differently in calls of M < 4 and M >= 4 rows. */
static sl_net_t *dense_head_net(uint64_t seed)
{
    ab_t b;
    ab_init(&b, seed);
    ab_conv(&b, "c1", "input", 4, 8, 5, 1, 1, "\"same\"", 0.5f);
    ab_act(&b, "r1", "relu", "c1");
    ab_layer(&b, "\"name\":\"fl\",\"op\":\"flatten\",\"inputs\":[\"r1\"],\"order\":\"channel_last\"");
    ab_dense(&b, "d1", "fl", 320, 32, 0.1f);
    ab_act(&b, "r2", "relu", "d1");
    ab_dense(&b, "d2", "r2", 32, 1, 0.3f);
    ab_dense(&b, "d3", "fl", 320, 3, 0.1f);
    sl_net_t *net = ab_build(&b, 40, "{\"name\":\"y\",\"layer\":\"d2\"},{\"name\":\"z\",\"layer\":\"d3\"}");
    ab_free(&b);
    assert_non_null(net);
    return net;
}

/* Batch determinism: a sequence's forward activations and attributions are the same
 * bytes alone and at any place inside batches of 2, 3 and 7 (dense GEMMs have fixed
 * shapes, see dense_gemm in src/nn/kernels.c), and with its references in passes of 1,
 * 2 or all 3 rows. Models with dense layers of 1 and 3 outputs, where OpenBLAS's kernels
 * differ between call shapes. */
static void test_batch_bytes(void **state)
{
    (void)state;
    enum { B = 7, K = 3 };
    static const int sizes[3] = {2, 3, 7};
    for (int m = 0; m < 3; m++) {
        sl_net_t *net = m == 2 ? bpnet_net(3) : m ? allops_net(5) : dense_head_net(4);
        const char *spec = m == 2 ? "count,profile:profile" : m ? "y" : "y,z:1";
        int L = net->in_len;
        size_t L4 = (size_t)L * 4;
        ab_t rng;
        ab_init(&rng, 8);
        float *x = malloc(B * L4 * sizeof(float)), *refs = malloc(B * K * L4 * sizeof(float));
        for (int s = 0; s < B; s++) ab_onehot(&rng, L, x + s * L4, 0);
        for (int k = 0; k < B * K; k++) ab_onehot(&rng, L, refs + k * L4, 0);
        /* forward: every layer's activation */
        sl_acts_t *a1 = sl_acts_create(net, 1), *ab = sl_acts_create(net, B);
        assert_non_null(a1);
        assert_non_null(ab);
        for (int bi = 0; bi < 3; bi++)
            for (int g0 = 0; g0 < B; g0 += sizes[bi]) {
                int n = B - g0 < sizes[bi] ? B - g0 : sizes[bi];
                assert_int_equal(sl_net_forward(net, ab, x + g0 * L4, n), 0);
                for (int s = 0; s < n; s++) {
                    assert_int_equal(sl_net_forward(net, a1, x + (g0 + s) * L4, 1), 0);
                    for (int l = 0; l < net->n_layers; l++) {
                        size_t sz = sl_layer_size(&net->layers[l]);
                        assert_memory_equal(a1->act[l], ab->act[l] + s * sz, sz * sizeof(float));
                    }
                }
            }
        sl_acts_destroy(a1);
        sl_acts_destroy(ab);
        /* attribution: genomics (Rescale + RevealCancel through dense) */
        sl_target_t *tg;
        int nt;
        assert_int_equal(sl_targets_parse(net, spec, 0, &tg, &nt), 0);
        sl_attr_opts_t o;
        sl_attr_opts_default(&o);
        o.max_refs = K;
        o.batch = 1;
        sl_attr_plan_t *p1 = sl_attr_plan_create(net, tg, nt, &o);
        assert_non_null(p1);
        sl_attr_t *w1 = sl_attr_create(p1);
        assert_non_null(w1);
        sl_attr_out_t alone[B], ob[B];
        for (int s = 0; s < B; s++) {
            assert_int_equal(sl_attr_out_init(&alone[s], nt, L), 0);
            assert_int_equal(sl_attr_out_init(&ob[s], nt, L), 0);
            assert_int_equal(sl_attr_run(w1, 1, x + s * L4, refs + s * K * L4, K, &alone[s]), 0);
        }
        for (int bi = 0; bi < 5; bi++) {
            o.batch = bi < 3 ? sizes[bi] : 3;
            o.rows_per_pass = bi < 3 ? 0 : bi - 2; /* 1, 2 */
            sl_attr_plan_t *pb = sl_attr_plan_create(net, tg, nt, &o);
            assert_non_null(pb);
            sl_attr_t *wb = sl_attr_create(pb);
            assert_non_null(wb);
            for (int g0 = 0; g0 < B; g0 += o.batch) {
                int n = B - g0 < o.batch ? B - g0 : o.batch;
                assert_int_equal(sl_attr_run(wb, n, x + g0 * L4, refs + g0 * K * L4, K, ob + g0), 0);
            }
            for (int s = 0; s < B; s++) {
                size_t nv = (size_t)nt * L4 * sizeof(float);
                assert_memory_equal(alone[s].contrib, ob[s].contrib, nv);
                assert_memory_equal(alone[s].hyp, ob[s].hyp, nv);
                assert_memory_equal(alone[s].out_x, ob[s].out_x, (size_t)nt * 4 * sizeof(double));
            }
            sl_attr_destroy(wb);
            sl_attr_plan_destroy(pb);
        }
        for (int s = 0; s < B; s++) {
            sl_attr_out_free(&alone[s]);
            sl_attr_out_free(&ob[s]);
        }
        sl_attr_destroy(w1);
        sl_attr_plan_destroy(p1);
        sl_targets_free(tg, nt);
        free(x);
        free(refs);
        sl_net_destroy(net);
    }
}

/* An add of more producers than a small fixed array would hold: every copy of the
 * input passes the target's multiplier 1 back, so the gradient is the copy count. */
static void test_add_many_inputs(void **state)
{
    (void)state;
    enum { COPIES = 70, LEN = 3 };
    ab_t b;
    ab_init(&b, 1);
    char ins[COPIES * 10] = "";
    for (int i = 0; i < COPIES; i++) strcat(ins, i ? ",\"input\"" : "\"input\"");
    ab_layer(&b, "\"name\":\"a\",\"op\":\"add\",\"inputs\":[%s]", ins);
    sl_net_t *net = ab_build(&b, LEN, "{\"name\":\"y\",\"layer\":\"a\"}");
    assert_non_null(net);
    float x[LEN * 4] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    run_t r;
    run_open(&r, net, "y", SL_METHOD_GRADIENT, 1, 1);
    assert_int_equal(sl_attr_run(r.w, 1, x, NULL, 0, &r.out), 0);
    for (int i = 0; i < LEN * 4; i++) assert_float_equal(r.out.hyp[i], (float)COPIES, 1e-4);
    run_close(&r);
    sl_net_destroy(net);
    ab_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summation_allops),   cmocka_unit_test(test_summation_bpnet_basset),
        cmocka_unit_test(test_gradient_fd),        cmocka_unit_test(test_rescale_is_grad_input),
        cmocka_unit_test(test_ism),                cmocka_unit_test(test_ig_converges),
        cmocka_unit_test(test_projected),          cmocka_unit_test(test_rc_average),
        cmocka_unit_test(test_ig_nodes),
        cmocka_unit_test(test_batch_bytes),  cmocka_unit_test(test_add_many_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
