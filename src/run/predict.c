/* predict.c — a prediction run (sl_predict_run, seqlift/score.h): regions or FASTA
 * records through the model on the shared worker pipeline (sl_net_predict), a TSV of
 * every output value, one row per input in input order, committed only when complete. */
#include <stdlib.h>
#include <string.h>

#include "seqlift/keras.h"
#include "seqlift/model.h"
#include "seqlift/score.h"
#include "seqlift/util.h"

#include "run/run_priv.h"

typedef struct {
    const sl_regions_t *rl;
    sl_genome_t **g; /* [threads]: one per worker, faidx is not thread-safe */
    char **seq;      /* [threads] */
    const sl_ofile_t *out;
    size_t n_values; /* per sequence, over all outputs */
    int bed;
    const int64_t *own; /* a shard's regions (input order), NULL = all */
    sl_run_progress_t *prog;
} predict_t;

static int fill(void *ud, int worker, int64_t i, float *x)
{
    predict_t *p = ud;
    return sl_regions_load(p->rl, p->own ? p->own[i] : i, p->g[worker], p->seq[worker], x);
}

static int emit(void *ud, int64_t i, const float *v)
{
    predict_t *p = ud;
    const sl_region_t *r = &p->rl->r[p->own ? p->own[i] : i];
    FILE *fp = p->out->fp;
    sl_run_put_key(fp, r, p->bed);
    for (size_t j = 0; j < p->n_values; j++) fprintf(fp, "\t%.9g", v[j]);
    fprintf(fp, "\t%lld", (long long)r->index);
    if (fputc('\n', fp) == EOF || ferror(fp)) {
        sl_ofile_prepare((sl_ofile_t *)p->out); /* reports the failure, once */
        return -1;
    }
    sl_run_progress_add(p->prog, 1);
    return 0;
}

/* What changes the numbers of a prediction run (the descriptor's options). */
static void predict_options(const sl_predict_opts_t *o, const sl_net_t *net, char *opts, size_t n)
{
    snprintf(opts, n, "edge=%d alphabet=%s length=%d", (int)o->edge, o->alphabet ? o->alphabet : "ACGT",
             (int)net->in_len);
}

/* A shard's descriptor onto tmp (its options: what changes the numbers). */
static int predict_descriptor(const sl_predict_opts_t *o, const sl_net_t *net, const sl_shard_t *sh,
                              const sl_regions_t *rl, const char *about, const char *tmp, const char *shown)
{
    char opts[512];
    predict_options(o, net, opts, sizeof opts);
    cJSON *d = sl_run_descriptor("predict", o->command, o->model, o->weights, o->seqs ? NULL : o->fasta,
                                 o->seqs ? o->seqs : o->bed, opts, sh, rl, "input"), *w;
    int ret = -1;
    if (d && (w = cJSON_AddObjectToObject(d, "outputs")) && cJSON_AddStringToObject(w, "tsv", o->out) &&
        cJSON_AddStringToObject(d, "about", about))
        ret = sl_run_descriptor_write(d, tmp, shown);
    cJSON_Delete(d);
    return ret;
}

static int predict(const sl_predict_opts_t *o, const sl_ofile_t *out, const char *desc_tmp, const char *desc,
                   sl_run_progress_t *prog)
{
    sl_shard_t sh;
    memset(&sh, 0, sizeof sh);
    int ret = -1, threads = o->threads < 1 ? 1 : o->threads, batch = o->batch;
    const char *fa = o->fasta, *bed = o->bed, *seqs = o->seqs;
    predict_t p;
    memset(&p, 0, sizeof p);
    sl_regions_t *rl = NULL;
    char *about = NULL;
    sl_net_t *net = sl_model_load(o->model, o->weights, o->alphabet);
    if (!net) return -1;
    p.out = out, p.bed = seqs == NULL, p.n_values = sl_net_n_values(net), p.prog = prog;
    p.g = sl_calloc((size_t)threads, sizeof *p.g, "genome handles");
    p.seq = sl_calloc((size_t)threads, sizeof *p.seq, "sequences");
    if (!p.g || !p.seq) goto fail;
    if (seqs) {
        rl = sl_regions_read_fasta(seqs, net->in_len);
    } else {
        sl_region_opts_t opts = {net->in_len, 0, o->edge};
        for (int t = 0; t < threads; t++)
            if (!(p.g[t] = sl_genome_open(fa))) goto fail;
        rl = sl_regions_read_bed(bed, p.g[0], &opts);
    }
    if (!rl) goto fail;
    p.rl = rl;
    int64_t n = rl->n;
    if (o->shard_n > 0) {
        if (sl_shard_plan(rl, o->shard_k, o->shard_n, 0, &sh) < 0) goto fail;
        p.own = sh.own, n = sh.n_own;
    }
    for (int t = 0; t < threads; t++)
        if (!(p.seq[t] = sl_malloc((size_t)net->in_len, "sequence"))) goto fail;
    if (batch <= 0) batch = sl_net_auto_batch(net, (size_t)128 << 20);
    if (n < (int64_t)threads * batch) { /* few inputs: spread them over the threads */
        int64_t b = (n + threads - 1) / threads;
        batch = b < 1 ? 1 : (int)b;
    }
    prog->p.total = n;
    char opts[512];
    predict_options(o, net, opts, sizeof opts);
    if (!(about = sl_run_about("predict", o->model, o->weights, seqs ? NULL : fa, seqs ? NULL : bed, seqs, opts)))
        goto fail;
    fprintf(out->fp, "# %s\n", about); /* provenance: version, inputs, options */
    fputs(SL_RUN_TSV_KEY(p.bed), out->fp);
    char lab[512];
    for (size_t j = 0; j < p.n_values; j++) {
        sl_net_value_label(net, j, lab, sizeof lab);
        fprintf(out->fp, "\t%s", lab);
    }
    fputs("\tregion_index\n", out->fp);
    ret = sl_net_predict(net, n, threads, batch, fill, emit, &p);
    if (ret == 0 && desc_tmp) ret = predict_descriptor(o, net, &sh, rl, about, desc_tmp, desc);
fail:
    for (int t = 0; t < threads && p.g && p.seq; t++) {
        sl_genome_close(p.g[t]);
        free(p.seq[t]);
    }
    free(p.g);
    free(p.seq);
    free(about);
    sl_shard_free(&sh);
    sl_regions_destroy(rl);
    sl_net_destroy(net);
    return ret;
}


int sl_predict_run(const sl_predict_opts_t *o)
{
    char *desc = NULL, *tmp = NULL;
    if (o->shard_n > 0) { /* the descriptor is committed with the TSV */
        sl_score_outputs_t so = {0};
        so.tsv = o->out;
        if (!(desc = sl_shard_descriptor_path(&so))) {
            sl_log_error("--shard: give the TSV a file (-o FILE): the run descriptor goes beside it");
            return -1;
        }
        if (!(tmp = sl_tmp_path(desc))) {
            free(desc);
            return -1;
        }
    }
    sl_run_progress_t prog;
    sl_run_progress_start(&prog, o->progress, o->progress_ud, 0);
    sl_ofile_t *out = sl_ofile_open(o->out ? o->out : "-", "w");
    int ret = -1;
    if (out && predict(o, out, tmp, desc, &prog) == 0 && sl_ofile_prepare(out) == 0) {
        ret = sl_ofile_commit(out);
        out = NULL;
        if (tmp && (ret < 0 ? (sl_tmp_remove(tmp), -1) : sl_rename_into_place(tmp, desc)) < 0) ret = -1;
        if (ret == 0) sl_run_progress_end(&prog);
    } else if (tmp) {
        sl_tmp_remove(tmp);
    }
    if (out) sl_ofile_abort(out);
    free(tmp);
    free(desc);
    return ret;
}
