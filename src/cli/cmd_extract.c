/* cmd_extract.c — `seqlift extract`: the resized, strand-aware sequences the model
 * will see, as FASTA in the format of `bedtools getfasta -s` (one sequence line). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: seqlift extract -f GENOME.fa -b REGIONS.bed [-w WIDTH] [options]\n"
            "       seqlift extract -s SEQS.fa [-w WIDTH] [-o OUT.fa]\n\n"
            "Writes the windows the model will score as FASTA, like `bedtools getfasta -s`\n"
            "(headers chrom:start-end(strand), minus strand reverse-complemented, case kept).\n\n"
            "Options:\n"
            "  -f, --fasta FILE    indexed genome FASTA, plain or bgzip (.fai built if missing)\n"
            "  -b, --bed FILE      regions: BED3-12 or narrowPeak, plain or gzip\n"
            "  -s, --seqs FILE     instead of -f/-b: every record of a FASTA file, in order\n"
            "  -w, --width INT     model input length: resize each region around its\n"
            "                      narrowPeak summit, else its midpoint [0: keep as is]\n"
            "      --no-resize     error on regions whose length is not WIDTH\n"
            "      --edge MODE     windows running off a contig: pad (with N), skip, error [pad]\n"
            "  -o, --output FILE   output FASTA [stdout]\n"
            "  -h, --help          this help\n\n");
}

/* One record per region: label line, then the window on one line. Bases are
 * checked through the one-hot encoder, so what is written is what the model sees. */
static int write_list(const sl_regions_t *rl, sl_genome_t *g, FILE *out)
{
    int ret = -1;
    int64_t cap = sl_regions_max_len(rl);
    size_t lab_cap = 0;
    char *seq = sl_malloc((size_t)cap, "sequence"), *lab = NULL;
    float *x = sl_malloc((size_t)cap * SL_NBASES * sizeof(float), "one-hot");
    if (!seq || !x) goto fail;
    for (int64_t i = 0; i < rl->n; i++) {
        const sl_region_t *r = &rl->r[i];
        int64_t n = r->end - r->start;
        if (sl_regions_load(rl, i, g, seq, x) < 0) goto fail;
        size_t len = (size_t)sl_region_label(r, NULL, 0);
        if (len + 1 > lab_cap) { /* grows to the longest label, not once per region */
            char *l = sl_realloc(lab, len + 1, "label");
            if (!l) goto fail;
            lab = l;
            lab_cap = len + 1;
        }
        sl_region_label(r, lab, lab_cap);
        fprintf(out, ">%s\n", lab);
        fwrite(seq, 1, (size_t)n, out);
        fputc('\n', out);
    }
    ret = 0;
fail:
    free(seq);
    free(x);
    free(lab);
    return ret;
}

static int extract(const char *fa, const char *bed, const char *seqs, const sl_region_opts_t *opts,
                   FILE *out)
{
    int ret = -1;
    sl_genome_t *g = NULL;
    sl_regions_t *rl = NULL;
    if (seqs) {
        rl = sl_regions_read_fasta(seqs, opts->width);
    } else if ((g = sl_genome_open(fa))) {
        rl = sl_regions_read_bed(bed, g, opts);
    }
    if (rl) ret = write_list(rl, g, out);
    sl_regions_destroy(rl);
    sl_genome_close(g);
    return ret;
}

int sl_cmd_extract(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"fasta", required_argument, NULL, 'f'}, {"bed", required_argument, NULL, 'b'},
        {"seqs", required_argument, NULL, 's'},  {"width", required_argument, NULL, 'w'},
        {"no-resize", no_argument, NULL, 1},      {"edge", required_argument, NULL, 2},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *fa = NULL, *bed = NULL, *seqs = NULL, *outp = "-";
    sl_region_opts_t opts = {0, 0, SL_EDGE_PAD};
    long long v;
    int c;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, "f:b:s:w:o:h", lopts, NULL)) >= 0) {
        switch (c) {
        case 'f': fa = optarg; break;
        case 'b': bed = optarg; break;
        case 's': seqs = optarg; break;
        case 'o': outp = optarg; break;
        case 'w':
            if (sl_parse_long(optarg, &v) != 0 || v < 0) {
                return sl_cli_bad("--width: '%s' is not a non-negative integer", optarg);
            }
            opts.width = v;
            break;
        case 1: opts.refuse_resize = 1; break;
        case 2:
            if (sl_cli_edge(optarg, &opts.edge) < 0) return SL_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (sl_cli_check_inputs(argc, argv, optind, fa, bed, seqs) < 0) return SL_EXIT_USAGE;
    if (sl_cli_output_dirs(outp) < 0) return SL_EXIT_ERROR; /* like mkdir -p */
    sl_ofile_t *out = sl_ofile_open(outp, "w");
    if (!out) return SL_EXIT_ERROR;
    if (extract(fa, bed, seqs, &opts, out->fp) < 0) {
        sl_ofile_abort(out);
        return SL_EXIT_ERROR;
    }
    return sl_ofile_commit(out) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
