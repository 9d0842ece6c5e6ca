/* browser.h — a run's outputs as one-step genome-browser views: an IGV session (XML,
 * the format IGV 2.16 writes and reads), a UCSC track hub (hub.txt, genomes.txt,
 * trackDb.txt), and the scored windows as BED (the map from npz rows back to the genome).
 *
 * Usage (e.g. at the end of `seqlift score`):
 *     sl_browser_track_t t[] = {{"out/run.gata.bw", "gata", "gata", SL_BROWSER_SIGNAL}, ...};
 *     sl_browser_view_t v = {.genome_fasta = "genome.fa", .tracks = t, .n = 2};
 *     sl_browser_write_igv(&v, "out/run.xml");   // or sl_browser_write_hub(&v, "out/hub")
 * Paths are written relative to the session file / the hub directory, so the outputs
 * can be moved together; IGV and UCSC resolve them from there. The files the view
 * names need not exist yet (a run commits its outputs together at the end).
 * Every writer goes through a temporary file renamed on success; 0 / -1 (reported).
 */
#ifndef SEQLIFT_BROWSER_H
#define SEQLIFT_BROWSER_H

#include <stdio.h>

#include "seqlift/seqio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One colour per sign, everywhere (bigWig above/below zero, seqlet itemRgb, report):
 * Okabe-Ito vermillion and blue, told apart by colour-blind readers. */
#define SL_BROWSER_RGB_POS "213,94,0"
#define SL_BROWSER_RGB_NEG "0,114,178"

typedef enum {
    SL_BROWSER_SIGNAL,   /* bigWig (.bw) or bedGraph: autoscaled bars, colour by sign */
    SL_BROWSER_FEATURES  /* BED: seqlets (BED9, itemRgb) or the regions */
} sl_browser_kind_t;

typedef struct {
    const char *path;    /* the file as the run names it (relative to the cwd, or absolute) */
    const char *name;    /* track label */
    const char *group;   /* target the track belongs to (one IGV panel / UCSC composite
                          * per group, autoscaled together), or NULL */
    sl_browser_kind_t kind;
} sl_browser_track_t;

typedef struct {
    const char *genome_fasta; /* indexed FASTA that IGV loads as the genome (works offline) */
    const char *genome_name;  /* assembly name (hg38): the UCSC hub's genome, and IGV's genome
                               * id when there is no FASTA */
    const char *locus;        /* initial locus ("chr1:1001-1200"), or NULL */
    const sl_browser_track_t *tracks; /* borrowed */
    int n;
} sl_browser_view_t;

/* IGV session XML at xml_path: the genome, one panel per group with its signal
 * tracks (autoscaled as a group, colour above zero, altColor below), then the feature
 * tracks (expanded). Needs genome_fasta or genome_name. */
int sl_browser_write_igv(const sl_browser_view_t *v, const char *xml_path);
/* UCSC track hub in dir (created when missing; its parent must exist): hub.txt,
 * genomes.txt (genome = genome_name, required) and trackDb.txt with one composite per
 * group of bigWig tracks (autoScale group, color/altColor by sign). UCSC hubs take only
 * indexed binary formats, so BED and bedGraph tracks are listed in trackDb.txt as
 * comments with the command that converts them (bedToBigBed / bedGraphToBigWig). */
int sl_browser_write_hub(const sl_browser_view_t *v, const char *dir);

/* The scored windows, one line per region in input (npz row) order:
 * chrom, start, end, name, score, strand, summit. start/end are the scored window,
 * clipped at 0 for a window padded before a contig start; summit is the offset from
 * start to the window centre (L/2 unclipped), so the window starts at
 * start + summit - L/2 and model position p of row i lies on base
 * window_start + p ('+' and '.') or window_end - 1 - p ('-'). Name: the region's name,
 * else chrom:start+1-end; score: score[i] (%.6g) or 0 when score is NULL. FASTA
 * records (no chrom) are written with the record name as chrom. */
int sl_browser_write_windows(const char *path, const sl_regions_t *rl, const double *score);

/* What `seqlift score` wrote, as given on its command line (per-target names are
 * derived as the writers derive them: sl_track_target_path, sl_report_seqlets_path). */
typedef struct {
    const char *genome_fasta, *genome_name;
    const char *regions;          /* the scored BED, or NULL */
    const char *bigwig, *bedgraph;/* track outputs, or NULL (bedGraph only used without bigWig) */
    const char *seqlets_bed, *report, *report_json; /* as for sl_report_seqlets_path */
    const char *const *targets;   /* target labels */
    int nt;
    const sl_regions_t *rl;       /* for the initial locus (the first region), or NULL */
} sl_browser_run_t;
/* The run's IGV session (xml, may be NULL) and UCSC hub (hub_dir, may be NULL): per target
 * its bigWig (or bedGraph) and seqlets, then the regions. 0 / -1 (reported). */
int sl_browser_write_run(const sl_browser_run_t *r, const char *xml, const char *hub_dir);

/* s escaped for XML and HTML text and attribute values (& < > " ' as entities, control
 * bytes other than tab dropped); NULL writes nothing. */
void sl_browser_xml_escape(FILE *fp, const char *s);

/* path relative to directory dir (both as given, relative to the cwd or absolute;
 * resolved lexically, symlinks are not followed). malloc'd; NULL (reported) on no memory. */
char *sl_browser_relpath(const char *dir, const char *path);

#ifdef __cplusplus
}
#endif

#endif
