/* report_html.c — the self-contained HTML report (inline SVG logos, no external loads). */
#include <math.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/util.h"

/* ---- HTML ---- */

/* Every user-provided string (names, ids, paths, URLs) goes through this. */
static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* Letters as paths in a unit box (x 0..1, y 0 top .. 1 baseline): no fonts needed. */
static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}\n"
    "th{background:#f0f0f0;cursor:pointer}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code.locus{background:#f4f4f4;padding:0 3px;user-select:all}\n"
    "section.region{border-top:2px solid #ddd;margin-top:1.2em;padding-top:.4em}\n"
    ".logo-wrap{overflow-x:auto;border:1px solid #eee}\n"
    "svg.logo{display:block}\n"
    ".sqp{fill:#fff2a8;opacity:.7}.sqn{fill:#d9c6f0;opacity:.7}\n"
    ".lab{font-size:11px;fill:#333}.tick{font-size:10px;fill:#666}\n"
    ".hit{fill:#999}.hit.used{fill:#1a5fb4}\n"
    "#sl-errors{color:#b00;white-space:pre-wrap}\n"
    "</style>\n"
    "<script>\n"
    "window.slErrors=[];\n"
    "function slRecord(m){window.slErrors.push(String(m));"
    "var e=document.getElementById('sl-errors');if(e)e.textContent=window.slErrors.join('\\n');}\n"
    "window.onerror=function(m,src,l){slRecord('error: '+m+' line '+l);};\n"
    "(function(){var ce=console.error;console.error=function(){"
    "slRecord('console.error: '+Array.prototype.join.call(arguments,' '));if(ce)ce.apply(console,arguments);};})();\n"
    "</script>\n";

static const char html_defs[] =
    "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\n"
    "<path id=\"gA\" fill=\"#109648\" fill-rule=\"evenodd\" "
    "d=\"M0,1L0.4,0L0.6,0L1,1L0.78,1L0.68,0.72L0.32,0.72L0.22,1Z"
    "M0.39,0.54L0.61,0.54L0.5,0.22Z\"/>\n"
    "<path id=\"gC\" fill=\"#255c99\" "
    "d=\"M0.883,0.179A0.5,0.5 0 1 0 0.883,0.821L0.73,0.706A0.3,0.32 0 1 1 0.73,0.294Z\"/>\n"
    "<g id=\"gG\" fill=\"#f7b32b\">"
    "<path d=\"M0.883,0.179A0.5,0.5 0 1 0 0.992,0.587L0.795,0.556A0.3,0.32 0 1 1 0.73,0.294Z\"/>"
    "<path d=\"M0.55,0.47H0.99V0.62H0.55Z\"/></g>\n"
    "<path id=\"gT\" fill=\"#d62839\" d=\"M0,0H1V0.16H0.59V1H0.41V0.16H0Z\"/>\n"
    "</defs></svg>\n";

static const char html_tail[] =
    "<script>\n"
    "(function(){\n"
    "function key(td){var t=td.getAttribute('data-v');if(t===null)t=td.textContent;"
    "var f=parseFloat(t);return isNaN(f)?t.toLowerCase():f;}\n"
    "document.querySelectorAll('table.sortable').forEach(function(tb){\n"
    " tb.querySelectorAll('th').forEach(function(th,ci){th.addEventListener('click',function(){\n"
    "  var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "  var dir=th.getAttribute('data-dir')==='a'?-1:1;th.setAttribute('data-dir',dir>0?'a':'d');\n"
    "  rows.sort(function(a,b){var x=key(a.cells[ci]),y=key(b.cells[ci]);return x<y?-dir:x>y?dir:0;});\n"
    "  rows.forEach(function(r){body.appendChild(r);});});});});\n"
    "document.body.setAttribute('data-logos',String(document.querySelectorAll('svg.logo').length));\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n"
    "</script>\n</body></html>\n";

static void html_motif_cell(FILE *fp, const sl_report_t *rep, int k)
{
    const sl_motif_t *m = &rep->db->m[k];
    fputs("<td>", fp);
    if (m->url && (strncmp(m->url, "http://", 7) == 0 || strncmp(m->url, "https://", 8) == 0)) {
        fputs("<a href=\"", fp);
        esc(fp, m->url);
        fputs("\">", fp);
        esc(fp, m->id);
        fputs("</a>", fp);
    } else {
        esc(fp, m->id);
    }
    fputs("</td><td>", fp);
    esc(fp, m->name ? m->name : "");
    fputs("</td>", fp);
}

static int tick_step(double bw)
{
    static const int steps[] = {5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * bw >= 60) return steps[i];
    return 20000;
}

/* The attribution logo: observed base letters scaled by contribution, positive up,
 * negative down (flipped), seqlets shaded and labelled, motif hits as a track. */
static void html_logo(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H)
{
    /* the whole window in about 1100 px when it fits, 4 px per base at least (scrolls) */
    double bw = 1100.0 / k->L;
    bw = bw > 10 ? 10 : bw < 4 ? 4 : bw;
    double top = 30, plot = 110, hit_h = 8, W = 40 + k->L * bw;
    double mp = 0, mn = 0;
    for (int p = 0; p < k->L; p++) { /* non-finite values are not drawn (NaN/inf in the SVG) */
        if (!isfinite(k->x[p])) continue;
        if (k->x[p] > mp) mp = k->x[p];
        if (-k->x[p] > mn) mn = -k->x[p];
    }
    double tot = mp + mn > 0 ? mp + mn : 1, scale = plot / tot;
    double axis = top + (mp + mn > 0 ? plot * mp / tot : plot / 2);
    double H_total = top + plot + 20 + hit_h + 18;
    fprintf(fp, "<div class=\"logo-wrap\"><svg class=\"logo\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
            W, H_total, W, H_total);
    fprintf(fp, "<title>attribution logo (max %.3g, min %.3g)</title>\n", mp, -mn);
    /* seqlet shading and labels below everything else */
    for (int q = 0; q < k->nsq; q++) {
        const rseq_t *s = &k->sq[q];
        double x0 = 20 + s->s.start * bw, w = (s->s.end - s->s.start) * bw;
        const sl_match_t *b = sl_rep_best_match(rep, s);
        fprintf(fp, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", 
                s->s.sign > 0 ? "sqp" : "sqn", x0, top - 4, w, plot + 8);
        esc(fp, s->label);
        fprintf(fp, " score %.3g p %.2g", s->s.score, s->s.pval);
        if (b) {
            fputs(" best ", fp);
            esc(fp, rep->db->m[b->motif].id);
            fprintf(fp, " (%c) p %.2g E %.2g", b->strand, b->pval, b->evalue);
        }
        fputs("</title></rect>\n", fp);
        fprintf(fp, "<text class=\"lab\" x=\"%.1f\" y=\"%.1f\">#%d ", x0, top - 10 - 10 * (q % 2), s->s.rank);
        if (b) esc(fp, sl_rep_motif_label(rep, b->motif));
        else fputs(s->nm ? "no match" : "", fp);
        fputs("</text>\n", fp);
    }
    fprintf(fp, "<line x1=\"20\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-width=\"0.7\"/>\n",
            20 + k->L * bw, axis, axis);
    for (int p = 0; p < k->L; p++) {
        const char *c = strchr("ACGT", k->seq[p]);
        double h = fabs(k->x[p]) * scale;
        if (!c || !*c || !(h >= 0.2) || !isfinite(h)) continue; /* invisible: keep the file small */
        double x0 = 20 + p * bw + bw * 0.04;
        /* unit glyph scaled to the letter box; negative letters are flipped below the axis */
        fprintf(fp, "<use href=\"#g%c\" transform=\"matrix(%.2f 0 0 %.2f %.1f %.1f)\"/>\n", *c, bw * 0.92,
                k->x[p] > 0 ? h : -h, x0, k->x[p] > 0 ? axis - h : axis + h);
    }
    /* coordinate ticks (1-based genome positions; '-' strand runs backwards) */
    int step = tick_step(bw);
    double ty = top + plot + 14;
    sl_region_t rr = {0};
    rr.start = k->start;
    rr.end = k->end;
    rr.strand = k->strand;
    for (int p = 0; p < k->L; p += step) {
        fprintf(fp, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%lld</text>\n", 20 + p * bw, ty,
                (long long)sl_region_genome_pos(&rr, p) + 1);
    }
    double hy = ty + 6;
    for (int j = 0; H && j < H->n; j++) {
        const sl_hit_t *h = &H->h[j];
        fprintf(fp, "<rect class=\"hit%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
                H->used[j] ? " used" : "", 20 + h->start * bw, hy, (h->end - h->start) * bw, hit_h);
        esc(fp, rep->db->m[h->motif].id);
        fprintf(fp, " (%c) p %.2g contribution %.3g%s</title></rect>\n", h->strand, h->pval, H->contrib[j],
                H->used[j] ? " in a seqlet" : " not used by the model");
    }
    fputs("</svg></div>\n", fp);
}

static void html_region(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H, int r)
{
    char loc[512];
    sl_rep_locus(loc, sizeof loc, k->chrom, k->start, k->end);
    fprintf(fp, "<section class=\"region\" id=\"region-%d\"><h3>", r + 1);
    esc(fp, k->label);
    fputs(" <code class=\"locus\">", fp);
    esc(fp, loc);
    fprintf(fp, "</code> strand %c", k->strand == '+' || k->strand == '-' ? k->strand : '.');
    if (!isnan(k->pred)) {
        fputs(" &middot; ", fp);
        esc(fp, rep->o.pred_label ? rep->o.pred_label : "prediction");
        fprintf(fp, " %.4g", k->pred);
    }
    fputs("</h3>\n", fp);
    html_logo(fp, rep, k, H);
    if (k->nsq) {
        fputs("<table class=\"sortable\"><thead><tr><th>#</th><th>Locus</th><th>Sign</th><th>Length</th>"
              "<th>Contribution</th><th>p-value</th><th>Best motif</th><th>Strand</th><th>Match p</th>"
              "<th>Match E</th></tr></thead><tbody>\n",
              fp);
        for (int q = 0; q < k->nsq; q++) {
            const rseq_t *s = &k->sq[q];
            const sl_match_t *b = s->nm ? &s->m[0] : NULL;
            sl_rep_locus(loc, sizeof loc, s->chrom, s->gstart, s->gend);
            fprintf(fp, "<tr><td class=\"n\">%d</td><td><code class=\"locus\">", s->s.rank);
            esc(fp, loc);
            fprintf(fp, "</code></td><td>%c</td><td class=\"n\">%d</td><td class=\"n\">%.3g</td>"
                        "<td class=\"n\" data-v=\"%g\">%.2g</td>",
                    s->s.sign > 0 ? '+' : '-', s->s.end - s->s.start, s->s.score, s->s.pval, s->s.pval);
            if (b) {
                fputs("<td>", fp);
                if (b->evalue > rep->o.match_evalue) fputs("(", fp);
                esc(fp, sl_rep_motif_label(rep, b->motif));
                if (b->evalue > rep->o.match_evalue) fputs(")", fp);
                fprintf(fp, "</td><td>%c</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                            "<td class=\"n\" data-v=\"%g\">%.2g</td></tr>\n",
                        b->strand, b->pval, b->pval, b->evalue, b->evalue);
            } else {
                fputs("<td></td><td></td><td></td><td></td></tr>\n", fp);
            }
        }
        fputs("</tbody></table>\n", fp);
    }
    if (H && H->n) {
        fprintf(fp, "<details><summary>%d motif scan hits (p &le; %g)</summary>\n"
                    "<table class=\"sortable\"><thead><tr><th>Motif</th><th>Locus</th><th>Strand</th><th>Score</th>"
                    "<th>p-value</th><th>Contribution</th><th>In seqlet</th></tr></thead><tbody>\n",
                H->n, rep->o.scan_pthresh);
        sl_region_t rr = {0};
        rr.start = k->start;
        rr.end = k->end;
        rr.strand = k->strand;
        for (int j = 0; j < H->n; j++) {
            const sl_hit_t *h = &H->h[j];
            int64_t a = sl_region_genome_pos(&rr, h->start), b = sl_region_genome_pos(&rr, h->end - 1);
            sl_rep_locus(loc, sizeof loc, k->chrom, a < b ? a : b, (a < b ? b : a) + 1);
            fputs("<tr><td>", fp);
            esc(fp, rep->db->m[h->motif].id);
            fputs("</td><td><code class=\"locus\">", fp);
            esc(fp, loc);
            fprintf(fp, "</code></td><td>%c</td><td class=\"n\">%.2f</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                        "<td class=\"n\">%.3g</td><td>%s</td></tr>\n",
                    h->strand, h->score, h->pval, h->pval, H->contrib[j], H->used[j] ? "yes" : "no");
        }
        fputs("</tbody></table></details>\n", fp);
    }
    fputs("</section>\n", fp);
}

int sl_rep_write_html(const sl_report_t *rep, const summary_t *S, const char *path)
{
    sl_ofile_t *f = sl_ofile_open(path, "w");
    if (!f) return -1;
    FILE *fp = f->fp;
    const char *title = rep->o.title ? rep->o.title : "seqlift motif report";
    fputs(html_head, fp);
    fputs("<title>", fp);
    esc(fp, title);
    fputs("</title></head><body>\n", fp);
    fputs(html_defs, fp);
    fputs("<pre id=\"sl-errors\"></pre>\n<h1>", fp);
    esc(fp, title);
    fputs("</h1>\n<p>", fp);
    fprintf(fp, "%lld regions, %lld seqlets (%lld positive, %lld negative; p &lt; %g, length %d&ndash;%d)",
            (long long)rep->nreg, (long long)rep->nsq, (long long)S->npos, (long long)S->nneg,
            rep->o.seqlet.threshold, rep->o.seqlet.min_len, rep->o.seqlet.max_len);
    if (rep->db) {
        fputs("; motifs: ", fp);
        esc(fp, rep->db->path);
        fprintf(fp, " (%d motifs), a seqlet is labelled with its best match when E &le; %g", rep->db->n,
                rep->o.match_evalue);
    }
    fprintf(fp, ". seqlift %s.</p>\n", SEQLIFT_VERSION);
    if (rep->db) {
        fputs("<h2>Motifs</h2>\n<table class=\"sortable\" id=\"motif-table\"><thead><tr><th>Motif</th><th>Name</th>"
              "<th>Seqlets</th><th>Positive</th><th>Negative</th><th>Mean contribution</th><th>Best p-value</th>"
              "<th>Best E-value</th><th>Scan hits (drawn regions)</th><th>Hits in seqlets</th></tr></thead><tbody>\n",
              fp);
        for (int k = 0; k < rep->db->n; k++) {
            const mstat_t *m = &S->ms[k];
            if (!m->nseq && !m->nhits) continue;
            fputs("<tr>", fp);
            html_motif_cell(fp, rep, k);
            fprintf(fp, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                    (long long)m->nseq, (long long)m->npos, (long long)m->nneg);
            if (m->nseq)
                fprintf(fp, "<td class=\"n\">%.3g</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                            "<td class=\"n\" data-v=\"%g\">%.2g</td>",
                        m->sum / m->nseq, m->bestp, m->bestp, m->beste, m->beste);
            else
                fputs("<td></td><td></td><td></td>", fp);
            fprintf(fp, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n", (long long)m->nhits,
                    (long long)m->nused);
        }
        fprintf(fp, "<tr><td>(no match)</td><td></td><td class=\"n\">%lld</td><td></td><td></td><td></td><td></td>"
                    "<td></td><td></td><td></td></tr>\n</tbody></table>\n",
                (long long)S->unmatched);
    }
    fprintf(fp, "<h2>Regions</h2>\n<p>%d of %lld regions drawn (%s). Letters: the observed base scaled by its "
                "contribution, positive above the axis, negative below; shaded: seqlets; bars under the axis: "
                "motif scan hits (blue: inside a seqlet, grey: not used by the model). Coordinates are 1-based "
                "(<code>chr:start-end</code>, as IGV and UCSC take them).</p>\n",
            rep->nkept, (long long)rep->nreg,
            rep->o.order == SL_REPORT_ORDER_PREDICTION ? "highest predictions first" : "input order");
    for (int r = 0; r < rep->nkept; r++) html_region(fp, rep, S->kept[r], &S->hits[r], r);
    fputs(html_tail, fp);
    return sl_ofile_commit(f);
}
