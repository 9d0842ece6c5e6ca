/* engine.c — the backward driver over the network DAG and the attribution methods.
 *
 * Rows: the reference side of a batch is `rows` sequences (references, path points or
 * the inputs themselves) that go through every layer together; row i belongs to input
 * sequence row_seq[i], whose own activations (forward once) are in `ax`.
 *
 * RevealCancel needs, for the input of each RevealCancel nonlinearity, the positive and
 * negative parts Δ⁺/Δ⁻ of its difference, and it hands back separate multipliers m⁺/m⁻
 * for them. Layers that carry such pairs are marked `pn`:
 *   conv1d/dense: Δy⁺ = W⁺Δx⁺ + W⁻Δx⁻, Δy⁻ = W⁺Δx⁻ + W⁻Δx⁺ from the total Δx of the
 *                 producer (four GEMMs); backward is the sign-selected transpose, which
 *                 gives ONE multiplier per input element (chosen by the sign of Δx);
 *   batchnorm/dropout: the producer's parts, scaled (the reference implementation
 *                 looks through them to the conv/dense before);
 *   RevealCancel: its own Δy⁺/Δy⁻;
 *   anything else: the sign split of its own Δ (the pair collapses to one multiplier).
 * Conservation holds per layer: Σ m⁺Δ⁺ + m⁻Δ⁻ = Σ (next layer's) m⁺Δ⁺ + m⁻Δ⁻.
 * For a pn layer, single-valued multipliers from consumers accumulate in mult[l] and
 * pair-valued ones in mpx[l]/mnx[l]; m⁺ = mult + mpx, m⁻ = mult + mnx.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_priv.h" /* the op table */
#include "seqlift/attribution.h"
#include "seqlift/util.h"

/* Buffers of the plan, per layer. */
enum { BUF_MULT, BUF_MPX, BUF_MNX, BUF_DPOS, BUF_DNEG, N_BUF };

/* Built once per (model, targets, options), then read-only: shared by every worker. */
struct sl_attr_plan_s {
    const sl_net_t *net;
    sl_attr_opts_t o;   /* normalised */
    const sl_target_t *tg;
    int nt;
    int max_rows;       /* reference-side rows per pass (see plan_rows) */
    int grad_mode;      /* gradient rules on the rows' own activations (gradient, IG) */
    int last;           /* highest target layer */
    char *need;         /* [n_layers]: ancestor of some target */
    char *keep;         /* [n_layers]: activations the rules read (the others are not kept) */
    int *alias;         /* [n_layers]: the add whose multiplier buffer is this layer's too
                         * (see plan_alias), else -1 */
    char *pn, *rc;      /* per layer: carries Δ⁺/Δ⁻; elementwise uses RevealCancel */
    char *anc;          /* [nt][n_layers]: layer is an ancestor of target t */
    float **wpos, **wneg; /* [n_layers]: W⁺ = max(W, 0), W⁻ = min(W, 0) of the sign-split
                           * layers that carry Δ⁺/Δ⁻, else NULL */
    sl_nn_wts_t wts;      /* the weights above transposed for the GEMM tiles' backward, made
                           * once here and read by every workspace's scratch */
    size_t max_size, gsz; /* largest layer; largest target layer */
    int n_slots;        /* buffer plan: slot s holds slot_size[s] floats per row; buffer b of */
    size_t *slot_size;  /* layer l lives in slot buf[b][l] (-1: none) */
    int *buf[N_BUF];
    float *ig_alpha, *ig_weight; /* [ig_steps] integrated gradients' quadrature */
};

/* One worker's workspace: the plan's buffers, activations and scratch. */
struct sl_attr_s {
    const sl_attr_plan_t *plan;
    const sl_net_t *net;
    sl_attr_opts_t o;
    const sl_target_t *tg;
    int nt;
    int len;            /* input length */
    int max_rows, grad_mode;
    int batch;          /* sequences per sl_attr_run call (o.batch is 1: they run one by one) */
    const char *pn, *rc, *anc; /* the plan's */
    size_t max_size, gsz;
    sl_acts_t *ax, *ar; /* input side [1], reference side [max_rows]; kept layers only */
    float **mult, **mpx, **mnx, **dpos, **dneg; /* [n_layers] into pool, NULL where unused */
    float **pool;       /* [n_slots] */
    int n_pool;
    float **dx;         /* [max n_in]: producers' multiplier buffers for a linear backward */
    char *started;      /* [n_layers]: mult[l] zeroed in the current backward */
    float *s[3];        /* scratch, max_rows × largest layer */
    float *g;           /* target weights [n_targets][batch][largest target layer] */
    float *xin;         /* constructed inputs (IG path, ISM mutants) [max_rows][len][4] */
    float *macc;        /* input multipliers [n_targets][max_refs][len][4] (IG: summed) */
    int *row_seq;       /* [max_rows] */
    double *tref;       /* targets on references [n_targets][batch*max_refs] */
    double *dabs;       /* [2][n_targets][batch]: mean |Δ_k| over the references (rel_err);
                         * rc_average keeps the forward strand's in the second half */
    float *xrc, *rrc;   /* rc_average: reverse complements of the inputs and references */
    int *pool_arg;      /* max pools: argmaxes of the input and a reference row [2][max_size] */
    sl_attr_out_t *orc; /* rc_average: results of the reverse strand [batch] */
};

void sl_attr_opts_default(sl_attr_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->method = SL_METHOD_GENOMICS;
    o->maxpool = SL_MAXPOOL_CROSS;
    o->ig_steps = 50;
    o->max_refs = 20;
    o->batch = 1;
    o->threads = 1;
    o->ig_rule = SL_IG_RIEMANN_MIDDLE;
    o->rc_average = 0;
}

int sl_attr_out_init(sl_attr_out_t *o, int n_targets, int len)
{
    memset(o, 0, sizeof(*o));
    o->n_targets = n_targets;
    o->len = len;
    size_t n = (size_t)n_targets * (size_t)len * 4;
    o->contrib = sl_malloc(n * sizeof(float), "contributions");
    o->hyp = sl_malloc(n * sizeof(float), "hypothetical contributions");
    o->out_x = sl_calloc((size_t)n_targets * 5, sizeof(double), "target values");
    if (!o->contrib || !o->hyp || !o->out_x) {
        sl_attr_out_free(o);
        return -1;
    }
    o->out_ref = o->out_x + n_targets;
    o->sum = o->out_x + 2 * n_targets;
    o->err = o->out_x + 3 * n_targets;
    o->n_part = o->out_x + 4 * n_targets;
    return 0;
}

void sl_attr_out_free(sl_attr_out_t *o)
{
    free(o->contrib);
    free(o->hyp);
    free(o->out_x);
    memset(o, 0, sizeof(*o));
}

void sl_attr_destroy(sl_attr_t *w)
{
    if (!w) return;
    for (int i = 0; i < w->n_pool; i++) free(w->pool[i]);
    free(w->pool);
    free(w->started);
    free(w->mult); /* pointers into the pool */
    free(w->mpx);
    free(w->mnx);
    free(w->dpos);
    free(w->dneg);
    free(w->dx);
    sl_acts_destroy(w->ax);
    sl_acts_destroy(w->ar);
    for (int i = 0; i < 3; i++) free(w->s[i]);
    free(w->g);
    free(w->xin);
    free(w->macc);
    free(w->row_seq);
    free(w->tref);
    free(w->dabs);
    free(w->xrc);
    free(w->rrc);
    free(w->pool_arg);
    for (int k = 0; w->orc && k < w->o.batch; k++) sl_attr_out_free(&w->orc[k]);
    free(w->orc);
    free(w);
}

void sl_attr_plan_destroy(sl_attr_plan_t *p)
{
    if (!p) return;
    for (int l = 0; p->wpos && p->wneg && l < p->net->n_layers; l++) {
        free(p->wpos[l]);
        free(p->wneg[l]);
    }
    free(p->wpos);
    free(p->wneg);
    sl_nn_wts_free(&p->wts);
    free(p->need);
    free(p->keep);
    free(p->alias);
    free(p->pn);
    free(p->rc);
    free(p->anc);
    free(p->slot_size);
    for (int b = 0; b < N_BUF; b++) free(p->buf[b]);
    free(p->ig_alpha);
    free(p->ig_weight);
    free(p);
}

static sl_op_rule_t rule_of(const sl_net_t *net, int l) { return sl_ops[net->layers[l].op].rule; }

/* The buffer plan: multipliers (and the pair multipliers of Δ⁺/Δ⁻ layers) of layer l
 * live in backward steps (last − l) from the first consumer processed (the
 * backward runs from the last layer down; target layers from the start) until l
 * itself; Δ⁺/Δ⁻ live throughout (forward_pn fills them before every backward). */
static int plan_buffers(sl_attr_plan_t *p)
{
    const sl_net_t *net = p->net;
    int nl = net->n_layers, n = N_BUF * nl, end = p->last + 1, ret = -1;
    int *first = sl_malloc((size_t)n * sizeof(int), "plan"), *last = sl_malloc((size_t)n * sizeof(int), "plan");
    int *slot = sl_malloc((size_t)n * sizeof(int), "plan");
    size_t *size = sl_malloc((size_t)n * sizeof(size_t), "plan");
    p->slot_size = sl_malloc((size_t)n * sizeof(size_t), "plan");
    if (!first || !last || !slot || !size || !p->slot_size) goto fail;
    for (int i = 0; i < n; i++) first[i] = -1, last[i] = -1;
    for (int l = 0; l <= p->last; l++) {
        if (!p->need[l]) continue;
        int born = end, dies = p->last - l;
        for (int t = 0; t < p->nt; t++)
            if (p->tg[t].layer == l) born = 0;
        for (int c = l + 1; c <= p->last; c++) {
            const sl_layer_t *C = &net->layers[c];
            for (int i = 0; p->need[c] && i < C->n_in; i++)
                if (C->in[i] == l && p->last - c < born) born = p->last - c;
        }
        if (born > dies) born = dies; /* not reached from a target: never written */
        if (p->alias[l] >= 0) continue; /* in its add's buffer (below) */
        size_t sz = sl_layer_size(&net->layers[l]); /* per row */
        for (int b = 0; b < N_BUF; b++) {
            if (b != BUF_MULT && !p->pn[l]) continue;
            int k = b * nl + l;
            first[k] = b >= BUF_DPOS ? 0 : born;
            last[k] = b >= BUF_DPOS ? end : dies;
            size[k] = sz;
        }
    }
    for (int l = 0; l <= p->last; l++) /* an add's buffer lives until its aliases' steps */
        if (p->alias[l] >= 0 && last[BUF_MULT * nl + p->alias[l]] < p->last - l)
            last[BUF_MULT * nl + p->alias[l]] = p->last - l;
    if ((p->n_slots = sl_nn_plan_slots(n, first, last, size, slot, p->slot_size)) < 0) goto fail;
    for (int b = 0; b < N_BUF; b++) {
        if (!(p->buf[b] = sl_malloc((size_t)nl * sizeof(int), "plan"))) goto fail;
        memcpy(p->buf[b], slot + b * nl, (size_t)nl * sizeof(int));
    }
    ret = 0;
fail:
    free(first);
    free(last);
    free(slot);
    free(size);
    return ret;
}

/* Multipliers passed straight through an add: a producer p whose only consumer is add a
 * (listed once) gets a's multipliers M unchanged, so p's buffer can be a's (no copy).
 * The copy the add would make is 0 + M, which differs from M only by turning -0 into
 * +0; that is invisible where p's own backward only adds products of M into sums that
 * start at +0 or at 0 + x (no such sum is ever -0), which is what Rescale, the linear
 * ops' GEMMs and adds, crops and max pools do. So p must have such a rule and carry no
 * Δ⁺/Δ⁻ pair, and neither be the input (its multipliers are copied out) nor a target
 * (its buffer is set at the start). Chains resolve to the last add. */
static int plan_alias(sl_attr_plan_t *p)
{
    const sl_net_t *net = p->net;
    int nl = net->n_layers;
    if (!(p->alias = sl_malloc((size_t)nl * sizeof(int), "plan"))) return -1;
    for (int l = 0; l < nl; l++) p->alias[l] = -1;
    for (int l = nl - 1; l > 0; l--) {
        int a = -1, uses = 0;
        for (int c = l + 1; c < nl; c++)
            for (int i = 0; p->need[c] && i < net->layers[c].n_in; i++)
                if (net->layers[c].in[i] == l) uses++, a = c;
        sl_op_rule_t r = rule_of(net, l);
        int sums = r == SL_RULE_LINEAR || r == SL_RULE_SPLIT || r == SL_RULE_MAXPOOL ||
                   (r == SL_RULE_NONLINEAR && !p->rc[l]);
        int target = 0;
        for (int t = 0; t < p->nt; t++) target |= p->tg[t].layer == l;
        if (!p->need[l] || uses != 1 || net->layers[a].op != SL_OP_ADD || p->pn[a] || p->pn[l] || !sums || target)
            continue;
        p->alias[l] = p->alias[a] >= 0 ? p->alias[a] : a; /* a > l: resolved already */
    }
    return 0;
}

/* W⁺ and W⁻ of sign-split layer l. */
static int split_weights(sl_attr_plan_t *p, int l)
{
    const sl_layer_t *L = &p->net->layers[l];
    size_t n = (size_t)L->in_ch * L->out_ch * (size_t)L->kernel; /* dense: kernel 1 */
    float *wp = sl_malloc(n * sizeof(float), L->name), *wn = sl_malloc(n * sizeof(float), L->name);
    if (!wp || !wn) {
        free(wp);
        free(wn);
        return -1;
    }
    p->wpos[l] = wp, p->wneg[l] = wn; /* filled by sl_nn_wts_prepare */
    return 0;
}

/* The activations the rules read: the targets, both sides of every nonlinearity, the
 * inputs of max pools, the Δ⁺/Δ⁻ layers and the producers of the sign-split ones. */
static void plan_keep(sl_attr_plan_t *p)
{
    const sl_net_t *net = p->net;
    p->keep[0] = 1;
    for (int t = 0; t < p->nt; t++) p->keep[p->tg[t].layer] = 1;
    for (int l = 1; l < net->n_layers; l++) {
        if (!p->need[l]) continue;
        int in = net->layers[l].in[0];
        sl_op_rule_t rule = rule_of(net, l);
        if (rule == SL_RULE_NONLINEAR) /* Rescale reads the outputs (not ReLU's) */
            p->keep[in] = 1, p->keep[l] |= !p->grad_mode && !p->rc[l] && sl_attr_rescale_reads_out(&net->layers[l]);
        if (rule == SL_RULE_MAXPOOL) p->keep[in] = 1;
        if (p->pn[l]) p->keep[l] = 1, p->keep[in] |= rule == SL_RULE_SPLIT;
    }
}

/* Reference-side rows per pass: as many as fit SL_ATTR_WORKSET floats (kept activations,
 * multipliers, scratch), at most one sequence's references (IG, ISM: 16 points), and at
 * least 16 when batch-wide layers do more than 1 % of the multiply-adds (their GEMMs run
 * in blocks of 16 rows, padded), or o.rows_per_pass; the references then go in chunks of
 * equal size. Rows are independent (every op computes a row alone, dense layers in fixed
 * blocks), so the chunking changes no bit; it keeps the working set in cache and memory
 * flat. */
#define SL_ATTR_WORKSET ((size_t)12 << 20)
static void plan_rows(sl_attr_plan_t *p)
{
    const sl_net_t *net = p->net;
    sl_method_t m = p->o.method;
    int cap = m == SL_METHOD_ISM || m == SL_METHOD_IG ? (p->o.max_refs > 16 ? p->o.max_refs : 16)
              : sl_method_uses_refs(m) ? p->o.max_refs : 1;
    size_t per_row = 6 * p->max_size + (size_t)net->in_len * 4; /* scratch, shared activations, inputs */
    double macs = 0, wide_macs = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const sl_layer_t *L = &net->layers[l];
        if (p->keep[l]) per_row += sl_layer_size(L);
        if (!(sl_ops[L->op].flags & SL_OPF_WEIGHTS)) continue;
        double k = (double)L->len * L->in_ch * L->out_ch * L->kernel;
        macs += k;
        if (sl_ops[L->op].flags & SL_OPF_BATCHWIDE) wide_macs += k;
    }
    for (int s = 0; s < p->n_slots; s++) per_row += p->slot_size[s];
    size_t fit = SL_ATTR_WORKSET / per_row;
    int rows = fit < 1 ? 1 : fit > (size_t)cap ? cap : (int)fit;
    if (wide_macs > 0.01 * macs && rows < 16) rows = cap < 16 ? cap : 16;
    if (p->o.rows_per_pass > 0) rows = p->o.rows_per_pass < cap ? p->o.rows_per_pass : cap;
    int chunks = (cap + rows - 1) / rows;
    p->max_rows = (cap + chunks - 1) / chunks;
}

sl_attr_plan_t *sl_attr_plan_create(const sl_net_t *net, const sl_target_t *targets, int n_targets,
                                    const sl_attr_opts_t *o)
{
    sl_attr_plan_t *w = sl_calloc(1, sizeof(*w), "attribution plan");
    if (!w) return NULL;
    int nl = net->n_layers;
    w->net = net;
    w->o = *o;
    w->tg = targets;
    w->nt = n_targets;
    if (w->o.batch < 1) w->o.batch = 1;
    if (w->o.max_refs < 1) w->o.max_refs = 1;
    if (w->o.ig_steps < 1) w->o.ig_steps = 1;
    sl_method_t m = w->o.method;
    w->grad_mode = m == SL_METHOD_GRADIENT || m == SL_METHOD_GRAD_INPUT || m == SL_METHOD_IG;

    w->pn = sl_calloc((size_t)nl, 1, "layer flags");
    w->rc = sl_calloc((size_t)nl, 1, "layer flags");
    w->need = sl_calloc((size_t)nl, 1, "layer flags");
    w->keep = sl_calloc((size_t)nl, 1, "layer flags");
    w->anc = sl_calloc((size_t)nl * (size_t)n_targets, 1, "layer flags");
    w->wpos = sl_calloc((size_t)nl, sizeof(float *), "weights");
    w->wneg = sl_calloc((size_t)nl, sizeof(float *), "weights");
    if (!w->pn || !w->rc || !w->need || !w->keep || !w->anc || !w->wpos || !w->wneg) goto fail;
    for (int t = 0; t < n_targets; t++) {
        char *a = w->anc + (size_t)t * nl;
        a[targets[t].layer] = 1;
        if (targets[t].layer > w->last) w->last = targets[t].layer;
        for (int l = targets[t].layer; l > 0; l--) {
            if (!a[l]) continue;
            const sl_layer_t *L = &net->layers[l];
            if (rule_of(net, l) == SL_RULE_NONE) {
                sl_log_error("%s: layer '%s': %s inside the network (before target '%s') cannot be attributed through",
                             net->path ? net->path : "model", L->name, sl_op_name(L->op), targets[t].label);
                goto fail;
            }
            for (int i = 0; i < L->n_in; i++) a[L->in[i]] = 1;
        }
    }
    char *need = w->need;
    for (int t = 0; t < n_targets; t++)
        for (int l = 0; l < nl; l++) need[l] |= w->anc[(size_t)t * nl + l];

    /* rules: which elementwise layers use RevealCancel; which layers carry Δ⁺/Δ⁻ */
    if (m == SL_METHOD_GENOMICS || m == SL_METHOD_REVEALCANCEL) {
        for (int l = 1; l < nl; l++) {
            const sl_layer_t *L = &net->layers[l];
            if (!need[l] || rule_of(net, l) != SL_RULE_NONLINEAR) continue;
            if (m == SL_METHOD_REVEALCANCEL) {
                w->rc[l] = 1;
                continue;
            }
            /* genomics: look through per-channel scales (batchnorm, dropout) to the layer
             * before; fully connected -> RevealCancel, conv (or anything else) -> Rescale */
            int p = L->in[0];
            while (p > 0 && rule_of(net, p) == SL_RULE_SCALE) p = net->layers[p].in[0];
            w->rc[l] = !!(sl_ops[net->layers[p].op].flags & SL_OPF_BATCHWIDE);
        }
        for (int l = nl - 1; l > 0; l--) {
            const sl_layer_t *L = &net->layers[l];
            if (!need[l]) continue;
            if (w->rc[l] || (w->pn[l] && rule_of(net, l) == SL_RULE_SCALE)) w->pn[L->in[0]] = 1;
        }
    }
    for (int l = 1; l < nl; l++)
        if (need[l] && w->pn[l] && rule_of(net, l) == SL_RULE_SPLIT && split_weights(w, l) < 0) goto fail;
    for (int l = 0; l < nl; l++) {
        size_t sz = sl_layer_size(&net->layers[l]);
        if (sz > w->max_size) w->max_size = sz;
    }
    for (int t = 0; t < n_targets; t++) {
        size_t sz = sl_layer_size(&net->layers[targets[t].layer]);
        if (sz > w->gsz) w->gsz = sz;
    }
    plan_keep(w);
    if (m != SL_METHOD_ISM && (plan_alias(w) < 0 || plan_buffers(w) < 0)) goto fail;
    plan_rows(w);
    /* W⁺/W⁻ and the tiles' copies, on the run's threads: making them is page faults
     * mostly (~0.5 ms per MB), the serial start of a run */
    int kinds = 1 << SL_NN_WT_F | (m == SL_METHOD_ISM ? 0 : 1 << SL_NN_WT_T); /* ISM: no backward */
    if (sl_nn_wts_prepare(&w->wts, net, need, kinds, w->wpos, w->wneg, w->o.threads) < 0)
        goto fail;
    if (m == SL_METHOD_IG) { /* the quadrature in double, used in float */
        int n = w->o.ig_steps;
        double *a = sl_malloc((size_t)n * 2 * sizeof(double), "integration nodes");
        w->ig_alpha = sl_malloc((size_t)n * sizeof(float), "integration nodes");
        w->ig_weight = sl_malloc((size_t)n * sizeof(float), "integration nodes");
        int bad = !a || !w->ig_alpha || !w->ig_weight || sl_ig_nodes(w->o.ig_rule, n, a, a + n) < 0;
        for (int j = 0; !bad && j < n; j++) w->ig_alpha[j] = (float)a[j], w->ig_weight[j] = (float)a[n + j];
        free(a);
        if (bad) goto fail;
    }
    return w;
fail:
    sl_attr_plan_destroy(w);
    return NULL;
}

int sl_attr_plan_split(const sl_attr_plan_t *p, int layer, const float **wpos, const float **wneg)
{
    if (layer < 0 || layer >= p->net->n_layers || !p->wpos[layer]) return -1;
    *wpos = p->wpos[layer], *wneg = p->wneg[layer];
    return 0;
}

sl_attr_t *sl_attr_create(const sl_attr_plan_t *plan)
{
    sl_attr_t *w = sl_calloc(1, sizeof(*w), "attribution workspace");
    if (!w) return NULL;
    const sl_net_t *net = plan->net;
    int nl = net->n_layers;
    w->plan = plan;
    w->net = net;
    w->o = plan->o;
    w->batch = plan->o.batch;
    w->o.batch = 1; /* sl_attr_run scores the sequences of a call one by one */
    w->tg = plan->tg;
    w->nt = plan->nt;
    w->len = net->in_len;
    w->max_rows = plan->max_rows;
    w->grad_mode = plan->grad_mode;
    w->pn = plan->pn, w->rc = plan->rc, w->anc = plan->anc;
    w->max_size = plan->max_size, w->gsz = plan->gsz;
    int n_targets = w->nt;
    sl_method_t m = w->o.method;

    w->ax = sl_acts_create_keep(net, w->o.batch, plan->keep);
    w->ar = sl_acts_create_keep(net, w->max_rows, plan->keep);
    if (!w->ax || !w->ar) goto fail;
    sl_nn_acts_share_wts(w->ax, &plan->wts), sl_nn_acts_share_wts(w->ar, &plan->wts);
    size_t R = (size_t)w->max_rows;
    w->g = sl_malloc((size_t)n_targets * w->o.batch * w->gsz * sizeof(float), "target weights");
    w->row_seq = sl_malloc(R * sizeof(int), "row map");
    w->tref = sl_malloc((size_t)n_targets * w->o.batch * w->o.max_refs * sizeof(double), "target values");
    w->xin = sl_malloc(R * (size_t)w->len * 4 * sizeof(float), "inputs");
    w->dabs = sl_calloc((size_t)n_targets * w->o.batch * 2, sizeof(double), "target values");
    if (!w->g || !w->row_seq || !w->tref || !w->xin || !w->dabs) goto fail;
    if (w->o.rc_average) {
        size_t L4 = (size_t)w->len * 4, nr = sl_method_uses_refs(m) ? (size_t)w->o.max_refs : 0;
        w->xrc = sl_malloc((size_t)w->o.batch * L4 * sizeof(float), "reverse complements");
        w->rrc = sl_malloc(((size_t)w->o.batch * nr + 1) * L4 * sizeof(float), "reverse complements");
        w->orc = sl_calloc((size_t)w->o.batch, sizeof(sl_attr_out_t), "reverse-strand results");
        if (!w->xrc || !w->rrc || !w->orc) goto fail;
        for (int k = 0; k < w->o.batch; k++)
            if (sl_attr_out_init(&w->orc[k], n_targets, w->len) < 0) goto fail;
    }
    if (m != SL_METHOD_ISM) {
        for (int i = 0; i < 3; i++)
            if (!(w->s[i] = sl_malloc(R * w->max_size * sizeof(float), "scratch"))) goto fail;
        float ***arr[N_BUF] = {&w->mult, &w->mpx, &w->mnx, &w->dpos, &w->dneg};
        for (int b = 0; b < N_BUF; b++)
            if (!(*arr[b] = sl_calloc((size_t)nl, sizeof(float *), "multipliers"))) goto fail;
        int max_in = 1;
        for (int l = 0; l < nl; l++)
            if (net->layers[l].n_in > max_in) max_in = net->layers[l].n_in;
        w->dx = sl_calloc((size_t)max_in, sizeof(float *), "multipliers");
        w->started = sl_calloc((size_t)nl, 1, "multipliers");
        w->pool = sl_calloc((size_t)(plan->n_slots > 0 ? plan->n_slots : 1), sizeof(float *), "multipliers");
        if (!w->dx || !w->started || !w->pool) goto fail;
        for (int l = 0; l < nl && !w->pool_arg; l++)
            if (plan->need[l] && rule_of(net, l) == SL_RULE_MAXPOOL
                && !(w->pool_arg = sl_malloc(2 * w->max_size * sizeof(int), "max-pool argmaxes")))
                goto fail;
        for (; w->n_pool < plan->n_slots; w->n_pool++)
            if (!(w->pool[w->n_pool] = sl_malloc(R * plan->slot_size[w->n_pool] * sizeof(float), "multipliers")))
                goto fail;
        for (int b = 0; b < N_BUF; b++)
            for (int l = 0; l < nl; l++) (*arr[b])[l] = plan->buf[b][l] >= 0 ? w->pool[plan->buf[b][l]] : NULL;
        for (int l = 0; l < nl; l++)
            if (plan->alias[l] >= 0) w->mult[l] = w->mult[plan->alias[l]];
        if (sl_method_uses_refs(m) &&
            !(w->macc = sl_malloc((size_t)n_targets * w->o.batch * w->o.max_refs * w->len * 4 * sizeof(float),
                                  "gradients")))
            goto fail;
    }
    return w;
fail:
    sl_attr_destroy(w);
    return NULL;
}

/* ---- helpers ---------------------------------------------------------------------- */

static inline const float *tweights(const sl_attr_t *w, int t, int seq)
{
    return w->g + ((size_t)t * w->o.batch + (size_t)seq) * w->gsz;
}

/* target t on the references of the batch, [batch*max_refs] */
static inline double *trefs(const sl_attr_t *w, int t)
{
    return w->tref + (size_t)t * w->o.batch * w->o.max_refs;
}

static inline const float *xact(const sl_attr_t *w, int l, int row)
{
    size_t sz = sl_layer_size(&w->net->layers[l]);
    return w->ax->act[l] + (size_t)w->row_seq[row] * sz;
}

/* The genomics method's elementwise loops 4 lanes at a time (GCC -O2 leaves them
 * scalar: possible aliasing, branches), each lane the scalar code's float ops; the
 * tails the scalar code itself. */
#define V4F(v) ((sl_v4f){(v), (v), (v), (v)})
#define V4SEL(m, a, b) ((sl_v4f)(((m) & (sl_v4i)(a)) | (~(m) & (sl_v4i)(b))))
static inline sl_v4f v4ld(const float *p)
{
    sl_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v4st(float *p, sl_v4f v) { memcpy(p, &v, sizeof v); }

/* out[rows][size] = Δ of layer l (input-side minus reference-side activation) */
static void delta(const sl_attr_t *w, int l, int rows, float *out)
{
    size_t sz = sl_layer_size(&w->net->layers[l]);
    for (int i = 0; i < rows; i++) {
        const float *x = xact(w, l, i), *r = w->ar->act[l] + (size_t)i * sz;
        float *o = out + (size_t)i * sz;
        size_t j = 0;
        for (; j + 4 <= sz; j += 4) v4st(o + j, v4ld(x + j) - v4ld(r + j));
        for (; j < sz; j++) o[j] = x[j] - r[j];
    }
}

/* m = sel(Δ, P, N): the multiplier of the part Δ falls in (average at Δ = 0); m may be P */
static void select_by_sign(const float *d, const float *P, const float *N, float *m, size_t n)
{
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        sl_v4f dv = v4ld(d + j), p = v4ld(P + j), q = v4ld(N + j), z = V4F(0.0f);
        sl_v4f avg = V4F(0.5f) * (p + q);
        v4st(m + j, V4SEL(dv > z, p, V4SEL(dv < z, q, avg)));
    }
    for (; j < n; j++)
        m[j] = d[j] > 0 ? P[j] : d[j] < 0 ? N[j] : 0.5f * (P[j] + N[j]);
}

static void axpy_mul(float *dst, const float *a, const float *b, size_t n)
{
    size_t j = 0;
    for (; j + 4 <= n; j += 4) v4st(dst + j, v4ld(dst + j) + v4ld(a + j) * v4ld(b + j));
    for (; j < n; j++) dst[j] += a[j] * b[j];
}

/* A pair (a, b) through a per-channel scale L (batchnorm; dropout: 1), y = s·x per channel (a negative scale
 * swaps the parts): oa = s⁺a + s⁻b, ob = s⁺b + s⁻a; added to oa/ob if acc. */
static void pass_pn_pair(const sl_layer_t *L, const float *a, const float *b, float *oa, float *ob, size_t n,
                         int acc)
{
    for (size_t j = 0; j < n; j++) {
        float s = L->bn_scale ? L->bn_scale[j % (size_t)L->ch] : 1.0f;
        float sp = s > 0 ? s : 0.0f, sn = s < 0 ? s : 0.0f;
        float va = sp * a[j] + sn * b[j], vb = sp * b[j] + sn * a[j];
        if (acc) oa[j] += va, ob[j] += vb;
        else oa[j] = va, ob[j] = vb;
    }
}

void sl_attr_linear_parts(const sl_layer_t *L, const float *wpos, const float *wneg, const float *dx, float *dxp,
                          float *dxn, size_t n_in, float *ypos, float *yneg, int n, sl_acts_t *scratch)
{
    sl_nn_split_sign(dx, dxp, dxn, n_in);
    /* ypos = W⁺Δ⁺ + W⁻Δ⁻ and yneg = W⁺Δ⁻ + W⁻Δ⁺, each sum in that order */
    sl_linear_apply2(L, wpos, dxp, ypos, dxn, yneg, n, 0, scratch);
    sl_linear_apply2(L, wneg, dxn, ypos, dxp, yneg, n, 1, scratch);
}

/* Δ⁺/Δ⁻ of every pn layer, in topological order (after both forward passes). */
static void forward_pn(sl_attr_t *w, int rows)
{
    const sl_net_t *net = w->net;
    for (int l = 0; l < net->n_layers; l++) {
        if (!w->pn[l] || !w->dpos[l]) continue;
        const sl_layer_t *L = &net->layers[l];
        size_t sz = sl_layer_size(L), n = (size_t)rows * sz;
        float *P = w->dpos[l], *N = w->dneg[l];
        sl_op_rule_t rule = rule_of(net, l);
        if (l > 0 && rule == SL_RULE_SPLIT) {
            int p = L->in[0];
            size_t np = (size_t)rows * sl_layer_size(&net->layers[p]);
            delta(w, p, rows, w->s[0]);
            sl_attr_linear_parts(L, w->plan->wpos[l], w->plan->wneg[l], w->s[0], w->s[1], w->s[2], np, P, N, rows,
                                 w->ar);
        } else if (l > 0 && rule == SL_RULE_SCALE) {
            pass_pn_pair(L, w->dpos[L->in[0]], w->dneg[L->in[0]], P, N, n, 0);
        } else if (l > 0 && w->rc[l]) {
            int p = L->in[0];
            sl_attr_revealcancel(L, w->ar->act[p], w->dpos[p], w->dneg[p], P, N, NULL, NULL, n);
        } else {
            delta(w, l, rows, w->s[0]);
            sl_nn_split_sign(w->s[0], P, N, n);
        }
    }
}

/* Linear rule: the producers' multipliers += the op's transpose applied to M. */
static void linear_backward(sl_attr_t *w, int l, int rows, const float *M)
{
    const sl_layer_t *L = &w->net->layers[l];
    for (int i = 0; i < L->n_in; i++) w->dx[i] = w->mult[L->in[i]];
    sl_layer_backward_linear(w->net, l, M, w->dx, rows, w->ar);
}

/* The taps of window t of max pool L inside its producer P: positions start + j·d,
 * j0 <= j <= j1; 0 for an empty window. */
static int pool_taps(const sl_layer_t *L, const sl_layer_t *P, int t, int *start, int *j0, int *j1)
{
    int d = L->dilation > 0 ? L->dilation : 1, s = t * L->stride - L->pad_left;
    int a = s < 0 ? (-s + d - 1) / d : 0, b = L->kernel - 1;
    if (s + b * d >= P->len) b = (P->len - 1 - s) / d;
    *start = s, *j0 = a, *j1 = b;
    return a <= b && s + a * d < P->len;
}

/* Lane-width-generic max-pool loops, defined for 4 lanes (SSE2) and 8 (AVX2, taken
 * when sl_nn_avx2()): VF/VI the lane types, ATTR the function's target. SEL: a where
 * mask m is set, else b, by bit operations. */
#define SEL(VI, m, a, b) ((__typeof__(a))(((m) & (VI)(a)) | (~(m) & (VI)(b))))

/* Window [start + j0·d, start + j1·d] of argmax below for channels c.. while whole
 * vectors fit; returns the channel reached. The running maxima stay in a register. */
#define POOL_ARGMAX_FN(NAME, VF, VI, ATTR)                                                           \
    ATTR static int NAME(const float *x, int C, int c, int start, int j0, int j1, int d, int *a)   \
    {                                                                                             \
        for (; c + (int)(sizeof(VF) / 4) <= C; c += (int)(sizeof(VF) / 4)) {                      \
            int q = start + j0 * d;                                                               \
            VI av = (VI){0} + q;                                                                  \
            VF bv;                                                                                \
            memcpy(&bv, x + (size_t)q * C + c, sizeof bv);                                        \
            for (int j = j0 + 1; j <= j1; j++) {                                                  \
                q = start + j * d;                                                                \
                VF xv;                                                                            \
                memcpy(&xv, x + (size_t)q * C + c, sizeof xv);                                    \
                VI gt = xv > bv; /* strict: the first maximum wins, NaN stays */                  \
                av = (gt & ((VI){0} + q)) | (~gt & av);                                           \
                bv = SEL(VI, gt, xv, bv);                                                         \
            }                                                                                     \
            memcpy(a + c, &av, sizeof av);                                                        \
        }                                                                                         \
        return c;                                                                                 \
    }
POOL_ARGMAX_FN(argmax_lanes4, sl_v4f, sl_v4i, )
POOL_ARGMAX_FN(argmax_lanes8, sl_v8f, sl_v8i, SL_NN_AVX2)

/* Argmax of every window of max pool L over one row x of its producer P, per output
 * element: arg[t][c] is the first position holding the maximum (-1: empty window).
 * Channels innermost, so the scan reads rows of x contiguously; 8 or 4 channels at a
 * time by mask (GCC -O2 leaves the branchy scalar loop unvectorised): the same
 * comparisons in the same order per channel. */
static void maxpool_argmax(const sl_layer_t *L, const sl_layer_t *P, const float *x, int *arg, int avx2)
{
    int C = L->ch, d = L->dilation > 0 ? L->dilation : 1;
    for (int t = 0; t < L->len; t++) {
        int start, j0, j1, *a = arg + (size_t)t * C, c = 0;
        if (!pool_taps(L, P, t, &start, &j0, &j1)) {
            for (; c < C; c++) a[c] = -1;
            continue;
        }
        if (avx2) c = argmax_lanes8(x, C, c, start, j0, j1, d, a);
        c = argmax_lanes4(x, C, c, start, j0, j1, d, a);
        for (; c < C; c++) {
            int q = start + j0 * d;
            float best = x[(size_t)q * C + c];
            a[c] = q;
            for (int j = j0 + 1; j <= j1; j++) {
                float v = x[(size_t)(start + j * d) * C + c];
                if (v > best) a[c] = start + j * d, best = v;
            }
        }
    }
}

/* Whether layer l's backward writes every element of each producer's multipliers
 * (the Rescale rule; add): a producer it writes first then needs no zeroing. */
static int writes_whole(const sl_attr_t *w, int l)
{
    const sl_layer_t *L = &w->net->layers[l];
    if (L->op == SL_OP_ADD || L->op == SL_OP_CROP) return 1; /* crop: zeroes the margins itself */
    return rule_of(w->net, l) == SL_RULE_NONLINEAR && !w->grad_mode && !w->rc[l];
}

/* add: every producer's multipliers += M, or = M where fresh (bit i: producer i's
 * first write; 0 + M as the zeroed buffer's sum gives, so -0 becomes +0 alike).
 * A producer listed twice is fresh only at its first listing. n: rows × size. */
static void add_backward(sl_attr_t *w, int l, size_t n, const float *M, unsigned fresh)
{
    const sl_layer_t *L = &w->net->layers[l];
    for (int i = 0; i < L->n_in; i++) {
        float *d = w->mult[L->in[i]];
        if (d == M) continue; /* the producer reads M itself (plan_alias) */
        sl_nn_add_to(d, M, n, !(i < 32 && (fresh >> i & 1u)));
    }
}

/* crop: the producer's multipliers += M on the kept slice; where fresh, the slice
 * = 0 + M and the margins 0 (as the zeroed buffer's sum gives), so the producer's
 * buffer is written once instead of zeroed and then added to. */
static void crop_backward(sl_attr_t *w, int l, int rows, const float *M, int fresh)
{
    const sl_layer_t *L = &w->net->layers[l];
    if (!fresh) {
        linear_backward(w, l, rows, M);
        return;
    }
    size_t C = (size_t)L->ch, in = (size_t)L->in_len * C, a = (size_t)L->crop_start * C, k = (size_t)L->len * C;
    for (int i = 0; i < rows; i++) {
        float *d = w->mult[L->in[0]] + (size_t)i * in;
        const float *m = M + (size_t)i * k;
        memset(d, 0, a * sizeof(float));
        sl_nn_add_to(d + a, m, k, 0);
        memset(d + a + k, 0, (in - a - k) * sizeof(float));
    }
}

/* Max-pool rules (which the caller derives from sl_maxpool_rule_t and grad_mode) */
enum { POOL_GRADIENT, POOL_SUMMATION, POOL_CROSS };

/* Windows of at most this many taps go 8 or 4 channels at a time (the select loops cost
 * O(taps) per block; a global pool's one wide window stays scalar) */
#define POOL_VEC_TAPS 8


/* Window t of the backward below for channels c.. while whole vectors fit (returns
 * the channel reached): the operands xi/xr at the lanes' argmaxes are picked by
 * comparing each tap's position with ax/ar (no gathers), the rule's values come from
 * the scalar code's float ops in its order, and each tap's element takes the one
 * contribution this window gives it by blend, so an untouched element is not even
 * added 0 (each element gets at most one per window in every rule: for cross, kg == kx
 * makes the two conditions exclusive). */
#define POOL_WINDOW_FN(NAME, VF, VI, ATTR)                                                           \
    ATTR static int NAME(int rule, int C, int c, int start, int j0, int j1, int d, const int *ax_t,  \
                         const int *ar_t, const float *mt, const float *xi, const float *xr, float *dst) \
    {                                                                                             \
        for (; c + (int)(sizeof(VF) / 4) <= C; c += (int)(sizeof(VF) / 4)) {                      \
            const VF zero = {0}, nz = zero + SL_ATTR_NEAR_ZERO;                                   \
            VI ax, ar;                                                                            \
            VF m, xix = zero, xrx = zero, xir = zero, xrr = zero;                                 \
            memcpy(&ax, ax_t + c, sizeof ax);                                                     \
            memcpy(&ar, ar_t + c, sizeof ar);                                                     \
            memcpy(&m, mt + c, sizeof m);                                                         \
            for (int j = j0; rule != POOL_GRADIENT && j <= j1; j++) { /* the gradient: no operands */ \
                int q = start + j * d;                                                            \
                VI ex = ax == q, er = ar == q;                                                    \
                VF vi, vr;                                                                        \
                memcpy(&vi, xi + (size_t)q * C + c, sizeof vi);                                   \
                memcpy(&vr, xr + (size_t)q * C + c, sizeof vr);                                   \
                xix = SEL(VI, ex, vi, xix), xrx = SEL(VI, ex, vr, xrx);                           \
                xir = SEL(VI, er, vi, xir), xrr = SEL(VI, er, vr, xrr);                           \
            }                                                                                     \
            /* per tap: the element of lanes cx at ax gets vx, of lanes cr at ar gets vr */       \
            VI cx = (VI){0} - 1, cr = {0};                                                        \
            VF vx = m, vr = m;                                                                    \
            if (rule == POOL_CROSS) {                                                             \
                VF dy = xix - xrr;                                                                \
                VI gx = xix >= xrr; /* kg == kx */                                                \
                VF dg = SEL(VI, gx, xix, xir) - SEL(VI, gx, xrx, xrr);                            \
                VI okg = (VF)((VI)dg & 0x7fffffff) >= nz;                                         \
                cx = (VF)((VI)(xix - xrx) & 0x7fffffff) < nz;                                     \
                vr = m * (dy / dg);                                                               \
                vx = SEL(VI, cx, m, vr); /* kx: m, or the kg share when kg == kx */               \
                cx |= gx & okg;                                                                   \
                cr = ~gx & okg;                                                                   \
            } else if (rule == POOL_SUMMATION) {                                                  \
                VI same = ax == ar;                                                               \
                VF da = xix - xrx, db = xir - xrr, dy = xix - xrr;                                \
                VF den = da - db;                                                                 \
                VF lam = SEL(VI, (VF)((VI)den & 0x7fffffff) < nz, zero + 0.5f, (dy - db) / den);  \
                vx = SEL(VI, same, m, lam * m);                                                   \
                vr = ((zero + 1.0f) - lam) * m;                                                   \
                cr = ~same;                                                                       \
            }                                                                                     \
            for (int j = j0; j <= j1; j++) {                                                      \
                int q = start + j * d;                                                            \
                VI hx = cx & (ax == q), hr = cr & (ar == q);                                      \
                VF o;                                                                             \
                memcpy(&o, dst + (size_t)q * C + c, sizeof o);                                    \
                o = SEL(VI, hx, o + vx, SEL(VI, hr, o + vr, o));                                  \
                memcpy(dst + (size_t)q * C + c, &o, sizeof o);                                    \
            }                                                                                     \
        }                                                                                         \
        return c;                                                                                 \
    }
POOL_WINDOW_FN(maxpool_window4, sl_v4f, sl_v4i, )
POOL_WINDOW_FN(maxpool_window8, sl_v8f, sl_v8i, SL_NN_AVX2)

/* Max pools: route the multiplier of each output to its input(s). The input side's
 * argmaxes are found once per sequence (rows of a sequence are consecutive). */
static void maxpool_backward(sl_attr_t *w, int l, int rows, const float *M)
{
    const sl_net_t *net = w->net;
    const sl_layer_t *L = &net->layers[l];
    int p = L->in[0];
    const sl_layer_t *P = &net->layers[p];
    size_t szp = sl_layer_size(P), sz = sl_layer_size(L);
    int C = L->ch, d = L->dilation > 0 ? L->dilation : 1;
    int rule = POOL_GRADIENT; /* a new rule must be handled here (no default) */
    switch (w->o.maxpool) {
    case SL_MAXPOOL_SUMMATION: rule = w->grad_mode ? POOL_GRADIENT : POOL_SUMMATION; break;
    case SL_MAXPOOL_CROSS: rule = w->grad_mode ? POOL_GRADIENT : POOL_CROSS; break;
    case SL_MAXPOOL_GRADIENT: break;
    }
    int *argx = w->pool_arg, *argr = w->pool_arg + w->max_size, seq = -1, avx2 = sl_nn_avx2();
    for (int i = 0; i < rows; i++) {
        const float *xr = w->ar->act[p] + (size_t)i * szp;
        const float *xi = w->grad_mode ? xr : xact(w, p, i);
        const float *mo = M + (size_t)i * sz;
        float *dst = w->mult[p] + (size_t)i * szp;
        if (w->grad_mode) {
            maxpool_argmax(L, P, xr, argx, avx2);
            argr = argx;
        } else {
            if (w->row_seq[i] != seq) maxpool_argmax(L, P, xi, argx, avx2), seq = w->row_seq[i];
            maxpool_argmax(L, P, xr, argr, avx2);
        }
        for (int t = 0; t < L->len; t++) {
            const int *ax_t = argx + (size_t)t * C, *ar_t = argr + (size_t)t * C;
            const float *mt = mo + (size_t)t * C;
            int start, j0, j1, c = 0;
            if (!pool_taps(L, P, t, &start, &j0, &j1)) continue; /* empty window */
            if (j1 - j0 < POOL_VEC_TAPS) {
                if (avx2) c = maxpool_window8(rule, C, c, start, j0, j1, d, ax_t, ar_t, mt, xi, xr, dst);
                c = maxpool_window4(rule, C, c, start, j0, j1, d, ax_t, ar_t, mt, xi, xr, dst);
            }
            for (; c < C; c++) {
                int ax = ax_t[c], ar = ar_t[c];
                float m = mt[c];
                size_t kx = (size_t)ax * C + c, kr = (size_t)ar * C + c;
                if (rule == POOL_CROSS) {
                    /* the peers' rule (shap _deep/deep_pytorch.py maxpool, tangermeme
                     * deep_lift_shap.py): Δy to ax or ar, divided by Δx there; positions
                     * with |Δx| below the threshold take the gradient (ax's share m).
                     * Linear per window, so overlapping windows simply add up. */
                    float dy = xi[kx] - xr[kr];
                    size_t kg = xi[kx] >= xr[kr] ? kx : kr;
                    float dg = xi[kg] - xr[kg];
                    if (fabsf(xi[kx] - xr[kx]) < SL_ATTR_NEAR_ZERO) dst[kx] += m;
                    if (fabsf(dg) >= SL_ATTR_NEAR_ZERO) dst[kg] += m * (dy / dg);
                    continue;
                }
                if (rule == POOL_GRADIENT || ax == ar) {
                    dst[kx] += m;
                    continue;
                }
                /* Δy = x[ax] − r[ar] lies between Δ[ar] and Δ[ax]: split m so that
                 * λΔ[ax] + (1−λ)Δ[ar] = Δy exactly */
                float da = xi[kx] - xr[kx], db = xi[kr] - xr[kr], dy = xi[kx] - xr[kr];
                float den = da - db, lam = fabsf(den) < SL_ATTR_NEAR_ZERO ? 0.5f : (dy - db) / den;
                dst[kx] += lam * m;
                dst[kr] += (1.0f - lam) * m;
            }
        }
    }
}

/* Forward pass of `rows` rows into a; a non-finite target value (log of a value <= 0,
 * exp overflowing) is an error naming the first layer that produced one, so no NaN
 * scores come out silently. `what` names the rows in the message. Scans only the
 * target layers, and the others only once something is wrong. */
static int forward_checked(sl_attr_t *w, sl_acts_t *a, const float *x, int rows, const char *what)
{
    const sl_net_t *net = w->net;
    if (sl_net_forward(net, a, x, rows) < 0) return -1;
    for (int t = 0; t < w->nt; t++) {
        int tl = w->tg[t].layer;
        size_t sz = sl_layer_size(&net->layers[tl]);
        for (size_t j = 0; j < (size_t)rows * sz; j++) {
            if (isfinite(a->act[tl][j])) continue;
            /* that row again with every layer kept (rows are independent; the error
             * path is the one place that allocates): the first layer before the
             * target with a non-finite value */
            int row = (int)(j / sz), l = 1;
            sl_acts_t *full = sl_acts_create(net, 1);
            if (full && sl_net_forward(net, full, x + (size_t)row * w->len * 4, 1) == 0)
                for (; l < tl; l++) {
                    const float *v = full->act[l];
                    size_t k = 0, n = sl_layer_size(&net->layers[l]);
                    while (k < n && isfinite(v[k])) k++;
                    if (w->anc[(size_t)t * net->n_layers + l] && k < n) break;
                }
            else
                l = tl;
            sl_acts_destroy(full);
            sl_log_error("%s: layer '%s' (%s) gives a non-finite value on %s (target '%s')",
                         net->path ? net->path : "model", net->layers[l].name, sl_op_name(net->layers[l].op), what,
                         w->tg[t].label);
            return -1;
        }
    }
    return 0;
}

/* Backward from target t over `rows` rows; the input multipliers end in w->s[0]
 * ([rows][len][4]). Target weights w->g per sequence must be set. */
static void backward(sl_attr_t *w, int t, int rows)
{
    const sl_net_t *net = w->net;
    const char *anc = w->anc + (size_t)t * net->n_layers;
    int tl = w->tg[t].layer;
    memset(w->started, 0, (size_t)net->n_layers);
    w->started[tl] = 1;
    if (w->mpx[tl]) {
        size_t n = (size_t)rows * sl_layer_size(&net->layers[tl]) * sizeof(float);
        memset(w->mpx[tl], 0, n);
        memset(w->mnx[tl], 0, n);
    }
    size_t tsz = sl_layer_size(&net->layers[tl]);
    for (int i = 0; i < rows; i++)
        memcpy(w->mult[tl] + (size_t)i * tsz, tweights(w, t, w->row_seq[i]), tsz * sizeof(float));

    for (int l = tl; l >= 0; l--) {
        if (!anc[l]) continue;
        const sl_layer_t *L = &net->layers[l];
        size_t sz = sl_layer_size(L), n = (size_t)rows * sz;
        float *M = w->mult[l], *Pm = M, *Nm = M;
        sl_op_rule_t rule = rule_of(net, l);
        unsigned fresh = 0; /* producers whose mult buffer l writes first, in full: no zeroing */
        for (int i = 0; l > 0 && i < L->n_in; i++) { /* a producer's buffer is zeroed at its first write */
            int p = L->in[i];
            if (w->started[p]) continue;
            if (w->plan->alias[p] >= 0) { /* a's buffer: nothing to write */
                w->started[p] = 1;
                continue;
            }
            size_t np = (size_t)rows * sl_layer_size(&net->layers[p]) * sizeof(float);
            if (i < 32 && writes_whole(w, l)) fresh |= 1u << i;
            else memset(w->mult[p], 0, np);
            if (w->mpx[p]) {
                memset(w->mpx[p], 0, np);
                memset(w->mnx[p], 0, np);
            }
            w->started[p] = 1;
        }
        int pair = w->pn[l] && w->mpx[l];
        if (pair) {
            sl_nn_add_to(w->mpx[l], M, n, 1);
            sl_nn_add_to(w->mnx[l], M, n, 1);
            Pm = w->mpx[l];
            Nm = w->mnx[l];
            int keeps_pair = l > 0 && (rule == SL_RULE_SPLIT || rule == SL_RULE_SCALE || w->rc[l]);
            if (!keeps_pair) {
                delta(w, l, rows, w->s[1]);
                select_by_sign(w->s[1], Pm, Nm, M, n);
                Pm = Nm = M;
            }
        }
        if (l == 0) {
            memcpy(w->s[0], M, n * sizeof(float));
            return;
        }
        int p = L->in[0];
        size_t szp = sl_layer_size(&net->layers[p]), np = (size_t)rows * szp;
        switch (rule) {
        case SL_RULE_INPUT: break; /* l == 0 returned above */
        case SL_RULE_SPLIT:
            if (Pm != Nm) {
                const float *wp = w->plan->wpos[l], *wn = w->plan->wneg[l];
                float *A = w->s[0], *B = w->s[1], *d = w->s[2];
                memset(A, 0, np * sizeof(float));
                memset(B, 0, np * sizeof(float));
                sl_linear_backward2(L, wp, Pm, A, Nm, B, rows, w->ar); /* A = W⁺ᵀm⁺ + W⁻ᵀm⁻, B = W⁺ᵀm⁻ + W⁻ᵀm⁺ */
                sl_linear_backward2(L, wn, Nm, A, Pm, B, rows, w->ar);
                delta(w, p, rows, d);
                select_by_sign(d, A, B, A, np);
                sl_nn_add_to(w->mult[p], A, np, 1);
                break;
            }
            linear_backward(w, l, rows, M);
            break;
        case SL_RULE_SCALE:
            if (Pm != Nm) pass_pn_pair(L, Pm, Nm, w->mpx[p], w->mnx[p], n, 1);
            else linear_backward(w, l, rows, M);
            break;
        case SL_RULE_LINEAR:
            if (L->op == SL_OP_ADD) add_backward(w, l, n, M, fresh);
            else if (L->op == SL_OP_CROP) crop_backward(w, l, rows, M, fresh & 1u);
            else linear_backward(w, l, rows, M);
            break;
        case SL_RULE_NONLINEAR: {
            float *s = w->s[0];
            if (w->grad_mode) {
                sl_elementwise_grad(L, w->ar->act[p], s, n);
                axpy_mul(w->mult[p], s, M, n);
            } else if (w->rc[l]) {
                float *s2 = w->s[1];
                sl_attr_revealcancel(L, w->ar->act[p], w->dpos[p], w->dneg[p], NULL, NULL, s, s2, n);
                axpy_mul(w->mpx[p], s, Pm, n);
                axpy_mul(w->mnx[p], s2, Nm, n);
            } else {
                int out = w->plan->keep[l]; /* else not read */
                for (int i = 0; i < rows; i++)
                    sl_attr_rescale_acc(L, xact(w, p, i), w->ar->act[p] + (size_t)i * sz, out ? xact(w, l, i) : NULL,
                                        out ? w->ar->act[l] + (size_t)i * sz : NULL, M + (size_t)i * sz,
                                        w->mult[p] + (size_t)i * sz, sz, !fresh);
            }
            break;
        }
        case SL_RULE_MAXPOOL: maxpool_backward(w, l, rows, M); break;
        case SL_RULE_NONE: break; /* refused by sl_attr_plan_create */
        }
    }
}

static double dot_g(const float *g, const float *a, size_t n)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) s += (double)g[j] * a[j];
    return s;
}

/* target weights for every sequence of the batch, and the target on the inputs */
static void target_setup(sl_attr_t *w, int t, int n_seqs, sl_attr_out_t *out)
{
    const sl_target_t *T = &w->tg[t];
    size_t sz = sl_layer_size(&w->net->layers[T->layer]);
    for (int s = 0; s < n_seqs; s++) {
        const float *a = w->ax->act[T->layer] + (size_t)s * sz;
        float *g = w->g + ((size_t)t * w->o.batch + (size_t)s) * w->gsz;
        sl_target_weights(w->net, T, a, g);
        out[s].out_x[t] = dot_g(g, a, sz);
    }
}

static double target_row(const sl_attr_t *w, int t, int row)
{
    int tl = w->tg[t].layer;
    size_t sz = sl_layer_size(&w->net->layers[tl]);
    return dot_g(tweights(w, t, w->row_seq[row]), w->ar->act[tl] + (size_t)row * sz, sz);
}

/* Relative summation-to-delta error of a region: |Σ contributions − Δ̄| over the
 * larger of |Δ̄| and the mean |Δ| over the references (Δ̄ alone can cancel to ~0). */
static double rel_err(double sum, double dmean, double dabs)
{
    return fabs(sum - dmean) / fmax(fmax(fabs(dmean), dabs), 1e-6);
}

/* Projected contributions c = hyp × one-hot (tangermeme's and chrombpnet's
 * projected scores): the observed base's share; N positions get 0. */
static void project(const float *h, const float *xs, int len, float *c)
{
    for (size_t j = 0; j < (size_t)len * 4; j++) c[j] = h[j] * xs[j];
}

static int is_n(const float *xp) { return xp[0] == 0 && xp[1] == 0 && xp[2] == 0 && xp[3] == 0; }

/* From multipliers m [n_seqs*K][len][4] of (sequence, reference) pairs: hypothetical
 * and projected contributions, sums (the N positions' part apart) and the
 * summation-to-delta error of Σ m·Δx over every base. */
static void combine(sl_attr_t *w, int t, int n_seqs, const float *x, const float *refs, int K,
                    const float *m, sl_attr_out_t *out)
{
    size_t L4 = (size_t)w->len * 4;
    for (int s = 0; s < n_seqs; s++) {
        float *c = out[s].contrib + (size_t)t * L4, *h = out[s].hyp + (size_t)t * L4;
        const float *xs = x + (size_t)s * L4;
        memset(h, 0, L4 * sizeof(float));
        double mref = 0, tot = 0, dabs = 0, npart = 0;
        for (int k = 0; k < K; k++) {
            const float *r = refs + ((size_t)s * K + k) * L4, *mk = m + ((size_t)s * K + k) * L4;
            double sk = 0, nk = 0;
            for (int p = 0; p < w->len; p++) {
                const float *xp = xs + 4 * p, *rp = r + 4 * p, *mp = mk + 4 * p;
                double v = 0;
                for (int b = 0; b < 4; b++) v += (double)((xp[b] - rp[b]) * mp[b]);
                sk += v;
                if (is_n(xp)) nk += v;
            }
            sl_attr_hyp_accumulate(mk, r, w->len, 1.0f / (float)K, h);
            double tr = trefs(w, t)[s * K + k];
            dabs += fabs(out[s].out_x[t] - tr) / K;
            mref += tr / K;
            tot += sk / K;
            npart += nk / K;
        }
        project(h, xs, w->len, c);
        out[s].out_ref[t] = mref;
        out[s].sum[t] = tot - npart;
        out[s].n_part[t] = npart;
        out[s].err[t] = rel_err(tot, out[s].out_x[t] - mref, dabs);
        w->dabs[(size_t)t * w->o.batch + s] = dabs;
        out[s].n_refs = K;
    }
}

/* The references go through in chunks of max_rows: forward, Δ⁺/Δ⁻, every target's
 * backward; the input multipliers are collected in macc and combined at the end. */
static int run_deeplift(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int K,
                        sl_attr_out_t *out)
{
    size_t L4 = (size_t)w->len * 4, BK = (size_t)w->o.batch * w->o.max_refs;
    int pairs = n_seqs * K;
    for (int t = 0; t < w->nt; t++) target_setup(w, t, n_seqs, out);
    for (int i0 = 0; i0 < pairs; i0 += w->max_rows) {
        int rows = pairs - i0 < w->max_rows ? pairs - i0 : w->max_rows;
        for (int i = 0; i < rows; i++) w->row_seq[i] = (i0 + i) / K;
        if (forward_checked(w, w->ar, refs + (size_t)i0 * L4, rows, "a reference") < 0) return -1;
        forward_pn(w, rows);
        for (int t = 0; t < w->nt; t++) {
            for (int i = 0; i < rows; i++) trefs(w, t)[i0 + i] = target_row(w, t, i);
            backward(w, t, rows);
            memcpy(w->macc + ((size_t)t * BK + (size_t)i0) * L4, w->s[0], (size_t)rows * L4 * sizeof(float));
        }
    }
    for (int t = 0; t < w->nt; t++) combine(w, t, n_seqs, x, refs, K, w->macc + (size_t)t * BK * L4, out);
    return 0;
}

static int run_gradient(sl_attr_t *w, int n_seqs, const float *x, sl_attr_out_t *out)
{
    size_t L4 = (size_t)w->len * 4;
    for (int i = 0; i < n_seqs; i++) w->row_seq[i] = i;
    if (forward_checked(w, w->ar, x, n_seqs, "the input") < 0) return -1;
    for (int t = 0; t < w->nt; t++) {
        target_setup(w, t, n_seqs, out);
        backward(w, t, n_seqs);
        for (int s = 0; s < n_seqs; s++) {
            const float *m = w->s[0] + (size_t)s * L4, *xs = x + (size_t)s * L4;
            float *c = out[s].contrib + (size_t)t * L4, *h = out[s].hyp + (size_t)t * L4;
            double tot = 0;
            for (size_t j = 0; j < L4; j++) {
                c[j] = w->o.method == SL_METHOD_GRAD_INPUT ? m[j] * xs[j] : m[j];
                h[j] = m[j];
                tot += c[j];
            }
            out[s].out_ref[t] = NAN;
            out[s].sum[t] = tot;
            out[s].n_part[t] = NAN;
            out[s].err[t] = NAN;
            out[s].n_refs = 0;
        }
    }
    return 0;
}

static int run_ig(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int K,
                  sl_attr_out_t *out)
{
    size_t L4 = (size_t)w->len * 4, BK = (size_t)w->o.batch * w->o.max_refs;
    int steps = w->o.ig_steps, pairs = n_seqs * K;
    int64_t total = (int64_t)pairs * steps;
    for (int t = 0; t < w->nt; t++) target_setup(w, t, n_seqs, out);
    /* the targets on the references, in chunks of max_rows */
    for (int i0 = 0; i0 < pairs; i0 += w->max_rows) {
        int rows = pairs - i0 < w->max_rows ? pairs - i0 : w->max_rows;
        for (int i = 0; i < rows; i++) w->row_seq[i] = (i0 + i) / K;
        if (forward_checked(w, w->ar, refs + (size_t)i0 * L4, rows, "a reference") < 0) return -1;
        for (int t = 0; t < w->nt; t++)
            for (int i = 0; i < rows; i++) trefs(w, t)[i0 + i] = target_row(w, t, i);
    }
    /* each chunk of path points goes forward once; every target's backward reads it */
    memset(w->macc, 0, (size_t)w->nt * BK * L4 * sizeof(float));
    for (int64_t g0 = 0; g0 < total; g0 += w->max_rows) {
        int rows = total - g0 < w->max_rows ? (int)(total - g0) : w->max_rows;
        for (int i = 0; i < rows; i++) {
            int64_t gi = g0 + i, pair = gi / steps;
            int j = (int)(gi % steps), s = (int)(pair / K);
            float a = w->plan->ig_alpha[j];
            const float *r = refs + (size_t)pair * L4, *xs = x + (size_t)s * L4;
            float *o = w->xin + (size_t)i * L4;
            for (size_t q = 0; q < L4; q++) o[q] = r[q] + a * (xs[q] - r[q]);
            w->row_seq[i] = s;
        }
        if (forward_checked(w, w->ar, w->xin, rows, "a point of the integration path") < 0) return -1;
        for (int t = 0; t < w->nt; t++) {
            backward(w, t, rows);
            for (int i = 0; i < rows; i++) {
                float *acc = w->macc + ((size_t)t * BK + (size_t)((g0 + i) / steps)) * L4;
                const float *m = w->s[0] + (size_t)i * L4;
                float wt = w->plan->ig_weight[(g0 + i) % steps];
                for (size_t q = 0; q < L4; q++) acc[q] += m[q] * wt;
            }
        }
    }
    for (int t = 0; t < w->nt; t++) combine(w, t, n_seqs, x, refs, K, w->macc + (size_t)t * BK * L4, out);
    return 0;
}

static int run_ism(sl_attr_t *w, int n_seqs, const float *x, sl_attr_out_t *out)
{
    size_t L4 = (size_t)w->len * 4;
    for (int t = 0; t < w->nt; t++) target_setup(w, t, n_seqs, out);
    for (int s = 0; s < n_seqs; s++) {
        const float *xs = x + (size_t)s * L4;
        for (int t = 0; t < w->nt; t++) memset(out[s].hyp + (size_t)t * L4, 0, L4 * sizeof(float));
        /* every (position, base) that differs from the input: one forward pass each */
        int64_t q = 0, nq = (int64_t)L4;
        while (q < nq) {
            int rows = 0;
            int64_t idx[256];
            while (q < nq && rows < w->max_rows && rows < 256) {
                if (xs[q] != 1.0f) {
                    float *o = w->xin + (size_t)rows * L4;
                    memcpy(o, xs, L4 * sizeof(float));
                    size_t pbase = (size_t)(q / 4) * 4;
                    for (int b = 0; b < 4; b++) o[pbase + b] = 0.0f;
                    o[q] = 1.0f;
                    w->row_seq[rows] = s;
                    idx[rows++] = q;
                }
                q++;
            }
            if (rows == 0) break;
            if (forward_checked(w, w->ar, w->xin, rows, "a mutated sequence") < 0) return -1;
            for (int t = 0; t < w->nt; t++)
                for (int i = 0; i < rows; i++)
                    out[s].hyp[(size_t)t * L4 + (size_t)idx[i]] = (float)(target_row(w, t, i) - out[s].out_x[t]);
        }
        for (int t = 0; t < w->nt; t++) {
            float *h = out[s].hyp + (size_t)t * L4, *c = out[s].contrib + (size_t)t * L4;
            double tot = 0;
            for (int p = 0; p < w->len; p++) {
                float mean = 0.25f * (h[4 * p] + h[4 * p + 1] + h[4 * p + 2] + h[4 * p + 3]);
                for (int b = 0; b < 4; b++) h[4 * p + b] -= mean;
            }
            project(h, xs, w->len, c); /* tangermeme's projection: the observed base's change */
            for (size_t j = 0; j < L4; j++) tot += c[j];
            out[s].out_ref[t] = NAN;
            out[s].sum[t] = tot;
            out[s].n_part[t] = NAN;
            out[s].err[t] = NAN;
            out[s].n_refs = 0;
        }
    }
    return 0;
}

/* One strand of sl_attr_run. */
static int run_strand(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int n_refs, sl_attr_out_t *out)
{
    if (forward_checked(w, w->ax, x, n_seqs, "the input") < 0) return -1;
    switch (w->o.method) {
    case SL_METHOD_GENOMICS:
    case SL_METHOD_RESCALE:
    case SL_METHOD_REVEALCANCEL:
        return run_deeplift(w, n_seqs, x, refs, n_refs, out);
    case SL_METHOD_GRADIENT:
    case SL_METHOD_GRAD_INPUT:
        return run_gradient(w, n_seqs, x, out);
    case SL_METHOD_IG:
        return run_ig(w, n_seqs, x, refs, n_refs, out);
    case SL_METHOD_ISM:
        return run_ism(w, n_seqs, x, out);
    }
    return -1;
}

/* Reverse complement of n blocks [len][4] (ACGT): o[p][b] = a[len−1−p][3−b]; applied
 * to scores of the reverse complement it maps them back onto the forward bases. */
static void revcomp(const float *a, float *o, int len, size_t n)
{
    for (size_t k = 0; k < n; k++, a += (size_t)len * 4, o += (size_t)len * 4)
        for (int p = 0; p < len; p++)
            for (int b = 0; b < 4; b++) o[4 * (size_t)p + b] = a[4 * (size_t)(len - 1 - p) + 3 - b];
}

static void mean_rc(float *f, const float *r, int len)
{
    for (int p = 0; p < len; p++)
        for (int b = 0; b < 4; b++) f[4 * p + b] = 0.5f * (f[4 * p + b] + r[4 * (len - 1 - p) + 3 - b]);
}

/* rc_average: the reverse strand's results averaged into out. */
static int run_rc_average(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int n_refs,
                          sl_attr_out_t *out)
{
    int K = sl_method_uses_refs(w->o.method) ? n_refs : 0;
    size_t L4 = (size_t)w->len * 4, nt = (size_t)w->nt, nd = nt * (size_t)w->o.batch;
    double *fwd = w->dabs + nd; /* the forward strand's, kept across the reverse run */
    memcpy(fwd, w->dabs, nd * sizeof(double));
    revcomp(x, w->xrc, w->len, (size_t)n_seqs);
    if (K) revcomp(refs, w->rrc, w->len, (size_t)n_seqs * K);
    if (run_strand(w, n_seqs, w->xrc, K ? w->rrc : NULL, n_refs, w->orc) < 0) return -1;
    for (int s = 0; s < n_seqs; s++) {
        sl_attr_out_t *o = &out[s];
        const sl_attr_out_t *r = &w->orc[s];
        for (size_t t = 0; t < nt; t++) {
            mean_rc(o->contrib + t * L4, r->contrib + t * L4, w->len);
            mean_rc(o->hyp + t * L4, r->hyp + t * L4, w->len);
            o->out_x[t] = 0.5 * (o->out_x[t] + r->out_x[t]);
            o->out_ref[t] = 0.5 * (o->out_ref[t] + r->out_ref[t]);
            o->sum[t] = 0.5 * (o->sum[t] + r->sum[t]);
            o->n_part[t] = 0.5 * (o->n_part[t] + r->n_part[t]);
            if (!isnan(o->err[t])) /* summation-to-delta of the means */
                o->err[t] = rel_err(o->sum[t] + o->n_part[t], o->out_x[t] - o->out_ref[t],
                                    0.5 * (fwd[t * (size_t)w->o.batch + s] + w->dabs[t * (size_t)w->o.batch + s]));
        }
    }
    return 0;
}

int sl_attr_run(sl_attr_t *w, int n_seqs, const float *x, const float *refs, int n_refs,
                sl_attr_out_t *out)
{
    sl_method_t m = w->o.method;
    if (n_seqs < 1 || n_seqs > w->batch) {
        sl_log_error("attribution: %d sequences in a batch planned for %d", n_seqs, w->batch);
        return -1;
    }
    if (sl_method_uses_refs(m) && (n_refs < 1 || n_refs > w->o.max_refs || !refs)) {
        sl_log_error("attribution: %d references per sequence, the workspace is planned for 1..%d", n_refs,
                     w->o.max_refs);
        return -1;
    }
    for (int s = 0; s < n_seqs; s++)
        if (out[s].n_targets != w->nt || out[s].len != w->len) {
            sl_log_error("attribution: result buffers sized for %d targets x %d bases, need %d x %d",
                         out[s].n_targets, out[s].len, w->nt, w->len);
            return -1;
        }
    size_t L4 = (size_t)w->len * 4, nr = sl_method_uses_refs(m) ? (size_t)n_refs : 0;
    for (int s = 0; s < n_seqs; s++) { /* one by one: rows are independent, memory stays flat */
        const float *xs = x + (size_t)s * L4, *rs = nr ? refs + (size_t)s * nr * L4 : NULL;
        if (run_strand(w, 1, xs, rs, n_refs, out + s) < 0) return -1;
        if (w->o.rc_average && run_rc_average(w, 1, xs, rs, n_refs, out + s) < 0) return -1;
    }
    return 0;
}
