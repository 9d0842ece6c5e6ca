/* rules.c — the DeepLIFT rules for elementwise nonlinearities, method names. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn_priv.h" /* the op table */
#include "seqlift/attribution.h"

static const char *const method_names[] = {
    "genomics", "rescale", "revealcancel", "gradient", "grad-input", "integrated-gradients", "ism"};

int sl_method_parse(const char *s, sl_method_t *m)
{
    for (int i = 0; i < (int)(sizeof(method_names) / sizeof(method_names[0])); i++)
        if (strcmp(s, method_names[i]) == 0) {
            *m = (sl_method_t)i;
            return 0;
        }
    if (strcmp(s, "ig") == 0) {
        *m = SL_METHOD_IG;
        return 0;
    }
    return -1;
}

const char *sl_method_name(sl_method_t m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

int sl_method_uses_refs(sl_method_t m)
{
    return m == SL_METHOD_GENOMICS || m == SL_METHOD_RESCALE || m == SL_METHOD_REVEALCANCEL ||
           m == SL_METHOD_IG;
}

int sl_method_sums_to_delta(sl_method_t m) { return sl_method_uses_refs(m); }

int sl_maxpool_parse(const char *s, sl_maxpool_rule_t *r)
{
    if (strcmp(s, "summation") == 0) *r = SL_MAXPOOL_SUMMATION;
    else if (strcmp(s, "gradient") == 0) *r = SL_MAXPOOL_GRADIENT;
    else if (strcmp(s, "cross") == 0) *r = SL_MAXPOOL_CROSS;
    else return -1;
    return 0;
}

int sl_ig_rule_parse(const char *s, sl_ig_rule_t *r)
{
    if (strcmp(s, "riemann-middle") == 0) *r = SL_IG_RIEMANN_MIDDLE;
    else if (strcmp(s, "gauss-legendre") == 0) *r = SL_IG_GAUSS_LEGENDRE;
    else return -1;
    return 0;
}

int sl_ig_nodes(sl_ig_rule_t rule, int steps, double *alpha, double *weight)
{
    if (steps < 1) return -1;
    switch (rule) {
    case SL_IG_RIEMANN_MIDDLE:
        for (int j = 0; j < steps; j++) alpha[j] = (j + 0.5) / steps, weight[j] = 1.0 / steps;
        return 0;
    case SL_IG_GAUSS_LEGENDRE:
        /* root i of P_n from Tricomi's starting guess by Newton's method (P_n and P_n'
         * by the three-term recurrence); weight 2 / ((1 − x²) P_n'(x)²); mapped from
         * [−1, 1] to [0, 1] as captum does (approximation_methods.py) */
        for (int i = 0; i < steps; i++) {
            double x = cos(M_PI * (i + 0.75) / (steps + 0.5)), dp = 1;
            for (int it = 0; it < 100; it++) {
                double p0 = 1, p1 = x;
                for (int k = 2; k <= steps; k++) {
                    double p2 = ((2.0 * k - 1) * x * p1 - (k - 1.0) * p0) / k;
                    p0 = p1, p1 = p2;
                }
                dp = steps * (x * p1 - p0) / (x * x - 1);
                double dx = p1 / dp;
                x -= dx;
                if (fabs(dx) < 1e-16) break;
            }
            alpha[steps - 1 - i] = 0.5 * (1 + x); /* ascending, as numpy's leggauss */
            weight[steps - 1 - i] = 1.0 / ((1 - x * x) * dp * dp);
        }
        return 0;
    }
    return -1;
}

float sl_attr_pseudocount(float v)
{
    if (fabsf(v) < 0.5f * SL_ATTR_NEAR_ZERO) return v >= 0.0f ? v + SL_ATTR_NEAR_ZERO : v - SL_ATTR_NEAR_ZERO;
    return v;
}

/* Chunk size for rules that evaluate f at extra points (stack buffers, no malloc). */
#define RULE_CHUNK 256

void sl_attr_rescale(const sl_layer_t *L, const float *xin, const float *rin, const float *xout,
                     const float *rout, float *m, size_t n)
{
    float g[RULE_CHUNK];
    sl_op_secant_f *sec = sl_ops[L->op].secant;
    for (size_t i0 = 0; i0 < n; i0 += RULE_CHUNK) {
        size_t c = n - i0 < RULE_CHUNK ? n - i0 : RULE_CHUNK;
        int need_grad = 0;
        for (size_t j = 0; j < c; j++) {
            float x = xin[i0 + j], r = rin[i0 + j], dx = x - r;
            if (fabsf(dx) < SL_ATTR_NEAR_ZERO) need_grad = 1; /* the reference implementation: f'(r) */
            else m[i0 + j] = sec ? (float)sec(L, x, r) : (xout[i0 + j] - rout[i0 + j]) / dx;
        }
        if (!need_grad) continue;
        sl_elementwise_grad(L, rin + i0, g, c);
        for (size_t j = 0; j < c; j++)
            if (fabsf(xin[i0 + j] - rin[i0 + j]) < SL_ATTR_NEAR_ZERO) m[i0 + j] = g[j];
    }
}

/* ReLU's m: (Δy)/(Δx), or f'(r) = (r > 0) where |Δx| < SL_ATTR_NEAR_ZERO; both sides
 * computed and one selected by mask, 8 (AVX2) or 4 (SSE2) lanes at a time with
 * GCC/Clang vector extensions (GCC -O2 leaves the scalar loop unvectorised; the unused
 * quotient may be inf/NaN and is never kept). Lane operations are IEEE single
 * precision, the same float operations as sl_attr_rescale. The outputs are relu(x)
 * recomputed with the forward pass's bit operation (sl_nn_relu1: sign-bit-set values
 * become +0), so they are the bytes the forward pass wrote. VF/VI: the lane types;
 * runs from i while whole vectors fit. */
#define RELU_RESCALE_LANES(VF, VI)                                                                  \
    for (; i + sizeof(VF) / 4 <= n; i += sizeof(VF) / 4) {                                          \
        VF x, r, mo, d = {0}, zero = {0}, one = zero + 1.0f;                                        \
        memcpy(&x, xin + i, sizeof x), memcpy(&r, rin + i, sizeof r), memcpy(&mo, mout + i, sizeof mo); \
        VI xb = (VI)x, rb = (VI)r;                                                                  \
        VF xo = (VF)(xb & ~(xb >> 31)), ro = (VF)(rb & ~(rb >> 31));                                \
        if (acc) memcpy(&d, dst + i, sizeof d);                                                     \
        VF dx = x - r, q = (xo - ro) / dx;                                                          \
        VI small = (VF)((VI)dx & 0x7fffffff) < SL_ATTR_NEAR_ZERO, g = (VI)one & (r > zero);         \
        VF m = (VF)((small & g) | (~small & (VI)q));                                                \
        d = d + m * mo;                                                                             \
        memcpy(dst + i, &d, sizeof d);                                                              \
    }

SL_NN_AVX2 static size_t relu_rescale8(const float *xin, const float *rin, const float *mout, float *dst, size_t n,
                                       int acc)
{
    size_t i = 0;
    RELU_RESCALE_LANES(sl_v8f, sl_v8i)
    return i;
}

static void relu_rescale_acc(const float *xin, const float *rin, const float *mout, float *dst, size_t n, int acc)
{
    size_t i = sl_nn_avx2() ? relu_rescale8(xin, rin, mout, dst, n, acc) : 0;
    RELU_RESCALE_LANES(sl_v4f, sl_v4i)
    for (; i < n; i++) {
        float dx = xin[i] - rin[i];
        float m = fabsf(dx) < SL_ATTR_NEAR_ZERO ? (float)(rin[i] > 0) : (sl_nn_relu1(xin[i]) - sl_nn_relu1(rin[i])) / dx;
        dst[i] = (acc ? dst[i] : 0.0f) + m * mout[i];
    }
}

int sl_attr_rescale_reads_out(const sl_layer_t *L) { return !(L->op == SL_OP_RELU && !sl_ops[L->op].secant); }

void sl_attr_rescale_acc(const sl_layer_t *L, const float *xin, const float *rin, const float *xout,
                         const float *rout, const float *mout, float *dst, size_t n, int acc)
{
    if (!sl_attr_rescale_reads_out(L)) {
        relu_rescale_acc(xin, rin, mout, dst, n, acc);
        return;
    }
    float m[RULE_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += RULE_CHUNK) {
        size_t c = n - i0 < RULE_CHUNK ? n - i0 : RULE_CHUNK;
        sl_attr_rescale(L, xin + i0, rin + i0, xout + i0, rout + i0, m, c);
        for (size_t j = 0; j < c; j++) dst[i0 + j] = (acc ? dst[i0 + j] : 0.0f) + m[j] * mout[i0 + j];
    }
}

void sl_attr_revealcancel(const sl_layer_t *L, const float *rin, const float *dpos,
                          const float *dneg, float *ypos, float *yneg, float *mpos, float *mneg,
                          size_t n)
{
    float a[RULE_CHUNK], fa[RULE_CHUNK], fp[RULE_CHUNK], fn[RULE_CHUNK], fr[RULE_CHUNK];
    float p[RULE_CHUNK], q[RULE_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += RULE_CHUNK) {
        size_t c = n - i0 < RULE_CHUNK ? n - i0 : RULE_CHUNK;
        for (size_t j = 0; j < c; j++) {
            p[j] = sl_attr_pseudocount(dpos[i0 + j]);
            q[j] = sl_attr_pseudocount(dneg[i0 + j]);
        }
        sl_elementwise(L, rin + i0, fr, c);
        for (size_t j = 0; j < c; j++) a[j] = rin[i0 + j] + p[j];
        sl_elementwise(L, a, fp, c);
        for (size_t j = 0; j < c; j++) a[j] = rin[i0 + j] + q[j];
        sl_elementwise(L, a, fn, c);
        for (size_t j = 0; j < c; j++) a[j] = rin[i0 + j] + q[j] + p[j];
        sl_elementwise(L, a, fa, c);
        for (size_t j = 0; j < c; j++) {
            /* average impact of Δx⁺ added before and after Δx⁻, and vice versa */
            float yp = 0.5f * ((fp[j] - fr[j]) + (fa[j] - fn[j]));
            float yn = 0.5f * ((fn[j] - fr[j]) + (fa[j] - fp[j]));
            if (ypos) ypos[i0 + j] = yp;
            if (yneg) yneg[i0 + j] = yn;
            if (mpos) mpos[i0 + j] = yp / p[j];
            if (mneg) mneg[i0 + j] = yn / q[j];
        }
    }
}

void sl_attr_hyp_accumulate(const float *m, const float *ref, int len, float scale, float *hyp)
{
    for (int p = 0; p < len; p++) {
        const float *mp = m + 4 * p, *rp = ref + 4 * p;
        float s = rp[0] * mp[0] + rp[1] * mp[1] + rp[2] * mp[2] + rp[3] * mp[3];
        for (int b = 0; b < 4; b++) hyp[4 * p + b] += scale * (mp[b] - s);
    }
}
