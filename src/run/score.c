/* score.c — a scoring run (see score.h): inputs, references, the worker pipeline and
 * the all-or-nothing commit of the sinks. Moved out of the CLI so that any program
 * can run a scoring job; `seqlift score` only parses options into sl_score_opts_t. */
#include "seqlift/score.h"

#include <stdlib.h>
#include <string.h>

#include "seqlift/keras.h"
#include "seqlift/pipeline.h"
#include "seqlift/reference.h"
#include "seqlift/util.h"

#include "run/run_priv.h"

#define MAX_SINKS 16

void sl_score_opts_default(sl_score_opts_t *o)
{
    memset(o, 0, sizeof *o);
    sl_attr_opts_default(&o->ao);
    o->edge = SL_EDGE_PAD;
    o->seed = SL_REF_DEFAULT_SEED;
    o->threads = 1;
    sl_track_opts_init(&o->out.track);
    sl_report_opts_default(&o->out.ro);
    o->out.ro.order = SL_REPORT_ORDER_PREDICTION;
}

typedef struct {
    sl_attr_t *attr;
    sl_genome_t *g;      /* own handle: faidx is not thread-safe */
    char *seq;
    float *refs;         /* [batch][n_refs][len][4] */
    sl_ref_ws_t *ws;     /* reference scratch, reused across regions */
} worker_t;

typedef struct {
    float *x;            /* [batch][len][4] */
    sl_attr_out_t *out;  /* [batch] */
} slot_t;

typedef struct {
    sl_score_info_t in;
    sl_refspec_t *rs;
    const int64_t *order; /* processing order (genome order for tracks), NULL = input order */
    int64_t n_proc;       /* regions processed: all, or a shard's (with its halo for tracks) */
    sl_shard_t shard;
    int batch, n_workers, n_slots;
    worker_t *w;
    slot_t *slot;
    sl_sink_t sinks[MAX_SINKS];
    int ns;
    sl_attr_plan_t *plan;   /* built once, shared read-only by the workers */
    sl_run_progress_t prog;
} run_t;

static int64_t region_at(const run_t *r, int64_t k) { return r->order ? r->order[k] : k; }

static int work(void *ud, int wi, int64_t b, int si)
{
    run_t *r = ud;
    const sl_score_info_t *c = &r->in;
    worker_t *w = &r->w[wi];
    slot_t *s = &r->slot[si];
    size_t L4 = (size_t)c->len * 4;
    int64_t first = b * r->batch, count = r->n_proc - first < r->batch ? r->n_proc - first : r->batch;
    for (int64_t k = 0; k < count; k++) {
        int64_t i = region_at(r, first + k);
        const sl_region_t *reg = &c->rl->r[i];
        float *x = s->x + (size_t)k * L4;
        if (sl_regions_load(c->rl, i, w->g, w->seq, x) < 0) return -1;
        if (c->n_refs > 0) {
            char label[256];
            if (reg->chrom)
                snprintf(label, sizeof label, "%s:%lld-%lld", reg->chrom, (long long)reg->start, (long long)reg->end);
            else snprintf(label, sizeof label, "%s", reg->name ? reg->name : "record");
            if (sl_ref_generate(r->rs, x, c->len, sl_region_seed(c->opts->seed, reg), reg->index, label,
                                w->refs + (size_t)k * c->n_refs * L4, w->ws) < 0)
                return -1;
        }
    }
    return sl_attr_run(w->attr, (int)count, s->x, c->n_refs ? w->refs : NULL, c->n_refs, s->out);
}

static int emit(void *ud, int64_t b, int si)
{
    run_t *r = ud;
    const sl_score_info_t *c = &r->in;
    slot_t *s = &r->slot[si];
    size_t L4 = (size_t)c->len * 4;
    int64_t first = b * r->batch, count = r->n_proc - first < r->batch ? r->n_proc - first : r->batch;
    for (int64_t k = 0; k < count; k++) {
        int64_t i = region_at(r, first + k);
        /* a shard's halo region is only for the tracks (the genome-order sinks) */
        int halo = c->shard && c->shard->row[i] < 0;
        for (int j = 0; j < r->ns; j++)
            if ((!halo || r->sinks[j].ops->genome_order) &&
                r->sinks[j].ops->region(&r->sinks[j], c, i, s->x + (size_t)k * L4, &s->out[k]) < 0)
                return -1;
    }
    sl_run_progress_add(&r->prog, count);
    return 0;
}

/* Regions, references (with the background-fit pass over every input when the spec
 * needs it). 0 / -1 (reported). */
static int load_inputs(run_t *r, const sl_score_opts_t *o)
{
    sl_score_info_t *c = &r->in;
    sl_genome_t *g0 = NULL;
    int ret = -1;
    sl_regions_t *rl;
    if (c->bed_mode) {
        sl_region_opts_t ropts = {c->len, 0, o->edge};
        if (!(g0 = sl_genome_open(o->fasta))) return -1;
        rl = sl_regions_read_bed(o->bed, g0, &ropts);
    } else {
        rl = sl_regions_read_fasta(o->seqs, c->len);
    }
    if (!(c->rl = rl)) goto done;
    if (sl_method_uses_refs(o->ao.method)) {
        if (!(r->rs = sl_refspec_parse(o->refs))) goto done;
        c->n_refs = sl_refspec_n(r->rs);
        if (sl_refspec_needs_fit(r->rs)) { /* background frequencies from every input */
            char *seq = sl_malloc((size_t)c->len, "sequence");
            float *x = sl_malloc((size_t)c->len * 4 * sizeof(float), "one-hot");
            int bad = !seq || !x;
            for (int64_t i = 0; i < rl->n && !bad; i++)
                bad = sl_regions_load(rl, i, g0, seq, x) < 0 || sl_refspec_observe(r->rs, x, c->len) < 0;
            free(seq);
            free(x);
            if (bad) goto done;
        }
        if (sl_refspec_finalize(r->rs, rl->n) < 0) goto done;
    }
    ret = 0;
done:
    sl_genome_close(g0);
    return ret;
}

/* Two targets with one label, or two outputs whose files (named by the one rule, e.g.
 * targets "a:0" and "a_0") coincide, would write one file twice. 0 / -2 (reported) /
 * -1 (no memory). */
static int check_outputs(const run_t *r)
{
    const sl_score_info_t *c = &r->in;
    for (int a = 0; a < c->nt; a++)
        for (int b = a + 1; b < c->nt; b++)
            if (strcmp(c->tg[a].label, c->tg[b].label) == 0) {
                sl_log_error("target '%s' is given twice", c->tg[a].label);
                return -2;
            }
    int n = 0, ret = 0, max = 4 * c->nt + 8;
    char **p = sl_calloc((size_t)max * r->ns, sizeof *p, "output paths");
    if (!p) return -1;
    for (int j = 0; j < r->ns && ret == 0; j++) {
        int k = r->sinks[j].ops->paths(c, p + n, max);
        if (k < 0) ret = -1;
        else n += k;
    }
    for (int a = 0; a < n && ret == 0; a++)
        for (int b = a + 1; b < n && ret == 0; b++)
            if (p[a] && p[b] && strcmp(p[a], p[b]) == 0) {
                sl_log_error("two outputs are written to '%s': give each its own file", p[a]);
                ret = -2;
            }
    for (int a = 0; a < max * r->ns; a++) free(p[a]);
    free(p);
    return ret;
}

static int setup_workers(run_t *r, const sl_score_opts_t *o)
{
    const sl_score_info_t *c = &r->in;
    size_t L4 = (size_t)c->len * 4;
    sl_attr_opts_t ao = o->ao;
    ao.max_refs = c->n_refs > 0 ? c->n_refs : 1;
    ao.batch = r->batch;
    ao.threads = r->n_workers;
    if (!(r->w = sl_calloc((size_t)r->n_workers, sizeof *r->w, "workers")) ||
        !(r->slot = sl_calloc((size_t)r->n_slots, sizeof *r->slot, "result slots")))
        return -1;
    if (!(r->plan = sl_attr_plan_create(c->net, c->tg, c->nt, &ao))) return -1;
    for (int t = 0; t < r->n_workers; t++) {
        worker_t *w = &r->w[t];
        if (!(w->attr = sl_attr_create(r->plan))) return -1;
        if (c->bed_mode && !(w->g = sl_genome_open(o->fasta))) return -1;
        w->seq = sl_malloc((size_t)c->len, "sequence");
        w->refs = sl_malloc((size_t)r->batch * (c->n_refs > 0 ? c->n_refs : 1) * L4 * sizeof(float), "references");
        w->ws = sl_ref_ws_create();
        if (!w->seq || !w->refs || !w->ws) return -1;
    }
    for (int s = 0; s < r->n_slots; s++) {
        slot_t *sl = &r->slot[s];
        sl->x = sl_malloc((size_t)r->batch * L4 * sizeof(float), "one-hot batch");
        sl->out = sl_calloc((size_t)r->batch, sizeof(sl_attr_out_t), "results");
        if (!sl->x || !sl->out) return -1;
        for (int k = 0; k < r->batch; k++)
            if (sl_attr_out_init(&sl->out[k], c->nt, c->len) < 0) return -1;
    }
    return 0;
}

static void free_workers(run_t *r)
{
    for (int t = 0; r->w && t < r->n_workers; t++) {
        sl_attr_destroy(r->w[t].attr);
        sl_genome_close(r->w[t].g);
        free(r->w[t].seq);
        free(r->w[t].refs);
        sl_ref_ws_destroy(r->w[t].ws);
    }
    for (int s = 0; r->slot && s < r->n_slots; s++) {
        if (r->slot[s].out)
            for (int k = 0; k < r->batch; k++) sl_attr_out_free(&r->slot[s].out[k]);
        free(r->slot[s].out);
        free(r->slot[s].x);
    }
    free(r->w);
    free(r->slot);
    sl_attr_plan_destroy(r->plan);
}

int sl_score_run(const sl_score_opts_t *o)
{
    run_t r;
    memset(&r, 0, sizeof r);
    sl_score_info_t *c = &r.in;
    sl_net_t *net = NULL;
    sl_target_t *tg = NULL;
    int64_t *order = NULL;
    char *opts = NULL, *about = NULL;
    int ret = -1, opened = 0, committed = 0, genome_order = 0;
    c->opts = o;
    c->bed_mode = o->seqs == NULL;
    sl_run_progress_start(&r.prog, o->progress, o->progress_ud, 0);
    c->progress = &r.prog.p;
    if (!(net = sl_model_load(o->model, o->weights, o->alphabet))) return -1;
    c->net = net;
    c->len = net->in_len;
    if (sl_targets_parse(net, o->target, o->post_activation, &tg, &c->nt) < 0) {
        ret = -2; /* the target spec does not fit the model: bad options */
        goto fail;
    }
    c->tg = tg;

    for (const sl_sink_ops_t *k = sl_sink_kinds; k->name; k++)
        if (k->wanted(&o->out)) {
            if (r.ns == MAX_SINKS) {
                sl_log_error("more than %d kinds of output", MAX_SINKS);
                goto fail;
            }
            r.sinks[r.ns++].ops = k;
            genome_order |= k->genome_order;
        }
    if (o->shard_n > 0) r.sinks[r.ns++].ops = &sl_sink_descriptor; /* MAX_SINKS leaves room */
    if ((ret = check_outputs(&r)) < 0) goto fail;
    ret = -1;
    if (load_inputs(&r, o) < 0) goto fail;
    r.n_proc = c->rl->n;
    if (o->shard_n > 0) { /* its own regions: genome order with the halo for tracks, else input order */
        if (sl_shard_plan(c->rl, o->shard_k, o->shard_n, o->out.track.track_width, &r.shard) < 0) goto fail;
        c->shard = &r.shard;
        r.order = genome_order ? r.shard.proc : r.shard.own;
        r.n_proc = genome_order ? r.shard.n_proc : r.shard.n_own;
    } else if (genome_order) { /* every sink then sees the regions in genome order */
        if (!(order = sl_malloc((size_t)(c->rl->n ? c->rl->n : 1) * sizeof(int64_t), "region order")) ||
            sl_track_sort_order(c->rl, order) < 0)
            goto fail;
        r.order = order;
    }
    r.batch = o->ao.batch > 0 ? o->ao.batch : 1;
    r.n_workers = o->threads < 1 ? 1 : o->threads;
    int64_t n_batches = (r.n_proc + r.batch - 1) / r.batch;
    if (r.n_workers > n_batches) r.n_workers = n_batches > 0 ? (int)n_batches : 1;
    r.n_slots = sl_pipe_n_slots(r.n_workers);
    r.prog.p.total = r.n_proc;
    if (!(opts = sl_run_score_options(c)) ||
        !(c->about = about = sl_run_about("score", o->model, o->weights, c->bed_mode ? o->fasta : NULL,
                                          c->bed_mode ? o->bed : NULL, o->seqs, opts)))
        goto fail;
    while (opened < r.ns) { /* a failed open is aborted too: abort removes what it made */
        int rc = r.sinks[opened].ops->open(&r.sinks[opened], c);
        opened++;
        if (rc < 0) goto fail;
    }
    if (setup_workers(&r, o) < 0 || sl_pipe_run(n_batches, r.n_workers, work, emit, &r) < 0) goto fail;
    for (int j = 0; j < r.ns; j++)
        if (r.sinks[j].ops->prepare(&r.sinks[j], c) < 0) goto fail;
    /* every output is complete and checked: only renames are left. A rename failing
     * (rare: same directory) stops there; the outputs not yet renamed are removed. */
    ret = 0;
    while (committed < r.ns && ret == 0) {
        sl_sink_t *s = &r.sinks[committed++];
        if (s->ops->commit(s, c) < 0) ret = -1;
    }
    if (ret == 0) sl_run_progress_end(&r.prog);
fail:
    for (int j = committed; j < opened; j++) r.sinks[j].ops->abort(&r.sinks[j], c);
    free_workers(&r);
    free(order);
    free(opts);
    free(about);
    sl_shard_free(&r.shard);
    sl_refspec_destroy(r.rs);
    sl_regions_destroy((sl_regions_t *)c->rl);
    sl_targets_free(tg, c->nt);
    sl_net_destroy(net);
    return ret;
}
