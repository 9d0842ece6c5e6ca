/* cmd_seqlets.c — `seqlift seqlets`: seqlets (and best motif matches) from the
 * arrays `seqlift score --npz PREFIX` wrote, as BED and TSV. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/report.h"
#include "seqlift/util.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: seqlift seqlets --npz PREFIX [options]\n\n"
            "Call seqlets on PREFIX.contrib.npz (with PREFIX.ohe.npz; PREFIX.hyp.npz for matching).\n\n"
            "Input/output:\n"
            "  --npz PREFIX          arrays written by 'seqlift score --npz PREFIX'\n"
            "  -b, --bed FILE        the regions that were scored (genome coordinates and names);\n"
            "                        default: region<i> with positions in the window\n"
            "  -o, --output FILE     seqlets as BED6 (name region#rank, score = contribution) [-]\n"
            "  --tsv FILE            seqlets with p-values and best motif matches\n"
            "  --motifs FILE         MEME motif database to match seqlets against\n\n"
            "%s",
            SL_REPORT_OPTIONS_HELP);
}

int sl_cmd_seqlets(int argc, char **argv)
{
    static const struct option lo[] = {
        {"npz", 1, 0, 'n'}, {"bed", 1, 0, 'b'}, {"output", 1, 0, 'o'}, {"tsv", 1, 0, 't'},
        {"motifs", 1, 0, 'm'}, {"help", 0, 0, 'h'}, SL_REPORT_LONG_OPTIONS, {0, 0, 0, 0}};
    const char *npz = NULL, *bed = NULL, *out = "-", *tsv = NULL, *motifs = NULL;
    sl_report_opts_t o;
    sl_motif_db_t *db = NULL;
    sl_report_t *rep = NULL;
    int c, li, ret = SL_EXIT_ERROR;
    sl_report_opts_default(&o);
    o.max_regions = 0; /* nothing is drawn */
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:o:h", lo, &li)) >= 0) {
        switch (c) {
        case 'n': npz = optarg; break;
        case 'b': bed = optarg; break;
        case 'o': out = optarg; break;
        case 't': tsv = optarg; break;
        case 'm': motifs = optarg; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        case 0:
            if (sl_report_opt(&o, lo[li].name, optarg) < 0) return SL_EXIT_USAGE;
            break;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (!npz || optind != argc) {
        if (!npz) sl_log_error("--npz PREFIX is required");
        else sl_log_error("unexpected argument '%s'", argv[optind]);
        return SL_EXIT_USAGE;
    }
    if (motifs && !(db = sl_motif_db_read(motifs))) goto fail;
    if (!(rep = sl_report_create(&o, db))) goto fail;
    if (sl_report_add_npz(rep, npz, bed) < 0) goto fail;
    if (sl_report_write_seqlets(rep, out, tsv) < 0) goto fail;
    sl_log_info("%lld seqlets in %lld regions", (long long)sl_report_n_seqlets(rep),
                (long long)sl_report_n_regions(rep));
    ret = SL_EXIT_OK;
fail:
    sl_report_destroy(rep);
    sl_motif_db_destroy(db);
    return ret;
}
