/* test_ops.c — every op of the op table (src/nn/ops.c), one by one, in the manner of
 * ggml's test-backend-ops: for each op a tiny net around it, and
 *   - the table entry is complete (name, functions its flags need, a naive reference,
 *     a case here, a line in docs/model-format.md): adding an op to sl_op_t without
 *     all of these fails;
 *   - forward against the naive double loops of tests/support/naive_ops.c;
 *   - linear ops: the adjoint identity <J x, y> = <x, J^T y> of the linear backward
 *     (with and without scratch), and for weighted ops of the explicit-weight GEMMs;
 *   - elementwise ops: f against the naive f, f' against double central finite
 *     differences of the naive f, and the secant Rescale uses against the naive
 *     double ratio (f(x) − f(r))/(x − r) from Δx = 2e-7 to 3;
 *   - each DeepLIFT rule that claims it (Rescale, RevealCancel, genomics; the
 *     summation and cross max-pool rules): summation-to-delta on the tiny net, and refusal for
 *     ops that cannot be attributed through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h"
#include "seqlift/attribution.h"
#include "support/model_builder.h"
#include "support/naive_ops.h"

#define LEN 16

/* The tiny net around op: c0, c1 = conv1d(input) [16][6] feed the op (a flatten first
 * for dense); output "y" is the op's layer, "after" a 1x1 conv on it. Returns 0 when
 * the op has no case (a new op needs one here). */
static int build_case(sl_mb_t *mb, sl_op_t op)
{
    sl_mb_conv1d(mb, "c0", "input", 4, 6, 3, 1, 1, "\"same\"", 1);
    sl_mb_conv1d(mb, "c1", "input", 4, 6, 5, 1, 1, "\"same\"", 1);
    const char *nm = sl_op_name(op);
    switch (op) {
    case SL_OP_INPUT: return 0; /* not a layer op */
    case SL_OP_CONV1D: sl_mb_conv1d(mb, "op", "c0", 6, 5, 3, 2, 2, "[1,2]", 1); break;
    case SL_OP_DENSE:
        sl_mb_op(mb, "fl", "flatten", "c0", "\"order\":\"channel_last\"");
        sl_mb_dense(mb, "op", "fl", LEN * 6, 3, 1);
        break;
    case SL_OP_BATCHNORM: sl_mb_batchnorm(mb, "op", "c0", 6, SL_NAIVE_BN_EPS); break;
    case SL_OP_AVGPOOL:
        sl_mb_op(mb, "op", nm, "c0", "\"kernel_size\":3,\"stride\":2,\"padding\":1,\"count_include_pad\":false");
        break;
    case SL_OP_MAXPOOL: sl_mb_op(mb, "op", nm, "c0", "\"kernel_size\":3,\"stride\":2,\"padding\":1"); break;
    case SL_OP_FLATTEN: sl_mb_op(mb, "op", nm, "c0", "\"order\":\"channel_first\""); break;
    case SL_OP_ADD: sl_mb_layer(mb, "{\"name\":\"op\",\"op\":\"add\",\"inputs\":[\"c0\",\"c1\"]}"); break;
    case SL_OP_CONCAT:
        sl_mb_layer(mb, "{\"name\":\"op\",\"op\":\"concat\",\"axis\":\"length\",\"inputs\":[\"c0\",\"c1\"]}");
        break;
    case SL_OP_CROP: sl_mb_op(mb, "op", nm, "c0", "\"start\":2,\"stop\":-3"); break;
    case SL_OP_SOFTPLUS: sl_mb_op(mb, "op", nm, "c0", "\"beta\":1.5,\"threshold\":1"); break;
    case SL_OP_ELU: sl_mb_op(mb, "op", nm, "c0", "\"alpha\":0.7"); break;
    case SL_OP_LOG: /* x > 0: ChromBPNet's counts log(exp(a) + exp(b)) */
        sl_mb_op(mb, "e0", "exp", "c0", "");
        sl_mb_op(mb, "e1", "exp", "c1", "");
        sl_mb_layer(mb, "{\"name\":\"s\",\"op\":\"add\",\"inputs\":[\"e0\",\"e1\"]}");
        sl_mb_op(mb, "op", nm, "s", "");
        break;
    case SL_OP_GLOBAL_AVGPOOL:
    case SL_OP_GLOBAL_MAXPOOL:
    case SL_OP_DROPOUT:
    case SL_OP_RELU:
    case SL_OP_SIGMOID:
    case SL_OP_TANH:
    case SL_OP_EXP:
    case SL_OP_GELU:
    case SL_OP_SOFTMAX: sl_mb_op(mb, "op", nm, "c0", ""); break;
    case SL_OP_COUNT: return 0;
    }
    sl_mb_output(mb, "y", "op");
    return 1;
}

/* The case net of op, with output "after" when `after` (a conv of kernel 1 on the op
 * when it keeps a length, else a dense). */
static sl_net_t *case_net(sl_op_t op, int after, sl_mb_t **mbp)
{
    sl_mb_t *mb = sl_mb_create(LEN, 100 + (uint64_t)op);
    *mbp = mb;
    if (!build_case(mb, op)) return NULL;
    if (after) {
        sl_net_t *probe = sl_mb_load(mb); /* the op's shape decides the layer after it */
        assert_non_null(probe);
        const sl_layer_t *L = &probe->layers[probe->n_layers - 1];
        if (L->len > 1) sl_mb_conv1d(mb, "after", "op", L->ch, 2, 1, 1, 1, "\"valid\"", 1);
        else sl_mb_dense(mb, "after", "op", L->ch, 2, 1);
        sl_mb_output(mb, "after", "after");
        sl_net_destroy(probe);
    }
    sl_net_t *net = sl_mb_load(mb);
    assert_non_null(net);
    return net;
}

static int op_layer(const sl_net_t *net)
{
    for (int l = 0; l < net->n_layers; l++)
        if (strcmp(net->layers[l].name, "op") == 0) return l;
    fail_msg("no op layer");
    return -1;
}

/* ---- the table ------------------------------------------------------------------------ */

static void test_table_complete(void **state)
{
    (void)state;
    for (int k = 0; k < SL_OP_COUNT; k++) {
        const sl_op_info_t *o = &sl_ops[k];
        char why[96] = "";
        if (!o->name) fail_msg("op %d: no entry in sl_ops (src/nn/ops.c)", k);
        if (sl_op_check((sl_op_t)k, why, sizeof why) < 0) fail_msg("op %s: %s", o->name, why);
        if (k != SL_OP_INPUT && !sl_naive_ops[k].forward)
            fail_msg("op %s: no naive reference in tests/support/naive_ops.c", o->name);
        if ((o->flags & SL_OPF_ELEMENTWISE) && !sl_naive_ops[k].f) fail_msg("op %s: no naive f", o->name);
        if (k != SL_OP_INPUT) {
            sl_mb_t *mb = sl_mb_create(LEN, 1);
            if (!build_case(mb, (sl_op_t)k)) fail_msg("op %s: no case in tests/test_ops.c", o->name);
            sl_mb_destroy(mb);
            if (!o->parse) fail_msg("op %s: no parse function", o->name);
        }
        /* names and aliases are unique */
        for (int j = 0; j < k; j++) {
            const char *a[3] = {o->name, o->alias[0], o->alias[0] ? o->alias[1] : NULL};
            const char *b[3] = {sl_ops[j].name, sl_ops[j].alias[0], sl_ops[j].alias[0] ? sl_ops[j].alias[1] : NULL};
            for (int x = 0; x < 3; x++)
                for (int y = 0; y < 3; y++)
                    if (a[x] && b[y] && strcmp(a[x], b[y]) == 0) fail_msg("op name '%s' used twice", a[x]);
        }
        assert_int_equal(sl_op_is_linear((sl_op_t)k), !!(o->flags & SL_OPF_LINEAR));
        assert_int_equal(sl_op_is_elementwise((sl_op_t)k), !!(o->flags & SL_OPF_ELEMENTWISE));
        assert_int_equal(sl_op_is_maxpool((sl_op_t)k), o->rule == SL_RULE_MAXPOOL);
        assert_string_equal(sl_op_name((sl_op_t)k), o->name);
    }
    assert_string_equal(sl_op_name(SL_OP_COUNT), "?");
    /* an op without f is never a silent identity: NaN (and an error line) */
    sl_layer_t L;
    memset(&L, 0, sizeof L);
    L.name = "conv";
    L.op = SL_OP_CONV1D;
    float x[2] = {1, 2}, y[2] = {0, 0};
    sl_elementwise(&L, x, y, 2);
    assert_true(isnan(y[0]) && isnan(y[1]));
    sl_elementwise_grad(&L, x, y, 2);
    assert_true(isnan(y[0]) && isnan(y[1]));
}

/* docs/model-format.md documents every op name and alias of the table. */
static void test_table_documented(void **state)
{
    (void)state;
    FILE *fp = fopen("docs/model-format.md", "rb");
    assert_non_null(fp);
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, fp);
    fclose(fp);
    doc[n] = 0;
    for (int k = 0; k < SL_OP_COUNT; k++) {
        if (!sl_ops[k].parse) continue; /* the input is not a layer op */
        const char *names[3] = {sl_ops[k].name, sl_ops[k].alias[0], sl_ops[k].alias[0] ? sl_ops[k].alias[1] : NULL};
        for (int i = 0; i < 3 && names[i]; i++) {
            char want[64];
            snprintf(want, sizeof want, "`%s`", names[i]);
            if (!strstr(doc, want)) fail_msg("docs/model-format.md does not document op '%s'", names[i]);
        }
    }
}

/* ---- forward ---------------------------------------------------------------------------- */

static void test_forward_naive(void **state)
{
    (void)state;
    enum { N = 3 };
    for (int k = 1; k < SL_OP_COUNT; k++) {
        sl_mb_t *mb;
        sl_net_t *net = case_net((sl_op_t)k, 0, &mb);
        sl_acts_t *a = sl_acts_create(net, N);
        float *x = sl_mb_random_onehot(mb, N, LEN);
        assert_int_equal(sl_net_forward(net, a, x, N), 0);
        char msg[256]; /* the op and the convs feeding it */
        if (sl_naive_check_layers(mb, net, a, N, 2e-5, msg, sizeof msg) < 0)
            fail_msg("op %s: %s", sl_op_name((sl_op_t)k), msg);
        free(x);
        sl_acts_destroy(a);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
    }
}

/* ---- adjoint of the linear backward --------------------------------------------------- */

/* <J x, y> = <x, J^T y> with J x = f(x) − f(0) (biased ops are affine); the backward
 * accumulates (a second call doubles). Weighted ops also for a random weight array
 * through apply_w / backward_w (what RevealCancel's W⁺/W⁻ passes use). */
static void test_adjoint(void **state)
{
    (void)state;
    enum { N = 2 };
    int tested = 0;
    for (int k = 1; k < SL_OP_COUNT; k++) {
        if (!(sl_ops[k].flags & SL_OPF_LINEAR)) continue;
        sl_mb_t *mb;
        sl_net_t *net = case_net((sl_op_t)k, 0, &mb);
        int l = op_layer(net);
        const sl_layer_t *L = &net->layers[l];
        sl_acts_t *a = sl_acts_create(net, N);
        size_t osz = (size_t)N * sl_layer_size(L), isz[4];
        float *x[4], *z[4], *dx[4], *dxn[4];
        for (int i = 0; i < L->n_in; i++) {
            isz[i] = (size_t)N * sl_layer_size(&net->layers[L->in[i]]);
            x[i] = sl_naive_rand(mb, isz[i]);
            z[i] = calloc(isz[i], sizeof(float));
            dx[i] = calloc(isz[i], sizeof(float));
            dxn[i] = calloc(isz[i], sizeof(float));
        }
        float *y = sl_naive_rand(mb, osz), *fx = malloc(osz * 4), *f0 = malloc(osz * 4);
        sl_layer_forward(net, l, (const float *const *)x, fx, N, a);
        sl_layer_forward(net, l, (const float *const *)z, f0, N, a);
        for (size_t j = 0; j < osz; j++) fx[j] -= f0[j];
        sl_layer_backward_linear(net, l, y, dx, N, a);
        sl_layer_backward_linear(net, l, y, dxn, N, NULL);
        double lhs = sl_naive_dot(fx, y, osz), rhs = 0, rhsn = 0, rhs2 = 0;
        for (int i = 0; i < L->n_in; i++) rhs += sl_naive_dot(x[i], dx[i], isz[i]), rhsn += sl_naive_dot(x[i], dxn[i], isz[i]);
        if (fabs(lhs - rhs) > 1e-4 * fmax(1, fabs(lhs)) || fabs(lhs - rhsn) > 1e-4 * fmax(1, fabs(lhs)))
            fail_msg("op %s: <Jx,y> = %.9g but <x,J^T y> = %.9g / %.9g", sl_op_name((sl_op_t)k), lhs, rhs, rhsn);
        sl_layer_backward_linear(net, l, y, dx, N, a);
        for (int i = 0; i < L->n_in; i++) rhs2 += sl_naive_dot(x[i], dx[i], isz[i]);
        assert_true(fabs(rhs2 - 2 * rhs) <= 1e-4 * fmax(1, fabs(rhs)));
        if (sl_ops[k].flags & SL_OPF_WEIGHTS) {
            size_t nw = (size_t)L->in_ch * L->out_ch * L->kernel;
            float *w = sl_naive_rand(mb, nw), *wy = malloc(osz * 4), *wd = calloc(isz[0], 4);
            sl_linear_apply(L, w, x[0], wy, N, 0, a);
            sl_linear_backward(L, w, y, wd, N, a);
            double l2 = sl_naive_dot(wy, y, osz), r2 = sl_naive_dot(x[0], wd, isz[0]);
            if (fabs(l2 - r2) > 1e-4 * fmax(1, fabs(l2)))
                fail_msg("op %s: explicit weights <Wx,y> = %.9g, <x,W^T y> = %.9g", sl_op_name((sl_op_t)k), l2, r2);
            /* W x = the op's own linear part with w = L->w */
            sl_linear_apply(L, L->w, x[0], wy, N, 0, NULL);
            for (size_t j = 0; j < osz; j++) assert_true(fabsf(wy[j] - fx[j]) <= 1e-5f * fmaxf(1, fabsf(fx[j])));
            free(w), free(wy), free(wd);
        }
        for (int i = 0; i < L->n_in; i++) free(x[i]), free(z[i]), free(dx[i]), free(dxn[i]);
        free(y), free(fx), free(f0);
        sl_acts_destroy(a);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
        tested++;
    }
    assert_true(tested >= 10);
}

/* ---- f and f' ----------------------------------------------------------------------------- */

/* Over [-6, 6] (off the kinks at 0 and softplus's threshold): f against the naive f,
 * f' against central differences of the naive f in double (h = 1e-5). */
static void test_derivative_fd(void **state)
{
    (void)state;
    enum { NX = 241 };
    float x[NX], y[NX], g[NX];
    for (int i = 0; i < NX; i++) x[i] = -6.0f + 0.05f * i + 0.0123f;
    float xpos[NX]; /* for ops defined on x > 0 only */
    for (int i = 0; i < NX; i++) xpos[i] = 0.05f + 0.025f * i;
    int tested = 0;
    for (int k = 1; k < SL_OP_COUNT; k++) {
        if (!(sl_ops[k].flags & SL_OPF_ELEMENTWISE)) continue;
        sl_mb_t *mb;
        sl_net_t *net = case_net((sl_op_t)k, 0, &mb);
        const sl_layer_t *L = &net->layers[op_layer(net)];
        sl_naive_f *f = sl_naive_ops[k].f;
        const float *xs = sl_naive_ops[k].positive ? xpos : x;
        sl_ops[k].f(L, xs, y, NX);
        sl_ops[k].df(L, xs, g, NX);
        for (int i = 0; i < NX; i++) {
            double h = 1e-5, xi = xs[i];
            if (L->op == SL_OP_SOFTPLUS && fabs(L->alpha * xi - L->threshold) < 2 * h * L->alpha) continue;
            double fd = (f(L, xi + h) - f(L, xi - h)) / (2 * h), fv = f(L, xi);
            if (fabs(y[i] - fv) > 2e-6 * fmax(1, fabs(fv)) || fabs(g[i] - fd) > 1e-5 * fmax(1, fabs(fd)))
                fail_msg("op %s at x=%g: f %.9g vs %.9g, f' %.9g vs FD %.9g", L->name, xi, y[i], fv, g[i], fd);
        }
        sl_net_destroy(net);
        sl_mb_destroy(mb);
        tested++;
    }
    assert_true(tested >= 7);
}

/* The secant (f(x) − f(r))/(x − r) of ops that have one against the naive double ratio:
 * its rounding, ~1e-16·(|f(x)| + |f(r)|)/|Δx|, is the tolerance (with 1e-7 relative);
 * the float32 ratio of outputs would be off by ~6e-8/|Δx|, 0.3 at Δx = 2e-7. */
static void test_secant_naive(void **state)
{
    (void)state;
    static const double ds[] = {2e-7, -2e-7, 3e-6, -1e-5, 1e-3, -1e-3, 0.1, -0.3, 1.5, -3};
    int tested = 0;
    for (int k = 1; k < SL_OP_COUNT; k++) {
        if (!sl_ops[k].secant) continue;
        sl_mb_t *mb;
        sl_net_t *net = case_net((sl_op_t)k, 0, &mb);
        const sl_layer_t *L = &net->layers[op_layer(net)];
        sl_naive_f *f = sl_naive_ops[k].f;
        for (int i = 0; i < 121; i++) {
            float r = sl_naive_ops[k].positive ? 0.05f + 0.05f * i : -6.0f + 0.1f * i + 0.0123f;
            for (size_t q = 0; q < sizeof ds / sizeof ds[0]; q++) {
                float x = (float)(r + ds[q]);
                double d = (double)x - r;
                if (d == 0 || (sl_naive_ops[k].positive && x <= 0)) continue;
                double want = (f(L, x) - f(L, r)) / d, got = sl_ops[k].secant(L, x, r);
                double tol = 1e-7 * fabs(want) + 1e-15 * (fabs(f(L, x)) + fabs(f(L, r))) / fabs(d);
                if (!(fabs(got - want) <= tol))
                    fail_msg("op %s: secant at x=%.9g r=%.9g: %.12g vs naive %.12g", sl_op_name((sl_op_t)k), x, r,
                             got, want);
            }
        }
        sl_net_destroy(net);
        sl_mb_destroy(mb);
        tested++;
    }
    assert_true(tested >= 7);
}

/* ---- DeepLIFT rules ------------------------------------------------------------------------ */

/* Summation-to-delta of the rules that claim it, on the case net of every op (target:
 * the sum of a 2-channel layer after the op), against K random references; ops that
 * cannot be attributed through are refused. */
static void test_rules_sum_to_delta(void **state)
{
    (void)state;
    enum { K = 3 };
    static const sl_method_t methods[] = {SL_METHOD_RESCALE, SL_METHOD_REVEALCANCEL, SL_METHOD_GENOMICS};
    /* the max-pool rules that keep summation-to-delta (not the gradient rule) */
    static const sl_maxpool_rule_t pool_rules[] = {SL_MAXPOOL_SUMMATION, SL_MAXPOOL_CROSS};
    double worst = 0;
    for (int k = 1; k < SL_OP_COUNT; k++) {
        sl_mb_t *mb;
        sl_net_t *net = case_net((sl_op_t)k, 1, &mb);
        sl_target_t *tg;
        int nt;
        assert_int_equal(sl_targets_parse(net, "after", 0, &tg, &nt), 0);
        float *x = sl_mb_random_onehot(mb, 1, LEN), *refs = sl_mb_random_onehot(mb, K, LEN);
        int n_pool = sl_ops[k].rule == SL_RULE_MAXPOOL ? (int)(sizeof pool_rules / sizeof pool_rules[0]) : 1;
        for (int r = 0; r < n_pool * (int)(sizeof methods / sizeof methods[0]); r++) {
            int m = r / n_pool;
            sl_attr_opts_t o;
            sl_attr_opts_default(&o);
            o.method = methods[m];
            o.maxpool = pool_rules[r % n_pool];
            o.max_refs = K;
            sl_attr_plan_t *p = sl_attr_plan_create(net, tg, nt, &o);
            if (sl_ops[k].rule == SL_RULE_NONE) { /* refused, with a message */
                assert_null(p);
                continue;
            }
            assert_non_null(p);
            sl_attr_t *w = sl_attr_create(p);
            assert_non_null(w);
            sl_attr_out_t out;
            assert_int_equal(sl_attr_out_init(&out, nt, LEN), 0);
            assert_int_equal(sl_attr_run(w, 1, x, refs, K, &out), 0);
            if (!(out.err[0] < 1e-4))
                fail_msg("op %s, method %s, max-pool rule %d: summation-to-delta error %.3g (sum %.9g, delta %.9g)",
                         sl_op_name((sl_op_t)k), sl_method_name(methods[m]), (int)o.maxpool, out.err[0], out.sum[0],
                         out.out_x[0] - out.out_ref[0]);
            worst = fmax(worst, out.err[0]);
            sl_attr_out_free(&out);
            sl_attr_destroy(w);
            sl_attr_plan_destroy(p);
        }
        free(x);
        free(refs);
        sl_targets_free(tg, nt);
        sl_net_destroy(net);
        sl_mb_destroy(mb);
    }
    printf("worst summation-to-delta relative error over the ops' nets: %.3g\n", worst);
}

/* The AVX2 and SSE2 paths of the elementwise kernels that have both give the same
 * bytes (on a CPU without AVX2 both runs take the SSE2 path): the residual add with
 * ReLU, ReLU, adds, batchnorm's scale, the sign split, and Rescale's ReLU m with
 * ±0, |Δx| just below, at and above the threshold, negatives, inf and NaN, n not a
 * multiple of 8 or 4 so every tail runs. Where both operands of a product are NaN, x86
 * keeps the first one's sign and payload, and which one is first is the compiler's
 * choice (the SSE and AVX encodings differ): so no NaN multiplier meets a NaN m. */
static void test_simd_paths(void **state)
{
    (void)state;
    enum { N = 1003 };
    static const float edge[] = {0.0f, -0.0f, 1e-7f, -1e-7f, 0.99e-7f, 1.01e-7f, -2.5f, 3.0f, INFINITY, -INFINITY, NAN};
    enum { E = sizeof edge / sizeof edge[0] };
    static float xin[N], rin[N], mo[N], d0[N], got[2][2][N];
    sl_layer_t L = {0};
    L.op = SL_OP_RELU;
    uint64_t s = 42;
    for (int j = 0; j < N; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)(s >> 40) / (float)(1 << 24) - 0.5f;
        rin[j] = j % 3 ? u * 4.0f : edge[j % E];
        xin[j] = j % 4 == 0 ? rin[j] + edge[(j / 4) % E] : j % 7 == 0 ? rin[j] : u * -3.0f + 0.1f;
        mo[j] = j % 13 == 0 ? edge[(j / 13) % (E - 1)] : u * 2.0f; /* no NaN: see below */
        d0[j] = j % 5 == 0 ? -0.0f : u;
    }
    for (int path = 0; path < 2; path++) {
        sl_nn_no_avx2 = path;
        for (int acc = 0; acc < 2; acc++) {
            memcpy(got[path][acc], d0, sizeof d0);
            sl_attr_rescale_acc(&L, xin, rin, NULL, NULL, mo, got[path][acc], N, acc);
        }
    }
    sl_nn_no_avx2 = 0;
    assert_memory_equal(got[0][0], got[1][0], sizeof got[0][0]);
    assert_memory_equal(got[0][1], got[1][1], sizeof got[0][1]);
    /* the residual add with ReLU on none, either or both inputs (-0, NaN, inf among them) */
    for (unsigned relu = 0; relu < 4; relu++) {
        for (int path = 0; path < 2; path++) {
            sl_nn_no_avx2 = path;
            sl_nn_add_relu(rin, xin, relu, got[path][0], N);
        }
        sl_nn_no_avx2 = 0;
        assert_memory_equal(got[0][0], got[1][0], sizeof got[0][0]);
    }
    /* ReLU, y (+)= x, and a batchnorm's scale forward and backward (17 channels: blocks
     * of 16 and a tail), over the same values */
    sl_layer_t B = {0};
    B.op = SL_OP_BATCHNORM, B.ch = 17, B.len = N / 17, B.bn_scale = mo, B.bn_shift = d0;
    assert_int_equal(B.ch * B.len, N);
    for (int what = 0; what < 6; what++) {
        for (int path = 0; path < 2; path++) {
            sl_nn_no_avx2 = path;
            float *g = got[path][0];
            const float *in[1] = {xin};
            float *dx[1] = {g};
            memcpy(g, d0, sizeof d0);
            if (what == 0) sl_k_relu(&L, xin, g, N);
            else if (what <= 2) sl_nn_add_to(g, rin, N, what == 2);
            else if (what == 3) sl_k_batchnorm(NULL, &B, in, g, 1, NULL);
            else if (what == 4) sl_k_batchnorm_bw(NULL, &B, rin, dx, 1, NULL);
            else sl_nn_split_sign(xin, g, got[path][1], N);
        }
        sl_nn_no_avx2 = 0;
        if (memcmp(got[0][0], got[1][0], sizeof got[0][0])) fprintf(stderr, "SIMD paths differ: kernel %d\n", what);
        assert_memory_equal(got[0][0], got[1][0], sizeof got[0][0]);
        if (what == 5) assert_memory_equal(got[0][1], got[1][1], sizeof got[0][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_complete), cmocka_unit_test(test_table_documented),
        cmocka_unit_test(test_forward_naive),
        cmocka_unit_test(test_adjoint),        cmocka_unit_test(test_derivative_fd),
        cmocka_unit_test(test_secant_naive),
        cmocka_unit_test(test_rules_sum_to_delta),
        cmocka_unit_test(test_simd_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
