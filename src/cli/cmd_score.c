/* cmd_score.c — `seqlift score`: DeepLIFT (and comparison methods) contribution scores
 * for every region or FASTA record. Option parsing into sl_score_opts_t; the run, its
 * worker pipeline and its outputs (sinks) are the library's (seqlift/score.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/model.h"
#include "seqlift/reference.h"
#include "seqlift/score.h"
#include "seqlift/util.h"

#define MAX_THREADS 256

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
            "      --shard K/N       shard K of N: the regions cut into N blocks in genome order;\n"
            "                        writes its rows, the track bases it owns and a run\n"
            "                        descriptor (OUT.seqlift-run.json); see seqlift merge\n"
            "      --progress        progress on stderr even when it is not a terminal (a line\n"
            "                        every 10 s or 5 %%) and a summary at the end (-q: none)\n"
            "  -h, --help            this help\n\n",
            SL_REF_DEFAULT_SEED);
    sl_report_opts_t d; /* score's own default order: by prediction */
    sl_report_opts_default(&d);
    d.order = SL_REPORT_ORDER_PREDICTION;
    sl_report_opts_help(fp, &d, 1);
}

int sl_cmd_score(int argc, char **argv)
{
    enum { O_METHOD = 256, O_REFS, O_TARGET, O_MAXPOOL, O_SEED, O_BATCH, O_NPZ, O_TSV, O_IG, O_EDGE, O_POST,
           O_BEDGRAPH, O_BIGWIG, O_OVERLAP, O_TRACK_WIDTH, O_MERGE_RUNS, O_MOTIFS, O_REPORT, O_RJSON,
           O_SBED, O_IGV, O_HUB, O_IG_RULE, O_RC, O_SHARD, O_PROGRESS };
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
        {"shard", required_argument, NULL, O_SHARD}, {"progress", no_argument, NULL, O_PROGRESS},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    sl_score_opts_t o;
    sl_score_opts_default(&o);
    sl_score_outputs_t *out = &o.out;
    long long v;
    int c, progress = 0;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    int li = 0;
    while ((c = getopt_long(argc, argv, "m:f:b:s:t:h", lopts, &li)) >= 0) {
        switch (c) {
        case 0:
            if (sl_report_opt(&out->ro, lopts[li].name, optarg) < 0) return SL_EXIT_USAGE;
            break;
        case O_MOTIFS: out->motifs = optarg; break;
        case O_REPORT: out->report = optarg; break;
        case O_RJSON: out->report_json = optarg; break;
        case O_SBED: out->seqlets_bed = optarg; break;
        case O_IGV: out->igv_session = optarg; break;
        case O_HUB: out->ucsc_hub = optarg; break;
        case 'm': o.model = optarg; break;
        case 'W': o.weights = optarg; break;
        case 'A': o.alphabet = optarg; break;
        case 'f': o.fasta = optarg; break;
        case 'b': o.bed = optarg; break;
        case 's': o.seqs = optarg; break;
        case O_REFS:
            if ((v = sl_cli_refs(optarg)) != 0) return (int)v; /* a bad spec is bad usage */
            o.refs = optarg;
            break;
        case O_TARGET: o.target = optarg; break;
        case O_NPZ: out->npz = optarg; break;
        case O_TSV: out->tsv = optarg; break;
        case O_POST: o.post_activation = 1; break;
        case O_BEDGRAPH: out->bedgraph = optarg; break;
        case O_BIGWIG: out->bigwig = optarg; break;
        case O_MERGE_RUNS: out->track.merge_runs = 1; break;
        case O_OVERLAP:
            if (sl_track_parse_overlap(optarg, &out->track.overlap) < 0) {
                return sl_cli_bad("--overlap: '%s' is not mean, max-abs or first", optarg);
            }
            break;
        case O_TRACK_WIDTH:
            if (sl_cli_int("track-width", optarg, 1, INT32_MAX, &v) < 0) return SL_EXIT_USAGE;
            out->track.track_width = v;
            break;
        case O_METHOD:
            if (sl_method_parse(optarg, &o.ao.method) < 0) {
                return sl_cli_bad("--method: '%s' is not genomics, rescale, revealcancel, gradient, grad-input, "
                             "integrated-gradients or ism", optarg);
            }
            break;
        case O_MAXPOOL:
            if (sl_maxpool_parse(optarg, &o.ao.maxpool) < 0) {
                return sl_cli_bad("--maxpool: '%s' is not cross, summation or gradient", optarg);
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
            if (sl_ig_rule_parse(optarg, &o.ao.ig_rule) < 0)
                return sl_cli_bad("--ig-rule: '%s' is not riemann-middle or gauss-legendre", optarg);
            break;
        case O_RC:
            if (strcmp(optarg, "none") && strcmp(optarg, "average"))
                return sl_cli_bad("--rc: '%s' is not none or average", optarg);
            o.ao.rc_average = strcmp(optarg, "average") == 0;
            break;
        case O_SHARD:
            if (sl_cli_shard(optarg, &o.shard_k, &o.shard_n) < 0) return SL_EXIT_USAGE;
            break;
        case O_PROGRESS: progress = 1; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (!o.model || sl_cli_check_inputs(argc, argv, optind, o.fasta, o.bed, o.seqs) < 0) {
        if (!o.model) return sl_cli_bad("give the model with -m MODEL.json");
        return SL_EXIT_USAGE; /* reported by sl_cli_check_inputs */
    }
    if (o.seqs && (out->bedgraph || out->bigwig)) {
        return sl_cli_bad("--bedgraph/--bigwig need genome regions (-f/-b), not -s SEQS.fa");
    }
    /* "-" cannot hold one file per target (two outputs on one file: sl_score_run) */
    if (o.target && strchr(o.target, ',') &&
        ((out->bedgraph && !strcmp(out->bedgraph, "-")) || (out->report && !strcmp(out->report, "-")) ||
         (out->report_json && !strcmp(out->report_json, "-")) || (out->seqlets_bed && !strcmp(out->seqlets_bed, "-")))) {
        return sl_cli_bad("with several targets, tracks and reports are one file per target: name a file, not '-'");
    }
    if (o.target && sl_cli_check_list("target", o.target) < 0) return SL_EXIT_USAGE;
    if (out->motifs && !out->report && !out->report_json && !out->seqlets_bed) {
        return sl_cli_bad("--motifs is used by the report: give --report FILE.html, --report-json FILE.json "
                          "or --seqlets-bed FILE.bed");
    }
    if (out->ucsc_hub && !out->ro.genome_name)
        return sl_cli_bad("--ucsc-hub needs the assembly name: give --genome-name (e.g. hg38)");
    if ((out->igv_session || out->ucsc_hub) && o.seqs)
        return sl_cli_bad("--igv-session/--ucsc-hub need genome regions (-f/-b), not -s SEQS.fa");
    const char *paths[] = {out->tsv, out->bedgraph, out->bigwig, out->report, out->report_json,
                           out->seqlets_bed, out->igv_session, out->npz, out->ucsc_hub};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) /* like mkdir -p */
        if (sl_cli_output_dirs(paths[i]) < 0) return SL_EXIT_ERROR;
    if (!out->npz && !out->tsv && !out->bedgraph && !out->bigwig && !out->report && !out->report_json &&
        !out->seqlets_bed)
        out->tsv = "-";
    char *desc = o.shard_n ? sl_shard_descriptor_path(out) : NULL, *cmd = NULL;
    if (o.shard_n && !desc) return sl_cli_bad("--shard needs an output file (the run descriptor goes beside it)");
    free(desc);
    if (o.shard_n && !(o.command = cmd = sl_cli_command_line(argc, argv))) return SL_EXIT_ERROR;
    o.progress = sl_cli_progress(progress, &o.progress_ud);
    sl_net_blas_threads(1); /* threads over regions; one GEMM thread each */
    int rc = sl_score_run(&o);
    free(cmd);
    return rc == -2 ? SL_EXIT_USAGE : rc < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
