#!/usr/bin/python3
"""Simulate the seqlift demo data: a synthetic genome with two planted TF motifs.

This reproduces the simulated-DNA experiment of the DeepLIFT paper (Shrikumar et al.
2017, section 4.2) on a genome instead of loose sequences, so that `seqlift score`
runs on it exactly as on real data (FASTA + BED):

* three contigs of i.i.d. background with 40% GC;
* the genome is tiled into slots of SLOT bases; the first LEN bases of a slot are a
  region, the rest is a spacer (never planted), so regions never overlap;
* each region gets one of four classes at random: nothing, GATA only, E-box only, both;
  a motif that is present gets 1-3 instances, each sampled base by base from the motif's
  position weight matrix, on a random strand, not overlapping the other instances;
* tasks (the model's three outputs): 0 = GATA present, 1 = E-box present, 2 = both;
* splits by position: chr1 and chr2 train, the first half of chr3 valid, the second
  half test (held out), so no region or motif is shared between splits.

Outputs (in --out, default test_data/demo):
  genome.fa.gz (+ .fai, .gzi)  bgzipped genome, indexed by `samtools faidx`
  motifs.meme                   the two PWMs, MEME minimal format
  truth.bed                     every planted instance: chrom start end motif 0 strand
  train.bed valid.bed test.bed  regions (BED4: chrom start end name)
  labels.tsv                    per region: name split gata ebox both (the task labels)

Everything comes from numpy's PCG64 seeded with --seed: the same seed gives the same
genome, regions and truth, bit for bit (the FASTA's md5 is printed). Needs bgzip and
samtools on PATH.
"""
import argparse
import gzip
import hashlib
import os
import subprocess
import sys

import numpy as np

ALPHABET = np.frombuffer(b"ACGT", dtype=np.uint8)
COMP = np.array([3, 2, 1, 0])  # A<->T, C<->G on base indices

# Position weight matrices (rows: positions; columns: A C G T). Written for this demo:
# a GATA-family site (consensus CAGATAAGC: GATA1's WGATAR core with flanks strong
# enough to stand out of an AT-rich background) and a
# TAL1-like E-box (ACCAGCTGGT, with the CACCTG variant at the centre).
MOTIFS = {
    "GATA_like": np.array([
        [0.10, 0.70, 0.10, 0.10],
        [0.75, 0.05, 0.05, 0.15],
        [0.02, 0.02, 0.94, 0.02],
        [0.94, 0.02, 0.02, 0.02],
        [0.02, 0.02, 0.02, 0.94],
        [0.94, 0.02, 0.02, 0.02],
        [0.85, 0.02, 0.11, 0.02],
        [0.08, 0.04, 0.84, 0.04],
        [0.05, 0.65, 0.25, 0.05],
    ]),
    "TAL1_Ebox_like": np.array([
        [0.70, 0.10, 0.10, 0.10],
        [0.10, 0.70, 0.10, 0.10],
        [0.03, 0.91, 0.03, 0.03],
        [0.91, 0.03, 0.03, 0.03],
        [0.05, 0.25, 0.65, 0.05],
        [0.05, 0.85, 0.05, 0.05],
        [0.03, 0.03, 0.03, 0.91],
        [0.03, 0.03, 0.91, 0.03],
        [0.10, 0.10, 0.70, 0.10],
        [0.10, 0.10, 0.10, 0.70],
    ]),
}
MOTIF_ORDER = ["GATA_like", "TAL1_Ebox_like"]
BACKGROUND = np.array([0.3, 0.2, 0.2, 0.3])  # 40% GC


def sample_bases(rng, probs):
    """One base per row of probs ([n][4]), by inverse CDF of one uniform each."""
    u = rng.random(len(probs))
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    return (u[:, None] >= cdf).sum(axis=1)


def write_meme(path):
    with open(path, "w") as f:
        f.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
        f.write("Background letter frequencies\n")
        f.write("A %.3f C %.3f G %.3f T %.3f\n\n" % tuple(BACKGROUND))
        for name in MOTIF_ORDER:
            pwm = MOTIFS[name]
            f.write("MOTIF %s\n" % name)
            f.write("letter-probability matrix: alength= 4 w= %d nsites= 20 E= 0\n" % len(pwm))
            for row in pwm:
                f.write(" ".join("%.3f" % p for p in row) + "\n")
            f.write("\n")


def simulate(args):
    rng = np.random.Generator(np.random.PCG64(args.seed))
    contigs = [("chr1", args.contig_len[0]), ("chr2", args.contig_len[1]),
               ("chr3", args.contig_len[2])]
    L = args.length
    genome = {}
    regions = []  # (chrom, start, end, name, split, gata, ebox)
    truth = []    # (chrom, start, end, motif, strand)
    for chrom, clen in contigs:
        seq = sample_bases(rng, np.broadcast_to(BACKGROUND, (clen, 4)))
        nslots = clen // args.slot
        for s in range(nslots):
            start = s * args.slot
            cls = int(rng.integers(0, 4))  # bit 0: GATA, bit 1: E-box
            present = [bool(cls & 1), bool(cls & 2)]
            taken = np.zeros(L, dtype=bool)
            for mi, name in enumerate(MOTIF_ORDER):
                if not present[mi]:
                    continue
                pwm = MOTIFS[name]
                w = len(pwm)
                for _ in range(int(rng.integers(1, 4))):
                    for _try in range(100):
                        off = int(rng.integers(0, L - w + 1))
                        if not taken[off:off + w].any():
                            break
                    else:
                        continue  # region full; rare with L >> 6 * w
                    taken[off:off + w] = True
                    inst = sample_bases(rng, pwm)
                    strand = "+" if rng.random() < 0.5 else "-"
                    if strand == "-":
                        inst = COMP[inst[::-1]]
                    seq[start + off:start + off + w] = inst
                    truth.append((chrom, start + off, start + off + w, name, strand))
            if chrom != "chr3":
                split = "train"
            else:
                split = "valid" if s < nslots // 2 else "test"
            name = "%s_%05d" % (chrom, s)
            regions.append((chrom, start, start + L, name, split, int(present[0]),
                            int(present[1])))
        genome[chrom] = seq
    return contigs, genome, regions, truth


def write_outputs(args, contigs, genome, regions, truth):
    out = args.out
    os.makedirs(out, exist_ok=True)
    fa = os.path.join(out, "genome.fa")
    md5 = hashlib.md5()
    with open(fa, "wb") as f:
        for chrom, clen in contigs:
            text = ALPHABET[genome[chrom]].tobytes()
            block = (">%s\n" % chrom).encode() + b"".join(
                text[i:i + 60] + b"\n" for i in range(0, clen, 60))
            f.write(block)
            md5.update(block)
    for ext in (".gz", ".gz.fai", ".gz.gzi"):
        if os.path.exists(fa + ext):
            os.remove(fa + ext)
    subprocess.run(["bgzip", "-f", fa], check=True)
    subprocess.run(["samtools", "faidx", fa + ".gz"], check=True)

    with open(os.path.join(out, "truth.bed"), "w") as f:
        for chrom, s, e, name, strand in sorted(truth, key=lambda t: (t[0], t[1])):
            f.write("%s\t%d\t%d\t%s\t0\t%s\n" % (chrom, s, e, name, strand))
    for split in ("train", "valid", "test"):
        with open(os.path.join(out, split + ".bed"), "w") as f:
            for chrom, s, e, name, sp, g, b in regions:
                if sp == split:
                    f.write("%s\t%d\t%d\t%s\n" % (chrom, s, e, name))
    with open(os.path.join(out, "labels.tsv"), "w") as f:
        f.write("name\tsplit\tgata\tebox\tboth\n")
        for chrom, s, e, name, sp, g, b in regions:
            f.write("%s\t%s\t%d\t%d\t%d\n" % (name, sp, g, b, g & b))
    write_meme(os.path.join(out, "motifs.meme"))
    return md5.hexdigest()


# ---- readers of the files written here (train_demo.py and tests/py/test_demo.py) ----

def read_genome(path):
    """{contig: uint8 array of bases} from a (b)gzipped FASTA."""
    seqs, name, chunks = {}, None, []
    with gzip.open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if line.startswith(b">"):
                if name is not None:
                    seqs[name] = np.frombuffer(b"".join(chunks), dtype=np.uint8)
                name, chunks = line[1:].split()[0].decode(), []
            else:
                chunks.append(line)
    if name is not None:
        seqs[name] = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return seqs


def read_bed(path, n=None):
    """[(chrom, start, end, name)] of the first n (all) lines of a BED4 file."""
    rows = []
    with open(path) as f:
        for line in f:
            if n is not None and len(rows) == n:
                break
            c = line.rstrip("\n").split("\t")
            rows.append((c[0], int(c[1]), int(c[2]), c[3]))
    return rows


def one_hot(genome, regions):
    """(N, 4, L) float32 one-hot (A C G T) of equal-length BED regions."""
    L = regions[0][2] - regions[0][1]
    x = np.zeros((len(regions), 4, L), dtype=np.float32)
    lut = np.full(256, -1, dtype=np.int64)
    lut[ALPHABET] = np.arange(4)
    for i, (chrom, s, e, _) in enumerate(regions):
        idx = lut[genome[chrom][s:e]]
        ok = idx >= 0
        x[i, idx[ok], np.nonzero(ok)[0]] = 1.0
    return x


def truth_masks(truth_bed, regions):
    """{motif: (N, L) bool}: the bases of each region covered by planted instances."""
    L = regions[0][2] - regions[0][1]
    masks = {m: np.zeros((len(regions), L), dtype=bool) for m in MOTIF_ORDER}
    by_contig = {}
    for i, (chrom, s, _, _) in enumerate(regions):
        by_contig.setdefault(chrom, []).append((s, i))
    with open(truth_bed) as f:
        for line in f:
            chrom, s, e, motif = line.split("\t")[:4]
            s, e = int(s), int(e)
            for rs, i in by_contig.get(chrom, ()):
                if rs <= s and e <= rs + L:
                    masks[motif][i, s - rs:e - rs] = True
    return masks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20170701)
    ap.add_argument("--out", default="test_data/demo")
    ap.add_argument("--length", type=int, default=200, help="region length (model input)")
    ap.add_argument("--slot", type=int, default=250, help="region + spacer length")
    ap.add_argument("--contig-len", type=int, nargs=3, default=[300000, 300000, 200000])
    args = ap.parse_args(argv)
    if args.slot < args.length or args.length < 60:
        ap.error("need --slot >= --length >= 60")
    contigs, genome, regions, truth = simulate(args)
    md5 = write_outputs(args, contigs, genome, regions, truth)
    n = {sp: sum(r[4] == sp for r in regions) for sp in ("train", "valid", "test")}
    print("simulate_demo: seed %d, %d bp genome (md5 of FASTA %s), regions train %d valid %d "
          "test %d, %d planted instances -> %s" % (args.seed, sum(c[1] for c in contigs), md5,
                                                   n["train"], n["valid"], n["test"],
                                                   len(truth), args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
