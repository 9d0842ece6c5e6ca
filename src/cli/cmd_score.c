/* cmd_score.c — `seqlift score`: DeepLIFT (and comparison methods) contribution scores
 * for every region or FASTA record.
 *
 * Pipeline: regions are scored in rounds of threads × batch; each worker loads its
 * regions' one-hot (model order: minus strand reverse-complemented), generates their
 * references (seeded by the region itself, so results do not depend on threads or
 * batch) and runs the attribution engine; then the calling thread hands every region's
 * results, in input order (or c.order, e.g. genome order for tracks), to each sink of
 * the list (npz, TSV, statistics). A new output (tracks, motif report) is one more
 * sink: open / region / close callbacks, appended where the sinks are listed.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/attribution.h"
#include "seqlift/model.h"
#include "seqlift/npz.h"
#include "seqlift/reference.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

#define MAX_THREADS 256
#define SUM_WARN 1e-3 /* summation-to-delta relative error that gets a warning */

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: seqlift score -m MODEL.json -f GENOME.fa -b REGIONS.bed [options]\n"
            "       seqlift score -m MODEL.json -s SEQS.fa [options]\n\n"
            "Contribution scores of every base of every region (resized to the model's input\n"
            "length; minus strand scored as its reverse complement) or FASTA record.\n\n"
            "Options:\n"
            "  -m, --model FILE      model JSON (its safetensors file next to it)\n"
            "  -f, --fasta FILE      indexed genome FASTA, plain or bgzip\n"
            "  -b, --bed FILE        regions: BED3-12 or narrowPeak, plain or gzip\n"
            "  -s, --seqs FILE       instead of -f/-b: every record of a FASTA file, in order\n"
            "      --method M        genomics (Rescale after conv, RevealCancel after dense),\n"
            "                        rescale, revealcancel, gradient, grad-input,\n"
            "                        integrated-gradients, ism [genomics]\n"
            "      --refs SPEC       references (dinuc[:N], kmer:K:N, gc:N, zero, fasta:FILE[:K],\n"
            "                        ...; see README) [" SL_REF_DEFAULT_SPEC "]\n"
            "      --target T        output name or index, OUTPUT:CHANNEL, OUTPUT:profile or\n"
            "                        OUTPUT:sum; several comma-separated [output 0]\n"
            "      --post-activation score a sigmoid output after the sigmoid (default: logits)\n"
            "      --maxpool MODE    summation (keeps summation-to-delta) or gradient (the\n"
            "                        reference implementation's rule) [summation]\n"
            "      --ig-steps N      integrated gradients: steps per reference [50]\n"
            "      --seed S          seed of the random references [%d]\n"
            "      --edge MODE       windows running off a contig: pad (with N), skip, error [pad]\n"
            "  -t, --threads N       worker threads [1]\n"
            "      --batch N         sequences per worker pass (each with all its references) [1]\n"
            "      --npz PREFIX      PREFIX.ohe.npz, PREFIX.hyp.npz, PREFIX.contrib.npz, each\n"
            "                        arr_0 (regions, 4, length) float32 (TF-MoDISco input)\n"
            "      --tsv FILE        one row per region and target [stdout without --npz]\n"
            "  -h, --help            this help\n\n",
            SL_REF_DEFAULT_SEED);
}

/* ---- options and shared state -------------------------------------------------- */

typedef struct {
    const char *model, *fa, *bed, *seqs, *refs, *target, *npz, *tsv;
    sl_attr_opts_t ao;
    sl_edge_t edge;
    uint64_t seed;
    int threads, post_activation;
} score_opts_t;

typedef struct {
    const score_opts_t *o;
    sl_net_t *net;
    sl_regions_t *rl;
    sl_refspec_t *rs;
    sl_target_t *tg;
    int nt, n_refs, len, bed_mode;
    int64_t *order;     /* processing order of the regions (e.g. genome order for tracks);
                         * NULL = input order. Sinks see regions in this order, each with
                         * its input index (npz rows go by index whatever the order). */
} score_ctx_t;

/* A consumer of per-region results, called from the main thread: open once, region
 * for every region in input order, close(ok) once (ok = 0: abort, remove outputs). */
typedef struct score_sink_s {
    int (*open)(struct score_sink_s *s, const score_ctx_t *c);
    int (*region)(struct score_sink_s *s, const score_ctx_t *c, int64_t i, const float *onehot,
                  const sl_attr_out_t *res);
    int (*close)(struct score_sink_s *s, const score_ctx_t *c, int ok);
    void *st;
} score_sink_t;

/* ---- npz sink: ohe, hyp, contrib as (regions, 4, length) ------------------------- */

typedef struct {
    sl_npz_writer_t **w; /* [1 + 2 * nt]: ohe, then hyp and contrib per target */
    int n;
    float *row;          /* [4][len] */
} npz_sink_t;

static int npz_open(score_sink_t *s, const score_ctx_t *c)
{
    npz_sink_t *z = sl_calloc(1, sizeof(*z), "npz writers");
    if (!z) return -1;
    s->st = z;
    z->n = 1 + 2 * c->nt;
    z->w = sl_calloc((size_t)z->n, sizeof(*z->w), "npz writers");
    z->row = sl_malloc((size_t)c->len * 4 * sizeof(float), "npz row");
    if (!z->w || !z->row) return -1;
    int64_t shape[3] = {c->rl->n, 4, c->len};
    size_t plen = strlen(c->o->npz) + 256;
    char *path = sl_malloc(plen, "path");
    if (!path) return -1;
    for (int k = 0; k < z->n; k++) {
        const char *kind = k == 0 ? "ohe" : (k - 1) % 2 == 0 ? "hyp" : "contrib";
        if (k == 0 || c->nt == 1) {
            snprintf(path, plen, "%s.%s.npz", c->o->npz, kind);
        } else {
            /* several targets: PREFIX.<target>.hyp.npz, the label made file-name safe */
            char lab[128];
            snprintf(lab, sizeof lab, "%s", c->tg[(k - 1) / 2].label);
            for (char *q = lab; *q; q++)
                if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' || *q == '_')) *q = '_';
            snprintf(path, plen, "%s.%s.%s.npz", c->o->npz, lab, kind);
        }
        if (!(z->w[k] = sl_npz_open(path, "arr_0", 3, shape))) {
            free(path);
            return -1;
        }
    }
    free(path);
    return 0;
}

static int npz_region(score_sink_t *s, const score_ctx_t *c, int64_t i, const float *onehot,
                      const sl_attr_out_t *res)
{
    npz_sink_t *z = s->st;
    int L = c->len;
    for (int k = 0; k < z->n; k++) {
        const float *src = k == 0 ? onehot : (k - 1) % 2 == 0 ? res->hyp : res->contrib;
        if (k > 0) src += (size_t)((k - 1) / 2) * L * 4;
        for (int p = 0; p < L; p++) /* [L][4] -> (4, L) */
            for (int b = 0; b < 4; b++) z->row[(size_t)b * L + p] = src[4 * p + b];
        if (sl_npz_write_rows(z->w[k], i, 1, z->row) < 0) return -1;
    }
    return 0;
}

static int npz_close(score_sink_t *s, const score_ctx_t *c, int ok)
{
    (void)c;
    npz_sink_t *z = s->st;
    int ret = 0;
    if (!z) return 0;
    for (int k = 0; k < z->n && z->w; k++) {
        if (!z->w[k]) continue;
        if (ok && ret == 0) ret = sl_npz_close(z->w[k]);
        else sl_npz_abort(z->w[k]);
    }
    free(z->w);
    free(z->row);
    free(z);
    s->st = NULL;
    return ret;
}

/* ---- TSV sink ------------------------------------------------------------------- */

static int tsv_open(score_sink_t *s, const score_ctx_t *c)
{
    sl_ofile_t *f = sl_ofile_open(c->o->tsv, "w");
    if (!f) return -1;
    s->st = f;
    fprintf(f->fp, "%s\ttarget\toutput\tref_mean\tcontrib_sum\tdelta_error\tn_refs\n",
            c->bed_mode ? "chrom\tstart\tend\tstrand\tname" : "name");
    return 0;
}

static void put_num(FILE *fp, double v)
{
    if (isnan(v)) fputs("\tNA", fp);
    else fprintf(fp, "\t%.7g", v);
}

static int tsv_region(score_sink_t *s, const score_ctx_t *c, int64_t i, const float *onehot,
                      const sl_attr_out_t *res)
{
    (void)onehot;
    FILE *fp = ((sl_ofile_t *)s->st)->fp;
    const sl_region_t *r = &c->rl->r[i];
    for (int t = 0; t < c->nt; t++) {
        if (c->bed_mode)
            fprintf(fp, "%s\t%lld\t%lld\t%c\t%s", r->chrom, (long long)r->start, (long long)r->end, r->strand,
                    r->name ? r->name : ".");
        else fputs(r->name ? r->name : ".", fp);
        fprintf(fp, "\t%s", c->tg[t].label);
        put_num(fp, res->out_x[t]);
        put_num(fp, res->out_ref[t]);
        put_num(fp, res->sum[t]);
        put_num(fp, res->err[t]);
        if (fprintf(fp, "\t%d\n", res->n_refs) < 0) {
            sl_log_error("%s: write failed", c->o->tsv);
            return -1;
        }
    }
    return 0;
}

static int tsv_close(score_sink_t *s, const score_ctx_t *c, int ok)
{
    (void)c;
    sl_ofile_t *f = s->st;
    s->st = NULL;
    if (!f) return 0;
    if (!ok) {
        sl_ofile_abort(f);
        return 0;
    }
    return sl_ofile_commit(f);
}

/* ---- summation-to-delta statistics sink ------------------------------------------ */

typedef struct {
    double worst;
    int64_t n_bad, n;
} sum_stats_t;

static int stats_open(score_sink_t *s, const score_ctx_t *c)
{
    (void)c;
    return (s->st = sl_calloc(1, sizeof(sum_stats_t), "statistics")) ? 0 : -1;
}

static int stats_region(score_sink_t *s, const score_ctx_t *c, int64_t i, const float *onehot,
                        const sl_attr_out_t *res)
{
    (void)i;
    (void)onehot;
    sum_stats_t *st = s->st;
    for (int t = 0; t < c->nt; t++) {
        if (isnan(res->err[t])) continue;
        st->n++;
        if (res->err[t] > st->worst) st->worst = res->err[t];
        if (res->err[t] > SUM_WARN) st->n_bad++;
    }
    return 0;
}

static int stats_close(score_sink_t *s, const score_ctx_t *c, int ok)
{
    sum_stats_t *st = s->st;
    s->st = NULL;
    if (!st) return 0;
    if (ok) {
        if (!sl_method_sums_to_delta(c->o->ao.method))
            sl_log_info("method %s has no summation-to-delta property (TSV columns NA)", sl_method_name(c->o->ao.method));
        else if (st->n_bad)
            sl_log_warn("summation-to-delta: relative error above %g for %lld of %lld region-targets (worst %.3g)",
                        SUM_WARN, (long long)st->n_bad, (long long)st->n, st->worst);
        else sl_log_info("summation-to-delta: worst relative error %.3g over %lld region-targets", st->worst, (long long)st->n);
    }
    free(st);
    return 0;
}

/* ---- workers ---------------------------------------------------------------------- */

typedef struct {
    const score_ctx_t *c;
    sl_attr_t *attr;
    sl_genome_t *g;      /* own handle: faidx is not thread-safe */
    char *seq;
    float *x, *refs;     /* [batch][len][4], [batch][n_refs][len][4] */
    sl_attr_out_t *out;  /* [batch] */
    int64_t first, count;
    int ret;
} worker_t;

static void *run_worker(void *arg)
{
    worker_t *w = arg;
    const score_ctx_t *c = w->c;
    size_t L4 = (size_t)c->len * 4;
    w->ret = 0;
    if (w->count <= 0) return NULL;
    for (int64_t k = 0; k < w->count; k++) {
        int64_t i = c->order ? c->order[w->first + k] : w->first + k;
        const sl_region_t *r = &c->rl->r[i];
        float *x = w->x + (size_t)k * L4;
        if (sl_regions_load(c->rl, i, w->g, w->seq, x) < 0) goto fail;
        if (c->n_refs > 0) {
            char label[256];
            if (r->chrom) snprintf(label, sizeof label, "%s:%lld-%lld", r->chrom, (long long)r->start, (long long)r->end);
            else snprintf(label, sizeof label, "%s", r->name ? r->name : "record");
            if (sl_ref_generate(c->rs, x, c->len, sl_region_seed(c->o->seed, r), r->index, label,
                                w->refs + (size_t)k * c->n_refs * L4) < 0)
                goto fail;
        }
    }
    if (sl_attr_run(w->attr, (int)w->count, w->x, c->n_refs ? w->refs : NULL, c->n_refs, w->out) < 0) goto fail;
    return NULL;
fail:
    w->ret = -1;
    return NULL;
}

static int score(const score_opts_t *o)
{
    int ret = -1, nw = o->threads, ok = 0, batch = o->ao.batch;
    score_ctx_t c;
    memset(&c, 0, sizeof c);
    c.o = o;
    worker_t *w = NULL;
    pthread_t *tid = NULL;
    score_sink_t sinks[8];
    int ns = 0, opened = 0;
    if (!(c.net = sl_net_load(o->model))) return -1;
    c.len = c.net->in_len;
    if (sl_net_split_weights(c.net) < 0) goto fail;
    if (sl_targets_parse(c.net, o->target, o->post_activation, &c.tg, &c.nt) < 0) goto fail;
    c.bed_mode = o->seqs == NULL;
    sl_genome_t *g0 = NULL;
    if (c.bed_mode) {
        sl_region_opts_t ropts = {c.len, 0, o->edge};
        if (!(g0 = sl_genome_open(o->fa))) goto fail;
        c.rl = sl_regions_read_bed(o->bed, g0, &ropts);
    } else {
        c.rl = sl_regions_read_fasta(o->seqs, c.len);
    }
    if (!c.rl) {
        sl_genome_close(g0);
        goto fail;
    }
    if (sl_method_uses_refs(o->ao.method)) {
        if (!(c.rs = sl_refspec_parse(o->refs))) {
            sl_genome_close(g0);
            goto fail;
        }
        c.n_refs = sl_refspec_n(c.rs);
        if (sl_refspec_needs_fit(c.rs)) { /* background frequencies from every input */
            char *seq = sl_malloc((size_t)c.len, "sequence");
            float *x = sl_malloc((size_t)c.len * 4 * sizeof(float), "one-hot");
            int bad = !seq || !x;
            for (int64_t i = 0; i < c.rl->n && !bad; i++)
                bad = sl_regions_load(c.rl, i, g0, seq, x) < 0 || sl_refspec_observe(c.rs, x, c.len) < 0;
            free(seq);
            free(x);
            if (bad) {
                sl_genome_close(g0);
                goto fail;
            }
        }
        if (sl_refspec_finalize(c.rs, c.rl->n) < 0) {
            sl_genome_close(g0);
            goto fail;
        }
    }
    sl_genome_close(g0);
    if (nw > c.rl->n) nw = c.rl->n > 0 ? (int)c.rl->n : 1;

    /* sinks, in the order they see each region */
    if (o->npz) sinks[ns++] = (score_sink_t){npz_open, npz_region, npz_close, NULL};
    if (o->tsv) sinks[ns++] = (score_sink_t){tsv_open, tsv_region, tsv_close, NULL};
    sinks[ns++] = (score_sink_t){stats_open, stats_region, stats_close, NULL};
    for (; opened < ns; opened++)
        if (sinks[opened].open(&sinks[opened], &c) < 0) goto fail;

    sl_attr_opts_t ao = o->ao;
    ao.max_refs = c.n_refs > 0 ? c.n_refs : 1;
    size_t L4 = (size_t)c.len * 4;
    w = sl_calloc((size_t)nw, sizeof(*w), "workers");
    tid = sl_calloc((size_t)nw, sizeof(*tid), "workers");
    if (!w || !tid) goto fail;
    sl_net_blas_threads(1); /* threads over regions; one GEMM thread each */
    for (int t = 0; t < nw; t++) {
        w[t].c = &c;
        if (!(w[t].attr = sl_attr_create(c.net, c.tg, c.nt, &ao))) goto fail;
        if (c.bed_mode && !(w[t].g = sl_genome_open(o->fa))) goto fail;
        w[t].seq = sl_malloc((size_t)c.len, "sequence");
        w[t].x = sl_malloc((size_t)batch * L4 * sizeof(float), "one-hot batch");
        w[t].refs = sl_malloc((size_t)batch * (c.n_refs > 0 ? c.n_refs : 1) * L4 * sizeof(float), "references");
        w[t].out = sl_calloc((size_t)batch, sizeof(sl_attr_out_t), "results");
        if (!w[t].seq || !w[t].x || !w[t].refs || !w[t].out) goto fail;
        for (int k = 0; k < batch; k++)
            if (sl_attr_out_init(&w[t].out[k], c.nt, c.len) < 0) goto fail;
    }
    int64_t round = (int64_t)nw * batch;
    for (int64_t base = 0; base < c.rl->n; base += round) {
        int started = 0, err = 0;
        for (int t = 0; t < nw; t++) {
            w[t].first = base + (int64_t)t * batch;
            w[t].count = c.rl->n - w[t].first < batch ? c.rl->n - w[t].first : batch;
        }
        for (int t = 1; t < nw && w[t].count > 0; t++, started++)
            if (pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0) {
                sl_log_error("%s: cannot start a worker thread", o->model);
                err = 1;
                break;
            }
        run_worker(&w[0]);
        for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
        for (int t = 0; t < nw; t++) err |= w[t].ret < 0;
        if (err) goto fail;
        for (int t = 0; t < nw; t++)
            for (int64_t k = 0; k < w[t].count; k++)
                for (int s = 0; s < ns; s++) {
                    int64_t i = c.order ? c.order[w[t].first + k] : w[t].first + k;
                    if (sinks[s].region(&sinks[s], &c, i, w[t].x + (size_t)k * L4, &w[t].out[k]) < 0) goto fail;
                }
    }
    ok = 1;
    ret = 0;
fail:
    for (int s = 0; s < opened; s++)
        if (sinks[s].close(&sinks[s], &c, ok) < 0) ret = -1;
    if (w)
        for (int t = 0; t < nw; t++) {
            sl_attr_destroy(w[t].attr);
            sl_genome_close(w[t].g);
            free(w[t].seq);
            free(w[t].x);
            free(w[t].refs);
            if (w[t].out)
                for (int k = 0; k < batch; k++) sl_attr_out_free(&w[t].out[k]);
            free(w[t].out);
        }
    free(w);
    free(tid);
    free(c.order);
    sl_refspec_destroy(c.rs);
    sl_regions_destroy(c.rl);
    sl_targets_free(c.tg, c.nt);
    sl_net_destroy(c.net);
    return ret;
}

static int parse_int(const char *opt, const char *s, long long lo, long long hi, long long *v)
{
    if (sl_parse_long(s, v) != 0 || *v < lo || *v > hi) {
        sl_log_error("--%s: '%s' is not an integer in [%lld, %lld]", opt, s, lo, hi);
        return -1;
    }
    return 0;
}

int sl_cmd_score(int argc, char **argv)
{
    enum { O_METHOD = 256, O_REFS, O_TARGET, O_MAXPOOL, O_SEED, O_BATCH, O_NPZ, O_TSV, O_IG, O_EDGE, O_POST };
    static const struct option lopts[] = {
        {"model", required_argument, NULL, 'm'},     {"fasta", required_argument, NULL, 'f'},
        {"bed", required_argument, NULL, 'b'},       {"seqs", required_argument, NULL, 's'},
        {"method", required_argument, NULL, O_METHOD}, {"refs", required_argument, NULL, O_REFS},
        {"target", required_argument, NULL, O_TARGET}, {"maxpool", required_argument, NULL, O_MAXPOOL},
        {"seed", required_argument, NULL, O_SEED},   {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, O_BATCH}, {"npz", required_argument, NULL, O_NPZ},
        {"tsv", required_argument, NULL, O_TSV},     {"ig-steps", required_argument, NULL, O_IG},
        {"edge", required_argument, NULL, O_EDGE},   {"post-activation", no_argument, NULL, O_POST},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    score_opts_t o;
    memset(&o, 0, sizeof o);
    sl_attr_opts_default(&o.ao);
    o.edge = SL_EDGE_PAD;
    o.seed = SL_REF_DEFAULT_SEED;
    o.threads = 1;
    long long v;
    int c;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:f:b:s:t:h", lopts, NULL)) >= 0) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'f': o.fa = optarg; break;
        case 'b': o.bed = optarg; break;
        case 's': o.seqs = optarg; break;
        case O_REFS: o.refs = optarg; break;
        case O_TARGET: o.target = optarg; break;
        case O_NPZ: o.npz = optarg; break;
        case O_TSV: o.tsv = optarg; break;
        case O_POST: o.post_activation = 1; break;
        case O_METHOD:
            if (sl_method_parse(optarg, &o.ao.method) < 0) {
                sl_log_error("--method: '%s' is not genomics, rescale, revealcancel, gradient, grad-input, "
                             "integrated-gradients or ism", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_MAXPOOL:
            if (sl_maxpool_parse(optarg, &o.ao.maxpool) < 0) {
                sl_log_error("--maxpool: '%s' is not summation or gradient", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_SEED:
            if (parse_int("seed", optarg, 0, INT64_MAX, &v) < 0) return SL_EXIT_USAGE;
            o.seed = (uint64_t)v;
            break;
        case 't':
            if (parse_int("threads", optarg, 1, MAX_THREADS, &v) < 0) return SL_EXIT_USAGE;
            o.threads = (int)v;
            break;
        case O_BATCH:
            if (parse_int("batch", optarg, 1, 1024, &v) < 0) return SL_EXIT_USAGE;
            o.ao.batch = (int)v;
            break;
        case O_IG:
            if (parse_int("ig-steps", optarg, 1, 100000, &v) < 0) return SL_EXIT_USAGE;
            o.ao.ig_steps = (int)v;
            break;
        case O_EDGE:
            if (strcmp(optarg, "pad") == 0) o.edge = SL_EDGE_PAD;
            else if (strcmp(optarg, "skip") == 0) o.edge = SL_EDGE_SKIP;
            else if (strcmp(optarg, "error") == 0) o.edge = SL_EDGE_ERROR;
            else {
                sl_log_error("--edge: '%s' is not pad, skip or error", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (optind < argc || !o.model || (o.seqs ? o.fa || o.bed : !o.fa || !o.bed)) {
        if (optind < argc) sl_log_error("unexpected argument '%s'", argv[optind]);
        else if (!o.model) sl_log_error("give the model with -m MODEL.json");
        else sl_log_error("give either -f GENOME.fa and -b REGIONS.bed, or -s SEQS.fa");
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (!o.npz && !o.tsv) o.tsv = "-";
    return score(&o) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
