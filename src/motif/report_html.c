/* report_html.c — the self-contained HTML report (inline SVG logos, no external loads). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "motif/report_priv.h"
#include "seqlift/browser.h"
#include "seqlift/util.h"

/* ---- HTML ---- */

/* Every user-provided string (names, ids, paths, URLs) goes through this. */
static void esc(FILE *fp, const char *s)
{
    sl_browser_xml_escape(fp, s);
}

/* Letters as paths in a unit box (x 0..1, y 0 top .. 1 baseline): no fonts needed. */
static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "*{box-sizing:border-box}\n"
    "body{font-family:sans-serif;margin:0 auto;padding:0 1em 2em;max-width:1400px;color:#222;background:#fff}\n"
    "h1,h2,h3,p{overflow-wrap:anywhere}\n"
    ".tbl{overflow-x:auto;max-width:100%}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:middle}\n"
    "th{background:#f0f0f0;cursor:pointer}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code.locus{background:#f4f4f4;padding:0 3px;user-select:all}\ntd code.locus{white-space:nowrap}\n"
    "a.ext{font-size:12px;font-weight:normal;margin-left:.5em}\n"
    "section.region{border-top:2px solid #ddd;margin-top:1.2em;padding-top:.4em}\n"
    "section.region.hidden{display:none}\n"
    "#controls{position:sticky;top:0;z-index:1;background:#fff;padding:.5em 0;display:flex;flex-wrap:wrap;"
    "gap:.5em;align-items:center;border-bottom:1px solid #ddd}\n"
    "#controls input,#controls select{font-size:14px;max-width:100%}\n"
    ".logo-wrap{overflow-x:auto;border:1px solid #eee;max-width:100%}\n"
    "svg.logo{display:block;width:100%;height:auto}\n"
    ".zoom{font-size:12px;margin:.2em 0}.zoom button{font-size:12px;min-width:2.2em}\n"
    "svg.mlogo{display:block;max-width:100%;height:auto}\n"
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
    /* zoom: the logo keeps its aspect ratio; wider than its box it scrolls inside it */
    "document.querySelectorAll('.zoom').forEach(function(z){var svg=z.nextElementSibling.querySelector('svg');"
    " z.querySelectorAll('button').forEach(function(b){b.addEventListener('click',function(){"
    "  var f=parseFloat(svg.getAttribute('data-zoom')||'1'),a=b.getAttribute('data-z');"
    "  f=a==='fit'?1:Math.max(1,Math.min(16,f*parseFloat(a)));svg.setAttribute('data-zoom',String(f));"
    "  svg.style.width=(100*f)+'%';});});});\n"
    /* search (name, or chr:start-end overlapping) and motif filter; no network needed */
    "var q=document.getElementById('q'),ms=document.getElementById('motif');\n"
    "function num(x){return parseInt(String(x).replace(/,/g,''),10);}\n"
    "function filter(){if(!q)return;var t=q.value.trim().toLowerCase(),m=ms?ms.value:'',n=0,all=0;\n"
    " var loc=t.match(/^([^:\\s]+):([\\d,]+)(?:-([\\d,]+))?$/);\n"
    " document.querySelectorAll('section.region').forEach(function(s){all++;var ok=true,d=s.dataset;\n"
    "  if(t){ok=d.name.indexOf(t)>=0||d.locus.toLowerCase().indexOf(t)>=0;\n"
    "   if(!ok&&loc){var a=num(loc[2]),b=loc[3]?num(loc[3]):a;"
    "ok=d.chrom.toLowerCase()===loc[1]&&num(d.start)<=b&&num(d.end)>=a;}}\n"
    "  if(ok&&m)ok=(' '+d.motifs+' ').indexOf(' '+m+' ')>=0;\n"
    "  s.classList.toggle('hidden',!ok);if(ok)n++;});\n"
    " var c=document.getElementById('nshown');if(c)c.textContent=n+' of '+all+' drawn regions shown';\n"
    " document.body.setAttribute('data-shown',String(n));}\n"
    "if(q){q.addEventListener('input',filter);ms.addEventListener('change',filter);}\n"
    "document.querySelectorAll('a.mfilter').forEach(function(a){a.addEventListener('click',function(e){"
    "e.preventDefault();ms.value=a.getAttribute('data-m');filter();"
    "document.getElementById('regions').scrollIntoView();});});\n"
    /* #q=...&motif=... in the address fills the boxes (links to a filtered view) */
    "var h=location.hash.slice(1).split('&');h.forEach(function(kv){var i=kv.indexOf('=');if(i<0)return;"
    " var k=kv.slice(0,i),v=decodeURIComponent(kv.slice(i+1));if(k==='q'&&q)q.value=v;"
    " if(k==='motif'&&ms)ms.value=v;});\n"
    "filter();\n"
    "document.body.setAttribute('data-logos',String(document.querySelectorAll('svg.logo').length));\n"
    /* self-check with the real font metrics: seqlet labels that overlap (should be none) */
    "var ov=0;document.querySelectorAll('svg.logo').forEach(function(svg){"
    "var b=Array.prototype.map.call(svg.querySelectorAll('text.lab'),function(t){return t.getBBox();});"
    "for(var i=0;i<b.length;i++)for(var j=i+1;j<b.length;j++)"
    "if(b[i].x<b[j].x+b[j].width&&b[j].x<b[i].x+b[i].width&&b[i].y<b[j].y+b[j].height&&b[j].y<b[i].y+b[i].height)ov++;});\n"
    "document.body.setAttribute('data-label-overlaps',String(ov));\n"
    "document.body.setAttribute('data-overflow',String(document.documentElement.scrollWidth-"
    "document.documentElement.clientWidth));\n"
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

static const char *seqlet_caption(const sl_report_t *rep, const rseq_t *s)
{
    const sl_match_t *b = sl_rep_best_match(rep, s);
    return b ? sl_rep_motif_label(rep, b->motif) : s->nm ? "no match" : "";
}

/* Seqlet labels laid out in rows so that none overlaps another: each label (in order
 * of position) goes into the first row whose last label ends before it starts. Text
 * width is estimated at 6.2 units per character (11-unit sans-serif). (*row)[q] is the
 * row of seqlet q (malloc'd); returns the number of rows (at least 1). */
static int label_rows(const sl_report_t *rep, const kreg_t *k, double bw, int **row)
{
    int n = k->nsq, nr = 1;
    double end[64];
    *row = sl_calloc((size_t)n + 1, sizeof(int), "label rows");
    if (!*row) return 1;
    end[0] = -1e30;
    for (int done = 0; done < n; done++) {
        int q = -1; /* next seqlet by start (n is small: a scan is enough) */
        for (int i = 0; i < n; i++)
            if ((*row)[i] == 0 && (q < 0 || k->sq[i].s.start < k->sq[q].s.start)) q = i;
        double x0 = 20 + k->sq[q].s.start * bw;
        double x1 = x0 + 6.2 * (3 + snprintf(NULL, 0, "%d", k->sq[q].s.rank) + strlen(seqlet_caption(rep, &k->sq[q])));
        int r = 0;
        while (r < nr && end[r] > x0 - 4) r++;
        if (r == nr) {
            if (nr < 64) end[nr++] = -1e30;
            else r = nr - 1; /* 64 rows of labels: let the last one overlap */
        }
        end[r] = x1;
        (*row)[q] = r + 1; /* 1-based while laying out: 0 = not placed yet */
    }
    for (int i = 0; i < n; i++) (*row)[i]--;
    return nr;
}

/* The attribution logo: observed base letters scaled by contribution, positive up,
 * negative down (flipped), seqlets shaded and labelled, motif hits as a track. */
static void html_logo(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H)
{
    /* the whole window in about 1100 units: the SVG scales to the page width (viewBox)
     * and the zoom buttons widen it inside its scrolling box */
    double bw = 1100.0 / k->L;
    bw = bw > 10 ? 10 : bw;
    int *row = NULL, nrows = label_rows(rep, k, bw, &row);
    double top = 16 + 12.0 * nrows, plot = 110, hit_h = 8, W = 40 + k->L * bw;
    double mp = 0, mn = 0;
    for (int p = 0; p < k->L; p++) { /* non-finite values are not drawn (NaN/inf in the SVG) */
        if (!isfinite(k->x[p])) continue;
        if (k->x[p] > mp) mp = k->x[p];
        if (-k->x[p] > mn) mn = -k->x[p];
    }
    double tot = mp + mn > 0 ? mp + mn : 1, scale = plot / tot;
    double axis = top + (mp + mn > 0 ? plot * mp / tot : plot / 2);
    double H_total = top + plot + 20 + hit_h + 18;
    fputs("<div class=\"zoom\">zoom <button type=\"button\" data-z=\"0.5\">&minus;</button>"
          "<button type=\"button\" data-z=\"fit\">fit</button><button type=\"button\" data-z=\"2\">+</button></div>\n",
          fp);
    fprintf(fp, "<div class=\"logo-wrap\"><svg class=\"logo\" xmlns=\"http://www.w3.org/2000/svg\" "
                "viewBox=\"0 0 %.0f %.0f\" preserveAspectRatio=\"xMinYMin meet\" role=\"img\">\n",
            W, H_total);
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
        fprintf(fp, "<text class=\"lab\" x=\"%.1f\" y=\"%.1f\">#%d ", x0, 12.0 + 12 * row[q], s->s.rank);
        esc(fp, seqlet_caption(rep, s));
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
    free(row);
}

/* A small logo of w columns: heights h[j][4] (signed; positive letters stacked up from
 * the axis, the largest on top, negative ones down), scaled so that hmax fills the
 * half-height above (and below, when anything is negative) the axis. */
static void mini_logo(FILE *fp, const double *h, int w, const char *title)
{
    const double cw = 12, half = 40;
    double up = 0, dn = 0;
    for (int j = 0; j < w; j++) {
        double a = 0, b = 0;
        for (int c = 0; c < 4; c++) {
            if (h[4 * j + c] > 0) a += h[4 * j + c];
            else b -= h[4 * j + c];
        }
        up = a > up ? a : up;
        dn = b > dn ? b : dn;
    }
    double sc = up + dn > 0 ? 2 * half / (up + dn) : 1, axis = 2 + (up + dn > 0 ? up * sc : half);
    double H = 4 + 2 * half;
    fprintf(fp, "<svg class=\"mlogo\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>",
            w * cw + 4, H, w * cw + 4, H);
    esc(fp, title);
    fputs("</title>", fp);
    for (int j = 0; j < w; j++) {
        int ord[4] = {0, 1, 2, 3};
        for (int a = 1; a < 4; a++) /* smallest |h| first: nearest the axis */
            for (int b = a; b > 0 && fabs(h[4 * j + ord[b]]) < fabs(h[4 * j + ord[b - 1]]); b--) {
                int t = ord[b];
                ord[b] = ord[b - 1];
                ord[b - 1] = t;
            }
        double yu = axis, yd = axis, x = 2 + j * cw + 0.5;
        for (int a = 0; a < 4; a++) {
            double v = h[4 * j + ord[a]], hh = fabs(v) * sc;
            if (!(hh >= 0.2) || !isfinite(hh)) continue;
            if (v > 0) {
                fprintf(fp, "<use href=\"#g%c\" transform=\"matrix(%.2f 0 0 %.2f %.1f %.1f)\"/>", "ACGT"[ord[a]], cw - 1,
                        hh, x, yu - hh);
                yu -= hh;
            } else {
                fprintf(fp, "<use href=\"#g%c\" transform=\"matrix(%.2f 0 0 %.2f %.1f %.1f)\"/>", "ACGT"[ord[a]], cw - 1,
                        -hh, x, yd + hh);
                yd += hh;
            }
        }
    }
    if (dn > 0)
        fprintf(fp, "<line x1=\"2\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-width=\"0.5\"/>",
                2 + w * cw, axis, axis);
    fputs("</svg>", fp);
}

/* The motif's matrix as an information-content logo (bits against a uniform background). */
static void mini_logo_pwm(FILE *fp, const sl_motif_t *m)
{
    double *h = sl_malloc((size_t)m->w * 4 * sizeof(double) + 1, "motif logo");
    if (!h) return;
    for (int j = 0; j < m->w; j++) {
        double ic = 2;
        for (int c = 0; c < 4; c++)
            if (m->p[4 * j + c] > 0) ic += m->p[4 * j + c] * log2(m->p[4 * j + c]);
        for (int c = 0; c < 4; c++) h[4 * j + c] = m->p[4 * j + c] * ic;
    }
    mini_logo(fp, h, m->w, "motif logo (information content)");
    free(h);
}

/* The mean contribution of the n seqlets a motif labels (sum[w][4] / n). */
static void mini_logo_cwm(FILE *fp, const double *sum, int w, int64_t n)
{
    double *h = sl_malloc((size_t)w * 4 * sizeof(double) + 1, "seqlet logo");
    if (!h) return;
    for (int j = 0; j < 4 * w; j++) h[j] = sum[j] / (double)(n > 0 ? n : 1);
    char t[96];
    snprintf(t, sizeof t, "average of %lld seqlets (contribution)", (long long)n);
    mini_logo(fp, h, w, t);
    free(h);
}

/* lowercase, escaped: the search box compares in lowercase */
static void esc_lower(FILE *fp, const char *s)
{
    char b[2] = {0, 0};
    for (; s && *s; s++) {
        b[0] = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        esc(fp, b);
    }
}

/* percent-encoding for a URL query value */
static void url_enc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.:", c))
            fputc(c, fp);
        else
            fprintf(fp, "%%%02X", c);
    }
}

/* The locus in the UCSC browser (assembly from --genome-name) and in a running IGV
 * (its batch port answers http://localhost:60151/goto?locus=...). */
static void browser_links(FILE *fp, const sl_report_t *rep, const char *chrom, int64_t start, int64_t end)
{
    char loc[512];
    sl_rep_locus(loc, sizeof loc, chrom, start, end);
    fputs(" <a class=\"ext\" target=\"_blank\" rel=\"noopener\" href=\"https://genome.ucsc.edu/cgi-bin/hgTracks?", fp);
    if (rep->o.genome_name) {
        fputs("db=", fp);
        url_enc(fp, rep->o.genome_name);
        fputs("&amp;", fp);
    }
    fputs("position=", fp);
    url_enc(fp, loc);
    fputs("\">UCSC</a> <a class=\"ext\" target=\"igv\" href=\"http://localhost:60151/goto?locus=", fp);
    url_enc(fp, loc);
    fputs("\">IGV</a>", fp);
}

static void html_region(FILE *fp, const sl_report_t *rep, const kreg_t *k, const rhits_t *H, int r)
{
    char loc[512];
    sl_rep_locus(loc, sizeof loc, k->chrom, k->start, k->end);
    fprintf(fp, "<section class=\"region\" id=\"region-%d\" data-name=\"", r + 1);
    esc_lower(fp, k->label);
    fputs("\" data-locus=\"", fp);
    esc(fp, loc);
    fputs("\" data-chrom=\"", fp);
    esc(fp, k->chrom);
    fprintf(fp, "\" data-start=\"%lld\" data-end=\"%lld\" data-motifs=\"", (long long)k->start + 1, (long long)k->end);
    for (int q = 0, first = 1; q < k->nsq; q++) { /* ids and names of the motifs labelling its seqlets */
        const sl_match_t *b = sl_rep_best_match(rep, &k->sq[q]);
        if (!b) continue;
        fputs(first ? "" : " ", fp);
        first = 0;
        esc(fp, rep->db->m[b->motif].id);
    }
    fputs("\"><h3>", fp);
    esc(fp, k->label);
    fputs(" <code class=\"locus\">", fp);
    esc(fp, loc);
    fprintf(fp, "</code> strand %c", k->strand == '+' || k->strand == '-' ? k->strand : '.');
    if (k->genomic) browser_links(fp, rep, k->chrom, k->start < 0 ? 0 : k->start, k->end);
    if (!isnan(k->pred)) {
        fputs(" &middot; ", fp);
        esc(fp, rep->o.pred_label ? rep->o.pred_label : "prediction");
        fprintf(fp, " %.4g", k->pred);
    }
    fputs("</h3>\n", fp);
    html_logo(fp, rep, k, H);
    if (k->nsq) {
        fputs("<div class=\"tbl\"><table class=\"sortable\"><thead><tr><th>#</th><th>Locus</th><th>Sign</th><th>Length</th>"
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
        fputs("</tbody></table></div>\n", fp);
    }
    if (H && H->n) {
        fprintf(fp, "<details><summary>%d motif scan hits (p &le; %g)</summary>\n"
                    "<div class=\"tbl\"><table class=\"sortable\"><thead><tr><th>Motif</th><th>Locus</th><th>Strand</th><th>Score</th>"
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
        fputs("</tbody></table></div></details>\n", fp);
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
        fputs("<h2>Motifs</h2>\n<p>Motif logo: the database's matrix (information content, bits); average "
              "seqlet: the mean contribution of the seqlets it labels, aligned to it (its orientation). "
              "Click a seqlet count to show the regions with that motif.</p>\n"
              "<div class=\"tbl\"><table class=\"sortable\" id=\"motif-table\"><thead><tr><th>Motif</th><th>Name</th>"
              "<th>Motif logo</th><th>Average seqlet</th><th>Seqlets</th><th>Positive</th><th>Negative</th><th>Mean contribution</th><th>Best p-value</th>"
              "<th>Best E-value</th><th>Scan hits (drawn regions)</th><th>Hits in seqlets</th></tr></thead><tbody>\n",
              fp);
        for (int k = 0; k < rep->db->n; k++) {
            const mstat_t *m = &S->ms[k];
            if (!m->nseq && !m->nhits) continue;
            fputs("<tr>", fp);
            html_motif_cell(fp, rep, k);
            const sl_motif_t *mo = &rep->db->m[k];
            fputs("<td>", fp);
            mini_logo_pwm(fp, mo);
            fputs("</td><td>", fp);
            if (m->cwm) mini_logo_cwm(fp, m->cwm, mo->w, m->nseq);
            fputs("</td><td class=\"n\">", fp);
            if (m->nseq) {
                fputs("<a class=\"mfilter\" href=\"#regions\" data-m=\"", fp);
                esc(fp, mo->id);
                fprintf(fp, "\">%lld</a>", (long long)m->nseq);
            } else {
                fputs("0", fp);
            }
            fprintf(fp, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>", (long long)m->npos,
                    (long long)m->nneg);
            if (m->nseq)
                fprintf(fp, "<td class=\"n\">%.3g</td><td class=\"n\" data-v=\"%g\">%.2g</td>"
                            "<td class=\"n\" data-v=\"%g\">%.2g</td>",
                        m->sum / m->nseq, m->bestp, m->bestp, m->beste, m->beste);
            else
                fputs("<td></td><td></td><td></td>", fp);
            fprintf(fp, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n", (long long)m->nhits,
                    (long long)m->nused);
        }
        fprintf(fp, "<tr><td>(no match)</td><td></td><td></td><td></td><td class=\"n\">%lld</td><td></td><td></td>"
                    "<td></td><td></td><td></td><td></td><td></td></tr>\n</tbody></table></div>\n",
                (long long)S->unmatched);
    }
    fputs("<h2 id=\"regions\">Regions</h2>\n<div id=\"controls\"><input id=\"q\" type=\"search\" "
          "placeholder=\"name or chr:start-end\" aria-label=\"find a region by name or locus\">"
          "<select id=\"motif\" aria-label=\"show regions with a seqlet of this motif\">"
          "<option value=\"\">all motifs</option>",
          fp);
    for (int k = 0; rep->db && k < rep->db->n; k++) {
        if (!S->ms[k].nseq) continue;
        fputs("<option value=\"", fp);
        esc(fp, rep->db->m[k].id);
        fputs("\">", fp);
        esc(fp, sl_rep_motif_label(rep, k));
        fputs("</option>", fp);
    }
    fputs("</select><span id=\"nshown\"></span></div>\n", fp);
    fprintf(fp, "<p>%d of %lld regions drawn (%s). Letters: the observed base scaled by its "
                "contribution, positive above the axis, negative below; shaded: seqlets; bars under the axis: "
                "motif scan hits (blue: inside a seqlet, grey: not used by the model). Coordinates are 1-based "
                "(<code>chr:start-end</code>, as IGV and UCSC take them).</p>\n",
            rep->nkept, (long long)rep->nreg,
            rep->o.order == SL_REPORT_ORDER_PREDICTION ? "highest predictions first" : "input order");
    for (int r = 0; r < rep->nkept; r++) html_region(fp, rep, S->kept[r], &S->hits[r], r);
    fputs(html_tail, fp);
    return sl_ofile_commit(f);
}
