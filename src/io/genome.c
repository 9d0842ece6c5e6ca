/* genome.c — indexed FASTA (plain or bgzip) through htslib faidx. */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/hts_log.h>

#include "io/io_internal.h"
#include "seqlift/util.h"

struct sl_genome_s {
    faidx_t *fai;
    char *path;
};

/* htslib prints its own diagnostics; while opening we report one line ourselves.
 * The log level is global, so concurrent opens serialise here. Fetches leave it
 * alone (no global writes on the hot path); they fail only on I/O errors. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

/* path + suffix (caller frees); NULL on error (reported). */
static char *with_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = sl_malloc(n, "index path");
    if (p) snprintf(p, n, "%s%s", path, suffix);
    return p;
}

static int file_exists(const char *path, const char *suffix)
{
    char *p = with_suffix(path, suffix);
    int ok = p && access(p, F_OK) == 0;
    free(p);
    return ok;
}

/* Build the .fai (and .gzi for BGZF) under temporary names and rename them into
 * place: htslib writes the index in place, so an interrupted build, or several
 * shards opening the same unindexed genome at once, could leave or read a partial
 * index. 0 / -1 (reported). */
static int build_index(const char *path, int bgzf)
{
    char *fai = with_suffix(path, ".fai"), *gzi = with_suffix(path, ".gzi");
    char *tfai = fai ? sl_tmp_path(fai) : NULL, *tgzi = gzi && bgzf ? sl_tmp_path(gzi) : NULL;
    int ret = -1;
    if (!tfai || (bgzf && !tgzi)) goto done;
    if (fai_build3(path, tfai, tgzi) != 0) {
        sl_log_error("%s: cannot build the FASTA index; run `samtools faidx %s` to see why",
                     path, path);
        remove(tfai);
        if (tgzi) remove(tgzi);
        goto done;
    }
    if (tgzi && sl_rename_into_place(tgzi, gzi) < 0) {
        remove(tfai);
        goto done;
    }
    ret = sl_rename_into_place(tfai, fai);
done:
    free(fai);
    free(gzi);
    free(tfai);
    free(tgzi);
    return ret;
}

static int dir_writable(const char *path)
{
    char *d = sl_strdup(path);
    if (!d) return 0;
    char *slash = strrchr(d, '/');
    int ok;
    if (!slash) ok = access(".", W_OK) == 0;
    else if (slash == d) ok = access("/", W_OK) == 0;
    else {
        *slash = 0;
        ok = access(d, W_OK) == 0;
    }
    free(d);
    return ok;
}

/* 0 none, 1 plain gzip, 2 bgzf; -1 when unreadable or not FASTA (reported). */
static int probe(const char *path)
{
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        sl_log_error("%s: cannot open genome FASTA: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    int comp = bgzf_compression(fp);
    int c = comp == 1 ? '>' : bgzf_getc(fp); /* plain gzip is refused below anyway */
    bgzf_close(fp);
    if (c != '>') {
        sl_log_error("%s: not a FASTA file (does not start with '>')", path);
        return -1;
    }
    return comp;
}

/* htslib divides by each contig's bases per line when fetching and trusts the .fai: a
 * contig with bases but 0 bases per line (which fai_build itself writes for some
 * malformed FASTA, found by tests/fuzz/fuzz_fasta.c) would crash with SIGFPE. Check
 * every entry (name, length, offset, line bases, line bytes) once at open. 0 / -1. */
static int check_index(const char *path)
{
    char *fai = with_suffix(path, ".fai");
    FILE *fp = fai ? fopen(fai, "r") : NULL;
    int ret = fp ? 0 : -1;
    if (!fp) sl_log_error("%s: cannot open the FASTA index %s.fai: %s", path, path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    for (int64_t n = 1; fp && ret == 0 && getline(&line, &cap, fp) > 0; n++) {
        char *tab = strchr(line, '\t');
        long long len, off, lb, lw;
        if (tab && sscanf(tab, "%lld %lld %lld %lld", &len, &off, &lb, &lw) == 4 && len > 0 &&
            (lb <= 0 || lw < lb)) {
            *tab = 0;
            sl_log_error("%s: contig '%s' has %lld bases but %lld per line (index line %lld): "
                         "malformed FASTA (a line of unexpected bytes?)",
                         path, sl_io_quote(line).s, len, lb, (long long)n);
            ret = -1;
        }
    }
    if (fp) fclose(fp);
    free(line);
    free(fai);
    return ret;
}

sl_genome_t *sl_genome_open(const char *path)
{
    sl_genome_t *g = NULL;
    pthread_mutex_lock(&open_lock);
    enum htsLogLevel lvl = hts_get_log_level();
    hts_set_log_level(HTS_LOG_OFF);
    if (strcmp(path, "-") == 0) {
        sl_log_error("the genome FASTA must be a file (it is read by random access), not stdin");
        goto fail;
    }
    int comp = probe(path);
    if (comp < 0) goto fail;
    if (comp == 1) {
        sl_log_error("%s: gzip-compressed but not BGZF, so it cannot be indexed; "
                     "decompress it (`bgzip -d %s`) or recompress it "
                     "(`gzip -dc %s | bgzip > NEW.fa.gz`)", path, path, path);
        goto fail;
    }
    if (!file_exists(path, ".fai") || (comp == 2 && !file_exists(path, ".gzi"))) {
        if (!dir_writable(path)) {
            sl_log_error("%s: no FASTA index (.fai%s) and its directory is not writable; "
                         "run `samtools faidx %s` where you can write and keep the index "
                         "next to the file", path, comp == 2 ? " + .gzi" : "", path);
            goto fail;
        }
        if (build_index(path, comp == 2) < 0) goto fail;
        sl_log_info("%s: built the FASTA index", path);
    }
    if (check_index(path) < 0) goto fail;
    if (!(g = sl_calloc(1, sizeof(*g), "genome"))) goto fail;
    if (!(g->path = sl_strdup(path))) goto fail;
    if (!(g->fai = fai_load3(path, NULL, NULL, 0))) {
        sl_log_error("%s: cannot load the FASTA index; rebuild it with `samtools faidx %s`",
                     path, path);
        goto fail;
    }
    hts_set_log_level(lvl);
    pthread_mutex_unlock(&open_lock);
    return g;
fail:
    hts_set_log_level(lvl);
    pthread_mutex_unlock(&open_lock);
    sl_genome_close(g);
    return NULL;
}

void sl_genome_close(sl_genome_t *g)
{
    if (!g) return;
    if (g->fai) fai_destroy(g->fai);
    free(g->path);
    free(g);
}

int sl_genome_n_contigs(const sl_genome_t *g)
{
    return faidx_nseq(g->fai);
}

const char *sl_genome_contig_name(const sl_genome_t *g, int i)
{
    return i >= 0 && i < faidx_nseq(g->fai) ? faidx_iseq(g->fai, i) : NULL;
}

int64_t sl_genome_contig_len(const sl_genome_t *g, const char *chrom)
{
    return chrom ? faidx_seq_len(g->fai, chrom) : -1;
}

int sl_genome_fetch(sl_genome_t *g, const sl_region_t *r, char *out)
{
    int64_t len = sl_genome_contig_len(g, r->chrom);
    if (len < 0) {
        sl_log_error("%s: unknown contig '%s'", g->path, r->chrom ? r->chrom : "(none)");
        return -1;
    }
    int64_t n = r->end - r->start;
    if (n < 0) {
        sl_log_error("%s: bad window %s:%lld-%lld", g->path, r->chrom, (long long)r->start,
                     (long long)r->end);
        return -1;
    }
    int64_t s = r->start < 0 ? 0 : r->start, e = r->end > len ? len : r->end;
    memset(out, 'N', (size_t)n);
    if (s < e) {
        hts_pos_t got = 0;
        char *seq = faidx_fetch_seq64(g->fai, r->chrom, s, e - 1, &got);
        if (!seq || got != e - s) {
            sl_log_error("%s: cannot read %s:%lld-%lld (truncated file or stale index? "
                         "rebuild it with `samtools faidx %s`)",
                         g->path, r->chrom, (long long)s, (long long)e, g->path);
            free(seq);
            return -1;
        }
        memcpy(out + (s - r->start), seq, (size_t)got);
        free(seq);
    }
    if (r->strand == '-') sl_revcomp(out, n);
    return 0;
}
