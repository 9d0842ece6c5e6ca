/* report_json.c — the report as JSON (cJSON): options, motif summary, every seqlet, drawn regions. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/util.h"

/* ---- JSON ---- */

/* Six significant digits: enough for the report, and the JSON stays small. */
static cJSON *jnum(double v)
{
    char b[32];
    if (!isfinite(v)) return cJSON_CreateNull();
    snprintf(b, sizeof b, "%.6g", v);
    return cJSON_CreateNumber(strtod(b, NULL));
}

static cJSON *jstr(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *sl_rep_options_json(const sl_report_opts_t *ro, int exact)
{
    cJSON *(*num)(double) = exact ? cJSON_CreateNumber : jnum, *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "seqlet_threshold", num(ro->seqlet.threshold));
    cJSON_AddItemToObject(o, "min_len", num(ro->seqlet.min_len));
    cJSON_AddItemToObject(o, "max_len", num(ro->seqlet.max_len));
    cJSON_AddItemToObject(o, "flank", num(ro->seqlet.flank));
    cJSON_AddItemToObject(o, "top", num(ro->top_matches));
    cJSON_AddItemToObject(o, "min_overlap", num(ro->min_overlap));
    cJSON_AddItemToObject(o, "match_evalue", num(ro->match_evalue));
    cJSON_AddItemToObject(o, "scan_pthresh", num(ro->scan_pthresh));
    cJSON_AddItemToObject(o, "max_regions", num(ro->max_regions));
    cJSON_AddItemToObject(o, "order", jstr(ro->order == SL_REPORT_ORDER_PREDICTION ? "prediction" : "input"));
    cJSON_AddItemToObject(o, "genome_name", jstr(ro->genome_name));
    return o;
}

static cJSON *json_seqlet(const sl_report_t *rep, const rseq_t *s)
{
    char loc[512];
    cJSON *o = cJSON_CreateObject(), *ms;
    sl_rep_locus(loc, sizeof loc, s->chrom, s->gstart, s->gend);
    cJSON_AddItemToObject(o, "name", jstr(s->label));
    cJSON_AddItemToObject(o, "region_index", jnum((double)s->region));
    cJSON_AddItemToObject(o, "rank", jnum(s->s.rank));
    cJSON_AddItemToObject(o, "locus", jstr(loc));
    cJSON_AddItemToObject(o, "chrom", jstr(s->chrom));
    cJSON_AddItemToObject(o, "start", jnum((double)s->gstart));
    cJSON_AddItemToObject(o, "end", jnum((double)s->gend));
    char st[2] = {s->strand == '+' || s->strand == '-' ? s->strand : '.', 0};
    cJSON_AddItemToObject(o, "strand", jstr(st));
    cJSON_AddItemToObject(o, "model_start", jnum(s->s.start));
    cJSON_AddItemToObject(o, "model_end", jnum(s->s.end));
    cJSON_AddItemToObject(o, "sign", jnum(s->s.sign));
    cJSON_AddItemToObject(o, "score", jnum(s->s.score));
    cJSON_AddItemToObject(o, "pval", jnum(s->s.pval));
    const sl_match_t *b = sl_rep_best_match(rep, s);
    cJSON_AddItemToObject(o, "motif", b ? jstr(rep->db->m[b->motif].id) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "matches", ms = cJSON_CreateArray());
    for (int j = 0; j < s->nm; j++) {
        const sl_match_t *m = &s->m[j];
        cJSON *x = cJSON_CreateObject();
        char ms_[2] = {m->strand, 0};
        cJSON_AddItemToObject(x, "motif", jstr(rep->db->m[m->motif].id));
        cJSON_AddItemToObject(x, "name", jstr(rep->db->m[m->motif].name));
        cJSON_AddItemToObject(x, "strand", jstr(ms_));
        /* where motif column 0 lies, in model coordinates (may be before 0) */
        cJSON_AddItemToObject(x, "model_start", jnum(s->fs + m->offset));
        cJSON_AddItemToObject(x, "overlap", jnum(m->overlap));
        cJSON_AddItemToObject(x, "score", jnum(m->score));
        cJSON_AddItemToObject(x, "pval", jnum(m->pval));
        cJSON_AddItemToObject(x, "evalue", jnum(m->evalue));
        cJSON_AddItemToArray(ms, x);
    }
    return o;
}

static cJSON *json_build(const sl_report_t *rep, const summary_t *S)
{
    cJSON *root = cJSON_CreateObject(), *a;
    cJSON_AddItemToObject(root, "format", jstr("seqlift-report"));
    cJSON_AddItemToObject(root, "version", jstr(SEQLIFT_VERSION));
    cJSON_AddItemToObject(root, "title", jstr(rep->o.title ? rep->o.title : "seqlift motif report"));
    cJSON_AddItemToObject(root, "motif_db", rep->db ? jstr(rep->db->path) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "options", sl_rep_options_json(&rep->o, 0));
    cJSON_AddItemToObject(root, "n_regions", jnum((double)rep->nreg));
    cJSON_AddItemToObject(root, "n_seqlets", jnum((double)rep->nsq));
    cJSON_AddItemToObject(root, "n_unmatched", jnum((double)S->unmatched));
    cJSON_AddItemToObject(root, "motifs", a = cJSON_CreateArray());
    for (int k = 0; rep->db && k < rep->db->n; k++) {
        const mstat_t *m = &S->ms[k];
        if (!m->nseq && !m->nhits) continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "motif", jstr(rep->db->m[k].id));
        cJSON_AddItemToObject(x, "name", jstr(rep->db->m[k].name));
        cJSON_AddItemToObject(x, "n_seqlets", jnum((double)m->nseq));
        cJSON_AddItemToObject(x, "n_positive", jnum((double)m->npos));
        cJSON_AddItemToObject(x, "n_negative", jnum((double)m->nneg));
        cJSON_AddItemToObject(x, "mean_contribution", m->nseq ? jnum(m->sum / m->nseq) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "best_pval", m->nseq ? jnum(m->bestp) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "best_evalue", m->nseq ? jnum(m->beste) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "scan_hits", jnum((double)m->nhits));
        cJSON_AddItemToObject(x, "scan_hits_in_seqlets", jnum((double)m->nused));
        if (m->cwm) { /* the average seqlet logo: mean contribution [w][A,C,G,T] in the motif's orientation */
            cJSON *cw = cJSON_CreateArray();
            for (int j = 0; j < rep->db->m[k].w; j++) {
                cJSON *col = cJSON_CreateArray();
                for (int c = 0; c < 4; c++) cJSON_AddItemToArray(col, jnum(m->cwm[4 * j + c] / (double)m->nseq));
                cJSON_AddItemToArray(cw, col);
            }
            cJSON_AddItemToObject(x, "average_contribution", cw);
        }
        cJSON_AddItemToArray(a, x);
    }
    return root;
}

/* The drawn regions: the JSON's last member. */
static cJSON *json_regions(const sl_report_t *rep, const summary_t *S)
{
    cJSON *a = cJSON_CreateArray();
    char loc[512];
    for (int r = 0; r < rep->nkept; r++) {
        const kreg_t *k = S->kept[r];
        const rhits_t *H = &S->hits[r];
        cJSON *x = cJSON_CreateObject(), *v;
        char st[2] = {k->strand == '+' || k->strand == '-' ? k->strand : '.', 0};
        sl_rep_locus(loc, sizeof loc, k->chrom, k->start, k->end);
        cJSON_AddItemToObject(x, "index", jnum((double)k->index));
        cJSON_AddItemToObject(x, "name", jstr(k->label));
        cJSON_AddItemToObject(x, "locus", jstr(loc));
        cJSON_AddItemToObject(x, "strand", jstr(st));
        cJSON_AddItemToObject(x, "prediction", jnum(k->pred));
        cJSON_AddItemToObject(x, "sequence", jstr(k->seq));
        cJSON_AddItemToObject(x, "contribution", v = cJSON_CreateArray());
        for (int p = 0; p < k->L; p++) cJSON_AddItemToArray(v, jnum(k->x[p]));
        cJSON_AddItemToObject(x, "seqlets", v = cJSON_CreateArray());
        for (int q = 0; q < k->nsq; q++) cJSON_AddItemToArray(v, jstr(k->sq[q].label));
        cJSON_AddItemToObject(x, "motif_hits", v = cJSON_CreateArray());
        for (int j = 0; j < H->n; j++) {
            cJSON *h = cJSON_CreateObject();
            char hs[2] = {H->h[j].strand, 0};
            cJSON_AddItemToObject(h, "motif", jstr(rep->db->m[H->h[j].motif].id));
            cJSON_AddItemToObject(h, "model_start", jnum(H->h[j].start));
            cJSON_AddItemToObject(h, "model_end", jnum(H->h[j].end));
            cJSON_AddItemToObject(h, "strand", jstr(hs));
            cJSON_AddItemToObject(h, "score", jnum(H->h[j].score));
            cJSON_AddItemToObject(h, "pval", jnum(H->h[j].pval));
            cJSON_AddItemToObject(h, "contribution", jnum(H->contrib[j]));
            cJSON_AddItemToObject(h, "in_seqlet", cJSON_CreateBool(H->used[j]));
            cJSON_AddItemToArray(v, h);
        }
        cJSON_AddItemToArray(a, x);
    }
    return a;
}

/* Print v unformatted to fp, skipping the last `strip` bytes; frees v. 0 / -1. */
static int put_json(FILE *fp, cJSON *v, size_t strip)
{
    char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    if (!txt) return -1;
    size_t n = strlen(txt);
    fwrite(txt, 1, n > strip ? n - strip : 0, fp);
    free(txt);
    return 0;
}

/* Streamed: the summary object without its closing brace, then "seqlets" one at a
 * time from the spill, then "regions": the bytes cJSON prints for the whole tree,
 * with memory for one seqlet, not all of them. */
int sl_rep_write_json(sl_report_t *rep, const summary_t *S, const char *path)
{
    sl_ofile_t *f = sl_ofile_open(path, "w");
    sl_rep_iter_t it;
    const rseq_t *s;
    int rc = 0, n = 0;
    if (!f) return -1;
    if (put_json(f->fp, json_build(rep, S), 1) < 0) goto oom;
    fputs(",\"seqlets\":[", f->fp);
    if (sl_rep_iter_begin(rep, &it) < 0) goto fail;
    while (rc >= 0 && (rc = sl_rep_iter_next(&it, &s)) > 0) {
        if (n++) fputc(',', f->fp);
        if (put_json(f->fp, json_seqlet(rep, s), 0) < 0) rc = -2;
    }
    sl_rep_iter_end(&it);
    if (rc == -2) goto oom;
    if (rc < 0) goto fail;
    fputs("],\"regions\":", f->fp);
    if (put_json(f->fp, json_regions(rep, S), 0) < 0) goto oom;
    fputs("}\n", f->fp);
    return sl_ofile_commit(f);
oom:
    sl_log_error("%s: out of memory building the JSON report", path);
fail:
    sl_ofile_abort(f);
    return -1;
}

