/* rules.c — the DeepLIFT rules for elementwise nonlinearities, method names. */
#include <math.h>
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
    else return -1;
    return 0;
}

float sl_attr_pseudocount(float v)
{
    if (fabsf(v) < 0.5f * SL_ATTR_NEAR_ZERO) return v >= 0.0f ? v + SL_ATTR_NEAR_ZERO : v - SL_ATTR_NEAR_ZERO;
    return v;
}

/* Chunk size for rules that evaluate f at extra points (stack buffers, no malloc). */
#define RULE_CHUNK 256

/* Below this |Δx| the secant Δy/Δx of a smooth function is taken as f' at the midpoint:
 * in float32, Δy = f(x) − f(r) carries ~6e-8 of rounding, which divided by a small Δx
 * would swamp the multiplier, while the midpoint rule is off by only f'''(ξ)·Δx²/24. */
#define SECANT_MIDPOINT 1e-3f

/* relu (neither flag): Δy is an exact copy of the inputs, the ratio is exact; elu: the
 * derivative has a kink at 0 unless alpha = 1 */
static int smooth_between(const sl_layer_t *L, float x, float r)
{
    unsigned f = sl_ops[L->op].flags;
    return (f & SL_OPF_SMOOTH) || ((f & SL_OPF_SMOOTH_OFF_0) && (x > 0) == (r > 0));
}

void sl_attr_rescale(const sl_layer_t *L, const float *xin, const float *rin, const float *xout,
                     const float *rout, float *m, size_t n)
{
    float g[RULE_CHUNK], a[RULE_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += RULE_CHUNK) {
        size_t c = n - i0 < RULE_CHUNK ? n - i0 : RULE_CHUNK;
        int need_grad = 0;
        for (size_t j = 0; j < c; j++) {
            float x = xin[i0 + j], r = rin[i0 + j], dx = x - r;
            a[j] = r;
            if (fabsf(dx) < SL_ATTR_NEAR_ZERO) {
                need_grad = 1; /* the reference implementation: the gradient at the reference */
            } else if (fabsf(dx) < SECANT_MIDPOINT && smooth_between(L, x, r)) {
                a[j] = r + 0.5f * dx;
                need_grad = 1;
            } else {
                m[i0 + j] = (xout[i0 + j] - rout[i0 + j]) / dx;
            }
        }
        if (!need_grad) continue;
        sl_elementwise_grad(L, a, g, c);
        for (size_t j = 0; j < c; j++) {
            float x = xin[i0 + j], r = rin[i0 + j], dx = x - r;
            if (fabsf(dx) < SL_ATTR_NEAR_ZERO || (fabsf(dx) < SECANT_MIDPOINT && smooth_between(L, x, r)))
                m[i0 + j] = g[j];
        }
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
