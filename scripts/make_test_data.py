#!/usr/bin/python3
"""Regenerate the top-level files of test_data/ (the sequence I/O fixtures).

Deterministic: a fixed seed, so the files are byte-identical on every run.
Run from the repository root:  /usr/bin/python3 scripts/make_test_data.py
Needs bgzip and samtools (for the compressed copy and the indexes).
"""
import gzip
import os
import random
import subprocess

OUT = "test_data"
# File order differs from byte order (chr1 < chr10 < chr2 < chrX) and natural order.
CONTIGS = [("chr1", 3000), ("chr2", 2500), ("chr10", 2000), ("chrX", 1500), ("chrM", 333)]
LINE = 60


def contig_seq(rng, name, n):
    s = [rng.choice("ACGT") for _ in range(n)]
    # soft-masked (lowercase) stretches and N runs, at fixed places
    for a, b in [(n // 10, n // 10 + 150), (n // 2, n // 2 + 80)]:
        for i in range(a, b):
            s[i] = s[i].lower()
    for a, b in [(n // 3, n // 3 + 40), (n - 25, n - 10)]:
        for i in range(a, b):
            s[i] = "N"
    # a few IUPAC ambiguity codes (upper and lower case), complemented like bedtools
    for k, c in enumerate("RYKMSWBDHVrykmswbdhv"):
        s[(n * 2) // 3 + 3 * k] = c
    if name == "chr1":
        s[0:4] = list("acgt")  # lowercase at the very start of a contig
    return "".join(s)


def write_fasta(path, recs, width=LINE):
    with open(path, "w") as f:
        for name, seq in recs:
            f.write(">%s some description\n" % name)
            for i in range(0, len(seq), width):
                f.write(seq[i:i + width] + "\n")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def write_gz(path, data):
    with open(path, "wb") as f:
        f.write(gzip.compress(data, mtime=0))  # plain gzip, fixed header


def main():
    rng = random.Random(20261125)
    genome = [(name, contig_seq(rng, name, n)) for name, n in CONTIGS]
    fa = os.path.join(OUT, "genome.fa")
    write_fasta(fa, genome)
    for p in [fa + ".fai", fa + ".gz", fa + ".gz.fai", fa + ".gz.gzi"]:
        if os.path.exists(p):
            os.remove(p)
    subprocess.run(["samtools", "faidx", fa], check=True)
    subprocess.run(["bgzip", "-k", "-f", fa], check=True)
    subprocess.run(["samtools", "faidx", fa + ".gz"], check=True)
    # plain gzip (not BGZF): random access must be refused with the fix
    with open(fa, "rb") as f:
        write_gz(os.path.join(OUT, "genome_plain_gzip.fa.gz"), f.read())

    L = dict(CONTIGS)
    # name, strand chosen to cover: both strands, '.', contig starts/ends (inside and
    # over), lowercase, N runs, IUPAC codes, odd and even lengths, zero-length points.
    rows = [
        ("chr1", 0, 100, "start_plus", "+"),
        ("chr1", 0, 100, "start_minus", "-"),
        ("chr1", 290, 460, "lower_plus", "+"),        # lowercase stretch 300-450
        ("chr1", 980, 1050, "nrun_minus", "-"),       # N run 1000-1040
        ("chr1", 1990, 2070, "iupac_minus", "-"),     # IUPAC codes 2000-2060
        ("chr1", 2900, 3000, "end_plus", "+"),
        ("chr1", 2960, 3000, "end_short_minus", "-"), # resized window runs off the end
        ("chr2", 10, 31, "odd_start", "+"),           # resized window runs off the start
        ("chr2", 1240, 1333, "lower_odd_minus", "-"),
        ("chr2", 1600, 1700, "iupac_dot", "."),
        ("chr10", 500, 500, "point", "+"),
        ("chr10", 650, 720, "nrun_plus", "+"),
        ("chr10", 1900, 2000, "end_minus", "-"),
        ("chrX", 0, 1500, "whole_contig", "+"),
        ("chrX", 700, 800, "mid_minus", "-"),
        ("chrM", 100, 200, "m_plus", "+"),
    ]
    body = "".join("%s\t%d\t%d\t%s\t0\t%s\n" % r for r in rows)
    write(os.path.join(OUT, "regions.bed"),
          "track name=example description=\"seqlift test regions\"\n"
          "browser position chr1:1-3000\n"
          "# comment line\n\n" + body)
    # all regions 100 bp wide-able without running off any end (for edge=error tests)
    write(os.path.join(OUT, "regions_inside.bed"),
          "chr1\t100\t200\ta\t0\t+\nchr2\t400\t450\tb\t0\t-\nchrX\t1000\t1101\tc\t0\t.\n")
    write_gz(os.path.join(OUT, "regions.bed.gz"), body.encode())
    write(os.path.join(OUT, "regions3.bed"), "chr1\t100\t200\nchr10\t1\t2\n")

    # narrowPeak: summit offset in column 10 (-1 = none)
    np_rows = [
        ("chr1", 500, 700, "p1", 900, ".", 5.1, 7.2, 3.3, 50),
        ("chr1", 1200, 1300, "p2", 800, ".", 4.0, 6.0, 2.0, -1),
        ("chr2", 0, 180, "p3", 700, ".", 3.0, 5.0, 1.5, 5),      # summit near the start
        ("chr10", 1800, 2000, "p4", 600, ".", 2.0, 4.0, 1.0, 199),  # summit at the end
        ("chrX", 300, 420, "p5", 500, ".", 1.0, 3.0, 0.5, 0),
    ]
    write(os.path.join(OUT, "peaks.narrowPeak"),
          "".join("%s\t%d\t%d\t%s\t%d\t%s\t%g\t%g\t%g\t%d\n" % r for r in np_rows))

    # scoring sequences not on a genome (sequential FASTA reader)
    seqs = [("seq1", "ACGTACGTAC"), ("seq2", "acgtNNNNac"), ("seq3", "GGGGCCCCRY")]
    write_fasta(os.path.join(OUT, "seqs.fa"), seqs, width=4)
    write_gz(os.path.join(OUT, "seqs.fa.gz"),
             b"".join(b">%s\n%s\n" % (n.encode(), s.encode()) for n, s in seqs))

    # malformed inputs: each must give one error line naming file and line
    bad = {
        "bad_contig.bed": "chr1\t10\t20\nchr7\t10\t20\n",
        "bad_start_gt_end.bed": "chr1\t10\t20\nchr1\t30\t20\n",
        "bad_negative.bed": "chr1\t-5\t20\n",
        "bad_nonnumeric.bed": "chr1\t10\t20\nchr1\t1x0\t200\n",
        "bad_columns.bed": "chr1\t10\t20\nchr1\t10\n",
        "bad_strand.bed": "chr1\t10\t20\tn\t0\t+\nchr1\t10\t20\tn\t0\tx\n",
        "bad_summit.narrowPeak": "chr1\t100\t200\tp\t0\t.\t1\t1\t1\t250\n",
    }
    for name, text in bad.items():
        write(os.path.join(OUT, name), text)
    write(os.path.join(OUT, "bad_empty_record.fa"), ">a\nACGT\n>b\n>c\nACGT\n")
    write(os.path.join(OUT, "bad_duplicate.fa"), ">a\nACGT\n>b\nACGT\n>a x\nACGT\n")
    write(os.path.join(OUT, "bad_base.fa"), ">a\nACGT\n>b\nAC\nGT.A\n")
    write(os.path.join(OUT, "bad_no_header.fa"), "ACGT\n>a\nACGT\n")
    # a genome with a byte that is not a base (index built by the reader)
    write(os.path.join(OUT, "bad_base_genome.fa"), ">c1\nACGTACGTAC\nACG.TACGTA\n")
    subprocess.run(["samtools", "faidx", os.path.join(OUT, "bad_base_genome.fa")], check=True)


if __name__ == "__main__":
    main()
