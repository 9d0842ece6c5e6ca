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
} predict_t;

static int fill(void *ud, int worker, int64_t i, float *x)
{
    predict_t *p = ud;
    return sl_regions_load(p->rl, i, p->g[worker], p->seq[worker], x);
}

static int emit(void *ud, int64_t i, const float *v)
{
    predict_t *p = ud;
    const sl_region_t *r = &p->rl->r[i];
    FILE *fp = p->out->fp;
    sl_run_put_key(fp, r, p->bed);
    for (size_t j = 0; j < p->n_values; j++) fprintf(fp, "\t%.9g", v[j]);
    if (fputc('\n', fp) == EOF || ferror(fp)) {
        sl_ofile_prepare((sl_ofile_t *)p->out); /* reports the failure, once */
        return -1;
    }
    return 0;
}

static int predict(const sl_predict_opts_t *o, const sl_ofile_t *out)
{
    int ret = -1, threads = o->threads < 1 ? 1 : o->threads, batch = o->batch;
    const char *fa = o->fasta, *bed = o->bed, *seqs = o->seqs;
    predict_t p;
    memset(&p, 0, sizeof p);
    sl_regions_t *rl = NULL;
    sl_net_t *net = sl_model_load(o->model, o->weights, o->alphabet);
    if (!net) return -1;
    p.out = out, p.bed = seqs == NULL, p.n_values = sl_net_n_values(net);
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
    for (int t = 0; t < threads; t++)
        if (!(p.seq[t] = sl_malloc((size_t)net->in_len, "sequence"))) goto fail;
    if (batch <= 0) batch = sl_net_auto_batch(net, (size_t)128 << 20);
    if (rl->n < (int64_t)threads * batch) { /* few inputs: spread them over the threads */
        int64_t b = (rl->n + threads - 1) / threads;
        batch = b < 1 ? 1 : (int)b;
    }
    fputs(SL_RUN_TSV_KEY(p.bed), out->fp);
    char lab[512];
    for (size_t j = 0; j < p.n_values; j++) {
        sl_net_value_label(net, j, lab, sizeof lab);
        fprintf(out->fp, "\t%s", lab);
    }
    fputc('\n', out->fp);
    ret = sl_net_predict(net, rl->n, threads, batch, fill, emit, &p);
fail:
    for (int t = 0; t < threads && p.g && p.seq; t++) {
        sl_genome_close(p.g[t]);
        free(p.seq[t]);
    }
    free(p.g);
    free(p.seq);
    sl_regions_destroy(rl);
    sl_net_destroy(net);
    return ret;
}


int sl_predict_run(const sl_predict_opts_t *o)
{
    sl_ofile_t *out = sl_ofile_open(o->out ? o->out : "-", "w");
    if (!out) return -1;
    if (predict(o, out) < 0) {
        sl_ofile_abort(out);
        return -1;
    }
    return sl_ofile_commit(out);
}
