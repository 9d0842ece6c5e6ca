/* browser.c — IGV session, UCSC track hub and windows BED writers (browser.h).
 * The IGV element and attribute names are those of IGV 2.16's SessionWriter /
 * IGVSessionReader and AbstractTrack.marshalXML (github:igvteam/igv, tag v2.16.0):
 * Session(genome, locus, version 8) > Resources > Resource(path, name, type), then
 * Panel(name) > Track(clazz, id = resource path, name, autoScale, autoscaleGroup,
 * color, altColor, renderer, displayMode). Relative paths are resolved by IGV against
 * the session file's directory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqlift/browser.h"
#include "seqlift/report.h"
#include "seqlift/track.h"
#include "seqlift/util.h"

/* ---- paths ----------------------------------------------------------------------- */

/* Absolute, lexically normalised ("." and ".." folded, no repeated '/'). */
static char *abs_norm(const char *p)
{
    char cwd[4096];
    size_t n = strlen(p) + 2;
    if (p[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) {
            sl_log_error("cannot get the working directory: %s", strerror(errno));
            return NULL;
        }
        n += strlen(cwd);
    }
    char *s = sl_malloc(n, "path"), *o;
    if (!s) return NULL;
    snprintf(s, n, "%s/%s", p[0] == '/' ? "" : cwd, p);
    /* fold in place: o is the output end, always after a '/' */
    o = s + 1;
    for (const char *q = s + 1; *q;) {
        const char *e = strchr(q, '/');
        size_t len = e ? (size_t)(e - q) : strlen(q);
        if (len == 0 || (len == 1 && q[0] == '.')) {
        } else if (len == 2 && q[0] == '.' && q[1] == '.') {
            if (o > s + 1) { /* drop the last component */
                o--;
                while (o > s + 1 && o[-1] != '/') o--;
            }
        } else {
            memmove(o, q, len);
            o += len;
            *o++ = '/';
        }
        if (!e) break; /* the '/' just written may sit on the terminating NUL: stop here */
        q = e + 1;
    }
    if (o > s + 1) o--; /* no trailing '/' */
    *o = 0;
    return s;
}

char *sl_browser_relpath(const char *dir, const char *path)
{
    char *d = abs_norm(dir), *p = abs_norm(path), *r = NULL;
    if (!d || !p) goto done;
    /* D = dir with a trailing '/'; the common part ends at the last '/' both share */
    size_t nd = strlen(d);
    if (d[nd - 1] != '/') {
        char *t = sl_realloc(d, nd + 2, "path");
        if (!t) goto done;
        d = t;
        d[nd++] = '/';
        d[nd] = 0;
    }
    size_t last = 0;
    for (size_t i = 0; d[i] && d[i] == p[i]; i++)
        if (d[i] == '/') last = i;
    int up = 0;
    for (const char *q = d + last + 1; *q; q++)
        if (*q == '/') up++;
    const char *rest = p + last + 1;
    if (!(r = sl_malloc((size_t)up * 3 + strlen(rest) + 2, "path"))) goto done;
    r[0] = 0;
    for (int k = 0; k < up; k++) strcat(r, "../");
    strcat(r, *rest || up ? rest : ".");
done:
    free(d);
    free(p);
    return r;
}

/* The directory part of a file path ("." when it has none); malloc'd. */
static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl) return sl_strdup(".");
    if (sl == path) return sl_strdup("/");
    char *d = sl_malloc((size_t)(sl - path) + 1, "path");
    if (d) {
        memcpy(d, path, (size_t)(sl - path));
        d[sl - path] = 0;
    }
    return d;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int is_bigwig(const char *p)
{
    return ends_with(p, ".bw") || ends_with(p, ".bigwig") || ends_with(p, ".bigWig");
}

/* ---- IGV ------------------------------------------------------------------------- */

void sl_browser_xml_escape(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, fp); /* XML 1.0: no control bytes */
        }
    }
}

static int same_group(const sl_browser_track_t *a, const sl_browser_track_t *b)
{
    return a->group && b->group && strcmp(a->group, b->group) == 0;
}

/* Group number of track k, groups counted in order of first appearance; -1: none. */
static int group_index(const sl_browser_view_t *v, int k)
{
    int g = 0;
    if (!v->tracks[k].group) return -1;
    for (int j = 0; j <= k; j++) {
        int first = v->tracks[j].group != NULL;
        for (int i = 0; first && i < j; i++)
            if (same_group(&v->tracks[i], &v->tracks[j])) first = 0;
        if (!first) continue;
        if (same_group(&v->tracks[j], &v->tracks[k])) return g;
        g++;
    }
    return g; /* not reached: track k is its group's first or a later one */
}

int sl_browser_write_igv(const sl_browser_view_t *v, const char *xml_path)
{
    char *dir = dir_of(xml_path), **rel = NULL;
    sl_ofile_t *f = NULL;
    int ret = -1, ng = 0;
    if (!dir) return -1;
    if (!v->genome_fasta && !v->genome_name) {
        sl_log_error("%s: an IGV session needs the genome (a FASTA or an assembly name)", xml_path);
        goto done;
    }
    if (!(rel = sl_calloc((size_t)v->n + 1, sizeof(*rel), "session paths"))) goto done;
    for (int k = 0; k < v->n; k++) {
        if (!(rel[k] = sl_browser_relpath(dir, v->tracks[k].path))) goto done;
        int g = group_index(v, k);
        if (g + 1 > ng) ng = g + 1;
    }
    if (!(f = sl_ofile_open(xml_path, "w"))) goto done;
    FILE *fp = f->fp;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<Session genome=\"", fp);
    if (v->genome_fasta) {
        char *g = sl_browser_relpath(dir, v->genome_fasta);
        if (!g) goto done;
        sl_browser_xml_escape(fp, g);
        free(g);
    } else {
        sl_browser_xml_escape(fp, v->genome_name);
    }
    fputs("\"", fp);
    if (v->locus) {
        fputs(" locus=\"", fp);
        sl_browser_xml_escape(fp, v->locus);
        fputs("\"", fp);
    }
    fprintf(fp, " nextAutoscaleGroup=\"%d\" version=\"8\">\n    <Resources>\n", ng + 1);
    for (int k = 0; k < v->n; k++) {
        fputs("        <Resource name=\"", fp);
        sl_browser_xml_escape(fp, v->tracks[k].name);
        fputs("\" path=\"", fp);
        sl_browser_xml_escape(fp, rel[k]);
        /* IGV takes the format from the extension (.bed, .narrowPeak, .bw, .bedGraph[.gz]);
         * signal files are named in case theirs is another */
        if (v->tracks[k].kind == SL_BROWSER_SIGNAL) fprintf(fp, "\" type=\"%s", is_bigwig(rel[k]) ? "bigwig" : "bedgraph");
        fputs("\"/>\n", fp);
    }
    fputs("    </Resources>\n", fp);
    /* one panel per group of signal tracks, autoscaled together; ungrouped ones in DataPanel */
    for (int g = -1; g < ng; g++) {
        int any = 0;
        for (int k = 0; k < v->n; k++) {
            const sl_browser_track_t *t = &v->tracks[k];
            if (t->kind != SL_BROWSER_SIGNAL || group_index(v, k) != g) continue;
            if (!any++) {
                fputs("    <Panel name=\"", fp);
                if (g < 0) fputs("DataPanel", fp);
                else sl_browser_xml_escape(fp, t->group);
                fputs("\">\n", fp);
            }
            fprintf(fp, "        <Track altColor=\"%s\" autoScale=\"true\"", SL_BROWSER_RGB_NEG);
            if (g >= 0) fprintf(fp, " autoscaleGroup=\"%d\"", g + 1);
            fprintf(fp, " clazz=\"org.broad.igv.track.DataSourceTrack\" color=\"%s\" fontSize=\"10\" id=\"",
                    SL_BROWSER_RGB_POS);
            sl_browser_xml_escape(fp, rel[k]);
            fputs("\" name=\"", fp);
            sl_browser_xml_escape(fp, t->name);
            fputs("\" renderer=\"BAR_CHART\" visible=\"true\" windowFunction=\"mean\"/>\n", fp); /* autoscaled: no DataRange */
        }
        if (any) fputs("    </Panel>\n", fp);
    }
    fputs("    <Panel name=\"FeaturePanel\">\n", fp);
    for (int k = 0; k < v->n; k++) {
        const sl_browser_track_t *t = &v->tracks[k];
        if (t->kind != SL_BROWSER_FEATURES) continue;
        fputs("        <Track clazz=\"org.broad.igv.track.FeatureTrack\" displayMode=\"EXPANDED\" fontSize=\"10\" id=\"",
              fp);
        sl_browser_xml_escape(fp, rel[k]);
        fputs("\" name=\"", fp);
        sl_browser_xml_escape(fp, t->name);
        fputs("\" visible=\"true\"/>\n", fp);
    }
    fputs("    </Panel>\n</Session>\n", fp);
    ret = sl_ofile_commit(f);
    f = NULL;
done:
    sl_ofile_abort(f);
    for (int k = 0; rel && k < v->n; k++) free(rel[k]);
    free(rel);
    free(dir);
    return ret;
}

/* ---- UCSC hub -------------------------------------------------------------------- */

/* UCSC track names: letters, digits and '_' only, starting with a letter. */
static void ucsc_name(FILE *fp, const char *prefix, const char *s)
{
    fputs(prefix, fp);
    for (; s && *s; s++) fputc((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ? *s : '_', fp);
}

/* trackDb values are one line: no newlines or tabs */
static void ucsc_text(FILE *fp, const char *s)
{
    for (; s && *s; s++) fputc(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, fp);
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = sl_malloc(n, "path");
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static int write_text(const char *dir, const char *file, const char *text)
{
    char *p = join(dir, file);
    sl_ofile_t *f = p ? sl_ofile_open(p, "w") : NULL;
    free(p);
    if (!f) return -1;
    fputs(text, f->fp);
    return sl_ofile_commit(f);
}

int sl_browser_write_hub(const sl_browser_view_t *v, const char *dir)
{
    char buf[1024], *p = NULL, *rel = NULL;
    sl_ofile_t *f = NULL;
    int ret = -1, ng = 0;
    if (!v->genome_name || !*v->genome_name || strpbrk(v->genome_name, " \t\n/")) {
        sl_log_error("%s: a UCSC hub needs the assembly name (e.g. hg38)", dir);
        return -1;
    }
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        sl_log_error("%s: cannot create the hub directory: %s", dir, strerror(errno));
        return -1;
    }
    if (write_text(dir, "hub.txt",
                   "hub seqlift\nshortLabel seqlift\nlongLabel seqlift contribution scores and seqlets\n"
                   "genomesFile genomes.txt\nemail none@localhost\n") < 0)
        return -1;
    snprintf(buf, sizeof buf, "genome %s\ntrackDb trackDb.txt\n", v->genome_name);
    if (write_text(dir, "genomes.txt", buf) < 0) return -1;
    if (!(p = join(dir, "trackDb.txt")) || !(f = sl_ofile_open(p, "w"))) goto done;
    FILE *fp = f->fp;
    for (int k = 0; k < v->n; k++) {
        int g = group_index(v, k);
        if (g + 1 > ng) ng = g + 1;
    }
    for (int g = -1; g < ng; g++) {
        int any = 0;
        for (int k = 0; k < v->n; k++) {
            const sl_browser_track_t *t = &v->tracks[k];
            if (t->kind != SL_BROWSER_SIGNAL || !is_bigwig(t->path) || group_index(v, k) != g) continue;
            if (!(rel = sl_browser_relpath(dir, t->path))) goto done;
            if (g >= 0 && !any) { /* the group's composite: its bigWigs share one autoscale */
                ucsc_name(fp, "track seqlift_", t->group);
                fputs("\ncompositeTrack on\nshortLabel ", fp);
                ucsc_text(fp, t->group);
                fputs("\nlongLabel seqlift contributions: ", fp);
                ucsc_text(fp, t->group);
                fputs("\ntype bigWig\nautoScale group\nvisibility full\n\n", fp);
            }
            any = 1;
            const char *ind = g >= 0 ? "    " : "";
            fprintf(fp, "%strack seqlift_t%d", ind, k);
            if (g >= 0) {
                fprintf(fp, "\n%sparent ", ind);
                ucsc_name(fp, "seqlift_", t->group);
                fputs(" on", fp);
            }
            fprintf(fp, "\n%sbigDataUrl ", ind);
            ucsc_text(fp, rel);
            fprintf(fp, "\n%sshortLabel ", ind);
            ucsc_text(fp, t->name);
            fprintf(fp, "\n%slongLabel seqlift contribution: ", ind);
            ucsc_text(fp, t->name);
            fprintf(fp, "\n%stype bigWig\n%scolor %s\n%saltColor %s\n%sautoScale on\n%salwaysZero on\n"
                        "%svisibility full\n\n",
                    ind, ind, SL_BROWSER_RGB_POS, ind, SL_BROWSER_RGB_NEG, ind, ind, ind);
            free(rel);
            rel = NULL;
        }
    }
    for (int k = 0; k < v->n; k++) { /* text formats: how to make them hub-ready */
        const sl_browser_track_t *t = &v->tracks[k];
        if (t->kind == SL_BROWSER_SIGNAL && is_bigwig(t->path)) continue;
        if (!(rel = sl_browser_relpath(dir, t->path))) goto done;
        fputs("# ", fp);
        ucsc_text(fp, t->name);
        fputs(": UCSC hubs need an indexed binary file; convert with\n#   ", fp);
        fputs(t->kind == SL_BROWSER_FEATURES ? "bedToBigBed -type=bedN " : "bedGraphToBigWig ", fp);
        ucsc_text(fp, rel);
        fputs(" chrom.sizes OUT", fp);
        fputs(t->kind == SL_BROWSER_FEATURES ? "  (N: its columns, 9 for seqlets; then a track with bigDataUrl OUT,"
                                               " type bigBed N, itemRgb on)\n"
                                             : "  (then a track with bigDataUrl OUT, type bigWig)\n",
              fp);
        free(rel);
        rel = NULL;
    }
    ret = sl_ofile_commit(f);
    f = NULL;
done:
    sl_ofile_abort(f);
    free(rel);
    free(p);
    return ret;
}

/* ---- a score run ---------------------------------------------------------------- */

int sl_browser_write_run(const sl_browser_run_t *r, const char *xml, const char *hub_dir)
{
    int nmax = 2 * r->nt + 1, n = 0, ret = -1;
    sl_browser_track_t *t = sl_calloc((size_t)nmax, sizeof(*t), "browser tracks");
    char **own = sl_calloc((size_t)nmax * 2, sizeof(*own), "browser tracks"), locus[512];
    int no = 0;
    if (!t || !own) goto done;
    const char *sig = r->bigwig ? r->bigwig : r->bedgraph;
    for (int k = 0; k < r->nt; k++) {
        const char *lab = r->targets[k];
        size_t ln = strlen(lab) + 16;
        if (sig) {
            if (!(own[no++] = sl_track_target_path(sig, lab, r->nt)) || !(own[no++] = sl_malloc(ln, "name"))) goto done;
            snprintf(own[no - 1], ln, "%s contribution", lab);
            t[n++] = (sl_browser_track_t){own[no - 2], own[no - 1], lab, SL_BROWSER_SIGNAL};
        }
        char *sq = sl_report_seqlets_path(r->seqlets_bed, r->report, r->report_json, lab, r->nt);
        if (sq) {
            own[no++] = sq;
            if (!(own[no++] = sl_malloc(ln, "name"))) goto done;
            snprintf(own[no - 1], ln, "%s seqlets", lab);
            t[n++] = (sl_browser_track_t){sq, own[no - 1], lab, SL_BROWSER_FEATURES};
        }
    }
    if (r->regions && strcmp(r->regions, "-") != 0)
        t[n++] = (sl_browser_track_t){r->regions, "regions", NULL, SL_BROWSER_FEATURES};
    sl_browser_view_t v = {r->genome_fasta, r->genome_name, NULL, t, n};
    if (r->rl && r->rl->n && r->rl->r[0].chrom) {
        const sl_region_t *g = &r->rl->r[0];
        snprintf(locus, sizeof locus, "%s:%lld-%lld", g->chrom, (long long)(g->start < 0 ? 0 : g->start) + 1,
                 (long long)g->end);
        v.locus = locus;
    }
    ret = 0;
    if (xml && sl_browser_write_igv(&v, xml) < 0) ret = -1;
    if (ret == 0 && hub_dir && sl_browser_write_hub(&v, hub_dir) < 0) ret = -1;
done:
    for (int k = 0; own && k < no; k++) free(own[k]);
    free(own);
    free(t);
    return ret;
}

/* ---- windows BED ----------------------------------------------------------------- */

int sl_browser_write_windows(const char *path, const sl_regions_t *rl, const double *score)
{
    sl_ofile_t *f = sl_ofile_open(path, "w");
    if (!f) return -1;
    for (int64_t i = 0; i < rl->n; i++) {
        const sl_region_t *r = &rl->r[i];
        int64_t L = r->end - r->start, start = r->start < 0 ? 0 : r->start;
        int64_t summit = r->start + L / 2 - start;
        char *name = sl_report_region_label(r);
        if (!name) {
            sl_ofile_abort(f);
            return -1;
        }
        fprintf(f->fp, "%s\t%lld\t%lld\t%s\t%.6g\t%c\t%lld\n", r->chrom ? r->chrom : name, (long long)start,
                (long long)r->end, name, score ? score[i] : 0.0, r->strand == '+' || r->strand == '-' ? r->strand : '.',
                (long long)summit);
        free(name);
    }
    return sl_ofile_commit(f);
}
