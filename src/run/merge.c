/* merge.c — `seqlift merge` (merge.h): the shards of one run, checked against each
 * other by their run descriptors (shard.c), back into the files one run writes. */
#include "seqlift/merge.h"

#include <bigWig.h>
#include <htslib/bgzf.h>
#include <htslib/kstring.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqlift/npz.h"
#include "seqlift/report.h"
#include "seqlift/score.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

#include "run/run_priv.h"

/* What must be equal in every shard of one run, in the order checked. */
static const char *const same_keys[] = {"seqlift_run", "version", "model",  "genome",   "regions", "options",
                                        "shards",      "n_regions", "row_order", "length", "targets", NULL};

typedef struct {
    const char *path;
    cJSON *d;
    int k;
    int64_t n_own;
    int64_t *idx; /* [n_own] region_index of its rows */
} shard_t;

/* Outputs, kept open until all are complete. */
typedef struct {
    sl_ofile_t **f;
    sl_npz_writer_t **z;
    sl_track_t **t;
    char **p;        /* pairs: a temporary written whole (the reports), its path */
    int nf, nz, nt, np, mf, mz, mt, mp;
} outs_t;

static int push(void ***a, int *n, int *m, void *p)
{
    if (*n == *m) {
        int nm = *m ? 2 * *m : 8;
        void **q = sl_realloc(*a, (size_t)nm * sizeof *q, "outputs");
        if (!q) return -1;
        *a = q, *m = nm;
    }
    (*a)[(*n)++] = p;
    return 0;
}
#define PUSH(o, X, p) push((void ***)&(o)->X, &(o)->n##X, &(o)->m##X, (p))

static void outs_end(outs_t *o, int commit, int *ret)
{
    for (int j = 0; j < o->nf; j++)
        if (commit && *ret == 0) *ret = sl_ofile_commit(o->f[j]);
        else sl_ofile_abort(o->f[j]);
    for (int j = 0; j < o->nz; j++)
        if (commit && *ret == 0) *ret = sl_npz_commit(o->z[j]);
        else sl_npz_abort(o->z[j]);
    for (int j = 0; j < o->nt; j++)
        if (commit && *ret == 0) *ret = sl_track_commit(o->t[j]);
        else sl_track_abort(o->t[j]);
    for (int j = 0; j + 1 < o->np; j += 2) sl_tmp_settle(o->p[j], o->p[j + 1], commit, ret);
    for (int j = 0; j < o->np; j++) free(o->p[j]);
    free(o->f), free(o->z), free(o->t), free(o->p);
}

static char *out_path(const char *prefix, const char *ext)
{
    char *p = sl_malloc(strlen(prefix) + strlen(ext) + 1, "path");
    if (p) sprintf(p, "%s%s", prefix, ext);
    return p;
}

static const char *str_of(const cJSON *d, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(d, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The shard's file of one kind; NULL when not written to a file ("-" is stdout) */
static const char *output_of(const shard_t *s, const char *kind)
{
    const char *p = str_of(cJSON_GetObjectItem(s->d, "outputs"), kind);
    return p && strcmp(p, "-") ? p : NULL;
}

/* ---- descriptors -------------------------------------------------------------------- */

static int read_shard(shard_t *s)
{
    FILE *fp = fopen(s->path, "rb");
    if (!fp) {
        sl_log_error("%s: cannot open the run descriptor", s->path);
        return -1;
    }
    kstring_t t = {0, 0, NULL};
    char buf[1 << 14];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, fp)) > 0) kputsn(buf, k, &t);
    fclose(fp);
    s->d = t.s ? cJSON_Parse(t.s) : NULL;
    free(t.s);
    const cJSON *K = cJSON_GetObjectItem(s->d, "shard"), *idx = cJSON_GetObjectItem(s->d, "region_index"),
                *n = cJSON_GetObjectItem(s->d, "n_regions");
    if (!s->d || !cJSON_IsNumber(K) || !cJSON_IsArray(idx) || !cJSON_IsNumber(n) || !str_of(s->d, "seqlift_run")) {
        sl_log_error("%s: not a seqlift run descriptor (written by score/predict --shard K/N)", s->path);
        return -1;
    }
    s->k = K->valueint;
    s->n_own = cJSON_GetArraySize(idx);
    if (!(s->idx = sl_malloc((size_t)(s->n_own ? s->n_own : 1) * sizeof *s->idx, "region index"))) return -1;
    int64_t j = 0;
    for (const cJSON *v = idx->child; v; v = v->next, j++) {
        s->idx[j] = (int64_t)v->valuedouble;
        if (!cJSON_IsNumber(v) || s->idx[j] < 0 || s->idx[j] >= (int64_t)n->valuedouble) {
            sl_log_error("%s: region_index %" PRId64 " is out of range", s->path, j);
            return -1;
        }
    }
    return 0;
}

/* Equal, but for the "path" of files (a shard may name them from another directory:
 * their sizes and hashes say whether they are the same). */
static int same(const cJSON *a, const cJSON *b)
{
    if (!a || !b) return !a && !b;
    if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && a->type == b->type) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 0;
        for (const cJSON *x = a->child, *y = b->child; x && y; x = x->next, y = y->next) {
            int named = x->string && y->string;
            if ((x->string || y->string) && (!named || strcmp(x->string, y->string))) return 0;
            if (!(named && !strcmp(x->string, "path")) && !same(x, y)) return 0;
        }
        return 1;
    }
    return cJSON_Compare(a, b, 1);
}

/* One run, shards 1..N each once; sorts sh by K. 0 / -1 (one line naming what differs). */
static int check_shards(shard_t *sh, int n)
{
    for (int j = 1; j < n; j++) {
        for (int q = 0; same_keys[q]; q++)
            if (!same(cJSON_GetObjectItem(sh[0].d, same_keys[q]), cJSON_GetObjectItem(sh[j].d, same_keys[q]))) {
                sl_log_error("%s and %s are not shards of one run: their %s differ", sh[0].path, sh[j].path,
                             same_keys[q]);
                return -1;
            }
        /* the same kinds of output */
        const cJSON *a = cJSON_GetObjectItem(sh[0].d, "outputs"), *b = cJSON_GetObjectItem(sh[j].d, "outputs");
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b), ok = na == nb;
        for (const cJSON *v = a ? a->child : NULL; v && ok; v = v->next) ok = cJSON_GetObjectItem(b, v->string) != NULL;
        if (!ok) {
            sl_log_error("%s and %s are not shards of one run: they write different outputs", sh[0].path, sh[j].path);
            return -1;
        }
    }
    int N = cJSON_GetObjectItem(sh[0].d, "shards")->valueint;
    for (int j = 0; j < n; j++) /* insertion sort by K, refusing a K given twice */
        for (int i = j; i > 0 && sh[i - 1].k >= sh[i].k; i--) {
            if (sh[i - 1].k == sh[i].k) {
                sl_log_error("shard %d/%d is given twice (%s and %s)", sh[i].k, N, sh[i - 1].path, sh[i].path);
                return -1;
            }
            shard_t t = sh[i];
            sh[i] = sh[i - 1], sh[i - 1] = t;
        }
    for (int k = 1; k <= N; k++)
        if (k > n || sh[k - 1].k != k) {
            sl_log_error("shard %d/%d is missing (%d shard%s given)", k, N, n, n == 1 ? "" : "s");
            return -1;
        }
    if (n > N) {
        sl_log_error("%s: shard %d/%d is out of range", sh[N].path, sh[N].k, N);
        return -1;
    }
    return 0;
}

/* ---- TSV: one header, rows in one run's order ------------------------------------ */

typedef struct {
    BGZF *fp;
    kstring_t line;
    int64_t key;
    int live;
} reader_t;

static int next_row(reader_t *r, int col, const char *path)
{
    r->live = bgzf_getline(r->fp, '\n', &r->line) >= 0;
    if (!r->live) return 0;
    const char *p = r->line.s;
    for (int c = 0; c < col && p; c++) p = strchr(p, '\t') ? strchr(p, '\t') + 1 : NULL;
    char *e;
    r->key = p ? strtoll(p, &e, 10) : -1;
    if (!p || (*e && *e != '\t')) {
        sl_log_error("%s: a row without region_index", path);
        return -1;
    }
    return 0;
}

static int merge_tsv(shard_t *sh, int n, const char *prefix, outs_t *outs)
{
    int genome = !strcmp(str_of(sh[0].d, "row_order"), "genome"), ret = -1, col = -1;
    char *head = NULL;
    char *path = out_path(prefix, ".tsv");
    reader_t *r = sl_calloc((size_t)n, sizeof *r, "readers");
    sl_ofile_t *f = path && r ? sl_ofile_open(path, "w") : NULL;
    if (!f || PUSH(outs, f, f) < 0) goto done;
    for (int j = 0; j < n; j++) {
        const char *in = output_of(&sh[j], "tsv");
        if (!(r[j].fp = bgzf_open(in, "r")) || bgzf_getline(r[j].fp, '\n', &r[j].line) < 0) {
            sl_log_error("%s: cannot read the shard's TSV", in);
            goto done;
        }
        /* the "# " provenance lines (one run's: the descriptors agree) */
        while (r[j].line.s[0] == '#') {
            if (j == 0) fprintf(f->fp, "%s\n", r[0].line.s);
            if (bgzf_getline(r[j].fp, '\n', &r[j].line) < 0) {
                sl_log_error("%s: no header in the shard's TSV", in);
                goto done;
            }
        }
        if (j == 0) {
            fprintf(f->fp, "%s\n", r[0].line.s);
            if (!(head = sl_strdup(r[0].line.s))) goto done;
            int c = 0;
            for (char *p = r[0].line.s, *q; p; p = (q = strchr(p, '\t')) ? q + 1 : NULL, c++)
                if (!strncmp(p, "region_index", 12) && (p[12] == '\t' || !p[12])) col = c;
            if (col < 0) {
                sl_log_error("%s: no region_index column", in);
                goto done;
            }
        } else if (strcmp(r[j].line.s, head) != 0) {
            sl_log_error("%s: its header differs from %s's", in, output_of(&sh[0], "tsv"));
            goto done;
        }
        if (next_row(&r[j], col, in) < 0) goto done;
    }
    for (;;) { /* genome order: shard after shard; input order: the least region_index next */
        int b = -1;
        for (int j = 0; j < n; j++)
            if (r[j].live && (b < 0 || (genome ? 0 : r[j].key < r[b].key))) b = j;
        if (b < 0) break;
        fprintf(f->fp, "%s\n", r[b].line.s);
        if (next_row(&r[b], col, output_of(&sh[b], "tsv")) < 0) goto done;
    }
    ret = sl_ofile_prepare(f);
done:
    for (int j = 0; r && j < n; j++) {
        if (r[j].fp) bgzf_close(r[j].fp);
        free(r[j].line.s);
    }
    free(r);
    free(head);
    free(path);
    return ret;
}

/* ---- npz and the windows BED: rows back by region_index --------------------------- */

static int merge_npz_file(shard_t *sh, int n, const char *prefix, const char *target, const char *kind,
                          int64_t n_regions, outs_t *outs)
{
    char *path = sl_npz_target_path(prefix, target, kind);
    int ret = -1;
    sl_npz_writer_t *w = NULL;
    for (int j = 0; j < n && path; j++) {
        char *in = sl_npz_target_path(output_of(&sh[j], "npz"), target, kind);
        int nd;
        int64_t shape[SL_NPZ_MAX_DIM];
        float *data = NULL;
        int bad = !in || sl_npz_read(in, NULL, &nd, shape, &data) < 0;
        if (!bad && (nd != 3 || shape[0] != sh[j].n_own)) {
            sl_log_error("%s: %" PRId64 " rows, the descriptor says %" PRId64, in, shape[0], sh[j].n_own);
            bad = 1;
        }
        if (!bad && !w) {
            int64_t s[3] = {n_regions, shape[1], shape[2]};
            if (!(w = sl_npz_open(path, "arr_0", 3, s)) || PUSH(outs, z, w) < 0) bad = 1;
            else if (str_of(sh[0].d, "about") && sl_npz_set_note(w, SL_NPZ_NOTE, str_of(sh[0].d, "about")) < 0) bad = 1;
        }
        for (int64_t i = 0; i < sh[j].n_own && !bad; i++)
            bad = sl_npz_write_rows(w, sh[j].idx[i], 1, data + (size_t)i * shape[1] * shape[2]) < 0;
        free(data);
        free(in);
        if (bad) goto done;
    }
    ret = sl_npz_prepare(w);
done:
    free(path);
    return ret;
}

static int merge_windows(shard_t *sh, int n, const char *prefix, int64_t n_regions, outs_t *outs)
{
    char **row = sl_calloc((size_t)(n_regions ? n_regions : 1), sizeof *row, "windows"), *path = out_path(prefix, ".windows.bed");
    int ret = -1;
    sl_ofile_t *f = NULL;
    for (int j = 0; j < n && row && path; j++) {
        char *in = out_path(output_of(&sh[j], "npz"), ".windows.bed");
        BGZF *fp = in ? bgzf_open(in, "r") : NULL;
        kstring_t l = {0, 0, NULL};
        int64_t i = 0;
        if (!fp) sl_log_error("%s: cannot read the shard's windows BED", in ? in : "?");
        while (fp && i < sh[j].n_own && bgzf_getline(fp, '\n', &l) >= 0) row[sh[j].idx[i++]] = sl_strdup(l.s);
        if (fp) bgzf_close(fp);
        free(l.s);
        if (fp && i != sh[j].n_own) sl_log_error("%s: %" PRId64 " rows, the descriptor says %" PRId64, in, i, sh[j].n_own);
        free(in);
        if (!fp || i != sh[j].n_own) goto done;
    }
    if (!path || !(f = sl_ofile_open(path, "w")) || PUSH(outs, f, f) < 0) goto done;
    for (int64_t i = 0; i < n_regions; i++) fprintf(f->fp, "%s\n", row[i] ? row[i] : "");
    ret = sl_ofile_prepare(f);
done:
    for (int64_t i = 0; row && i < n_regions; i++) free(row[i]);
    free(row);
    free(path);
    return ret;
}

/* ---- tracks: each shard's owned entries, in genome order, through the track writer -- */

static int add_bedgraph(sl_track_t *w, const char *in)
{
    BGZF *fp = bgzf_open(in, "r");
    kstring_t l = {0, 0, NULL};
    int ret = 0;
    if (!fp) {
        sl_log_error("%s: cannot read the shard's bedGraph", in);
        return -1;
    }
    int64_t line = 0;
    while (ret == 0 && bgzf_getline(fp, '\n', &l) >= 0) {
        char *f[4], *p = l.s;
        int k = 0;
        line++;
        if (l.s[0] == '#') continue; /* the provenance line: the merged track writes its own */
        for (; k < 4 && p; k++) f[k] = p, p = strchr(p, '\t'), p = p ? (*p = 0, p + 1) : NULL;
        char *e1, *e2;
        long long s = k == 4 ? strtoll(f[1], &e1, 10) : 0, e = k == 4 ? strtoll(f[2], &e2, 10) : 0;
        if (k < 4 || *e1 || *e2) {
            sl_log_error("%s:%" PRId64 ": not a bedGraph line (chrom, start, end, value)", in, line);
            ret = -1;
        } else {
            ret = sl_track_add_entry(w, f[0], s, e, strtof(f[3], NULL), f[3]);
        }
    }
    bgzf_close(fp);
    free(l.s);
    return ret;
}

static int add_bigwig(sl_track_t *w, const char *in)
{
    bigWigFile_t *bw = bwOpen((char *)in, NULL, "r");
    if (!bw || !bw->cl) {
        if (bw) bwClose(bw);
        sl_log_error("%s: cannot read the shard's bigWig", in);
        return -1;
    }
    int ret = 0;
    for (int64_t c = 0; c < bw->cl->nKeys && ret == 0; c++) {
        bwOverlappingIntervals_t *iv = bwGetOverlappingIntervals(bw, bw->cl->chrom[c], 0, bw->cl->len[c]);
        for (uint32_t i = 0; iv && i < iv->l && ret == 0; i++)
            ret = sl_track_add_entry(w, bw->cl->chrom[c], iv->start[i], iv->end[i], iv->value[i], NULL);
        if (iv) bwDestroyOverlappingIntervals(iv);
    }
    bwClose(bw);
    return ret;
}

static int merge_tracks(shard_t *sh, int n, const char *prefix, outs_t *outs)
{
    const char *bg = output_of(&sh[0], "bedgraph"), *bw = output_of(&sh[0], "bigwig");
    const cJSON *tg = cJSON_GetObjectItem(sh[0].d, "targets");
    const char *fasta = str_of(cJSON_GetObjectItem(sh[0].d, "genome"), "path");
    int nt = cJSON_GetArraySize(tg), ret = 0;
    size_t bl = bg ? strlen(bg) : 0;
    char *bg_base = bg ? out_path(prefix, bl > 3 && !strcmp(bg + bl - 3, ".gz") ? ".bedGraph.gz" : ".bedGraph") : NULL;
    char *bw_base = bw ? out_path(prefix, ".bw") : NULL;
    sl_genome_t *g = fasta ? sl_genome_open(fasta) : NULL;
    sl_track_opts_t topt;
    sl_track_opts_init(&topt);
    topt.merge_runs = strstr(str_of(sh[0].d, "options"), "merge_runs=1") != NULL;
    topt.comment = str_of(sh[0].d, "about");
    if (!g || (bg && !bg_base) || (bw && !bw_base)) ret = -1;
    if (bw && bwInit(1 << 17) != 0) ret = -1;
    for (int t = 0; t < nt && ret == 0; t++) {
        const char *label = cJSON_GetArrayItem(tg, t)->valuestring;
        char *bgp = bg ? sl_track_target_path(bg_base, label, nt) : NULL;
        char *bwp = bw ? sl_track_target_path(bw_base, label, nt) : NULL;
        sl_track_t *w = (!bg || bgp) && (!bw || bwp) ? sl_track_open_genome(bgp, bwp, g, &topt) : NULL;
        if (!w || PUSH(outs, t, w) < 0) ret = -1;
        for (int j = 0; j < n && ret == 0; j++) {
            /* the bedGraph's printed text is what one run prints; else the bigWig's floats */
            const char *src = output_of(&sh[j], bg ? "bedgraph" : "bigwig");
            char *in = sl_track_target_path(src, label, nt);
            if (!in) ret = -1;
            else if (sh[j].n_own > 0 || bg) ret = bg ? add_bedgraph(w, in) : add_bigwig(w, in);
            free(in);
        }
        if (ret == 0) ret = sl_track_prepare(w);
        free(bgp);
        free(bwp);
    }
    sl_genome_close(g);
    free(bg_base);
    free(bw_base);
    return ret;
}

/* ---- reports and seqlets: the union's report from every shard's state -------------- */

/* The temporary of path, kept in outs to be renamed with the other outputs; NULL (reported). */
static const char *out_tmp(outs_t *outs, char *path)
{
    char *tmp = path ? sl_tmp_path(path) : NULL;
    if (!tmp || PUSH(outs, p, tmp) < 0 || PUSH(outs, p, path) < 0) {
        free(tmp);
        free(path);
        return NULL;
    }
    return tmp;
}

static int merge_reports(shard_t *sh, int n, const char *prefix, outs_t *outs)
{
    const cJSON *tg = cJSON_GetObjectItem(sh[0].d, "targets");
    const char *html = output_of(&sh[0], "report"), *json = output_of(&sh[0], "report_json");
    int nt = cJSON_GetArraySize(tg), ret = 0;
    char *hp = html ? out_path(prefix, ".html") : NULL, *jp = json ? out_path(prefix, ".json") : NULL;
    char *bp = output_of(&sh[0], "seqlets_bed") ? out_path(prefix, ".seqlets.bed") : NULL;
    if ((html && !hp) || (json && !jp)) ret = -1;
    for (int t = 0; t < nt && ret == 0; t++) {
        const char *label = cJSON_GetArrayItem(tg, t)->valuestring;
        sl_report_opts_t ro;
        sl_motif_db_t *db = NULL;
        void *hdr = NULL;
        sl_report_t *rep = NULL;
        char *st = NULL;
        for (int j = 0; j < n && ret == 0; j++) {
            const char *base = output_of(&sh[j], "report_state");
            if (!base || !(st = sl_malloc(strlen(base) + 16, "path"))) {
                sl_log_error("%s: no report state (written by seqlift 0.1 --shard runs with a report)", sh[j].path);
                ret = -1;
                break;
            }
            sprintf(st, "%s-%d", base, t);
            if (j == 0 && (sl_report_state_opts(st, &ro, &db, &hdr) < 0 || !(rep = sl_report_create(&ro, db)))) ret = -1;
            if (ret == 0 && sl_report_add_state(rep, st) < 0) ret = -1;
            free(st);
        }
        const char *h = NULL, *js = NULL, *b = NULL;
        char *sp = sl_report_seqlets_path(bp, hp, jp, label, nt);
        if (ret == 0 && hp && !(h = out_tmp(outs, sl_track_target_path(hp, label, nt)))) ret = -1;
        if (ret == 0 && jp && !(js = out_tmp(outs, sl_track_target_path(jp, label, nt)))) ret = -1;
        if (ret == 0 && sp && !(b = out_tmp(outs, sp))) ret = -1;
        else if (ret != 0 || !b) free(sp);
        if (ret == 0 && (h || js) && sl_report_write(rep, h, js) < 0) ret = -1;
        if (ret == 0 && b && sl_report_write_seqlets(rep, b, NULL) < 0) ret = -1;
        sl_report_destroy(rep);
        sl_motif_db_destroy(db);
        sl_report_state_free(hdr);
    }
    free(hp), free(jp), free(bp);
    return ret;
}

int sl_merge_run(const sl_merge_opts_t *o)
{
    int n = o->n, ret = -1;
    shard_t *sh = sl_calloc((size_t)(n > 0 ? n : 1), sizeof *sh, "shards");
    outs_t outs;
    memset(&outs, 0, sizeof outs);
    if (!sh) return -1;
    for (int j = 0; j < n; j++) {
        sh[j].path = o->shards[j];
        if (read_shard(&sh[j]) < 0) goto done;
    }
    if (n < 1 || check_shards(sh, n) < 0) goto done;
    int64_t n_regions = (int64_t)cJSON_GetObjectItem(sh[0].d, "n_regions")->valuedouble;
    if (output_of(&sh[0], "tsv") && merge_tsv(sh, n, o->out, &outs) < 0) goto done;
    if (output_of(&sh[0], "npz")) {
        const cJSON *tg = cJSON_GetObjectItem(sh[0].d, "targets");
        int nt = cJSON_GetArraySize(tg);
        if (merge_npz_file(sh, n, o->out, NULL, "ohe", n_regions, &outs) < 0) goto done;
        for (int t = 0; t < nt; t++)
            for (int h = 0; h < 2; h++)
                if (merge_npz_file(sh, n, o->out, nt == 1 ? NULL : cJSON_GetArrayItem(tg, t)->valuestring,
                                   h ? "contrib" : "hyp", n_regions, &outs) < 0)
                    goto done;
        if (merge_windows(sh, n, o->out, n_regions, &outs) < 0) goto done;
    }
    if ((output_of(&sh[0], "bedgraph") || output_of(&sh[0], "bigwig")) && merge_tracks(sh, n, o->out, &outs) < 0)
        goto done;
    if ((output_of(&sh[0], "report") || output_of(&sh[0], "report_json") || output_of(&sh[0], "seqlets_bed")) &&
        merge_reports(sh, n, o->out, &outs) < 0)
        goto done;
    ret = 0;
done:
    outs_end(&outs, ret == 0, &ret);
    for (int j = 0; j < n; j++) {
        cJSON_Delete(sh[j].d);
        free(sh[j].idx);
    }
    free(sh);
    return ret;
}
