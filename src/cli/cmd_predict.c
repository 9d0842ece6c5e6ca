/* cmd_predict.c — `seqlift predict`: the model's outputs for every region or FASTA
 * record, as a TSV with one row per input in input order. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/model.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

#define MAX_THREADS 256

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: seqlift predict -m MODEL.json -f GENOME.fa -b REGIONS.bed [options]\n"
            "       seqlift predict -m MODEL.json -s SEQS.fa [options]\n\n"
            "Runs the model on every region (resized to the model's input length around its\n"
            "narrowPeak summit, else its midpoint; minus strand reverse-complemented) or every\n"
            "FASTA record (which must have the input length). Writes a TSV with a header:\n"
            "chrom, start, end, strand, name (BED) or name (FASTA), then one column per output\n"
            "value: <output>, or <output>_<i> for outputs with several values ([len][ch] order).\n\n"
            "Options:\n"
            "  -m, --model FILE    model JSON (its safetensors file next to it)\n"
            "  -f, --fasta FILE    indexed genome FASTA, plain or bgzip\n"
            "  -b, --bed FILE      regions: BED3-12 or narrowPeak, plain or gzip\n"
            "  -s, --seqs FILE     instead of -f/-b: every record of a FASTA file, in order\n"
            "      --edge MODE     windows running off a contig: pad (with N), skip, error [pad]\n"
            "  -o, --output FILE   output TSV [stdout]\n"
            "  -t, --threads INT   worker threads [1]\n"
            "      --batch INT     sequences per forward pass and thread [auto, at most 64]\n"
            "  -h, --help          this help\n\n");
}

typedef struct {
    const sl_regions_t *rl;
    sl_genome_t *g[MAX_THREADS]; /* one per worker: faidx is not thread-safe */
    char *seq[MAX_THREADS];
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
    if (p->bed)
        fprintf(fp, "%s\t%lld\t%lld\t%c\t%s", r->chrom, (long long)r->start, (long long)r->end, r->strand,
                r->name ? r->name : ".");
    else fputs(r->name ? r->name : ".", fp);
    for (size_t j = 0; j < p->n_values; j++) fprintf(fp, "\t%.9g", v[j]);
    if (fputc('\n', fp) == EOF || ferror(fp)) {
        sl_ofile_prepare((sl_ofile_t *)p->out); /* reports the failure, once */
        return -1;
    }
    return 0;
}

static int predict(const char *model, const char *fa, const char *bed, const char *seqs, sl_edge_t edge,
                   int threads, int batch, const sl_ofile_t *out)
{
    int ret = -1;
    predict_t p;
    memset(&p, 0, sizeof p);
    sl_regions_t *rl = NULL;
    sl_net_t *net = sl_net_load(model);
    if (!net) return -1;
    p.out = out, p.bed = seqs == NULL, p.n_values = sl_net_n_values(net);
    if (seqs) {
        rl = sl_regions_read_fasta(seqs, net->in_len);
    } else {
        sl_region_opts_t opts = {net->in_len, 0, edge};
        for (int t = 0; t < threads; t++)
            if (!(p.g[t] = sl_genome_open(fa))) goto fail;
        rl = sl_regions_read_bed(bed, p.g[0], &opts);
    }
    if (!rl) goto fail;
    p.rl = rl;
    for (int t = 0; t < threads; t++)
        if (!(p.seq[t] = sl_malloc((size_t)net->in_len, "sequence"))) goto fail;
    if (batch <= 0) batch = sl_net_auto_batch(net, (size_t)128 << 20);
    sl_net_blas_threads(1); /* threads over batches; one GEMM thread each */
    if (rl->n < (int64_t)threads * batch) { /* few inputs: spread them over the threads */
        int64_t b = (rl->n + threads - 1) / threads;
        batch = b < 1 ? 1 : (int)b;
    }
    fputs(p.bed ? "chrom\tstart\tend\tstrand\tname" : "name", out->fp);
    char lab[512];
    for (size_t j = 0; j < p.n_values; j++) {
        sl_net_value_label(net, j, lab, sizeof lab);
        fprintf(out->fp, "\t%s", lab);
    }
    fputc('\n', out->fp);
    ret = sl_net_predict(net, rl->n, threads, batch, fill, emit, &p);
fail:
    for (int t = 0; t < MAX_THREADS; t++) {
        sl_genome_close(p.g[t]);
        free(p.seq[t]);
    }
    sl_regions_destroy(rl);
    sl_net_destroy(net);
    return ret;
}

int sl_cmd_predict(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"model", required_argument, NULL, 'm'}, {"fasta", required_argument, NULL, 'f'},
        {"bed", required_argument, NULL, 'b'},   {"seqs", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, 1},   {"edge", required_argument, NULL, 2},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *model = NULL, *fa = NULL, *bed = NULL, *seqs = NULL, *outp = "-";
    sl_edge_t edge = SL_EDGE_PAD;
    int threads = 1, batch = 0, c;
    long long v;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, "m:f:b:s:o:t:h", lopts, NULL)) >= 0) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': fa = optarg; break;
        case 'b': bed = optarg; break;
        case 's': seqs = optarg; break;
        case 'o': outp = optarg; break;
        case 't':
        case 1:
            if (sl_cli_int(c == 't' ? "threads" : "batch", optarg, 1, c == 't' ? MAX_THREADS : 4096, &v) < 0)
                return SL_EXIT_USAGE;
            if (c == 't') threads = (int)v;
            else batch = (int)v;
            break;
        case 2:
            if (sl_cli_edge(optarg, &edge) < 0) return SL_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (!model || sl_cli_check_inputs(argc, argv, optind, fa, bed, seqs) < 0) {
        if (!model) return sl_cli_bad("give the model with -m MODEL.json");
        return SL_EXIT_USAGE; /* reported by sl_cli_check_inputs */
    }
    sl_ofile_t *out = sl_ofile_open(outp, "w");
    if (!out) return SL_EXIT_ERROR;
    if (predict(model, fa, bed, seqs, edge, threads, batch, out) < 0) {
        sl_ofile_abort(out);
        return SL_EXIT_ERROR;
    }
    return sl_ofile_commit(out) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
