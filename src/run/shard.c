/* shard.c — one shard of a run (sl_shard_plan, score.h) and the run descriptor that
 * each shard writes beside its outputs, so that `seqlift merge` can check that its
 * shards come from one run and put their rows back in order (merge.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seqlift/reference.h"
#include "seqlift/score.h"
#include "seqlift/track.h"
#include "seqlift/util.h"
#include "seqlift/version.h"

#include "run/run_priv.h"

#define SHARD_MAX 100000

int sl_shard_parse(const char *s, int *k, int *n)
{
    char *e1, *e2;
    errno = 0;
    long a = strtol(s, &e1, 10);
    if (e1 == s || *e1 != '/') return -1;
    long b = strtol(e1 + 1, &e2, 10);
    if (errno || e2 == e1 + 1 || *e2 || b < 1 || b > SHARD_MAX || a < 1 || a > b) return -1;
    *k = (int)a, *n = (int)b;
    return 0;
}

/* (chrom, pos) order of genome bases; NULL chrom (FASTA records) last */
static int base_cmp(const char *ca, int64_t pa, const char *cb, int64_t pb)
{
    if (!ca || !cb) return ca ? -1 : cb ? 1 : 0;
    int c = strcmp(ca, cb);
    if (c) return c;
    return (pa > pb) - (pa < pb);
}

int sl_shard_owns(const sl_shard_t *s, const char *chrom, int64_t pos)
{
    return (!s->lo_chrom || base_cmp(chrom, pos, s->lo_chrom, s->lo_pos) >= 0) &&
           (!s->hi_chrom || base_cmp(chrom, pos, s->hi_chrom, s->hi_pos) < 0);
}

static int64_t block_first(int64_t n_regions, int k, int n) { return (int64_t)((__int128)(k - 1) * n_regions / n); }

int sl_shard_plan(const sl_regions_t *rl, int k, int n, int64_t track_width, sl_shard_t *s)
{
    memset(s, 0, sizeof *s);
    s->k = k, s->n = n;
    int64_t nr = rl->n, *order = sl_malloc((size_t)(nr ? nr : 1) * sizeof *order, "region order");
    s->row = sl_malloc((size_t)(nr ? nr : 1) * sizeof *s->row, "shard rows");
    s->own = sl_malloc((size_t)(nr ? nr : 1) * sizeof *s->own, "shard rows");
    s->proc = sl_malloc((size_t)(nr ? nr : 1) * sizeof *s->proc, "shard regions");
    if (!order || !s->row || !s->own || !s->proc || sl_track_sort_order(rl, order) < 0) {
        free(order);
        sl_shard_free(s);
        return -1;
    }
    int64_t a = block_first(nr, k, n), b = block_first(nr, k + 1, n), ks, ke;
    /* the boundary of the next non-empty block (empty blocks own nothing) */
    if (b < nr) {
        const sl_region_t *r = &rl->r[order[b]];
        sl_track_kept(r, track_width, &ks, &ke);
        s->hi_chrom = r->chrom, s->hi_pos = ks;
    }
    if (a < b && k > 1) {
        const sl_region_t *r = &rl->r[order[a]];
        sl_track_kept(r, track_width, &ks, &ke);
        s->lo_chrom = r->chrom, s->lo_pos = ks;
    } else if (a == b) { /* empty: owns [hi, hi) */
        s->lo_chrom = s->hi_chrom, s->lo_pos = s->hi_pos;
        if (!s->hi_chrom) s->lo_chrom = "", s->hi_chrom = ""; /* nothing left: owns nothing */
    }
    for (int64_t i = 0; i < nr; i++) s->row[i] = -1;
    /* left halo: earlier regions on the boundary's chromosome keeping a base past it */
    for (int64_t j = 0; j < a && s->lo_chrom && a < b; j++) {
        const sl_region_t *r = &rl->r[order[j]];
        sl_track_kept(r, track_width, &ks, &ke);
        if (r->chrom && !strcmp(r->chrom, s->lo_chrom) && ke > s->lo_pos) s->proc[s->n_proc++] = order[j];
    }
    for (int64_t j = a; j < b; j++) s->proc[s->n_proc++] = order[j];
    for (int64_t j = a; j < b; j++) s->row[order[j]] = 0;
    for (int64_t i = 0; i < nr; i++)
        if (s->row[i] == 0) s->own[s->n_own] = i, s->row[i] = s->n_own++;
    free(order);
    return 0;
}

void sl_shard_free(sl_shard_t *s)
{
    free(s->own);
    free(s->row);
    free(s->proc);
    s->own = s->row = s->proc = NULL;
}

char *sl_shard_descriptor_path(const sl_score_outputs_t *o)
{
    const char *first[] = {o->npz, o->tsv, o->bedgraph, o->bigwig, o->report_json, o->report};
    for (size_t j = 0; j < sizeof first / sizeof *first; j++) {
        if (!first[j] || !strcmp(first[j], "-")) continue;
        char *p = sl_malloc(strlen(first[j]) + sizeof SL_RUN_DESCRIPTOR_EXT, "path");
        if (p) sprintf(p, "%s%s", first[j], SL_RUN_DESCRIPTOR_EXT);
        return p;
    }
    return NULL;
}

char *sl_shard_state_path(const sl_score_outputs_t *o, int t)
{
    char *d = sl_shard_descriptor_path(o), *p = NULL;
    if (!d) return NULL;
    d[strlen(d) - strlen(SL_RUN_DESCRIPTOR_EXT)] = 0;
    if ((p = sl_malloc(strlen(d) + sizeof SL_RUN_STATE_EXT + 16, "path"))) {
        if (t < 0) sprintf(p, "%s%s", d, SL_RUN_STATE_EXT);
        else sprintf(p, "%s%s-%d", d, SL_RUN_STATE_EXT, t);
    }
    free(d);
    return p;
}

/* ---- the run descriptor ------------------------------------------------------------ */

/* path, size and a hash of a file's bytes ("-": stdin, neither); NULL on error */
static cJSON *file_entry(const char *path, int hash)
{
    cJSON *f = cJSON_CreateObject();
    if (!f || !cJSON_AddStringToObject(f, "path", path)) goto fail;
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0) return f;
    if (!cJSON_AddNumberToObject(f, "size", (double)st.st_size)) goto fail;
    if (!hash) return f;
    FILE *fp = fopen(path, "rb");
    if (!fp) return f;
    static unsigned char buf[1 << 16];
    uint64_t h = 0;
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, fp)) > 0) h = sl_hash64(buf, k, h);
    fclose(fp);
    char hex[24];
    snprintf(hex, sizeof hex, "%016" PRIx64, h);
    if (!cJSON_AddStringToObject(f, "hash", hex)) goto fail;
    return f;
fail:
    cJSON_Delete(f);
    return NULL;
}

/* A seqlift JSON model's weights file: its "weights" entry, beside it; else NULL. */
static char *json_weights(const char *model)
{
    FILE *fp = fopen(model, "rb");
    if (!fp) return NULL;
    char buf[1 << 12];
    size_t k = fread(buf, 1, sizeof buf - 1, fp); /* "weights" comes before the layers */
    fclose(fp);
    buf[k] = 0;
    char *w = strstr(buf, "\"weights\""), *q, *e, *p = NULL;
    if (!w || !(q = strchr(w + 9, '"')) || !(e = strchr(q + 1, '"'))) return NULL;
    const char *slash = strrchr(model, '/');
    size_t dl = slash ? (size_t)(slash - model + 1) : 0;
    if ((p = sl_malloc(dl + (size_t)(e - q) + 1, "path"))) {
        memcpy(p, model, dl);
        memcpy(p + dl, q + 1, (size_t)(e - q - 1));
        p[dl + (size_t)(e - q - 1)] = 0;
    }
    return p;
}

/* The model's files: the model and its weights (given, or a JSON model's) */
static cJSON *model_entry(const char *model, const char *weights)
{
    cJSON *a = cJSON_CreateArray();
    char *st = weights ? NULL : json_weights(model);
    if (st) weights = st;
    const char *f[] = {model, weights};
    for (int j = 0; j < 2 && a; j++)
        if (f[j]) {
            cJSON *e = file_entry(f[j], 1);
            if (!e) cJSON_Delete(a), a = NULL;
            else cJSON_AddItemToArray(a, e);
        }
    free(st);
    return a;
}

cJSON *sl_run_descriptor(const char *kind, const char *command, const char *model, const char *weights,
                         const char *fasta, const char *regions, const char *options, const sl_shard_t *s,
                         const sl_regions_t *rl, const char *row_order)
{
    cJSON *d = cJSON_CreateObject(), *idx = NULL;
    if (!d) goto fail;
    cJSON_AddStringToObject(d, "seqlift_run", kind);
    cJSON_AddStringToObject(d, "version", sl_version());
    cJSON_AddStringToObject(d, "command", command ? command : "");
    cJSON_AddItemToObject(d, "model", model_entry(model, weights));
    if (fasta) cJSON_AddItemToObject(d, "genome", file_entry(fasta, 0));
    cJSON_AddItemToObject(d, "regions", file_entry(regions, 1));
    cJSON_AddStringToObject(d, "options", options);
    cJSON_AddNumberToObject(d, "shards", s->n);
    cJSON_AddNumberToObject(d, "shard", s->k);
    cJSON_AddNumberToObject(d, "n_regions", (double)rl->n);
    cJSON_AddNumberToObject(d, "n_own", (double)s->n_own);
    cJSON_AddStringToObject(d, "row_order", row_order);
    /* npz row j of this shard is region own[j] of the run */
    if (!(idx = cJSON_AddArrayToObject(d, "region_index"))) goto fail;
    for (int64_t j = 0; j < s->n_own; j++) {
        cJSON *v = cJSON_CreateNumber((double)s->own[j]);
        if (!v) goto fail;
        cJSON_AddItemToArray(idx, v);
    }
    if (!cJSON_GetObjectItem(d, "model") || !cJSON_GetObjectItem(d, "regions")) goto fail;
    return d;
fail:
    sl_log_error("run descriptor: out of memory");
    cJSON_Delete(d);
    return NULL;
}

int sl_run_descriptor_write(cJSON *d, const char *path, const char *shown)
{
    char *txt = cJSON_PrintUnformatted(d);
    if (!txt) {
        sl_log_error("%s: out of memory", shown);
        return -1;
    }
    sl_ofile_t *f = sl_ofile_open(path, "w");
    int ret = -1;
    if (f) {
        fputs(txt, f->fp);
        fputc('\n', f->fp);
        ret = sl_ofile_commit(f);
    }
    free(txt);
    return ret;
}

/* ---- the descriptor as a sink of a scoring run ------------------------------------- */

typedef struct {
    char *path, *tmp;
} desc_sink_t;

static int desc_wanted(const sl_score_outputs_t *o)
{
    (void)o;
    return 1; /* a no-op unless the run is sharded */
}

static int desc_paths(const sl_score_info_t *c, char **p, int max)
{
    if (c->opts->shard_n <= 0 || max < 1) return 0; /* checked before the shard is planned */
    if (!(p[0] = sl_shard_descriptor_path(&c->opts->out))) {
        sl_log_error("--shard: the run writes no output file to put its descriptor beside");
        return -1;
    }
    return 1;
}

static int desc_open(sl_sink_t *s, const sl_score_info_t *c)
{
    desc_sink_t *z = sl_calloc(1, sizeof *z, "descriptor");
    if (!(s->st = z)) return -1;
    if (!c->shard) return 0;
    if (!(z->path = sl_shard_descriptor_path(&c->opts->out)) || !(z->tmp = sl_tmp_path(z->path))) return -1;
    return 0;
}

static int desc_region(sl_sink_t *s, const sl_score_info_t *c, int64_t i, const float *onehot,
                       const sl_attr_out_t *res)
{
    (void)s, (void)c, (void)i, (void)onehot, (void)res;
    return 0;
}

/* What changes the numbers of a scoring run, as one string compared by merge. */
char *sl_run_score_options(const sl_score_info_t *c)
{
    const sl_score_opts_t *o = c->opts;
    char *s = sl_malloc(4096, "options");
    if (!s) return NULL;
    snprintf(s, 4096,
             "method=%s maxpool=%d ig_steps=%d ig_rule=%d rc_average=%d refs=%s seed=%" PRIu64 " target=%s "
             "post_activation=%d edge=%d alphabet=%s length=%d overlap=%s track_width=%" PRId64 " merge_runs=%d",
             sl_method_name(o->ao.method), (int)o->ao.maxpool, o->ao.ig_steps, (int)o->ao.ig_rule, o->ao.rc_average,
             o->refs ? o->refs : SL_REF_DEFAULT_SPEC,
             o->seed, o->target ? o->target : "0", o->post_activation, (int)o->edge,
             o->alphabet ? o->alphabet : "ACGT", c->len, sl_track_overlap_name(o->out.track.overlap),
             o->out.track.track_width, o->out.track.merge_runs);
    return s;
}

static void add_path(cJSON *o, const char *key, const char *path)
{
    if (path) cJSON_AddStringToObject(o, key, path);
}

static int desc_prepare(sl_sink_t *s, const sl_score_info_t *c)
{
    desc_sink_t *z = s->st;
    if (!c->shard) return 0;
    const sl_score_opts_t *o = c->opts;
    const sl_score_outputs_t *out = &o->out;
    char *opts = sl_run_score_options(c);
    int tracks = out->bedgraph || out->bigwig, ret = -1;
    cJSON *d = opts ? sl_run_descriptor("score", o->command, o->model, o->weights, c->bed_mode ? o->fasta : NULL,
                                        c->bed_mode ? o->bed : o->seqs, opts, c->shard, c->rl,
                                        tracks ? "genome" : "input")
                    : NULL, *t, *w;
    if (!d) goto done;
    cJSON_AddNumberToObject(d, "length", c->len);
    if (c->about) cJSON_AddStringToObject(d, "about", c->about); /* what merge writes into its outputs */
    if (!(t = cJSON_AddArrayToObject(d, "targets")) || !(w = cJSON_AddObjectToObject(d, "outputs"))) goto done;
    for (int j = 0; j < c->nt; j++) cJSON_AddItemToArray(t, cJSON_CreateString(c->tg[j].label));
    add_path(w, "npz", out->npz);
    add_path(w, "tsv", out->tsv);
    add_path(w, "bedgraph", out->bedgraph);
    add_path(w, "bigwig", out->bigwig);
    add_path(w, "report", out->report);
    add_path(w, "report_json", out->report_json);
    add_path(w, "seqlets_bed", out->seqlets_bed);
    if (out->report || out->report_json || out->seqlets_bed) { /* what merge draws the union's report from */
        char *st = sl_shard_state_path(out, -1);
        if (!st) goto done;
        add_path(w, "report_state", st);
        free(st);
    }
    ret = sl_run_descriptor_write(d, z->tmp, z->path);
done:
    free(opts);
    cJSON_Delete(d);
    return ret;
}

static void desc_free(sl_sink_t *s, int commit, int *ret)
{
    desc_sink_t *z = s->st;
    s->st = NULL;
    if (!z) return;
    sl_tmp_settle(z->tmp, z->path, commit, ret);
    free(z->tmp);
    free(z->path);
    free(z);
}

SINK_END(desc)

const sl_sink_ops_t sl_sink_descriptor = {"descriptor", 0, desc_wanted, desc_paths, desc_open, desc_region,
                                          desc_prepare, desc_commit, desc_abort};
