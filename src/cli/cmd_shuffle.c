/* cmd_shuffle.c — `seqlift shuffle`: k-mer preserving shuffles of FASTA records.
 * The shuffles are exactly the references `--reference kmer:K:N --seed S` gives the
 * same records (same region seed, same generator draws). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/reference.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nUsage: seqlift shuffle [-k 2] [-n 20] [--seed S] [-o OUT.fa] {-s IN.fa | IN.fa}\n\n"
            "Writes N shuffles of every record of IN.fa (plain or gzip) that keep the count of\n"
            "every k-mer, sampled uniformly among all sequences with those counts. Records are\n"
            "named <record>_shuf<i>, i = 0..N-1, one sequence line each, uppercase. N and IUPAC\n"
            "positions keep their place and letter; each ACGT run between them is shuffled\n"
            "on its own (for k >= 2 its first and last k-1 bases stay). The same --seed gives\n"
            "the same output whatever else is in the file's other records.\n\n"
            "Options:\n"
            "  -k, --kmer INT      k-mer size to preserve, 1..%d (1: plain permutation) [2]\n"
            "  -n, --num INT       shuffles per record [20]\n"
            "  -s, --seqs FILE     input FASTA (as in every command; or give it as the argument)\n"
            "      --seed INT      global seed, combined with each record's name and index [%d]\n"
            "  -o, --output FILE   output FASTA [stdout]\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          this help\n\n",
            SL_REF_MAX_K, SL_REF_DEFAULT_SEED);
}

static int shuffle_records(const char *in, int k, int n, uint64_t seed, FILE *out)
{
    int ret = -1;
    float *x = NULL;
    uint8_t *codes = NULL, *shuf = NULL;
    char *line = NULL;
    int64_t cap = 0;
    sl_ref_ws_t *ws = NULL;
    sl_regions_t *rl = sl_regions_read_fasta(in, 0);
    if (!rl || !(ws = sl_ref_ws_create())) goto fail;
    for (int64_t i = 0; i < rl->n; i++) {
        const sl_region_t *r = &rl->r[i];
        const char *seq = rl->seqs[i];
        int64_t len = (int64_t)strlen(seq), bad;
        if (len + 1 > cap) {
            free(x), free(codes), free(shuf), free(line);
            cap = len + 1;
            x = sl_malloc((size_t)cap * 4 * sizeof(float), "one-hot");
            codes = sl_malloc((size_t)cap, "codes");
            shuf = sl_malloc((size_t)cap, "codes");
            line = sl_malloc((size_t)cap + 1, "sequence");
            if (!x || !codes || !shuf || !line) goto fail;
        }
        if (len < k) {
            sl_log_error("%s: record '%s' has %lld bp, fewer than k=%d", in, r->name, (long long)len, k);
            goto fail;
        }
        if (sl_onehot(seq, len, x, &bad) < 0) {
            sl_log_error("%s: record '%s' has a non-nucleotide at position %lld", in, r->name, (long long)bad + 1);
            goto fail;
        }
        if (sl_ref_onehot_codes(x, len, codes, r->name) < 0) goto fail;
        sl_rng_t rng;
        sl_rng_seed(&rng, sl_region_seed(seed, r));
        for (int j = 0; j < n; j++) {
            if (sl_ref_kmer_shuffle(codes, len, k, &rng, shuf, ws) < 0) goto fail;
            for (int64_t p = 0; p < len; p++) line[p] = shuf[p] < SL_REF_CODE_N ? SL_ALPHABET[shuf[p]] : seq[p];
            line[len] = '\n';
            if (fprintf(out, ">%s_shuf%d\n", r->name, j) < 0 || fwrite(line, 1, (size_t)len + 1, out) != (size_t)len + 1) {
                sl_log_error("writing shuffles of '%s': write error", r->name);
                goto fail;
            }
        }
    }
    ret = 0;
fail:
    free(x);
    free(codes);
    free(shuf);
    free(line);
    sl_ref_ws_destroy(ws);
    sl_regions_destroy(rl);
    return ret;
}

int sl_cmd_shuffle(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"kmer", required_argument, NULL, 'k'},   {"num", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'S'},   {"output", required_argument, NULL, 'o'},
        {"seqs", required_argument, NULL, 's'},   {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *outp = "-", *in = NULL;
    long long k = 2, n = 20, seed = SL_REF_DEFAULT_SEED;
    int c;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, "k:n:s:o:hV", lopts, NULL)) >= 0) {
        switch (c) {
        case 'k':
            if (sl_parse_long(optarg, &k) != 0 || k < 1 || k > SL_REF_MAX_K) {
                sl_log_error("--kmer: '%s' is not an integer in 1..%d", optarg, SL_REF_MAX_K);
                return SL_EXIT_USAGE;
            }
            break;
        case 'n':
            if (sl_parse_long(optarg, &n) != 0 || n < 1 || n > SL_REF_MAX_N) {
                sl_log_error("--num: '%s' is not an integer in 1..%d", optarg, SL_REF_MAX_N);
                return SL_EXIT_USAGE;
            }
            break;
        case 's': in = optarg; break;
        case 'S':
            if (sl_parse_long(optarg, &seed) != 0 || seed < 0) {
                sl_log_error("--seed: '%s' is not a non-negative integer", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case 'o': outp = optarg; break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        case 'V': return sl_cli_version(argv[0]);
        default: return sl_cli_unknown_option(argv, optind);
        }
    }
    if (!in && optind < argc) in = argv[optind++];
    if (!in || optind != argc) {
        if (in) return sl_cli_bad("unexpected argument '%s'", argv[optind]);
        return sl_cli_bad("no input FASTA given (-s IN.fa or the argument)");
    }
    if (sl_cli_output_dirs(outp) < 0) return SL_EXIT_ERROR;
    sl_ofile_t *out = sl_ofile_open(outp, "w");
    if (!out) return SL_EXIT_ERROR;
    if (shuffle_records(in, (int)k, (int)n, (uint64_t)seed, out->fp) < 0) {
        sl_ofile_abort(out);
        return SL_EXIT_ERROR;
    }
    return sl_ofile_commit(out) < 0 ? SL_EXIT_ERROR : SL_EXIT_OK;
}
