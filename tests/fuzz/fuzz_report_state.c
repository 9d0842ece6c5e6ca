/* fuzz_report_state.c — the report state reader of `seqlift merge` (sl_report_add_state):
 * the binary body of a shard's OUT.seqlift-report-<t> (counts, kept regions with their
 * drawing data, seqlet blocks with matches) after the header line of this build, then
 * everything the merged report writes from it (HTML, JSON, seqlets BED and TSV).
 * The input is the body only: the harness writes the header a report with the default
 * options and the demo motifs has, so the reader gets past its option check. */
#include "fuzz_util.h"

#include "seqlift/motif.h"
#include "seqlift/report.h"

static sl_motif_db_t *db;
static char *head; /* the header line, with its newline */
static sl_report_opts_t opts;

static char *first_line(const char *path)
{
    size_t n;
    char *s = fz_slurp(path, &n), *nl = strchr(s, '\n');
    if (!nl) exit(2);
    nl[1] = 0;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char st[256], html[256], json[256], bed[256], tsv[256];
    if (!db) {
        char buf[512];
        if (!(db = sl_motif_db_read(fz_src(buf, sizeof buf, "test_data/demo/motifs.meme")))) exit(2);
        sl_report_opts_default(&opts);
        fz_tmp_path(st, sizeof st, "state", ""), fz_tmp_path(html, sizeof html, "state", ".html");
        fz_tmp_path(json, sizeof json, "state", ".json"), fz_tmp_path(bed, sizeof bed, "state", ".bed");
        fz_tmp_path(tsv, sizeof tsv, "state", ".tsv");
        sl_report_t *empty = sl_report_create(&opts, db);
        if (!empty || sl_report_write_state(empty, st) < 0) exit(2);
        sl_report_destroy(empty);
        head = first_line(st);
    }
    FILE *fp = fopen(st, "wb");
    if (!fp) exit(2);
    fputs(head, fp);
    if (size) fwrite(data, 1, size, fp);
    fclose(fp);
    sl_report_t *rep = sl_report_create(&opts, db);
    if (!rep) exit(2);
    if (sl_report_add_state(rep, st) == 0) {
        sl_report_write(rep, html, json);
        sl_report_write_seqlets(rep, bed, tsv);
    }
    sl_report_destroy(rep);
    remove(st), remove(html), remove(json), remove(bed), remove(tsv);
    return 0;
}
