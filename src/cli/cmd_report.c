/* cmd_report.c — `seqlift report`: the motif-highlight report (HTML + JSON) from the
 * arrays `seqlift score --npz PREFIX` wrote. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/report.h"
#include "seqlift/util.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: seqlift report --npz PREFIX -o REPORT.html [options]\n\n"
            "Self-contained HTML report (attribution logos, seqlets, motif matches and scan hits)\n"
            "and its JSON twin from PREFIX.ohe.npz, PREFIX.contrib.npz and PREFIX.hyp.npz.\n\n"
            "Input/output:\n"
            "  --npz PREFIX          arrays written by 'seqlift score --npz PREFIX'\n"
            "  -b, --bed FILE        the regions that were scored (genome coordinates and names);\n"
            "                        default: region<i> with positions in the window\n"
            "  --motifs FILE         MEME motif database (JASPAR, HOCOMOCO, MEME output)\n"
            "  -o, --report FILE     HTML report\n"
            "  --report-json FILE    the same content as JSON\n"
            "  --seqlets-bed FILE    seqlets as BED6\n"
            "  --seqlets-tsv FILE    seqlets with p-values and matches\n\n"
            "%s",
            SL_REPORT_OPTIONS_HELP);
}

int sl_cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {
        {"npz", 1, 0, 'n'}, {"bed", 1, 0, 'b'}, {"report", 1, 0, 'o'}, {"output", 1, 0, 'o'},
        {"report-json", 1, 0, 'j'}, {"seqlets-bed", 1, 0, 'B'}, {"seqlets-tsv", 1, 0, 'T'},
        {"motifs", 1, 0, 'm'}, {"help", 0, 0, 'h'}, SL_REPORT_LONG_OPTIONS, {0, 0, 0, 0}};
    const char *npz = NULL, *bed = NULL, *html = NULL, *json = NULL, *motifs = NULL, *sbed = NULL, *stsv = NULL;
    sl_report_opts_t o;
    sl_motif_db_t *db = NULL;
    sl_report_t *rep = NULL;
    int c, li, ret = SL_EXIT_ERROR;
    sl_report_opts_default(&o);
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:o:h", lo, &li)) >= 0) {
        switch (c) {
        case 'n': npz = optarg; break;
        case 'b': bed = optarg; break;
        case 'o': html = optarg; break;
        case 'j': json = optarg; break;
        case 'B': sbed = optarg; break;
        case 'T': stsv = optarg; break;
        case 'm': motifs = optarg; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        case 0:
            if (sl_report_opt(&o, lo[li].name, optarg) < 0) return SL_EXIT_USAGE;
            break;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (!npz || (!html && !json && !sbed && !stsv) || optind != argc) {
        if (optind != argc) sl_log_error("unexpected argument '%s'", argv[optind]);
        else sl_log_error("--npz PREFIX and at least one output (-o/--report-json/--seqlets-*) are required");
        return SL_EXIT_USAGE;
    }
    if (motifs && !(db = sl_motif_db_read(motifs))) goto fail;
    if (!(rep = sl_report_create(&o, db))) goto fail;
    if (sl_report_add_npz(rep, npz, bed) < 0) goto fail;
    if (sl_report_write(rep, html, json) < 0) goto fail;
    if ((sbed || stsv) && sl_report_write_seqlets(rep, sbed, stsv) < 0) goto fail;
    sl_log_info("%lld seqlets in %lld regions", (long long)sl_report_n_seqlets(rep),
                (long long)sl_report_n_regions(rep));
    ret = SL_EXIT_OK;
fail:
    sl_report_destroy(rep);
    sl_motif_db_destroy(db);
    return ret;
}
