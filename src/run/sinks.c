/* sinks.c — the outputs of a scoring run, one entry each in sl_sink_kinds[].
 *
 * Every sink writes temporaries next to its files at open and region, finishes and
 * checks them at prepare, and renames them at commit (or removes them at abort), so
 * the run can commit all of them only when all of them prepared. A new output kind is
 * one more ops table here and one entry in sl_sink_kinds[]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/browser.h"
#include "seqlift/npz.h"
#include "seqlift/score.h"
#include "seqlift/util.h"

#include "run/run_priv.h"

#define SUM_WARN 1e-3 /* summation-to-delta relative error that gets a warning */

/* ---- npz: ohe, hyp, contrib as (regions, 4, length) ------------------------------ */

typedef struct {
    sl_npz_writer_t **w; /* [1 + 2 * nt]: ohe, then hyp and contrib per target */
    int n;
    float *row;          /* [4][len] */
    double *pred;        /* first target's prediction per region (PREFIX.windows.bed) */
    char *win, *win_tmp; /* PREFIX.windows.bed: the npz rows back on the genome */
} npz_sink_t;

static int npz_wanted(const sl_score_outputs_t *o) { return o->npz != NULL; }

static const char *npz_kind(int k) { return k == 0 ? "ohe" : (k - 1) % 2 == 0 ? "hyp" : "contrib"; }
static const char *npz_target(const sl_score_info_t *c, int k)
{
    return k == 0 || c->nt == 1 ? NULL : c->tg[(k - 1) / 2].label;
}

static char *npz_windows_path(const sl_score_info_t *c)
{
    char *p = sl_malloc(strlen(c->opts->out.npz) + 16, "path");
    if (p) sprintf(p, "%s.windows.bed", c->opts->out.npz);
    return p;
}

static int npz_paths(const sl_score_info_t *c, char **p, int max)
{
    int n = 1 + 2 * c->nt;
    for (int k = 0; k < n && k < max; k++)
        if (!(p[k] = sl_npz_target_path(c->opts->out.npz, npz_target(c, k), npz_kind(k)))) return -1;
    if (n < max && !(p[n++] = npz_windows_path(c))) return -1;
    return n < max ? n : max;
}

static int npz_open(sl_sink_t *s, const sl_score_info_t *c)
{
    npz_sink_t *z = sl_calloc(1, sizeof(*z), "npz writers");
    if (!z) return -1;
    s->st = z;
    z->n = 1 + 2 * c->nt;
    z->w = sl_calloc((size_t)z->n, sizeof(*z->w), "npz writers");
    z->row = sl_malloc((size_t)c->len * 4 * sizeof(float), "npz row");
    z->pred = sl_calloc((size_t)c->rl->n + 1, sizeof(double), "predictions");
    if (!z->w || !z->row || !z->pred || !(z->win = npz_windows_path(c)) || !(z->win_tmp = sl_tmp_path(z->win)))
        return -1;
    int64_t shape[3] = {c->shard ? c->shard->n_own : c->rl->n, 4, c->len};
    for (int k = 0; k < z->n; k++) {
        char *path = sl_npz_target_path(c->opts->out.npz, npz_target(c, k), npz_kind(k));
        if (!path) return -1;
        z->w[k] = sl_npz_open(path, "arr_0", 3, shape);
        free(path);
        if (!z->w[k] || sl_npz_set_note(z->w[k], SL_NPZ_NOTE, c->about) < 0) return -1;
    }
    return 0;
}

static int npz_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
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
        if (sl_npz_write_rows(z->w[k], c->shard ? c->shard->row[i] : i, 1, z->row) < 0) return -1;
    }
    return 0;
}

static int npz_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    npz_sink_t *z = s->st;
    for (int k = 0; k < z->n; k++)
        if (sl_npz_prepare(z->w[k]) < 0) return -1;
    /* the windows BED goes (through its own temporary) onto ours, renamed at commit */
    if (!c->shard) return sl_browser_write_windows(z->win_tmp, c->rl, z->pred);
    const sl_shard_t *sh = c->shard; /* its own rows */
    sl_regions_t own = *c->rl;
    own.n = sh->n_own;
    own.r = sl_malloc((size_t)(sh->n_own ? sh->n_own : 1) * sizeof *own.r, "shard rows");
    double *pred = sl_malloc((size_t)(sh->n_own ? sh->n_own : 1) * sizeof *pred, "shard rows");
    int ret = own.r && pred ? 0 : -1;
    for (int64_t j = 0; j < sh->n_own && ret == 0; j++) own.r[j] = c->rl->r[sh->own[j]], pred[j] = z->pred[sh->own[j]];
    if (ret == 0) ret = sl_browser_write_windows(z->win_tmp, &own, pred);
    free(own.r);
    free(pred);
    return ret;
}

static void npz_free(sl_sink_t *s, int commit, int *ret)
{
    npz_sink_t *z = s->st;
    s->st = NULL;
    if (!z) return;
    for (int k = 0; k < z->n && z->w; k++) {
        if (!z->w[k]) continue;
        if (commit && *ret == 0) *ret = sl_npz_commit(z->w[k]);
        else sl_npz_abort(z->w[k]);
    }
    sl_tmp_settle(z->win_tmp, z->win, commit, ret);
    free(z->win_tmp);
    free(z->win);
    free(z->pred);
    free(z->w);
    free(z->row);
    free(z);
}

SINK_END(npz)

/* ---- report: one sl_report_t per target, written at prepare to temporaries -------- */

typedef struct {
    sl_motif_db_t *db;
    sl_report_t **rep;
    char **tmp, **path;  /* [RF * nt]: html, json, seqlets BED, shard state per target; NULL when not written */
    int nt;
} report_sink_t;

#define RF 4 /* files per target: html, json, seqlets BED9, a shard's report state (for merge) */

static int report_wanted(const sl_score_outputs_t *o) { return o->report || o->report_json || o->seqlets_bed; }

/* File j (0 html, 1 json, 2 seqlets BED) of target t, named by the one rule; NULL with
 * *err = 0 when not written. */
static char *report_file(const sl_score_info_t *c, int t, int j, int *err)
{
    const sl_score_outputs_t *o = &c->opts->out;
    char *p = NULL;
    *err = 0;
    if (j == 3) {
        if (c->opts->shard_n <= 0) return NULL;
        p = sl_shard_state_path(o, t);
    } else if (j == 2) {
        if (!o->seqlets_bed && (!(o->report || o->report_json) ||
                                !strcmp(o->report ? o->report : o->report_json, "-")))
            return NULL;
        p = sl_report_seqlets_path(o->seqlets_bed, o->report, o->report_json, c->tg[t].label, c->nt);
    } else {
        const char *q = j ? o->report_json : o->report;
        if (!q) return NULL;
        p = sl_track_target_path(q, c->tg[t].label, c->nt);
    }
    if (!p) *err = -1;
    return p;
}

/* Per-target files given by path (tracks, reports): path, or path.<target>.ext. */
static int target_paths(const sl_score_info_t *c, const char *a, const char *b, char **p, int max)
{
    int n = 0;
    for (int t = 0; t < c->nt; t++)
        for (int j = 0; j < 2; j++) {
            const char *q = j ? b : a;
            if (!q || !strcmp(q, "-") || n == max) continue;
            if (!(p[n++] = sl_track_target_path(q, c->tg[t].label, c->nt))) return -1;
        }
    return n;
}

static int report_paths(const sl_score_info_t *c, char **p, int max)
{
    int n = 0, err;
    for (int t = 0; t < c->nt; t++)
        for (int j = 0; j < RF && n < max; j++) {
            char *q = report_file(c, t, j, &err);
            if (err) return -1;
            if (q && !strcmp(q, "-")) free(q), q = NULL;
            if (q) p[n++] = q;
        }
    return n;
}

static int report_open(sl_sink_t *s, const sl_score_info_t *c)
{
    const sl_score_outputs_t *o = &c->opts->out;
    report_sink_t *z = sl_calloc(1, sizeof(*z), "report");
    if (!z) return -1;
    s->st = z;
    z->nt = c->nt;
    if (o->motifs && !(z->db = sl_motif_db_read(o->motifs))) return -1;
    if (!(z->rep = sl_calloc((size_t)c->nt, sizeof(*z->rep), "reports")) ||
        !(z->tmp = sl_calloc((size_t)c->nt * RF, sizeof(char *), "report paths")) ||
        !(z->path = sl_calloc((size_t)c->nt * RF, sizeof(char *), "report paths")))
        return -1;
    for (int t = 0; t < c->nt; t++) {
        sl_report_opts_t ro = o->ro;
        ro.pred_label = c->tg[t].label;
        if (!(z->rep[t] = sl_report_create(&ro, z->db))) return -1;
        for (int j = 0, err; j < RF; j++) {
            char **fp = &z->path[RF * t + j];
            *fp = report_file(c, t, j, &err);
            if (err) return -1;
            /* the report writes (through its own temporary) onto ours at prepare;
             * "-", a device or a FIFO is written in place */
            if (*fp && !sl_path_is_special(*fp) && !(z->tmp[RF * t + j] = sl_tmp_path(*fp))) return -1;
        }
    }
    return 0;
}

static int report_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
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

static int report_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    report_sink_t *z = s->st;
    for (int t = 0; t < z->nt; t++) {
        const char *f[RF];
        for (int j = 0; j < RF; j++) f[j] = z->tmp[RF * t + j] ? z->tmp[RF * t + j] : z->path[RF * t + j];
        if ((f[0] || f[1]) && sl_report_write(z->rep[t], f[0], f[1]) < 0) return -1;
        if (f[2] && sl_report_write_seqlets(z->rep[t], f[2], NULL) < 0) return -1;
        if (f[3] && sl_report_write_state(z->rep[t], f[3]) < 0) return -1;
    }
    return 0;
}

static void report_free(sl_sink_t *s, int commit, int *ret)
{
    report_sink_t *z = s->st;
    s->st = NULL;
    if (!z) return;
    for (int t = 0; t < RF * z->nt && z->tmp; t++) {
        sl_tmp_settle(z->tmp[t], z->path[t], commit, ret);
        free(z->tmp[t]);
    }
    for (int t = 0; t < RF * z->nt && z->path; t++) free(z->path[t]);
    for (int t = 0; t < z->nt && z->rep; t++) sl_report_destroy(z->rep[t]);
    free(z->tmp);
    free(z->path);
    free(z->rep);
    sl_motif_db_destroy(z->db);
    free(z);
}

SINK_END(report)

/* ---- TSV ---------------------------------------------------------------------------- */

static int tsv_wanted(const sl_score_outputs_t *o) { return o->tsv != NULL; }

static int tsv_paths(const sl_score_info_t *c, char **p, int max)
{
    if (!strcmp(c->opts->out.tsv, "-") || max < 1) return 0;
    return (p[0] = sl_strdup(c->opts->out.tsv)) ? 1 : -1;
}

static int tsv_open(sl_sink_t *s, const sl_score_info_t *c)
{
    sl_ofile_t *f = sl_ofile_open(c->opts->out.tsv, "w");
    if (!f) return -1;
    s->st = f;
    fprintf(f->fp, "# %s\n", c->about); /* provenance: version, inputs, options */
    fprintf(f->fp, "%s\ttarget\toutput\tref_mean\tcontrib_sum\tdelta_error\tn_refs\tn_part\tregion_index\n",
            SL_RUN_TSV_KEY(c->bed_mode));
    return 0;
}

static void put_num(FILE *fp, double v)
{
    if (isnan(v)) fputs("\tNA", fp);
    else fprintf(fp, "\t%.7g", v);
}

static int tsv_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
                      const sl_attr_out_t *res)
{
    (void)onehot;
    FILE *fp = ((sl_ofile_t *)s->st)->fp;
    const sl_region_t *r = &c->rl->r[i];
    for (int t = 0; t < c->nt; t++) {
        sl_run_put_key(fp, r, c->bed_mode);
        fprintf(fp, "\t%s", c->tg[t].label);
        put_num(fp, res->out_x[t]);
        put_num(fp, res->out_ref[t]);
        put_num(fp, res->sum[t]);
        put_num(fp, res->err[t]);
        fprintf(fp, "\t%d", res->n_refs);
        put_num(fp, res->n_part[t]); /* the N positions' part: contrib_sum + n_part = Δ */
        fprintf(fp, "\t%lld\n", (long long)r->index);
    }
    if (ferror(fp)) return sl_ofile_prepare(s->st); /* reports the failure once */
    return 0;
}

static int tsv_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    return sl_ofile_prepare(s->st);
}

static int tsv_commit(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    sl_ofile_t *f = s->st;
    s->st = NULL;
    return sl_ofile_commit(f);
}

static void tsv_abort(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    sl_ofile_abort(s->st);
    s->st = NULL;
}

/* ---- tracks: bedGraph / bigWig of the observed bases' contributions ---------------- */

typedef struct {
    sl_track_t **w;      /* [nt] */
    float *vals;         /* [len] */
    int nt;
} track_sink_t;

static int track_wanted(const sl_score_outputs_t *o) { return o->bedgraph || o->bigwig; }

static int track_paths(const sl_score_info_t *c, char **p, int max)
{
    return target_paths(c, c->opts->out.bedgraph, c->opts->out.bigwig, p, max);
}

static int track_open(sl_sink_t *s, const sl_score_info_t *c)
{
    const sl_score_outputs_t *o = &c->opts->out;
    track_sink_t *k = sl_calloc(1, sizeof(*k), "track writers");
    if (!k) return -1;
    s->st = k;
    k->nt = c->nt;
    k->w = sl_calloc((size_t)c->nt, sizeof(*k->w), "track writers");
    k->vals = sl_malloc((size_t)c->len * sizeof(float), "track values");
    sl_genome_t *g = k->w && k->vals ? sl_genome_open(c->opts->fasta) : NULL; /* contig sizes */
    int ret = g ? 0 : -1;
    sl_track_opts_t topt = o->track;
    topt.comment = c->about; /* the bedGraph's "# " line */
    for (int t = 0; t < c->nt && ret == 0; t++) {
        char *bg = o->bedgraph ? sl_track_target_path(o->bedgraph, c->tg[t].label, c->nt) : NULL;
        char *bw = o->bigwig ? sl_track_target_path(o->bigwig, c->tg[t].label, c->nt) : NULL;
        if ((o->bedgraph && !bg) || (o->bigwig && !bw) || !(k->w[t] = sl_track_open_genome(bg, bw, g, &topt)))
            ret = -1;
        free(bg);
        free(bw);
    }
    sl_genome_close(g);
    return ret;
}

static int track_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
                        const sl_attr_out_t *res)
{
    track_sink_t *k = s->st;
    for (int t = 0; t < c->nt; t++) {
        sl_track_project(res->contrib + (size_t)t * c->len * 4, onehot, c->len, 1, k->vals);
        for (int p = 0; c->shard && p < c->len; p++) /* a shard writes the bases it owns */
            if (!sl_shard_owns(c->shard, c->rl->r[i].chrom, sl_region_genome_pos(&c->rl->r[i], p))) k->vals[p] = NAN;
        if (sl_track_add(k->w[t], &c->rl->r[i], k->vals) < 0) return -1;
    }
    return 0;
}

static int track_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    track_sink_t *k = s->st;
    for (int t = 0; t < k->nt; t++)
        if (sl_track_prepare(k->w[t]) < 0) return -1;
    return 0;
}

static void track_free(sl_sink_t *s, int commit, int *ret)
{
    track_sink_t *k = s->st;
    s->st = NULL;
    if (!k) return;
    for (int t = 0; t < k->nt && k->w; t++) {
        if (!k->w[t]) continue;
        if (commit && *ret == 0) *ret = sl_track_commit(k->w[t]);
        else sl_track_abort(k->w[t]);
    }
    free(k->w);
    free(k->vals);
    free(k);
}

SINK_END(track)

/* ---- summation-to-delta statistics (a message, no file) ---------------------------- */

typedef struct {
    int64_t n_bad, n;     /* the worst error is the run's progress (its summary line) */
} sum_stats_t;

static int stats_wanted(const sl_score_outputs_t *o)
{
    (void)o;
    return 1;
}

static int stats_paths(const sl_score_info_t *c, char **p, int max)
{
    (void)c;
    (void)p;
    (void)max;
    return 0;
}

static int stats_open(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    return (s->st = sl_calloc(1, sizeof(sum_stats_t), "statistics")) ? 0 : -1;
}

static int stats_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
                        const sl_attr_out_t *res)
{
    (void)i;
    (void)onehot;
    sum_stats_t *st = s->st;
    for (int t = 0; t < c->nt; t++) {
        if (isnan(res->err[t])) continue;
        st->n++;
        if (!(res->err[t] <= c->progress->worst_err)) c->progress->worst_err = res->err[t]; /* NaN: none yet */
        if (res->err[t] > SUM_WARN) st->n_bad++;
    }
    return 0;
}

static int stats_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)s;
    (void)c;
    return 0;
}

static int stats_commit(sl_sink_t *s, const sl_score_info_t *c)
{
    sum_stats_t *st = s->st;
    s->st = NULL;
    double worst = st->n ? c->progress->worst_err : 0;
    sl_method_t m = c->opts->ao.method;
    if (!sl_method_sums_to_delta(m))
        sl_log_info("method %s has no summation-to-delta property (TSV columns NA)", sl_method_name(m));
    else if (st->n_bad)
        sl_log_warn("summation-to-delta: relative error above %g for %lld of %lld region-targets (worst %.3g)",
                    SUM_WARN, (long long)st->n_bad, (long long)st->n, worst);
    else sl_log_info("summation-to-delta: worst relative error %.3g over %lld region-targets", worst,
                     (long long)st->n);
    free(st);
    return 0;
}

static void stats_abort(sl_sink_t *s, const sl_score_info_t *c)
{
    (void)c;
    free(s->st);
    s->st = NULL;
}

/* ---- genome-browser views of the run's outputs: IGV session, UCSC hub ------------- */

typedef struct {
    char *xml, *xml_tmp; /* the IGV session and its temporary */
} views_sink_t;

static int views_wanted(const sl_score_outputs_t *o) { return o->igv_session || o->ucsc_hub; }

static int views_paths(const sl_score_info_t *c, char **p, int max)
{
    const sl_score_outputs_t *o = &c->opts->out;
    static const char *const hub_files[] = {"hub.txt", "genomes.txt", "trackDb.txt"};
    int n = 0;
    if (o->igv_session && n < max && !(p[n++] = sl_strdup(o->igv_session))) return -1;
    for (int k = 0; o->ucsc_hub && k < 3 && n < max; k++) {
        if (!(p[n] = sl_malloc(strlen(o->ucsc_hub) + 16, "path"))) return -1;
        sprintf(p[n++], "%s/%s", o->ucsc_hub, hub_files[k]);
    }
    return n;
}

static int views_open(sl_sink_t *s, const sl_score_info_t *c)
{
    const sl_score_outputs_t *o = &c->opts->out;
    views_sink_t *v = sl_calloc(1, sizeof(*v), "views");
    if (!v) return -1;
    s->st = v;
    if (o->igv_session && (!(v->xml = sl_strdup(o->igv_session)) || !(v->xml_tmp = sl_tmp_path(v->xml)))) return -1;
    return 0;
}

static int views_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
                        const sl_attr_out_t *res)
{
    (void)s, (void)c, (void)i, (void)onehot, (void)res;
    return 0;
}

/* Last in the table, so it prepares after every output it names: the session goes
 * onto its temporary (same directory, so its relative paths hold) and is renamed at
 * commit; the hub's three small files are written into its directory here. */
static int views_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    views_sink_t *v = s->st;
    const sl_score_opts_t *so = c->opts;
    const sl_score_outputs_t *o = &so->out;
    const char **lab = sl_calloc((size_t)c->nt + 1, sizeof(*lab), "targets");
    if (!lab) return -1;
    for (int t = 0; t < c->nt; t++) lab[t] = c->tg[t].label;
    sl_browser_run_t br = {so->fasta, o->ro.genome_name, so->bed, o->bigwig, o->bedgraph, o->seqlets_bed,
                           o->report, o->report_json, lab, c->nt, c->rl};
    int ret = sl_browser_write_run(&br, v->xml_tmp, o->ucsc_hub);
    free(lab);
    return ret;
}

static void views_free(sl_sink_t *s, int commit, int *ret)
{
    views_sink_t *v = s->st;
    s->st = NULL;
    if (!v) return;
    sl_tmp_settle(v->xml_tmp, v->xml, commit, ret);
    free(v->xml_tmp);
    free(v->xml);
    free(v);
}

SINK_END(views)

/* The output kinds, in the order they see each region (tracks first: they need genome
 * order, which then is the order of every sink). */
const sl_sink_ops_t sl_sink_kinds[] = {
    {"tracks", 1, track_wanted, track_paths, track_open, track_region, track_prepare, track_commit, track_abort},
    {"npz", 0, npz_wanted, npz_paths, npz_open, npz_region, npz_prepare, npz_commit, npz_abort},
    {"tsv", 0, tsv_wanted, tsv_paths, tsv_open, tsv_region, tsv_prepare, tsv_commit, tsv_abort},
    {"report", 0, report_wanted, report_paths, report_open, report_region, report_prepare, report_commit, report_abort},
    {"stats", 0, stats_wanted, stats_paths, stats_open, stats_region, stats_prepare, stats_commit, stats_abort},
    {"views", 0, views_wanted, views_paths, views_open, views_region, views_prepare, views_commit, views_abort},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};
