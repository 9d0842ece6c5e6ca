/* test_seqio.c — FASTA (indexed and sequential), BED/narrowPeak, resizing, edges,
 * one-hot, reverse complement. Expected sequences come from samtools faidx (-i). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqlift/seqio.h"
#include "seqlift/util.h"

#define TD "test_data/"
#define TMP "build/test_tmp/seqio"

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static int setup(void **state)
{
    (void)state;
    mkdir("build", 0755);
    mkdir("build/test_tmp", 0755);
    mkdir(TMP, 0755);
    sl_log_set_level(SL_LOG_ERROR); /* expected errors are checked by return value here, text in the CLI test */
    return 0;
}

/* ---- one-hot and reverse complement ---- */

static void test_onehot(void **state)
{
    (void)state;
    const char *seq = "ACGTacgtNnRyKmSwBdHv";
    int64_t len = (int64_t)strlen(seq), bad = -7;
    float out[20 * 4];
    memset(out, 0xff, sizeof out);
    assert_int_equal(sl_onehot(seq, len, out, &bad), 0);
    assert_int_equal(bad, -7); /* untouched on success */
    for (int64_t i = 0; i < len; i++) {
        float sum = 0;
        for (int b = 0; b < 4; b++) sum += out[i * 4 + b];
        if (i < 8) {
            assert_true(out[i * 4 + (i % 4)] == 1.0f); /* A,C,G,T in order, both cases */
            assert_true(sum == 1.0f);
        } else {
            assert_true(sum == 0.0f); /* N and IUPAC codes: zero row */
        }
    }
    assert_int_equal(sl_onehot("", 0, out, &bad), 0);
}

static void test_onehot_bad(void **state)
{
    (void)state;
    float out[8 * 4];
    int64_t bad = -1;
    const char *cases[] = {"ACGT-ACG", "ACGTUACG", "ACGT.ACG", "ACGT ACG", "ACGT\nACG", "ACGT\x80" "ACG",
                           "ACGTXACG", "ACGT*ACG"};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        bad = -1;
        assert_int_equal(sl_onehot(cases[k], 8, out, &bad), -1);
        assert_int_equal(bad, 4);
    }
    /* a NUL byte inside the length is not a base either */
    assert_int_equal(sl_onehot("AC\0T", 4, out, &bad), -1);
    assert_int_equal(bad, 2);
}

static void test_revcomp(void **state)
{
    (void)state;
    /* expected string from `bedtools getfasta -s` and `samtools faidx -i` */
    char s[] = "ACGTRYKMSWBDHVNacgtrykmswbdhvnACGT";
    sl_revcomp(s, (int64_t)strlen(s));
    assert_string_equal(s, "ACGTnbdhvwskmryacgtNBDHVWSKMRYACGT");
    char odd[] = "aAcGt";
    sl_revcomp(odd, 5);
    assert_string_equal(odd, "aCgTt");
    char other[] = "A-X.";
    sl_revcomp(other, 4); /* non-bases kept as they are */
    assert_string_equal(other, ".X-T");
    char one[] = "g";
    sl_revcomp(one, 1);
    assert_string_equal(one, "c");
    sl_revcomp(one, 0);
    assert_string_equal(one, "c");
}

/* ---- resizing and labels ---- */

static void test_resize(void **state)
{
    (void)state;
    sl_region_t r = {.chrom = "chr1", .bed_start = 100, .bed_end = 200, .strand = '+', .summit = -1};
    sl_region_resize(&r, 100); /* same length: unchanged */
    assert_int_equal(r.start, 100);
    assert_int_equal(r.end, 200);
    sl_region_resize(&r, 10); /* centre 150 -> [145, 155) */
    assert_int_equal(r.start, 145);
    assert_int_equal(r.end, 155);
    sl_region_resize(&r, 11); /* [145, 156): centre base 150 in the middle */
    assert_int_equal(r.start, 145);
    assert_int_equal(r.end, 156);
    sl_region_resize(&r, 0);
    assert_int_equal(r.start, 100);
    assert_int_equal(r.end, 200);
    r.bed_end = 201; /* odd length 101, centre base 150 */
    sl_region_resize(&r, 101);
    assert_int_equal(r.start, 100);
    assert_int_equal(r.end, 201);
    sl_region_resize(&r, 4);
    assert_int_equal(r.start, 148);
    assert_int_equal(r.end, 152);
    r.bed_start = r.bed_end = 500; /* a point */
    sl_region_resize(&r, 3);
    assert_int_equal(r.start, 499);
    assert_int_equal(r.end, 502);
    r.bed_start = 100, r.bed_end = 200, r.summit = 110; /* summit wins over the midpoint */
    sl_region_resize(&r, 50);
    assert_int_equal(r.start, 85);
    assert_int_equal(r.end, 135);
    r.bed_start = 0, r.bed_end = 10, r.summit = 2; /* may start before 0 */
    sl_region_resize(&r, 10);
    assert_int_equal(r.start, -3);
    assert_int_equal(r.end, 7);
}

static void test_genome_pos(void **state)
{
    (void)state;
    sl_region_t r = {.chrom = "chr1", .start = 100, .end = 110, .strand = '+'};
    assert_int_equal(sl_region_genome_pos(&r, 0), 100);
    assert_int_equal(sl_region_genome_pos(&r, 9), 109);
    r.strand = '-'; /* model position 0 is the last genome base, complemented */
    assert_int_equal(sl_region_genome_pos(&r, 0), 109);
    assert_int_equal(sl_region_genome_pos(&r, 9), 100);
    r.strand = '.';
    assert_int_equal(sl_region_genome_pos(&r, 3), 103);
}

static void test_label(void **state)
{
    (void)state;
    char buf[64];
    sl_region_t r = {.chrom = "chr10", .start = -30, .end = 70, .strand = '-'};
    assert_int_equal(sl_region_label(&r, buf, sizeof buf), 15);
    assert_string_equal(buf, "chr10:-30-70(-)");
    r.strand = '.';
    r.start = 5;
    sl_region_label(&r, buf, sizeof buf);
    assert_string_equal(buf, "chr10:5-70(.)");
    sl_region_t f = {.chrom = NULL, .name = "seq1", .end = 10, .strand = '.'};
    sl_region_label(&f, buf, sizeof buf);
    assert_string_equal(buf, "seq1");
    assert_int_equal(sl_region_label(&r, buf, 4), 13); /* truncated, length reported */
    assert_string_equal(buf, "chr");
}

/* ---- genome ---- */

static void check_genome(sl_genome_t *g)
{
    static const char *names[] = {"chr1", "chr2", "chr10", "chrX", "chrM"};
    static const int64_t lens[] = {3000, 2500, 2000, 1500, 333};
    assert_int_equal(sl_genome_n_contigs(g), 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(sl_genome_contig_name(g, i), names[i]); /* .fai order */
        assert_int_equal(sl_genome_contig_len(g, names[i]), lens[i]);
    }
    assert_null(sl_genome_contig_name(g, 5));
    assert_null(sl_genome_contig_name(g, -1));
    assert_int_equal(sl_genome_contig_len(g, "chr3"), -1);
    assert_int_equal(sl_genome_contig_len(g, "chr1 "), -1);
    assert_int_equal(sl_genome_contig_len(g, NULL), -1);

    char buf[128];
    sl_region_t r = {.chrom = "chr1", .start = 0, .end = 12, .strand = '+'};
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "acgtATCTAGTA", 12); /* case of the file kept */
    r.strand = '.';
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "acgtATCTAGTA", 12);
    r.strand = '-';
    r.start = 1990, r.end = 2070; /* IUPAC codes, samtools faidx -i */
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "CTAAAGCGCTCAbCAdAThCTvTCwATsTCkGAmTCrACyGCBAGDTTHACVGGWGGSGGKAGMAGRTTYCGCACCCCGG", 80);
    /* padded past the end, minus strand: N first */
    r.start = 2930, r.end = 3030;
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    for (int i = 0; i < 30; i++) assert_int_equal(buf[i], 'N');
    assert_memory_equal(buf + 30, "AAACGATATTNNNNNNNNNNNNNNNCGATATTATTGATGCTCTATCAACGGTGATCTCCGGAATGTCCGG", 70);
    /* padded before the start, plus strand */
    r.chrom = "chrX", r.start = 1494, r.end = 1503, r.strand = '+';
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "CTGTATNNN", 9);
    r.chrom = "chr10", r.start = -3, r.end = 5, r.strand = '-';
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "TGCCCNNN", 8);
    /* wholly off the contig, and empty windows */
    r.chrom = "chrM", r.start = 400, r.end = 410, r.strand = '+';
    memset(buf, 0, sizeof buf);
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    assert_memory_equal(buf, "NNNNNNNNNN", 10);
    assert_int_equal(buf[10], 0); /* nothing written past the window */
    r.start = r.end = 5;
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    /* minus-strand position p is the complement of genome base sl_region_genome_pos(p) */
    char fwd[128];
    static const char *pairs[] = {"AT", "TA", "CG", "GC", "at", "ta", "cg", "gc", "NN", "nn"};
    r.chrom = "chr1", r.start = 290, r.end = 400, r.strand = '+';
    assert_int_equal(sl_genome_fetch(g, &r, fwd), 0);
    r.strand = '-';
    assert_int_equal(sl_genome_fetch(g, &r, buf), 0);
    for (int64_t p = 0; p < 110; p++) {
        char b = fwd[sl_region_genome_pos(&r, p) - r.start];
        int k = 0;
        while (k < 10 && pairs[k][0] != b) k++;
        assert_true(k < 10);
        assert_int_equal(buf[p], pairs[k][1]);
    }
    /* errors */
    r.chrom = "chr7", r.start = 0, r.end = 10;
    assert_int_equal(sl_genome_fetch(g, &r, buf), -1);
    r.chrom = "chr1", r.start = 10, r.end = 5;
    assert_int_equal(sl_genome_fetch(g, &r, buf), -1);
}

static void test_genome_plain_and_bgzip(void **state)
{
    (void)state;
    sl_genome_t *g = sl_genome_open(TD "genome.fa");
    assert_non_null(g);
    check_genome(g);
    sl_genome_close(g);
    g = sl_genome_open(TD "genome.fa.gz");
    assert_non_null(g);
    check_genome(g);
    sl_genome_close(g);
    sl_genome_close(NULL);
}

static void test_genome_builds_index(void **state)
{
    (void)state;
    const char *fa = TMP "/g.fa", *gz = TMP "/g.fa.gz";
    remove(TMP "/g.fa.fai");
    remove(TMP "/g.fa.gz.fai");
    remove(TMP "/g.fa.gz.gzi");
    copy_file(TD "genome.fa", fa);
    copy_file(TD "genome.fa.gz", gz);
    sl_genome_t *g = sl_genome_open(fa);
    assert_non_null(g);
    assert_int_equal(access(TMP "/g.fa.fai", F_OK), 0);
    check_genome(g);
    sl_genome_close(g);
    g = sl_genome_open(gz);
    assert_non_null(g);
    assert_int_equal(access(TMP "/g.fa.gz.fai", F_OK), 0);
    assert_int_equal(access(TMP "/g.fa.gz.gzi", F_OK), 0);
    check_genome(g);
    sl_genome_close(g);
}

static void test_genome_bad(void **state)
{
    (void)state;
    assert_null(sl_genome_open(TD "genome_plain_gzip.fa.gz")); /* gzip, not BGZF */
    assert_null(sl_genome_open(TD "no_such_genome.fa"));
    assert_null(sl_genome_open("-"));
    assert_null(sl_genome_open(TD)); /* a directory */
    assert_null(sl_genome_open(TD "regions.bed")); /* not FASTA */
    write_file(TMP "/empty.fa", "");
    assert_null(sl_genome_open(TMP "/empty.fa"));
    /* a stale index that does not match the file: loading fails or fetching does */
    write_file(TMP "/short.fa", ">chr1\nACGT\n");
    write_file(TMP "/short.fa.fai", "chr1\t3000\t6\t60\t61\n");
    sl_genome_t *g = sl_genome_open(TMP "/short.fa");
    if (g) {
        char buf[100];
        sl_region_t r = {.chrom = "chr1", .start = 0, .end = 100, .strand = '+'};
        assert_int_equal(sl_genome_fetch(g, &r, buf), -1);
        sl_genome_close(g);
    }
    /* index missing and the directory not writable (permissions do not bind root) */
    if (geteuid() != 0) {
        mkdir(TMP "/ro", 0755);
        copy_file(TD "genome.fa", TMP "/ro/g.fa");
        remove(TMP "/ro/g.fa.fai");
        chmod(TMP "/ro", 0555);
        assert_null(sl_genome_open(TMP "/ro/g.fa"));
        chmod(TMP "/ro", 0755);
    }
}

/* ---- BED ---- */

static void test_bed_regions(void **state)
{
    (void)state;
    sl_genome_t *g = sl_genome_open(TD "genome.fa");
    assert_non_null(g);
    sl_region_opts_t o = {100, 0, SL_EDGE_PAD};
    sl_regions_t *rl = sl_regions_read_bed(TD "regions.bed", g, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 16);
    assert_null(rl->seqs);
    const sl_region_t *r = &rl->r[0];
    assert_string_equal(r->chrom, "chr1");
    assert_string_equal(r->name, "start_plus");
    assert_int_equal(r->start, 0);
    assert_int_equal(r->end, 100);
    assert_int_equal(r->line, 5); /* after track, browser, # and blank lines */
    assert_int_equal(r->strand, '+');
    assert_int_equal(r->summit, -1);
    assert_int_equal(rl->r[1].strand, '-');
    assert_ptr_equal(rl->r[0].chrom, rl->r[1].chrom); /* contig names shared */
    r = &rl->r[2]; /* 290-460 -> centre 375 */
    assert_int_equal(r->bed_start, 290);
    assert_int_equal(r->bed_end, 460);
    assert_int_equal(r->start, 325);
    assert_int_equal(r->end, 425);
    r = &rl->r[6]; /* 2960-3000 -> 2930-3030, padded */
    assert_int_equal(r->start, 2930);
    assert_int_equal(r->end, 3030);
    assert_int_equal(r->line, 11);
    r = &rl->r[7]; /* chr2 10-31 -> centre 20 -> -30..70 */
    assert_int_equal(r->start, -30);
    assert_int_equal(r->end, 70);
    r = &rl->r[9];
    assert_int_equal(r->strand, '.');
    r = &rl->r[10]; /* a point at 500 */
    assert_int_equal(r->start, 450);
    assert_int_equal(r->end, 550);
    for (int64_t i = 0; i < rl->n; i++) {
        assert_int_equal(rl->r[i].index, i);
        assert_int_equal(rl->r[i].end - rl->r[i].start, 100);
    }
    sl_regions_destroy(rl);

    o.edge = SL_EDGE_SKIP; /* lines 11 and 12 run off */
    rl = sl_regions_read_bed(TD "regions.bed", g, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 14);
    for (int64_t i = 0; i < rl->n; i++) {
        assert_int_equal(rl->r[i].index, i);
        assert_true(rl->r[i].line != 11 && rl->r[i].line != 12);
    }
    assert_int_equal(rl->r[6].line, 13);
    sl_regions_destroy(rl);

    o.edge = SL_EDGE_ERROR;
    assert_null(sl_regions_read_bed(TD "regions.bed", g, &o));
    rl = sl_regions_read_bed(TD "regions_inside.bed", g, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 3);
    sl_regions_destroy(rl);

    o.refuse_resize = 1; /* lengths 100, 50, 101 */
    assert_null(sl_regions_read_bed(TD "regions_inside.bed", g, &o));
    o.width = 50;
    assert_null(sl_regions_read_bed(TD "regions_inside.bed", g, &o));
    o.width = 0; /* no width: nothing to refuse */
    rl = sl_regions_read_bed(TD "regions_inside.bed", g, &o);
    assert_non_null(rl);
    assert_int_equal(rl->r[1].start, 400);
    assert_int_equal(rl->r[1].end, 450);
    assert_string_equal(rl->r[1].name, "b");
    sl_regions_destroy(rl);

    /* opts NULL: keep the intervals; BED3 has no name and strand '.' */
    rl = sl_regions_read_bed(TD "regions3.bed", g, NULL);
    assert_non_null(rl);
    assert_int_equal(rl->n, 2);
    assert_null(rl->r[0].name);
    assert_int_equal(rl->r[0].strand, '.');
    assert_int_equal(rl->r[1].start, 1);
    assert_int_equal(rl->r[1].end, 2);
    sl_regions_destroy(rl);

    /* gzip input: same regions as the plain file */
    o = (sl_region_opts_t){100, 0, SL_EDGE_PAD};
    sl_regions_t *a = sl_regions_read_bed(TD "regions.bed", g, &o);
    sl_regions_t *b = sl_regions_read_bed(TD "regions.bed.gz", g, &o);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->n, b->n);
    for (int64_t i = 0; i < a->n; i++) {
        assert_string_equal(a->r[i].chrom, b->r[i].chrom);
        assert_int_equal(a->r[i].start, b->r[i].start);
        assert_int_equal(a->r[i].end, b->r[i].end);
        assert_int_equal(a->r[i].strand, b->r[i].strand);
        assert_int_equal(a->r[i].line, b->r[i].line + 4); /* no header lines in the .gz */
    }
    sl_regions_destroy(a);
    sl_regions_destroy(b);
    sl_genome_close(g);
}

static void test_bed_narrowpeak(void **state)
{
    (void)state;
    sl_region_opts_t o = {100, 0, SL_EDGE_PAD};
    sl_regions_t *rl = sl_regions_read_bed(TD "peaks.narrowPeak", NULL, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 5);
    static const int64_t summit[] = {550, -1, 5, 1999, 300}, start[] = {500, 1200, -45, 1949, 250};
    static const char *names[] = {"p1", "p2", "p3", "p4", "p5"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rl->r[i].summit, summit[i]);
        assert_int_equal(rl->r[i].start, start[i]);
        assert_int_equal(rl->r[i].end, start[i] + 100);
        assert_string_equal(rl->r[i].name, names[i]);
    }
    sl_regions_destroy(rl);
    /* odd width: summit base in the middle */
    o.width = 51;
    rl = sl_regions_read_bed(TD "peaks.narrowPeak", NULL, &o);
    assert_non_null(rl);
    assert_int_equal(rl->r[0].start, 525);
    assert_int_equal(rl->r[0].end, 576);
    sl_regions_destroy(rl);
    /* with a genome the edges are known: p3 and p4 run off */
    sl_genome_t *g = sl_genome_open(TD "genome.fa");
    o = (sl_region_opts_t){100, 0, SL_EDGE_SKIP};
    rl = sl_regions_read_bed(TD "peaks.narrowPeak", g, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 3);
    assert_string_equal(rl->r[2].name, "p5");
    sl_regions_destroy(rl);
    sl_genome_close(g);

    /* 10 columns in a .bed file: still narrowPeak; BED12: no summit */
    write_file(TMP "/np10.bed", "chr1\t100\t200\tp\t0\t+\t1\t1\t1\t10\n");
    rl = sl_regions_read_bed(TMP "/np10.bed", NULL, &o);
    assert_non_null(rl);
    assert_int_equal(rl->r[0].summit, 110);
    assert_int_equal(rl->r[0].start, 60);
    sl_regions_destroy(rl);
    write_file(TMP "/b12.bed", "chr1\t100\t200\tg\t0\t-\t100\t200\t0\t2\t10,10\t0,90\n");
    rl = sl_regions_read_bed(TMP "/b12.bed", NULL, &o);
    assert_non_null(rl);
    assert_int_equal(rl->r[0].summit, -1);
    assert_int_equal(rl->r[0].start, 100);
    assert_int_equal(rl->r[0].strand, '-');
    sl_regions_destroy(rl);
}

/* Names live in the list's arena, one after another (no allocation per region), a long
 * one in a chunk of its own; a region is one 80-byte record (README, Scale). */
static void test_region_arena(void **state)
{
    (void)state;
    assert_true(sizeof(sl_region_t) <= 80);
    enum { N = 5000, LONG = 20000 };
    FILE *fp = fopen(TMP "/arena.bed", "w");
    assert_non_null(fp);
    for (int i = 0; i < N; i++) {
        fprintf(fp, "chr%d\t%d\t%d\t", i % 3, 10 * i, 10 * i + 5);
        if (i == N / 2)
            for (int k = 0; k < LONG; k++) fputc('x', fp);
        else fprintf(fp, "n%d", i);
        fputc('\n', fp);
    }
    fclose(fp);
    sl_regions_t *rl = sl_regions_read_bed(TMP "/arena.bed", NULL, NULL);
    assert_non_null(rl);
    assert_int_equal(rl->n, N);
    int apart = 0;
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "n%d", i);
        if (i == N / 2) assert_int_equal(strlen(rl->r[i].name), LONG);
        else assert_string_equal(rl->r[i].name, want);
        if (i && rl->r[i].name != rl->r[i - 1].name + strlen(rl->r[i - 1].name) + 1) apart++;
    }
    assert_true(apart <= 4); /* 64 KB chunks hold ~10,000 short names; the long one stands apart */
    sl_regions_destroy(rl);
    /* FASTA records: names and sequences in the arena too, a long record whole */
    fp = fopen(TMP "/arena.fa", "w");
    assert_non_null(fp);
    fputs(">a\nACGT\n>long\n", fp);
    for (int k = 0; k < LONG; k++) fputc("ACGT"[k % 4], fp);
    fputs("\n>b\nGG\n", fp);
    fclose(fp);
    rl = sl_regions_read_fasta(TMP "/arena.fa", 0);
    assert_non_null(rl);
    assert_int_equal(rl->n, 3);
    assert_string_equal(rl->r[2].name, "b");
    assert_string_equal(rl->seqs[0], "ACGT");
    assert_string_equal(rl->seqs[2], "GG");
    assert_int_equal(strlen(rl->seqs[1]), LONG);
    assert_int_equal(rl->r[1].end, LONG);
    assert_memory_equal(rl->seqs[1] + LONG - 4, "ACGT", 4);
    sl_regions_destroy(rl);
}

static void test_bed_lines(void **state)
{
    (void)state;
    /* CRLF, a bare `track`, `#`, blank and whitespace lines; name "." is NULL */
    write_file(TMP "/crlf.bed", "track\r\n#x\r\n\r\n  \t\nchr1\t10\t20\t.\t0\t-\r\nchr2\t0\t5\r\n");
    sl_regions_t *rl = sl_regions_read_bed(TMP "/crlf.bed", NULL, NULL);
    assert_non_null(rl);
    assert_int_equal(rl->n, 2);
    assert_null(rl->r[0].name);
    assert_int_equal(rl->r[0].strand, '-');
    assert_int_equal(rl->r[0].line, 5);
    assert_int_equal(rl->r[1].end, 5);
    assert_int_equal(rl->r[1].line, 6);
    sl_regions_destroy(rl);
    /* an empty file is an empty list; a contig called "tracks" is not a track line */
    write_file(TMP "/empty.bed", "");
    rl = sl_regions_read_bed(TMP "/empty.bed", NULL, NULL);
    assert_non_null(rl);
    assert_int_equal(rl->n, 0);
    sl_regions_destroy(rl);
    write_file(TMP "/tracks.bed", "tracks\t1\t2\n");
    rl = sl_regions_read_bed(TMP "/tracks.bed", NULL, NULL);
    assert_non_null(rl);
    assert_string_equal(rl->r[0].chrom, "tracks");
    sl_regions_destroy(rl);
    /* no genome: unknown contigs are fine, only negative starts count as off-contig */
    sl_region_opts_t o = {10, 0, SL_EDGE_ERROR};
    rl = sl_regions_read_bed(TD "bad_contig.bed", NULL, &o);
    assert_non_null(rl);
    assert_int_equal(rl->n, 2);
    sl_regions_destroy(rl);
    o.width = 100; /* [-35, 65) */
    assert_null(sl_regions_read_bed(TD "bad_contig.bed", NULL, &o));
    sl_regions_destroy(NULL);
}

static void test_bed_bad(void **state)
{
    (void)state;
    sl_genome_t *g = sl_genome_open(TD "genome.fa");
    assert_non_null(g);
    static const char *files[] = {"bad_contig.bed", "bad_start_gt_end.bed", "bad_negative.bed",
                                  "bad_nonnumeric.bed", "bad_columns.bed", "bad_strand.bed",
                                  "bad_summit.narrowPeak", "no_such.bed"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, TD "%s", files[i]);
        assert_null(sl_regions_read_bed(path, g, NULL));
    }
    static const char *lines[] = {
        "chr1\t10\n",                        /* too few columns */
        "chr1 10 20\n",                      /* spaces, not tabs */
        "\t10\t20\n",                        /* empty contig */
        "chr1\t\t20\n",                      /* empty start */
        "chr1\t10\t2e1\n",                   /* not an integer */
        "chr1\t10\t20.0\n",                  /* not an integer */
        "chr1\t10\t-20\n",                   /* negative end */
        "chr1\t10\t99999999999999999999\n",  /* overflow */
        "chr1\t10\t1000000000000000\n",      /* absurdly large */
        "chr1\t10\t20\tn\t0\t++\n",          /* bad strand */
        "chr1\t10\t20\tn\t0\t\n",            /* empty strand */
        "chr1\t10\t20\tp\t0\t.\t1\t1\t1\tx\n", /* summit not a number */
        "chr1\t10\t20\tp\t0\t.\t1\t1\t1\t-2\n", /* summit < -1 */
        "chr1\t10\t20\tp\t0\t.\t1\t1\t1\t10\n", /* summit past the end */
        "chr1\t10\t10\n",                    /* empty interval without a width */
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        write_file(TMP "/bad.bed", lines[i]);
        if (sl_regions_read_bed(TMP "/bad.bed", g, NULL) != NULL) fail_msg("accepted: %s", lines[i]);
    }
    sl_region_opts_t o = {-1, 0, SL_EDGE_PAD};
    assert_null(sl_regions_read_bed(TD "regions3.bed", g, &o));
    sl_genome_close(g);
}

/* ---- sequential FASTA ---- */

static void test_fasta_records(void **state)
{
    (void)state;
    static const char *names[] = {"seq1", "seq2", "seq3"};
    static const char *seqs[] = {"ACGTACGTAC", "ACGTNNNNAC", "GGGGCCCCRY"};
    const char *files[] = {TD "seqs.fa", TD "seqs.fa.gz"};
    for (int f = 0; f < 2; f++) {
        sl_regions_t *rl = sl_regions_read_fasta(files[f], f ? 0 : 10);
        assert_non_null(rl);
        assert_int_equal(rl->n, 3);
        for (int i = 0; i < 3; i++) {
            const sl_region_t *r = &rl->r[i];
            assert_null(r->chrom);
            assert_string_equal(r->name, names[i]); /* first word of the header */
            assert_string_equal(rl->seqs[i], seqs[i]); /* uppercased, lines joined */
            assert_int_equal(r->start, 0);
            assert_int_equal(r->end, 10);
            assert_int_equal(r->bed_end, 10);
            assert_int_equal(r->line, i + 1);
            assert_int_equal(r->index, i);
            assert_int_equal(r->strand, '.');
            assert_int_equal(r->summit, -1);
        }
        sl_regions_destroy(rl);
    }
    /* CRLF, blank lines, spaces inside sequence lines, different lengths without width */
    write_file(TMP "/crlf.fa", "\n>a desc\r\nAC GT\r\n\r\nac\r\n>b\tx\nN\n");
    sl_regions_t *rl = sl_regions_read_fasta(TMP "/crlf.fa", 0);
    assert_non_null(rl);
    assert_int_equal(rl->n, 2);
    assert_string_equal(rl->r[0].name, "a");
    assert_string_equal(rl->seqs[0], "ACGTAC");
    assert_string_equal(rl->r[1].name, "b");
    assert_string_equal(rl->seqs[1], "N");
    sl_regions_destroy(rl);
    /* many records: the arrays grow */
    FILE *fp = fopen(TMP "/many.fa", "w");
    assert_non_null(fp);
    for (int i = 0; i < 300; i++) fprintf(fp, ">r%d\nACGT\n", i);
    fclose(fp);
    rl = sl_regions_read_fasta(TMP "/many.fa", 4);
    assert_non_null(rl);
    assert_int_equal(rl->n, 300);
    assert_string_equal(rl->r[299].name, "r299");
    assert_string_equal(rl->seqs[299], "ACGT");
    sl_regions_destroy(rl);
}

static void test_fasta_bad(void **state)
{
    (void)state;
    static const char *files[] = {"bad_empty_record.fa", "bad_duplicate.fa", "bad_base.fa",
                                  "bad_no_header.fa", "no_such.fa"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, TD "%s", files[i]);
        assert_null(sl_regions_read_fasta(path, 0));
    }
    assert_null(sl_regions_read_fasta(TD "seqs.fa", 12)); /* wrong width */
    static const char *texts[] = {
        "",                  /* no records */
        "\n\n",              /* no records */
        ">\nACGT\n",         /* header without a name */
        "> a\nACGT\n",       /* name must follow '>' */
        ">a\nACGT\n>b\n",    /* empty last record */
        ">a\nAC-GT\n",       /* gap */
        ">a\nACGU\n",        /* RNA */
        ">a\nAC\x01GT\n",    /* control byte */
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        write_file(TMP "/bad.fa", texts[i]);
        if (sl_regions_read_fasta(TMP "/bad.fa", 0) != NULL) fail_msg("accepted: %s", texts[i]);
    }
}

static void test_regions_load(void **state)
{
    (void)state;
    char seq[64];
    float x[64 * 4];
    /* genome list: fetched (case kept, minus strand reverse-complemented) and encoded */
    sl_genome_t *g = sl_genome_open(TD "genome.fa");
    assert_non_null(g);
    sl_region_opts_t o = {12, 0, SL_EDGE_PAD};
    write_file(TMP "/load.bed", "chr1\t0\t12\ta\t0\t-\nchr1\t0\t8\tb\t0\t+\n");
    sl_regions_t *rl = sl_regions_read_bed(TMP "/load.bed", g, &o);
    assert_non_null(rl);
    assert_int_equal(sl_regions_max_len(rl), 12);
    assert_int_equal(sl_regions_load(rl, 0, g, seq, x), 0);
    assert_memory_equal(seq, "TACTAGATacgt", 12); /* samtools faidx -i chr1:1-12 */
    static const int code[12] = {3, 0, 1, 3, 0, 2, 0, 3, 0, 1, 2, 3};
    for (int i = 0; i < 12; i++)
        for (int b = 0; b < 4; b++) assert_true(x[i * 4 + b] == (b == code[i] ? 1.0f : 0.0f));
    assert_int_equal(sl_regions_load(rl, 1, g, seq, NULL), 0); /* 0-8 resized to -2..10 */
    assert_memory_equal(seq, "NNacgtATCTAG", 12);
    assert_int_equal(sl_regions_load(rl, 1, NULL, seq, x), -1); /* nothing to fetch from */
    sl_regions_destroy(rl);
    sl_genome_close(g);

    /* a genome byte that is not a base: fetched fine, refused by the encoder */
    g = sl_genome_open(TD "bad_base_genome.fa");
    assert_non_null(g);
    write_file(TMP "/load2.bed", "c1\t8\t16\n");
    rl = sl_regions_read_bed(TMP "/load2.bed", g, NULL);
    assert_non_null(rl);
    assert_int_equal(sl_regions_load(rl, 0, g, seq, NULL), 0);
    assert_memory_equal(seq, "ACACG.TA", 8);
    assert_int_equal(sl_regions_load(rl, 0, g, seq, x), -1);
    sl_regions_destroy(rl);
    sl_genome_close(g);

    /* FASTA list: the records, no genome needed */
    rl = sl_regions_read_fasta(TD "seqs.fa", 10);
    assert_non_null(rl);
    assert_int_equal(sl_regions_max_len(rl), 10);
    assert_int_equal(sl_regions_load(rl, 1, NULL, seq, x), 0);
    assert_memory_equal(seq, "ACGTNNNNAC", 10);
    for (int b = 0; b < 4; b++) assert_true(x[4 * 4 + b] == 0.0f);
    assert_true(x[9 * 4 + 1] == 1.0f);
    sl_regions_destroy(rl);

    rl = sl_regions_read_bed(TMP "/empty.bed", NULL, NULL);
    assert_non_null(rl);
    assert_int_equal(sl_regions_max_len(rl), 0);
    sl_regions_destroy(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onehot),
        cmocka_unit_test(test_onehot_bad),
        cmocka_unit_test(test_revcomp),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_genome_pos),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_genome_plain_and_bgzip),
        cmocka_unit_test(test_genome_builds_index),
        cmocka_unit_test(test_genome_bad),
        cmocka_unit_test(test_bed_regions),
        cmocka_unit_test(test_bed_narrowpeak),
        cmocka_unit_test(test_bed_lines),
        cmocka_unit_test(test_region_arena),
        cmocka_unit_test(test_bed_bad),
        cmocka_unit_test(test_fasta_records),
        cmocka_unit_test(test_fasta_bad),
        cmocka_unit_test(test_regions_load),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
