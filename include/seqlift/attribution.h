/* attribution.h — DeepLIFT (Rescale, RevealCancel, the genomics default) and the
 * comparison methods (gradient, gradient×input, integrated gradients, ISM).
 *
 * Notation: Δ = value on the input − value on a reference. A multiplier m of an input
 * element is d(contribution)/d(Δinput): contribution = m·Δx. With several references
 * the multipliers are computed per reference and contributions averaged (DeepLIFT-SHAP).
 *
 * Usage (the net and the plan are shared and read-only; one sl_attr_t per thread):
 *   sl_targets_parse(net, "count", 0, &tg, &nt);
 *   sl_attr_plan_t *p = sl_attr_plan_create(net, tg, nt, &opts);   // once
 *   sl_attr_t *w = sl_attr_create(p);                                // per thread
 *   sl_attr_out_t out; sl_attr_out_init(&out, nt, net->in_len);
 *   sl_attr_run(w, 1, onehot, refs, n_refs, &out);   // refs [n_seqs][n_refs][L][4]
 * Arrays are in model (sequence) order, [L][4] = position-major, A C G T.
 */
#ifndef SEQLIFT_ATTRIBUTION_H
#define SEQLIFT_ATTRIBUTION_H

#include <stddef.h>

#include "seqlift/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reference implementation's thresholds (kundajelab/deeplift NEAR_ZERO_THRESHOLD):
 * Rescale takes the gradient at the reference's input where |Δx| < 1e-7;
 * RevealCancel adds ±1e-7 to Δx⁺/Δx⁻ when their magnitude is below 5e-8. */
#define SL_ATTR_NEAR_ZERO 1e-7f

typedef enum {
    SL_METHOD_GENOMICS = 0, /* Rescale after conv, RevealCancel after dense (default) */
    SL_METHOD_RESCALE,
    SL_METHOD_REVEALCANCEL,
    SL_METHOD_GRADIENT,     /* d target / d input at the input; no references */
    SL_METHOD_GRAD_INPUT,   /* gradient × input; no references */
    SL_METHOD_IG,           /* integrated gradients from each reference */
    SL_METHOD_ISM           /* in-silico saturation mutagenesis; no references */
} sl_method_t;

/* Max-pool rules, per window with input argmax ax and reference argmax ar (first
 * maximum on ties; padding never wins): */
typedef enum {
    SL_MAXPOOL_SUMMATION = 0, /* seqlift's own: m split between ax and ar with λ so that
                               * λΔ[ax] + (1−λ)Δ[ar] = Δy exactly */
    SL_MAXPOOL_GRADIENT,      /* the reference implementation's rule: input's argmax only */
    SL_MAXPOOL_CROSS          /* shap, tangermeme, bpnet-lite, captum (default): all of
                               * Δy = x[ax] − r[ar] goes to ax if x[ax] >= r[ar], else to ar
                               * (multiplier m·Δy/Δx there; the gradient where |Δx| < 1e-7);
                               * overlapping windows accumulate */
} sl_maxpool_rule_t;

/* "genomics", "rescale", ... ; 0 / -1 (not reported). */
int sl_method_parse(const char *s, sl_method_t *m);
const char *sl_method_name(sl_method_t m);
int sl_method_uses_refs(sl_method_t m);
/* 1 when Σ contributions = output difference holds (IG: in the limit of many steps). */
int sl_method_sums_to_delta(sl_method_t m);
int sl_maxpool_parse(const char *s, sl_maxpool_rule_t *r);

/* ---- rules, elementwise over n values (exposed for tests) ------------------- */
/* Pseudocount of the reference implementation: v ± 1e-7 where |v| < 5e-8 (+ for v >= 0). */
float sl_attr_pseudocount(float v);
/* Rescale multipliers of elementwise layer L: m = Δy/Δx (for smooth ops computed in
 * double from xin/rin without cancellation), or f'(reference input) where
 * |Δx| < SL_ATTR_NEAR_ZERO. xin/rin: input on input/reference, xout/rout: outputs. */
void sl_attr_rescale(const sl_layer_t *L, const float *xin, const float *rin, const float *xout,
                     const float *rout, float *m, size_t n);
/* dst += m · mout with m the Rescale multipliers of sl_attr_rescale (bit-identical),
 * in one pass without an m buffer (the backward step of a Rescale nonlinearity);
 * acc 0: dst = 0 + m · mout, as on a zeroed dst, without reading it. Where
 * sl_attr_rescale_reads_out(L) is 0 (ReLU), xout/rout are not read (may be NULL): the
 * outputs are recomputed from the inputs, exactly. */
int sl_attr_rescale_reads_out(const sl_layer_t *L);
void sl_attr_rescale_acc(const sl_layer_t *L, const float *xin, const float *rin, const float *xout,
                         const float *rout, const float *mout, float *dst, size_t n, int acc);
/* RevealCancel of elementwise layer L at reference input rin, for input difference
 * parts dpos (>= 0) and dneg (<= 0) (pseudocounts applied here). Outputs (any may be
 * NULL): ypos/yneg = Δy⁺/Δy⁻, mpos/mneg = Δy⁺/Δx⁺ and Δy⁻/Δx⁻ (the multipliers). */
void sl_attr_revealcancel(const sl_layer_t *L, const float *rin, const float *dpos,
                          const float *dneg, float *ypos, float *yneg, float *mpos, float *mneg,
                          size_t n);

/* Positive and negative parts of a conv1d/dense layer's output difference for input
 * difference dx ([n][in_len][in_ch]): each term w·Δx goes to Δy⁺ or Δy⁻ by its sign,
 * i.e. Δy⁺ = W⁺Δx⁺ + W⁻Δx⁻ and Δy⁻ = W⁺Δx⁻ + W⁻Δx⁺ (four GEMMs, no bias), with
 * wpos/wneg = W⁺/W⁻ (sl_attr_plan_split). dxp, dxn are scratch of dx's size. */
void sl_attr_linear_parts(const sl_layer_t *L, const float *wpos, const float *wneg, const float *dx, float *dxp,
                          float *dxn, size_t n_in, float *ypos, float *yneg, int n, sl_acts_t *scratch);

/* ---- targets ------------------------------------------------------------------ */
typedef enum {
    SL_TARGET_SUM = 0,  /* sum of every value of the output */
    SL_TARGET_CHANNEL,  /* one channel, summed over positions */
    SL_TARGET_PROFILE   /* BPNet profile: Σ softmax(z)·(z − mean z), softmax held constant */
} sl_target_kind_t;

typedef struct {
    char *label;        /* as given, for the TSV (owned) */
    int output;         /* index into net->output_names */
    int layer;          /* layer whose activation is scored (pre-activation by default) */
    sl_target_kind_t kind;
    int channel;        /* SL_TARGET_CHANNEL */
    int softmax;        /* the output is a softmax: logits mean-normalised across channels */
} sl_target_t;

/* Parse a comma-separated list of targets. Each is OUTPUT[:SEL] where OUTPUT is an
 * output name or index and SEL is a channel index or "profile" or "sum"; NULL or ""
 * means output 0. Sigmoid/softmax outputs are scored on their logits unless
 * post_activation (softmax always: mean-normalised logits, a channel is required).
 * The caller frees with sl_targets_free. 0 / -1 (reported). */
int sl_targets_parse(const sl_net_t *net, const char *spec, int post_activation,
                     sl_target_t **out, int *n_out);
void sl_targets_free(sl_target_t *t, int n);
/* The target is linear in its layer's activation a: target = Σ g·a. Fill g
 * (sl_layer_size floats) given the input's activation of that layer (profile weights). */
void sl_target_weights(const sl_net_t *net, const sl_target_t *t, const float *act_x, float *g);

/* ---- engine ------------------------------------------------------------------- */
/* Quadrature of integrated gradients over α in [0, 1]. */
typedef enum {
    SL_IG_RIEMANN_MIDDLE = 0, /* α_j = (j + 1/2)/steps, weights 1/steps (default) */
    SL_IG_GAUSS_LEGENDRE      /* Gauss–Legendre nodes and weights (captum's default) */
} sl_ig_rule_t;
/* "riemann-middle", "gauss-legendre"; 0 / -1 (not reported). */
int sl_ig_rule_parse(const char *s, sl_ig_rule_t *r);
/* The rule's nodes alpha[steps] in (0, 1) and weights weight[steps] (sum 1), in double
 * (Gauss–Legendre: Newton's method on the Legendre polynomial). 0 / -1 (bad rule). */
int sl_ig_nodes(sl_ig_rule_t rule, int steps, double *alpha, double *weight);

typedef struct {
    sl_method_t method;
    sl_maxpool_rule_t maxpool;
    int ig_steps;   /* integrated gradients: steps per reference (default 50) */
    int max_refs;   /* references per sequence the workspace is planned for */
    int batch;      /* sequences per sl_attr_run call (>= 1); they are scored one by one */
    int rows_per_pass; /* reference rows per forward/backward pass; 0 (default): as many as
                        * fit a ~48 MB working set. Any value gives the same bytes. */
    sl_ig_rule_t ig_rule;
    int threads;    /* threads sl_attr_plan_create may use to make the weights' copies
                     * (the run's workers; default 1); any value gives the same bytes */
    int rc_average; /* score each sequence and its reverse complement (references
                     * reverse-complemented too), map the second back onto the forward
                     * bases and average both: every field of sl_attr_out_t is the mean of
                     * the two strands (summation-to-delta holds on the means) */
} sl_attr_opts_t;
void sl_attr_opts_default(sl_attr_opts_t *o);

/* Results of one sequence for all targets (caller-owned, reused across calls). */
typedef struct {
    int n_targets, len;
    float *contrib;   /* [n_targets][len][4]: projected contributions, hyp × one-hot (the
                       * observed base's share, 0 on the other bases and at N); ism: the
                       * mean-centred change at the observed base; gradient: the gradient
                       * of every base; grad-input: gradient × input */
    float *hyp;       /* [n_targets][len][4]: hypothetical contributions (TF-MoDISco);
                       * ism: the mean-centred change of every base */
    double *out_x;    /* [n_targets] target on the input */
    double *out_ref;  /* [n_targets] mean target on the references (NaN without refs) */
    double *sum;      /* [n_targets] Σ contrib (= Σ of every base's m·Δx but those at N) */
    double *n_part;   /* [n_targets] Σ m·Δx over the N positions (zero columns of the
                       * input), which the projection leaves out: sum + n_part = Σ
                       * contributions ≈ out_x − out_ref (NaN without references) */
    double *err;      /* [n_targets] relative summation-to-delta error: |sum + n_part − Δ̄| /
                       * max(|Δ̄|, mean_k |Δ_k|) with Δ_k = target(x) − target(ref k), Δ̄ their
                       * mean (NaN for methods without the property) */
    int n_refs;       /* references used (0 for gradient, grad-input, ism) */
} sl_attr_out_t;
int sl_attr_out_init(sl_attr_out_t *o, int n_targets, int len);
void sl_attr_out_free(sl_attr_out_t *o);

/* The attribution plan of (net, targets, options), built once and then read-only, so
 * every worker shares it: the rule chosen per layer, the sign-split weights W⁺/W⁻ of
 * the layers RevealCancel needs them for, and the buffer plan (one liveness planner for
 * multipliers and Δ⁺/Δ⁻ buffers). net and targets must outlive it. NULL on error
 * (reported: e.g. a softmax inside the network before a target). */
typedef struct sl_attr_plan_s sl_attr_plan_t;
sl_attr_plan_t *sl_attr_plan_create(const sl_net_t *net, const sl_target_t *targets, int n_targets,
                                    const sl_attr_opts_t *o);
void sl_attr_plan_destroy(sl_attr_plan_t *p);
/* W⁺ and W⁻ ([w's layout]) of layer `layer` when the plan split it; 0 / -1 if not. */
int sl_attr_plan_split(const sl_attr_plan_t *p, int layer, const float **wpos, const float **wneg);

/* One thread's workspace for plan p (all memory allocated here; p must outlive it).
 * NULL on OOM (reported). */
typedef struct sl_attr_s sl_attr_t;
sl_attr_t *sl_attr_create(const sl_attr_plan_t *p);
void sl_attr_destroy(sl_attr_t *w);
/* Score n_seqs <= opts.batch sequences x [n_seqs][L][4] against refs
 * [n_seqs][n_refs][L][4] (n_refs <= opts.max_refs; ignored by methods without
 * references). out[n_seqs]. No allocation. 0 / -1 (reported). */
int sl_attr_run(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int n_refs,
                sl_attr_out_t *out);

/* Hypothetical contributions of one reference from its input multipliers m [L][4]:
 * hyp[p][b] += scale · Σ_c (onehot(b)_c − ref[p][c])·m[p][c] (the convention of
 * deeplift / shap's combine_mult_and_diffref, as TF-MoDISco users compute it). */
void sl_attr_hyp_accumulate(const float *m, const float *ref, int len, float scale, float *hyp);

#ifdef __cplusplus
}
#endif

#endif
