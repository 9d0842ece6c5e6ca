/* report_state.c — a report's whole state in one file, so that `seqlift merge` can draw
 * the report of the union of shards as one run draws it (report.h).
 *
 * Layout: one JSON line (the options that shape the report, the motif database path,
 * the record size), then native binary: the counts, the kept regions with their
 * per-base data and seqlets, then every seqlet block (region, count, records) in the
 * spill's record form. Exact: doubles and floats as their bytes, so the merged report
 * sums and ranks the same numbers one run does. Read back by the same build (the
 * record size and byte order are checked). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <htslib/kstring.h>

#include "motif/report_priv.h"
#include "seqlift/util.h"

#define STATE_FORMAT "seqlift-report-state"
#define STATE_MAX_LEN (1 << 28) /* a region longer than this is surely a corrupt file */

typedef struct {
    int64_t nreg, nkept, nblk;
} state_counts_t;

typedef struct {
    int64_t index, start, end;
    double pred;
    int32_t L, nsq, label_len, chrom_len, genomic;
    char strand;
} state_kreg_t;

typedef struct {
    int64_t region;
    int32_t n;
} state_blk_t;

/* 0x01020304 as the machine stores it, read as bytes: says the byte order */
static double byte_order(void)
{
    uint32_t v = 0x01020304;
    unsigned char b[4];
    memcpy(b, &v, 4);
    return b[0] * 16777216.0 + b[1] * 65536.0 + b[2] * 256.0 + b[3];
}

static char *state_header(const sl_report_t *rep)
{
    const sl_report_opts_t *o = &rep->o;
    cJSON *h = sl_rep_options_json(o, 1);
    cJSON_AddStringToObject(h, "format", STATE_FORMAT);
    cJSON_AddNumberToObject(h, "record", (double)sl_rep_rec_size());
    cJSON_AddNumberToObject(h, "endian", byte_order());
    if (rep->db) cJSON_AddStringToObject(h, "motifs", rep->db->path);
    if (o->title) cJSON_AddStringToObject(h, "title", o->title);
    if (o->pred_label) cJSON_AddStringToObject(h, "pred_label", o->pred_label);
    char *s = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!s) sl_log_error("out of memory for the report state");
    return s;
}

static int put_kreg(FILE *fp, const sl_report_t *rep, const kreg_t *k)
{
    state_kreg_t h;
    memset(&h, 0, sizeof h);
    h.index = k->index, h.start = k->start, h.end = k->end, h.pred = k->pred;
    h.L = k->L, h.nsq = k->nsq, h.genomic = k->genomic, h.strand = k->strand;
    h.label_len = (int32_t)strlen(k->label), h.chrom_len = (int32_t)strlen(k->chrom);
    int ok = fwrite(&h, sizeof h, 1, fp) == 1 && fwrite(k->label, 1, (size_t)h.label_len, fp) == (size_t)h.label_len &&
             fwrite(k->chrom, 1, (size_t)h.chrom_len, fp) == (size_t)h.chrom_len &&
             fwrite(k->seq, 1, (size_t)k->L, fp) == (size_t)k->L &&
             fwrite(k->x, sizeof(float), (size_t)k->L, fp) == (size_t)k->L;
    for (int q = 0; q < k->nsq && ok; q++) ok = sl_rep_rec_put(fp, &k->sq[q], rep) == 0;
    return ok ? 0 : -1;
}

int sl_report_write_state(sl_report_t *rep, const char *path)
{
    sl_rep_iter_t it;
    const rseq_t *s;
    int rc = 0, iter = 0;
    char *head = state_header(rep);
    sl_ofile_t *f = head ? sl_ofile_open(path, "w") : NULL;
    if (!f) {
        free(head);
        return -1;
    }
    pthread_mutex_lock(&rep->lock);
    state_counts_t c = {rep->nreg, rep->nkept, rep->nblk};
    fprintf(f->fp, "%s\n", head);
    if (fwrite(&c, sizeof c, 1, f->fp) != 1) rc = -1;
    for (int i = 0; i < rep->nkept && rc == 0; i++) rc = put_kreg(f->fp, rep, rep->kept[i]);
    if (rc == 0 && (rc = sl_rep_iter_begin(rep, &it)) == 0) iter = 1;
    /* the blocks in region order, each with its records */
    for (int64_t b = 0; b < rep->nblk && rc == 0; b++) {
        state_blk_t h;
        memset(&h, 0, sizeof h);
        h.region = rep->blk[b].region, h.n = rep->blk[b].n;
        if (fwrite(&h, sizeof h, 1, f->fp) != 1) rc = -1;
        for (int j = 0; j < h.n && rc == 0; j++)
            rc = sl_rep_iter_next(&it, &s) > 0 ? sl_rep_rec_put(f->fp, s, rep) : -1;
    }
    if (iter) sl_rep_iter_end(&it);
    pthread_mutex_unlock(&rep->lock);
    free(head);
    if (rc < 0) {
        sl_ofile_abort(f);
        return -1;
    }
    return sl_ofile_commit(f);
}

/* The header line of a state file (malloc'd, no newline); NULL (reported). */
static char *read_header(FILE *fp, const char *path)
{
    kstring_t t = {0, 0, NULL};
    int c;
    while ((c = getc(fp)) != EOF && c != '\n' && t.l < (1 << 20)) kputc(c, &t);
    if (c != '\n' || !t.s) {
        free(t.s);
        sl_log_error("%s: not a seqlift report state (written by score --shard)", path);
        return NULL;
    }
    return t.s;
}

/* bytes from fp's position to the end of its file (SIZE_MAX where that is unknown: not a
 * regular file) */
static size_t bytes_left(FILE *fp)
{
    struct stat st;
    long pos = ftell(fp);
    if (pos < 0 || fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) return SIZE_MAX;
    return st.st_size > pos ? (size_t)(st.st_size - pos) : 0;
}

static kreg_t *get_kreg(FILE *fp, const sl_report_t *rep, const char *path)
{
    state_kreg_t h;
    kreg_t *k = sl_calloc(1, sizeof *k, "report region");
    int ok = k && fread(&h, sizeof h, 1, fp) == 1 && h.L > 0 && h.L < STATE_MAX_LEN && h.nsq >= 0 && h.nsq <= h.L &&
             h.label_len >= 0 && h.label_len < 65536 && h.chrom_len >= 0 && h.chrom_len < 65536;
    /* the record's bytes must be in the file before they are allocated: a corrupt
     * length would otherwise ask for up to 1.3 GB (L floats) from a tiny file */
    ok = ok && (size_t)h.label_len + (size_t)h.chrom_len + (size_t)h.L * (1 + sizeof(float)) + (size_t)h.nsq <=
                   bytes_left(fp);
    if (ok) {
        k->index = h.index, k->start = h.start, k->end = h.end, k->pred = h.pred;
        k->L = h.L, k->nsq = 0, k->genomic = h.genomic, k->strand = h.strand;
        ok = (k->label = sl_calloc((size_t)h.label_len + 1, 1, "region label")) &&
             (k->chrom = sl_calloc((size_t)h.chrom_len + 1, 1, "region label")) &&
             (k->seq = sl_calloc((size_t)h.L + 1, 1, "region sequence")) &&
             (k->x = sl_malloc((size_t)h.L * sizeof(float), "projected contributions")) &&
             (!h.nsq || (k->sq = sl_calloc((size_t)h.nsq, sizeof *k->sq, "region seqlets"))) &&
             fread(k->label, 1, (size_t)h.label_len, fp) == (size_t)h.label_len &&
             fread(k->chrom, 1, (size_t)h.chrom_len, fp) == (size_t)h.chrom_len &&
             fread(k->seq, 1, (size_t)h.L, fp) == (size_t)h.L && fread(k->x, sizeof(float), (size_t)h.L, fp) == (size_t)h.L;
    }
    for (int q = 0; ok && q < h.nsq; q++, k->nsq++) ok = sl_rep_rec_get(fp, &k->sq[q], rep, path) > 0;
    if (!ok) {
        sl_log_error("%s: a bad or truncated region record", path);
        sl_rep_kreg_free(k);
        return NULL;
    }
    return k;
}

int sl_report_add_state(sl_report_t *rep, const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *head = NULL, *mine = NULL;
    rseq_t *loc = NULL;
    int ret = -1, nloc = 0;
    state_counts_t c;
    if (!fp) {
        sl_log_error("%s: cannot open the report state: %s", path, strerror(errno));
        return -1;
    }
    if (!(head = read_header(fp, path)) || !(mine = state_header(rep))) goto done;
    if (strcmp(head, mine) != 0) {
        sl_log_error("%s: the report options or motifs differ from the other shards'", path);
        goto done;
    }
    if (fread(&c, sizeof c, 1, fp) != 1 || c.nreg < 0 || c.nkept < 0 || c.nkept > rep->o.max_regions || c.nblk < 0 ||
        c.nblk > c.nreg) {
        sl_log_error("%s: a bad or truncated report state", path);
        goto done;
    }
    pthread_mutex_lock(&rep->lock);
    rep->nreg += c.nreg;
    for (int64_t i = 0; i < c.nkept; i++) {
        kreg_t *k = get_kreg(fp, rep, path);
        if (!k) goto unlock;
        if (!sl_rep_kept_offer(rep, k)) sl_rep_kreg_free(k);
    }
    for (int64_t b = 0; b < c.nblk; b++) {
        state_blk_t h;
        if (fread(&h, sizeof h, 1, fp) != 1 || h.n < 1 || h.n > 1 << 20 || h.region < 0) {
            sl_log_error("%s: a bad or truncated seqlet block", path);
            goto unlock;
        }
        if (!(loc = sl_calloc((size_t)h.n, sizeof *loc, "seqlets"))) goto unlock;
        for (nloc = 0; nloc < h.n; nloc++)
            if (sl_rep_rec_get(fp, &loc[nloc], rep, path) <= 0 || loc[nloc].region != h.region) {
                if (loc[nloc].label) nloc++, sl_log_error("%s: a seqlet outside its block", path);
                goto unlock;
            }
        if (sl_rep_spill_block(rep, h.region, loc, nloc) < 0) goto unlock;
        for (int i = 0; i < nloc; i++) sl_rep_rseq_free(&loc[i]);
        free(loc);
        loc = NULL;
    }
    ret = 0;
unlock:
    pthread_mutex_unlock(&rep->lock);
done:
    for (int i = 0; loc && i < nloc; i++) sl_rep_rseq_free(&loc[i]);
    free(loc);
    free(head);
    free(mine);
    fclose(fp);
    return ret;
}

/* Options and motif database of a state file, to create the report that merges the
 * shards: strings owned by *hdr (cJSON_Delete after the report), *db by the caller. */
int sl_report_state_opts(const char *path, sl_report_opts_t *o, sl_motif_db_t **db, void **hdr)
{
    FILE *fp = fopen(path, "rb");
    char *head = fp ? read_header(fp, path) : NULL;
    cJSON *h = head ? cJSON_Parse(head) : NULL;
    *db = NULL, *hdr = NULL;
    if (!fp) sl_log_error("%s: cannot open the report state: %s", path, strerror(errno));
    else fclose(fp);
    free(head);
    const cJSON *f = cJSON_GetObjectItem(h, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, STATE_FORMAT)) {
        if (fp) sl_log_error("%s: not a seqlift report state (written by score --shard)", path);
        cJSON_Delete(h);
        return -1;
    }
#define NUM(k) (cJSON_GetObjectItem(h, k) ? cJSON_GetObjectItem(h, k)->valuedouble : 0)
#define STR(k) (cJSON_IsString(cJSON_GetObjectItem(h, k)) ? cJSON_GetObjectItem(h, k)->valuestring : NULL)
    if (NUM("record") != (double)sl_rep_rec_size() || NUM("endian") != byte_order()) {
        sl_log_error("%s: written by another build or machine (record layout differs)", path);
        cJSON_Delete(h);
        return -1;
    }
    sl_report_opts_default(o);
    o->seqlet.threshold = NUM("seqlet_threshold");
    o->seqlet.min_len = (int)NUM("min_len"), o->seqlet.max_len = (int)NUM("max_len");
    o->seqlet.flank = (int)NUM("flank"), o->top_matches = (int)NUM("top"), o->min_overlap = (int)NUM("min_overlap");
    o->match_evalue = NUM("match_evalue"), o->scan_pthresh = NUM("scan_pthresh");
    o->max_regions = (int)NUM("max_regions");
    const char *order = STR("order");
    o->order = order && !strcmp(order, "prediction") ? SL_REPORT_ORDER_PREDICTION : SL_REPORT_ORDER_INPUT;
    o->title = STR("title"), o->pred_label = STR("pred_label"), o->genome_name = STR("genome_name");
    if (STR("motifs") && !(*db = sl_motif_db_read(STR("motifs")))) {
        cJSON_Delete(h);
        return -1;
    }
#undef NUM
#undef STR
    *hdr = h;
    return 0;
}

void sl_report_state_free(void *hdr) { cJSON_Delete(hdr); }
