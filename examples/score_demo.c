/* score_demo.c — score regions with DeepLIFT through libseqlift (seqlift/score.h),
 * as `seqlift score` does: the same options give the same numbers.
 *
 *   score_demo MODEL.json GENOME.fa REGIONS.bed OUT.tsv [TARGETS] [OUT_NPZ_PREFIX]
 *
 * Built against an installed seqlift:
 *   cc -o score_demo score_demo.c $(pkg-config --cflags --libs seqlift)
 */
#include <stdio.h>

#include <seqlift/model.h>
#include <seqlift/score.h>

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: score_demo MODEL.json GENOME.fa REGIONS.bed OUT.tsv [TARGETS] [NPZ_PREFIX]\n");
        return 2;
    }
    sl_score_opts_t o;
    sl_score_opts_default(&o); /* genomics rules, dinuc:20 references, seed 1 */
    o.model = argv[1];
    o.fasta = argv[2];
    o.bed = argv[3];
    o.out.tsv = argv[4];
    if (argc > 5) o.target = argv[5];
    if (argc > 6) o.out.npz = argv[6];
    o.threads = 2;
    /* process-wide state is the program's: threads over regions, one GEMM thread each */
    sl_net_blas_threads(1);
    /* one error line already printed on failure; no output file is left behind */
    return sl_score_run(&o) < 0 ? 1 : 0;
}
