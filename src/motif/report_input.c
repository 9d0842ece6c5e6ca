/* report_input.c — report options from the command line, and npz input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqlift/npz.h"
#include "seqlift/report.h"
#include "seqlift/util.h"

static int opt_int(const char *name, const char *value, int lo, int hi, int *out)
{
    long long v;
    if (sl_parse_long(value, &v) != 0 || v < lo || v > hi) {
        sl_log_error("--%s: expected an integer in %d..%d, got '%s'", name, lo, hi, value);
        return -1;
    }
    *out = (int)v;
    return 1;
}

static int opt_double(const char *name, const char *value, double lo, double hi, double *out)
{
    double v;
    if (sl_parse_double(value, &v) != 0 || v < lo || v > hi) {
        sl_log_error("--%s: expected a number in [%g, %g], got '%s'", name, lo, hi, value);
        return -1;
    }
    *out = v;
    return 1;
}

int sl_report_opt(sl_report_opts_t *o, const char *name, const char *value)
{
    if (!strcmp(name, "seqlet-threshold")) return opt_double(name, value, 1e-300, 0.999999, &o->seqlet.threshold);
    if (!strcmp(name, "min-len")) return opt_int(name, value, 1, 1000, &o->seqlet.min_len);
    if (!strcmp(name, "max-len")) return opt_int(name, value, 1, 1000, &o->seqlet.max_len);
    if (!strcmp(name, "flank")) return opt_int(name, value, 0, 1000, &o->seqlet.flank);
    if (!strcmp(name, "top")) return opt_int(name, value, 1, 1000, &o->top_matches);
    if (!strcmp(name, "min-overlap")) return opt_int(name, value, 1, 1000, &o->min_overlap);
    if (!strcmp(name, "match-evalue")) return opt_double(name, value, 0, 1e300, &o->match_evalue);
    /* drawing options: 2 */
    int rc = 0;
    if (!strcmp(name, "scan-pvalue")) rc = opt_double(name, value, 0, SL_SCAN_PMAX, &o->scan_pthresh);
    else if (!strcmp(name, "report-regions")) rc = opt_int(name, value, 0, 100000, &o->max_regions);
    else if (!strcmp(name, "report-title")) o->title = value, rc = 1;
    else if (!strcmp(name, "genome-name")) o->genome_name = value, rc = 1;
    else if (!strcmp(name, "report-order")) {
        if (!strcmp(value, "input")) o->order = SL_REPORT_ORDER_INPUT;
        else if (!strcmp(value, "prediction")) o->order = SL_REPORT_ORDER_PREDICTION;
        else {
            sl_log_error("--report-order: expected 'input' or 'prediction', got '%s'", value);
            return -1;
        }
        rc = 1;
    }
    return rc == 1 ? 2 : rc;
}

void sl_report_opts_help(FILE *fp, const sl_report_opts_t *d, int draw)
{
    fprintf(fp,
            "Seqlets and motifs:\n"
            "  --seqlet-threshold P  span p-value threshold (Laplace null per region) [%g]\n"
            "  --min-len N           shortest seqlet [%d]\n"
            "  --max-len N           longest seqlet [%d]\n"
            "  --flank N             bases added each side for motif matching [%d]\n"
            "  --top N               motif matches kept per seqlet [%d]\n"
            "  --min-overlap N       aligned columns needed for a match [%d]\n"
            "  --match-evalue E      label a seqlet with its best motif when E <= this [%g]\n",
            d->seqlet.threshold, d->seqlet.min_len, d->seqlet.max_len, d->seqlet.flank, d->top_matches,
            d->min_overlap, d->match_evalue);
    if (!draw) return;
    fprintf(fp,
            "Report:\n"
            "  --scan-pvalue P       motif scan (FIMO-like) threshold, 0 disables [%g]\n"
            "  --report-regions N    regions drawn in the report [%d]\n"
            "  --report-order O      'input' or 'prediction' (highest first) [%s]\n"
            "  --report-title T      report title [%s]\n"
            "  --genome-name G       assembly (e.g. hg38) of the UCSC links [%s]\n",
            d->scan_pthresh, d->max_regions, d->order == SL_REPORT_ORDER_PREDICTION ? "prediction" : "input",
            d->title ? d->title : "seqlift motif report", d->genome_name ? d->genome_name : "UCSC's default");
}

/* Load PREFIX<suffix> as [n][L][4] (transposed from the (n, 4, L) layout). */
static int load(const char *prefix, const char *suffix, float **out, int64_t *n, int64_t *L)
{
    size_t len = strlen(prefix) + strlen(suffix) + 1;
    char *path = sl_malloc(len, "path");
    float *d = NULL, *t = NULL;
    int ndim, ret = -1;
    int64_t sh[SL_NPZ_MAX_DIM];
    if (!path) return -1;
    snprintf(path, len, "%s%s", prefix, suffix);
    if (sl_npz_read(path, NULL, &ndim, sh, &d) < 0) goto fail;
    int chan_first = ndim == 3 && sh[1] == 4, chan_last = ndim == 3 && sh[2] == 4 && sh[1] != 4;
    if (!chan_first && !chan_last) {
        sl_log_error("%s: expected an array of shape (regions, 4, length), got %d dimensions", path, ndim);
        goto fail;
    }
    *n = sh[0];
    *L = chan_first ? sh[2] : sh[1];
    if (*L > (1 << 30) || *n > ((int64_t)1 << 40)) {
        sl_log_error("%s: array too large", path);
        goto fail;
    }
    if (chan_first) {
        /* (n, 4, L) -> (n, L, 4): the layout the library works on */
        if (!(t = sl_malloc((size_t)(*n * *L * 4) * sizeof(float) + 1, "npz array"))) goto fail;
        for (int64_t i = 0; i < *n; i++)
            for (int b = 0; b < 4; b++)
                for (int64_t p = 0; p < *L; p++) t[(i * *L + p) * 4 + b] = d[(i * 4 + b) * *L + p];
        free(d);
        d = t;
    }
    *out = d;
    d = NULL;
    ret = 0;
fail:
    free(d);
    free(path);
    return ret;
}

int sl_report_add_npz(sl_report_t *rep, const char *prefix, const char *target, const char *bed_path,
                      const char *fasta_path)
{
    float *ohe = NULL, *contrib = NULL, *hyp = NULL;
    int64_t n, L, n2, L2;
    sl_regions_t *rl = NULL;
    int ret = -1;
    size_t plen = strlen(prefix) + (target ? strlen(target) : 0) + 32;
    /* multi-target runs write PREFIX.<target>.{contrib,hyp}.npz next to one PREFIX.ohe.npz;
     * the suffixes (prefix "") follow score's naming rule */
    char *cs = sl_npz_target_path("", target, "contrib"), *hs = sl_npz_target_path("", target, "hyp"),
         *hp = sl_malloc(plen, "path");
    if (!cs || !hs || !hp) goto fail;
    if (load(prefix, ".ohe.npz", &ohe, &n, &L) < 0) goto fail;
    snprintf(hp, plen, "%s%s", prefix, cs);
    if (access(hp, F_OK) != 0) {
        sl_log_error("%s: not found%s", hp,
                     target ? "" : " (a multi-target run needs --target T: PREFIX.T.contrib.npz)");
        goto fail;
    }
    snprintf(hp, plen, "%s%s", prefix, hs);
    if (load(prefix, cs, &contrib, &n2, &L2) < 0) goto fail;
    if (n2 != n || L2 != L) {
        sl_log_error("%s%s: %lld regions of length %lld, but %s.ohe.npz has %lld of length %lld", prefix, cs,
                     (long long)n2, (long long)L2, prefix, (long long)n, (long long)L);
        goto fail;
    }
    if (access(hp, F_OK) == 0) {
        if (load(prefix, hs, &hyp, &n2, &L2) < 0) goto fail;
        if (n2 != n || L2 != L) {
            sl_log_error("%s: %lld regions of length %lld, but %s.ohe.npz has %lld of length %lld", hp,
                         (long long)n2, (long long)L2, prefix, (long long)n, (long long)L);
            goto fail;
        }
    }
    if (bed_path) {
        sl_region_opts_t ro = {.width = L, .refuse_resize = 0, .edge = SL_EDGE_PAD};
        if (!(rl = sl_regions_read_bed(bed_path, NULL, &ro))) goto fail;
    } else if (fasta_path && !(rl = sl_regions_read_fasta(fasta_path, L))) {
        goto fail;
    }
    if (rl && rl->n != n) {
        sl_log_error("%s: %lld regions, but %s.ohe.npz has %lld", bed_path ? bed_path : fasta_path,
                     (long long)rl->n, prefix, (long long)n);
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        sl_region_t r = {.start = 0, .end = L, .strand = '.', .line = i + 1, .summit = -1};
        if (rl) r = rl->r[i];
        r.index = i;
        size_t off = (size_t)(i * L * 4);
        if (sl_report_add_region(rep, &r, (int)L, ohe + off, contrib + off, hyp ? hyp + off : NULL, NAN) < 0)
            goto fail;
    }
    ret = 0;
fail:
    sl_regions_destroy(rl);
    free(cs);
    free(hs);
    free(hp);
    free(ohe);
    free(contrib);
    free(hyp);
    return ret;
}
