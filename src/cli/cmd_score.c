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
#include "seqlift/keras.h"
#include "seqlift/model.h"
#include "seqlift/npz.h"
#include "seqlift/report.h"
#include "seqlift/browser.h"
#include "seqlift/reference.h"
#include "seqlift/seqio.h"
#include "seqlift/track.h"
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
            "                        or Keras .h5, or Keras JSON with --weights FILE.h5\n"
            "      --alphabet ORD    a Keras model\'s input channel order if not ACGT\n"
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
            "      --maxpool MODE    cross (shap, tangermeme, captum), summation (seqlift's,\n"
            "                        splits between both argmaxes) or gradient (the reference\n"
            "                        implementation's rule) [cross]\n"
            "      --ig-steps N      integrated gradients: steps per reference [50]\n"
            "      --ig-rule R       integrated gradients: riemann-middle or gauss-legendre\n"
            "                        (captum's default) [riemann-middle]\n"
            "      --rc MODE         none, or average: the mean of the scores of each window and\n"
            "                        of its reverse complement, mapped back [none]\n"
            "      --seed S          seed of the random references [%d]\n"
            "      --edge MODE       windows running off a contig: pad (with N), skip, error [pad]\n"
            "  -t, --threads N       worker threads [1]\n"
            "      --batch N         sequences per worker pass (each with all its references) [1]\n"
            "      --npz PREFIX      PREFIX.ohe.npz, PREFIX.hyp.npz, PREFIX.contrib.npz, each\n"
            "                        arr_0 (regions, 4, length) float32 (TF-MoDISco input)\n"
            "      --tsv FILE        one row per region and target [stdout without other outputs]\n"
            "      --bedgraph FILE   per-base contribution track (FILE.gz: bgzip); several\n"
            "                        targets: FILE with .<target> before the extension\n"
            "      --bigwig FILE     the same values as a bigWig (with zoom levels)\n"
            "      --overlap MODE    bases covered by several windows: mean, max-abs, first [mean]\n"
            "      --track-width W   tracks keep the central W bases of each window [all]\n"
            "      --merge-runs      merge adjacent track entries with equal values\n"
            "                        (with tracks, regions are processed and the TSV written\n"
            "                        in genome order: chromosome by byte order, then start)\n"
            "      --motifs DB.meme  motifs (MEME format) to match seqlets against and scan\n"
            "      --report FILE     self-contained HTML motif-highlight report (per target)\n"
            "      --report-json F   the report's content as JSON\n"
            "                        (score draws the top regions by prediction by default)\n"
            "      --seqlets-bed F   seqlets as BED9 (per target) [beside the report: NAME.seqlets.bed]\n"
            "      --igv-session F   IGV session (XML) loading the genome, tracks, seqlets, regions\n"
            "      --ucsc-hub DIR    UCSC track hub (hub.txt, genomes.txt, trackDb.txt) in DIR\n"

            "  -h, --help            this help\n\n",
            SL_REF_DEFAULT_SEED);
    sl_report_opts_t d; /* score's own default order: by prediction */
    sl_report_opts_default(&d);
    d.order = SL_REPORT_ORDER_PREDICTION;
    sl_report_opts_help(fp, &d, 1);
}

/* ---- options and shared state -------------------------------------------------- */

static const char *keras_weights, *keras_alphabet; /* --weights, --alphabet: Keras models */

typedef struct {
    const char *model, *fa, *bed, *seqs, *refs, *target, *npz, *tsv, *bedgraph, *bigwig;
    sl_attr_opts_t ao;
    sl_track_opts_t track;
    const char *motifs, *report, *report_json;
    sl_report_opts_t ro;
    sl_edge_t edge;
    uint64_t seed;
    int threads, post_activation;
    const char *seqlets_bed, *igv_session, *ucsc_hub; /* browser views (browser.h) */
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
    double *pred;        /* first target's prediction per region, for PREFIX.windows.bed */
} npz_sink_t;

static int npz_open(score_sink_t *s, const score_ctx_t *c)
{
    npz_sink_t *z = sl_calloc(1, sizeof(*z), "npz writers");
    if (!z) return -1;
    s->st = z;
    z->n = 1 + 2 * c->nt;
    z->w = sl_calloc((size_t)z->n, sizeof(*z->w), "npz writers");
    z->row = sl_malloc((size_t)c->len * 4 * sizeof(float), "npz row");
    z->pred = sl_calloc((size_t)c->rl->n + 1, sizeof(double), "predictions");
    if (!z->w || !z->row || !z->pred) return -1;
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
            for (char *q = lab; *q; q++) *q = sl_file_name_char(*q);
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
    z->pred[i] = res->out_x[0];
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
    if (ok && ret == 0) { /* PREFIX.windows.bed: npz rows back to the genome */
        char *p = sl_malloc(strlen(c->o->npz) + 16, "path");
        if (p) sprintf(p, "%s.windows.bed", c->o->npz);
        if (!p || sl_browser_write_windows(p, c->rl, z->pred) < 0) ret = -1;
        free(p);
    }
    free(z->pred);
    free(z->w);
    free(z->row);
    free(z);
    s->st = NULL;
    return ret;
}

/* ---- report sink: one sl_report_t per target ---- */
typedef struct {
    sl_motif_db_t *db;
    sl_report_t **rep;
    int nt;
} report_sink_t;

static int report_open(score_sink_t *s, const score_ctx_t *c)
{
    report_sink_t *z = sl_calloc(1, sizeof(*z), "report");
    if (!z) return -1;
    s->st = z;
    z->nt = c->nt;
    if (c->o->motifs && !(z->db = sl_motif_db_read(c->o->motifs))) return -1;
    if (!(z->rep = sl_calloc((size_t)c->nt, sizeof(*z->rep), "reports"))) return -1;
    for (int t = 0; t < c->nt; t++) {
        sl_report_opts_t o = c->o->ro;
        o.pred_label = c->tg[t].label;
        if (!(z->rep[t] = sl_report_create(&o, z->db))) return -1;
    }
    return 0;
}

static int report_region(score_sink_t *s, const score_ctx_t *c, int64_t i, const float *onehot,
                         const sl_attr_out_t *res)
{
    report_sink_t *z = s->st;
    size_t L4 = (size_t)c->len * 4;
    for (int t = 0; t < z->nt; t++)
        if (sl_report_add_region(z->rep[t], &c->rl->r[i], c->len, onehot, res->contrib + t * L4, res->hyp + t * L4,
                                 res->out_x[t]) < 0)
            return -1;
    return 0;
}

static int report_close(score_sink_t *s, const score_ctx_t *c, int ok)
{
    report_sink_t *z = s->st;
    int ret = 0;
    if (!z) return 0;
    for (int t = 0; t < z->nt && z->rep; t++) {
        char *h = c->o->report ? sl_track_target_path(c->o->report, c->tg[t].label, z->nt) : NULL;
        char *j = c->o->report_json ? sl_track_target_path(c->o->report_json, c->tg[t].label, z->nt) : NULL;
        if (ok && ret == 0 && z->rep[t] && sl_report_write(z->rep[t], h, j) < 0) ret = -1;
        char *sb = sl_report_seqlets_path(c->o->seqlets_bed, c->o->report, c->o->report_json, c->tg[t].label, z->nt);
        if (ok && ret == 0 && z->rep[t] && sb && sl_report_write_seqlets(z->rep[t], sb, NULL) < 0) ret = -1;
        free(sb);
        free(h);
        free(j);
        sl_report_destroy(z->rep[t]);
    }
    free(z->rep);
    sl_motif_db_destroy(z->db);
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
    fprintf(f->fp, "%s\ttarget\toutput\tref_mean\tcontrib_sum\tdelta_error\tn_refs\tn_part\n",
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
        fprintf(fp, "\t%d", res->n_refs);
        put_num(fp, res->n_part[t]);
        if (fputc('\n', fp) == EOF) {
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

/* ---- track sink: bedGraph / bigWig of the observed bases' contributions ---------- */

typedef struct {
    sl_track_t **w;      /* [nt] */
    float *vals;         /* [len] */
} track_sink_t;

static int track_open(score_sink_t *s, const score_ctx_t *c)
{
    const score_opts_t *o = c->o;
    track_sink_t *k = sl_calloc(1, sizeof(*k), "track writers");
    if (!k) return -1;
    s->st = k;
    k->w = sl_calloc((size_t)c->nt, sizeof(*k->w), "track writers");
    k->vals = sl_malloc((size_t)c->len * sizeof(float), "track values");
    sl_genome_t *g = sl_genome_open(o->fa); /* contig sizes for the bigWig header */
    int ret = k->w && k->vals && g ? 0 : -1;
    for (int t = 0; t < c->nt && ret == 0; t++) {
        char *bg = o->bedgraph ? sl_track_target_path(o->bedgraph, c->tg[t].label, c->nt) : NULL;
        char *bw = o->bigwig ? sl_track_target_path(o->bigwig, c->tg[t].label, c->nt) : NULL;
        if ((o->bedgraph && !bg) || (o->bigwig && !bw) || !(k->w[t] = sl_track_open_genome(bg, bw, g, &o->track)))
            ret = -1;
        free(bg);
        free(bw);
    }
    sl_genome_close(g);
    return ret;
}

static int track_region(score_sink_t *s, const score_ctx_t *c, int64_t i, const float *onehot,
                        const sl_attr_out_t *res)
{
    track_sink_t *k = s->st;
    for (int t = 0; t < c->nt; t++) {
        sl_track_project(res->contrib + (size_t)t * c->len * 4, onehot, c->len, 1, k->vals);
        if (sl_track_add(k->w[t], &c->rl->r[i], k->vals) < 0) return -1;
    }
    return 0;
}

static int track_close(score_sink_t *s, const score_ctx_t *c, int ok)
{
    track_sink_t *k = s->st;
    int ret = 0;
    s->st = NULL;
    if (!k) return 0;
    for (int t = 0; t < c->nt && k->w; t++) {
        if (!k->w[t]) continue;
        if (ok && ret == 0) ret = sl_track_close(k->w[t]);
        else sl_track_abort(k->w[t]);
    }
    free(k->w);
    free(k->vals);
    free(k);
    return ret;
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
    sl_ref_ws_t *ws;     /* reference scratch, reused across regions */
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
                                w->refs + (size_t)k * c->n_refs * L4, w->ws) < 0)
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
    sl_attr_plan_t *plan = NULL;
    pthread_t *tid = NULL;
    score_sink_t sinks[8];
    int ns = 0, opened = 0;
    if (!(c.net = sl_model_load(o->model, keras_weights, keras_alphabet))) return -1;
    c.len = c.net->in_len;
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

    /* tracks need the regions in genome order; every other sink indexes by region */
    if (o->bedgraph || o->bigwig) {
        if (!(c.order = sl_malloc((size_t)(c.rl->n ? c.rl->n : 1) * sizeof(int64_t), "region order")) ||
            sl_track_sort_order(c.rl, c.order) < 0)
            goto fail;
    }
    /* sinks, in the order they see each region */
    if (o->bedgraph || o->bigwig) sinks[ns++] = (score_sink_t){track_open, track_region, track_close, NULL};
    if (o->npz) sinks[ns++] = (score_sink_t){npz_open, npz_region, npz_close, NULL};
    if (o->tsv) sinks[ns++] = (score_sink_t){tsv_open, tsv_region, tsv_close, NULL};
    if (o->report || o->report_json || o->seqlets_bed) sinks[ns++] = (score_sink_t){report_open, report_region, report_close, NULL};
    sinks[ns++] = (score_sink_t){stats_open, stats_region, stats_close, NULL};
    while (opened < ns) { /* a failed open is closed too: close removes what it made */
        int rc = sinks[opened].open(&sinks[opened], &c);
        opened++;
        if (rc < 0) goto fail;
    }

    sl_attr_opts_t ao = o->ao;
    ao.max_refs = c.n_refs > 0 ? c.n_refs : 1;
    if (!(plan = sl_attr_plan_create(c.net, c.tg, c.nt, &ao))) goto fail;
    size_t L4 = (size_t)c.len * 4;
    w = sl_calloc((size_t)nw, sizeof(*w), "workers");
    tid = sl_calloc((size_t)nw, sizeof(*tid), "workers");
    if (!w || !tid) goto fail;
    sl_net_blas_threads(1); /* threads over regions; one GEMM thread each */
    for (int t = 0; t < nw; t++) {
        w[t].c = &c;
        if (!(w[t].attr = sl_attr_create(plan))) goto fail;
        if (c.bed_mode && !(w[t].g = sl_genome_open(o->fa))) goto fail;
        w[t].seq = sl_malloc((size_t)c.len, "sequence");
        w[t].x = sl_malloc((size_t)batch * L4 * sizeof(float), "one-hot batch");
        w[t].refs = sl_malloc((size_t)batch * (c.n_refs > 0 ? c.n_refs : 1) * L4 * sizeof(float), "references");
        w[t].out = sl_calloc((size_t)batch, sizeof(sl_attr_out_t), "results");
        w[t].ws = sl_ref_ws_create();
        if (!w[t].seq || !w[t].x || !w[t].refs || !w[t].out || !w[t].ws) goto fail;
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
    for (int s = 0; s < opened; s++) /* once one fails, the others are aborted, not committed */
        if (sinks[s].close(&sinks[s], &c, ok && ret == 0) < 0) ret = -1;
    if (ret == 0 && (o->igv_session || o->ucsc_hub)) { /* views of the committed outputs */
        const char **lab = sl_calloc((size_t)c.nt + 1, sizeof(*lab), "targets");
        for (int t = 0; lab && t < c.nt; t++) lab[t] = c.tg[t].label;
        sl_browser_run_t br = {o->fa, o->ro.genome_name, o->bed, o->bigwig, o->bedgraph, o->seqlets_bed,
                               o->report, o->report_json, lab, c.nt, c.rl};
        if (!lab || sl_browser_write_run(&br, o->igv_session, o->ucsc_hub) < 0) ret = -1;
        free(lab);
    }
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
            sl_ref_ws_destroy(w[t].ws);
        }
    free(w);
    free(tid);
    free(c.order);
    sl_refspec_destroy(c.rs);
    sl_regions_destroy(c.rl);
    sl_attr_plan_destroy(plan);
    sl_targets_free(c.tg, c.nt);
    sl_net_destroy(c.net);
    return ret;
}

int sl_cmd_score(int argc, char **argv)
{
    enum { O_METHOD = 256, O_REFS, O_TARGET, O_MAXPOOL, O_SEED, O_BATCH, O_NPZ, O_TSV, O_IG, O_EDGE, O_POST,
           O_BEDGRAPH, O_BIGWIG, O_OVERLAP, O_TRACK_WIDTH, O_MERGE_RUNS, O_MOTIFS, O_REPORT, O_RJSON,
           O_SBED, O_IGV, O_HUB, O_IG_RULE, O_RC };
    static const struct option lopts[] = {
        {"model", required_argument, NULL, 'm'},     {"fasta", required_argument, NULL, 'f'},
        {"bed", required_argument, NULL, 'b'},       {"seqs", required_argument, NULL, 's'},
        {"method", required_argument, NULL, O_METHOD}, {"refs", required_argument, NULL, O_REFS},
        {"target", required_argument, NULL, O_TARGET}, {"maxpool", required_argument, NULL, O_MAXPOOL},
        {"seed", required_argument, NULL, O_SEED},   {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, O_BATCH}, {"npz", required_argument, NULL, O_NPZ},
        {"tsv", required_argument, NULL, O_TSV},     {"ig-steps", required_argument, NULL, O_IG},
        {"edge", required_argument, NULL, O_EDGE},   {"post-activation", no_argument, NULL, O_POST},
        {"bedgraph", required_argument, NULL, O_BEDGRAPH}, {"bigwig", required_argument, NULL, O_BIGWIG},
        {"overlap", required_argument, NULL, O_OVERLAP}, {"track-width", required_argument, NULL, O_TRACK_WIDTH},
        {"merge-runs", no_argument, NULL, O_MERGE_RUNS},
        {"motifs", required_argument, NULL, O_MOTIFS}, {"report", required_argument, NULL, O_REPORT},
        {"report-json", required_argument, NULL, O_RJSON}, SL_REPORT_LONG_OPTIONS,
        {"weights", required_argument, NULL, 'W'}, {"alphabet", required_argument, NULL, 'A'},
        {"seqlets-bed", required_argument, NULL, O_SBED}, {"igv-session", required_argument, NULL, O_IGV},
        {"ucsc-hub", required_argument, NULL, O_HUB},
        {"ig-rule", required_argument, NULL, O_IG_RULE}, {"rc", required_argument, NULL, O_RC},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    score_opts_t o;
    memset(&o, 0, sizeof o);
    sl_attr_opts_default(&o.ao);
    o.edge = SL_EDGE_PAD;
    o.seed = SL_REF_DEFAULT_SEED;
    o.threads = 1;
    sl_track_opts_init(&o.track);
    sl_report_opts_default(&o.ro);
    o.ro.order = SL_REPORT_ORDER_PREDICTION;
    long long v;
    int c;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    int li = 0;
    while ((c = getopt_long(argc, argv, "m:f:b:s:t:h", lopts, &li)) >= 0) {
        switch (c) {
        case 0:
            if (sl_report_opt(&o.ro, lopts[li].name, optarg) < 0) return SL_EXIT_USAGE;
            break;
        case O_MOTIFS: o.motifs = optarg; break;
        case O_REPORT: o.report = optarg; break;
        case O_RJSON: o.report_json = optarg; break;
        case O_SBED: o.seqlets_bed = optarg; break;
        case O_IGV: o.igv_session = optarg; break;
        case O_HUB: o.ucsc_hub = optarg; break;
        case 'm': o.model = optarg; break;
        case 'W': keras_weights = optarg; break;
        case 'A': keras_alphabet = optarg; break;
        case 'f': o.fa = optarg; break;
        case 'b': o.bed = optarg; break;
        case 's': o.seqs = optarg; break;
        case O_REFS: o.refs = optarg; break;
        case O_TARGET: o.target = optarg; break;
        case O_NPZ: o.npz = optarg; break;
        case O_TSV: o.tsv = optarg; break;
        case O_POST: o.post_activation = 1; break;
        case O_BEDGRAPH: o.bedgraph = optarg; break;
        case O_BIGWIG: o.bigwig = optarg; break;
        case O_MERGE_RUNS: o.track.merge_runs = 1; break;
        case O_OVERLAP:
            if (sl_track_parse_overlap(optarg, &o.track.overlap) < 0) {
                sl_log_error("--overlap: '%s' is not mean, max-abs or first", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_TRACK_WIDTH:
            if (sl_cli_int("track-width", optarg, 1, INT32_MAX, &v) < 0) return SL_EXIT_USAGE;
            o.track.track_width = v;
            break;
        case O_METHOD:
            if (sl_method_parse(optarg, &o.ao.method) < 0) {
                sl_log_error("--method: '%s' is not genomics, rescale, revealcancel, gradient, grad-input, "
                             "integrated-gradients or ism", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_MAXPOOL:
            if (sl_maxpool_parse(optarg, &o.ao.maxpool) < 0) {
                sl_log_error("--maxpool: '%s' is not cross, summation or gradient", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_SEED:
            if (sl_cli_int("seed", optarg, 0, INT64_MAX, &v) < 0) return SL_EXIT_USAGE;
            o.seed = (uint64_t)v;
            break;
        case 't':
            if (sl_cli_int("threads", optarg, 1, MAX_THREADS, &v) < 0) return SL_EXIT_USAGE;
            o.threads = (int)v;
            break;
        case O_BATCH:
            if (sl_cli_int("batch", optarg, 1, 1024, &v) < 0) return SL_EXIT_USAGE;
            o.ao.batch = (int)v;
            break;
        case O_IG:
            if (sl_cli_int("ig-steps", optarg, 1, 100000, &v) < 0) return SL_EXIT_USAGE;
            o.ao.ig_steps = (int)v;
            break;
        case O_EDGE:
            if (sl_cli_edge(optarg, &o.edge) < 0) return SL_EXIT_USAGE;
            break;
        case O_IG_RULE:
            if (sl_ig_rule_parse(optarg, &o.ao.ig_rule) < 0) {
                sl_log_error("--ig-rule: '%s' is not riemann-middle or gauss-legendre", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case O_RC:
            if (strcmp(optarg, "none") && strcmp(optarg, "average")) {
                sl_log_error("--rc: '%s' is not none or average", optarg);
                return SL_EXIT_USAGE;
            }
            o.ao.rc_average = strcmp(optarg, "average") == 0;
            break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (!o.model || sl_cli_check_inputs(argc, argv, optind, o.fa, o.bed, o.seqs) < 0) {
        if (!o.model) sl_log_error("give the model with -m MODEL.json");
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (o.seqs && (o.bedgraph || o.bigwig)) {
        sl_log_error("--bedgraph/--bigwig need genome regions (-f/-b), not -s SEQS.fa");
        return SL_EXIT_USAGE;
    }
    /* two outputs on one path would share a temporary file; "-" cannot hold one file
     * per target */
    const char *paths[] = {o.tsv, o.bedgraph, o.bigwig, o.report, o.report_json, o.seqlets_bed, o.igv_session};
    const int np = (int)(sizeof paths / sizeof *paths);
    for (int i = 0; i < np; i++)
        for (int j = i + 1; j < np; j++)
            if (paths[i] && paths[j] && strcmp(paths[i], paths[j]) == 0 && strcmp(paths[i], "-") != 0) {
                sl_log_error("two outputs are written to '%s': give each its own file", paths[i]);
                return SL_EXIT_USAGE;
            }
    if (o.target && strchr(o.target, ',') &&
        ((o.bedgraph && !strcmp(o.bedgraph, "-")) || (o.report && !strcmp(o.report, "-")) ||
         (o.report_json && !strcmp(o.report_json, "-")) || (o.seqlets_bed && !strcmp(o.seqlets_bed, "-")))) {
        sl_log_error("with several targets, tracks and reports are one file per target: name a file, not '-'");
        return SL_EXIT_USAGE;
    }
    if (o.motifs && !o.report && !o.report_json && !o.seqlets_bed) {
        sl_log_error("--motifs is used by the report: give --report FILE.html or --report-json FILE.json");
        return SL_EXIT_USAGE;
    }
    if (o.ucsc_hub && !o.ro.genome_name) {
        sl_log_error("--ucsc-hub needs the assembly name: give --genome-name (e.g. hg38)");
        return SL_EXIT_USAGE;
    }
    if ((o.igv_session || o.ucsc_hub) && o.seqs) {
        sl_log_error("--igv-session/--ucsc-hub need genome regions (-f/-b), not -s SEQS.fa");
        return SL_EXIT_USAGE;
    }
    for (int i = 0; i < np; i++) /* output directories are created, like mkdir -p */
        if (sl_cli_output_dirs(paths[i]) < 0) return SL_EXIT_ERROR;
    if (sl_cli_output_dirs(o.npz) < 0 || sl_cli_output_dirs(o.ucsc_hub) < 0) return SL_EXIT_ERROR;
    if (!o.npz && !o.tsv && !o.bedgraph && !o.bigwig && !o.report && !o.report_json && !o.seqlets_bed) o.tsv = "-";
    return score(&o) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
