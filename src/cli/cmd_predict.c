/* cmd_predict.c — `seqlift predict`: the model's outputs for every region or FASTA
 * record, as a TSV with one row per input in input order. Option parsing; the run is
 * the library's (sl_predict_run, seqlift/score.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/model.h"
#include "seqlift/score.h"
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
            "                      or Keras .h5, or Keras JSON with --weights FILE.h5\n"
            "      --alphabet ORD  a Keras model\'s input channel order if not ACGT\n"
            "  -f, --fasta FILE    indexed genome FASTA, plain or bgzip\n"
            "  -b, --bed FILE      regions: BED3-12 or narrowPeak, plain or gzip\n"
            "  -s, --seqs FILE     instead of -f/-b: every record of a FASTA file, in order\n"
            "      --edge MODE     windows running off a contig: pad (with N), skip, error [pad]\n"
            "  -o, --output FILE   output TSV [stdout]\n"
            "  -t, --threads INT   worker threads [1]\n"
            "      --batch INT     sequences per forward pass and thread [auto, at most 64]\n"
            "      --shard K/N     shard K of N (regions cut in genome order; needs -o; merge them\n"
            "                      with seqlift merge)\n"
            "      --progress      progress on stderr even when it is not a terminal (a line\n"
            "                      every 10 s or 5 %%) and a summary at the end (-q: none)\n"
            "  -h, --help          this help\n\n");
}

int sl_cmd_predict(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"model", required_argument, NULL, 'm'}, {"fasta", required_argument, NULL, 'f'},
        {"bed", required_argument, NULL, 'b'},   {"seqs", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, 1},   {"edge", required_argument, NULL, 2},
        {"weights", required_argument, NULL, 'W'}, {"alphabet", required_argument, NULL, 'A'},
        {"shard", required_argument, NULL, 3}, {"progress", no_argument, NULL, 4},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *model = NULL, *fa = NULL, *bed = NULL, *seqs = NULL, *outp = "-";
    const char *weights = NULL, *alphabet = NULL; /* Keras models */
    sl_edge_t edge = SL_EDGE_PAD;
    int threads = 1, batch = 0, c, shard_k = 0, shard_n = 0, progress = 0;
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
        case 'W': weights = optarg; break;
        case 'A': alphabet = optarg; break;
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
        case 3:
            if (sl_cli_shard(optarg, &shard_k, &shard_n) < 0) return SL_EXIT_USAGE;
            break;
        case 4: progress = 1; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (!model || sl_cli_check_inputs(argc, argv, optind, fa, bed, seqs) < 0) {
        if (!model) return sl_cli_bad("give the model with -m MODEL.json");
        return SL_EXIT_USAGE; /* reported by sl_cli_check_inputs */
    }
    if (shard_n && !strcmp(outp, "-")) return sl_cli_bad("--shard needs -o FILE (its run descriptor goes beside it)");
    sl_predict_opts_t o = {.model = model, .weights = weights, .alphabet = alphabet, .fasta = fa, .bed = bed,
                           .seqs = seqs, .edge = edge, .threads = threads, .batch = batch, .out = outp,
                           .shard_k = shard_k, .shard_n = shard_n};
    if (sl_cli_output_dirs(outp) < 0) return SL_EXIT_ERROR; /* like mkdir -p */
    char *cmd = shard_n ? sl_cli_command_line(argc, argv) : NULL;
    o.command = cmd;
    o.progress = sl_cli_progress(progress, &o.progress_ud);
    sl_net_blas_threads(1); /* threads over batches; one GEMM thread each */
    int rc = sl_predict_run(&o);
    free(cmd);
    return rc < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
