/* cmd_merge.c — `seqlift merge -o OUT SHARD...`: the shards of one score/predict run
 * (--shard K/N) back into one run's outputs; the work is the library's (merge.h). */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "seqlift/merge.h"

static void usage(FILE *fp)
{
    fprintf(fp, "\nUsage: seqlift merge -o OUT SHARD.seqlift-run.json...\n\n"
                "Put the shards 1..N of one `score`/`predict --shard K/N` run together, named by\n"
                "their run descriptors: OUT.tsv, OUT.{ohe,hyp,contrib}.npz, OUT.windows.bed,\n"
                "OUT.bedGraph[.gz], OUT.bw (per target as the run names them), byte-identical\n"
                "to one run's (the bigWig value-identical). Shards of different runs (model,\n"
                "genome, regions, options, N) or a missing or repeated K are refused.\n\n"
                "Options:\n"
                "  -o, --output OUT   output prefix\n"
                "  -h, --help         this help\n\n");
}

int sl_cmd_merge(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", lopts, NULL)) >= 0) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (!out) return sl_cli_bad("give the output prefix with -o OUT");
    if (optind >= argc) return sl_cli_bad("give the shards' run descriptors (OUT.seqlift-run.json)");
    if (sl_cli_output_dirs(out) < 0) return SL_EXIT_ERROR;
    sl_merge_opts_t o = {out, argc - optind, (const char *const *)argv + optind};
    return sl_merge_run(&o) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
