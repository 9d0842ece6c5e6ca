/* cmd_report.c — `seqlift report` (HTML + JSON motif-highlight report) and, sharing
 * the same runner, `seqlift seqlets` (BED + TSV), both from the arrays that
 * `seqlift score --npz PREFIX` wrote. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/report.h"
#include "seqlift/util.h"


static void usage(FILE *fp, int seqlets_only)
{
    if (seqlets_only)
        fprintf(fp, "Usage: seqlift seqlets --npz PREFIX [options]\n\n"
                    "Seqlets of PREFIX.contrib.npz (PREFIX.ohe.npz; PREFIX.hyp.npz for matching) as BED and TSV.\n\n"
                    "Input/output:\n");
    else
        fprintf(fp, "Usage: seqlift report --npz PREFIX -o REPORT.html [options]\n\n"
                    "Self-contained HTML report (attribution logos, seqlets, motif matches and scan hits)\n"
                    "and its JSON twin from PREFIX.ohe.npz, PREFIX.contrib.npz and PREFIX.hyp.npz.\n\n"
                    "Input/output:\n");
    fprintf(fp, "  --npz PREFIX          arrays written by 'seqlift score --npz PREFIX'\n"
                "  --target T            which target of a multi-target run (PREFIX.T.contrib.npz)\n"
                "  -b, --bed FILE        the regions that were scored (genome coordinates and names);\n"
                "  -s, --seqs FILE       or the FASTA that was scored (record names);\n"
                "                        default: region<i> with positions in the window\n"
                "  --motifs FILE         MEME motif database (JASPAR, HOCOMOCO, MEME output)\n");
    if (seqlets_only)
        fprintf(fp, "  -o, --output FILE     seqlets as BED9 (name MOTIF#rank, score 0-1000, sorted) [-]\n"
                    "  --tsv FILE            seqlets with p-values and best motif matches\n");
    else
        fprintf(fp, "  -o, --report FILE     HTML report\n"
                    "  --report-json FILE    the same content as JSON\n"
                    "  --seqlets-bed FILE    seqlets as BED9 [beside the report: NAME.seqlets.bed]\n"
                    "  --tsv FILE            seqlets with p-values and matches\n");
    fputs("  -V, --version         print the version and exit\n"
          "  -h, --help            this help\n\n",
          fp);
    sl_report_opts_t d;
    sl_report_opts_default(&d);
    sl_report_opts_help(fp, &d, !seqlets_only);
}

int sl_cmd_motif_run(int argc, char **argv, int seqlets_only)
{
    static const struct option lo[] = {
        {"npz", 1, 0, 'n'}, {"bed", 1, 0, 'b'}, {"seqs", 1, 0, 's'}, {"output", 1, 0, 'o'}, {"report", 1, 0, 'o'},
        {"report-json", 1, 0, 'j'}, {"seqlets-bed", 1, 0, 'B'}, {"tsv", 1, 0, 'T'}, {"seqlets-tsv", 1, 0, 'T'},
        {"motifs", 1, 0, 'm'}, {"target", 1, 0, 'g'}, {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, SL_REPORT_LONG_OPTIONS, {0, 0, 0, 0}};
    const char *npz = NULL, *bed = NULL, *out = NULL, *json = NULL, *motifs = NULL, *sbed = NULL, *stsv = NULL,
               *target = NULL, *fasta = NULL;
    char *sbed_own = NULL;
    sl_report_opts_t o;
    sl_motif_db_t *db = NULL;
    sl_report_t *rep = NULL;
    int c, li, ret = SL_EXIT_ERROR;
    sl_report_opts_default(&o);
    if (argc < 2) {
        usage(stderr, seqlets_only);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:s:o:hV", lo, &li)) >= 0) {
        switch (c) {
        case 'n': npz = optarg; break;
        case 'b': bed = optarg; break;
        case 's': fasta = optarg; break;
        case 'o': out = optarg; break;
        case 'j': json = optarg; break;
        case 'B': sbed = optarg; break;
        case 'T': stsv = optarg; break;
        case 'm': motifs = optarg; break;
        case 'g': target = optarg; break;
        case 'h': usage(stdout, seqlets_only); return SL_EXIT_OK;
        case 'V': return sl_cli_version(argv[0]);
        case 0: {
            int rc = sl_report_opt(&o, lo[li].name, optarg);
            if (rc < 0) return SL_EXIT_USAGE;
            if (rc == 2 && seqlets_only) { /* nothing is drawn: refuse rather than ignore */
                sl_log_error("--%s belongs to 'seqlift report' (seqlets draws nothing)", lo[li].name);
                return SL_EXIT_USAGE;
            }
            break;
        }
        default: usage(stderr, seqlets_only); return SL_EXIT_USAGE;
        }
    }
    if (seqlets_only) {
        if (json) {
            sl_log_error("--report-json belongs to 'seqlift report'");
            return SL_EXIT_USAGE;
        }
        if (sbed) {
            sl_log_error("--seqlets-bed belongs to 'seqlift report'; seqlets writes its BED with -o");
            return SL_EXIT_USAGE;
        }
        sbed = out ? out : "-";
        out = NULL;
        o.max_regions = 0; /* nothing is drawn */
    }
    if (bed && fasta) {
        sl_log_error("give the regions as -b BED or -s FASTA, not both");
        return SL_EXIT_USAGE;
    }
    if (!npz || optind != argc || (!out && !json && !sbed && !stsv)) {
        if (optind != argc) sl_log_error("unexpected argument '%s'", argv[optind]);
        else if (!npz) sl_log_error("--npz PREFIX is required");
        else sl_log_error("no output: give -o REPORT.html, --report-json, --seqlets-bed or --tsv");
        return SL_EXIT_USAGE;
    }
    if (sl_seqlet_opts_check(&o.seqlet) < 0) return SL_EXIT_USAGE; /* option values that clash */
    const char *outs[] = {out, json, sbed, stsv};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        if (sl_cli_output_dirs(outs[i]) < 0) return SL_EXIT_ERROR;
    if (motifs && !(db = sl_motif_db_read(motifs))) goto fail;
    if (!(rep = sl_report_create(&o, db))) goto fail;
    if (sl_report_add_npz(rep, npz, target, bed, fasta) < 0) goto fail;
    if (sl_report_write(rep, out, json) < 0) goto fail;
    if (!seqlets_only && !sbed) /* seqlets beside the report (NAME.seqlets.bed) */
        sbed = sbed_own = sl_report_seqlets_path(NULL, out, json, NULL, 1);
    if ((sbed || stsv) && sl_report_write_seqlets(rep, sbed, stsv) < 0) goto fail;
    sl_log_info("%lld seqlets in %lld regions", (long long)sl_report_n_seqlets(rep),
                (long long)sl_report_n_regions(rep));
    ret = SL_EXIT_OK;
fail:
    free(sbed_own);
    sl_report_destroy(rep);
    sl_motif_db_destroy(db);
    return ret;
}

int sl_cmd_report(int argc, char **argv)
{
    return sl_cmd_motif_run(argc, argv, 0);
}
