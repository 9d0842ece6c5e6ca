"""`seqlift score` end to end with every output at once, on the demo model and genome:
tracks (bedGraph, bedGraph.gz, bigWig), npz, TSV and the motif report must all tell the
same story.

Regions: held-out demo regions on both strands, some overlapping (shifted copies), so
the tracks' strand mapping and overlap merging are checked against a naive per-base
computation made here in numpy from the npz arrays (input order, model order).
"""
import gzip
import os
import subprocess
import tempfile
import unittest

import numpy as np

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
DATA = os.path.join(SRC, "test_data", "demo")
TARGETS = ["gata", "ebox"]


def read_bedgraph(path):
    op = gzip.open if path.endswith(".gz") else open
    rows = []
    with op(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):  # the provenance line
                continue
            c, s, e, v = line.split("\t")
            rows.append((c, int(s), int(e), float(v)))
    return rows


class ScoreOutputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = os.environ.get("SEQLIFT_TMP")
        if tmp:
            os.makedirs(tmp, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="score_outputs_", dir=tmp)
        regions = []
        with open(os.path.join(DATA, "test.bed")) as fh:
            base = [line.split("\t")[:3] for line in fh][:12]
        for k, (c, s, e) in enumerate(base):
            s, e = int(s), int(e)
            strand = "-" if k % 3 == 1 else "+"
            regions.append((c, s, e, "r%d" % k, 0, strand))
            if k % 4 == 0:  # an overlapping window on the other strand
                regions.append((c, s + 57, e + 57, "r%d_shift" % k, 0, "+" if strand == "-" else "-"))
        cls.regions = regions
        cls.bed = os.path.join(cls.tmp, "regions.bed")
        with open(cls.bed, "w") as fh:
            for r in regions:
                fh.write("%s\t%d\t%d\t%s\t%d\t%s\n" % r)
        out = os.path.join(cls.tmp, "o")
        cls.out = out
        cmd = [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"),
               "-f", os.path.join(DATA, "genome.fa.gz"), "-b", cls.bed,
               "--refs", "dinuc:5", "--target", ",".join(TARGETS), "--threads", "2",
               "--npz", out, "--tsv", out + ".tsv", "--bedgraph", out + ".bedGraph",
               "--bigwig", out + ".bw", "--motifs", os.path.join(DATA, "motifs.meme"),
               "--report", out + ".html", "--report-json", out + ".json"]
        cls.proc = subprocess.run(cmd, capture_output=True, text=True)
        gz = [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"),
              "-f", os.path.join(DATA, "genome.fa.gz"), "-b", cls.bed,
              "--refs", "dinuc:5", "--target", ",".join(TARGETS),
              "--bedgraph", out + "_gz.bedGraph.gz", "--overlap", "max-abs"]
        cls.proc_gz = subprocess.run(gz, capture_output=True, text=True)

    def test_runs(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertEqual(self.proc_gz.returncode, 0, self.proc_gz.stderr)

    def naive(self, t, mode):
        """Per-base values from the npz: Σ channels of contrib, genome-mapped, merged."""
        contrib = np.load("%s.%s.contrib.npz" % (self.out, t))["arr_0"]
        ohe = np.load(self.out + ".ohe.npz")["arr_0"]
        self.assertEqual(contrib.shape, (len(self.regions), 4, 200))
        per_base = {}
        for i, (c, s, e, _, _, strand) in enumerate(self.regions):
            v = contrib[i].sum(axis=0).astype(np.float64)
            for p in range(e - s):
                if ohe[i, :, p].sum() == 0:
                    continue
                g = e - 1 - p if strand == "-" else s + p
                per_base.setdefault((c, g), []).append(v[p])
        if mode == "mean":
            return {k: float(np.mean(v)) for k, v in per_base.items()}
        return {k: max(v, key=abs) for k, v in per_base.items()}

    def check_track(self, rows, expect):
        got = {}
        last = None
        for c, s, e, v in rows:
            self.assertLess(s, e)
            if last is not None and last[0] == c:
                self.assertGreaterEqual(s, last[2], "overlapping or unsorted entries")
            last = (c, s, e)
            for g in range(s, e):
                got[(c, g)] = v
        self.assertEqual(set(got), set(expect))
        for k, v in expect.items():
            self.assertAlmostEqual(got[k], v, delta=1e-6 * max(1.0, abs(v)), msg=str(k))

    def test_bedgraph_equals_naive_from_npz(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for t in TARGETS:
            self.check_track(read_bedgraph("%s.%s.bedGraph" % (self.out, t)), self.naive(t, "mean"))

    def test_bedgraph_gz_max_abs(self):
        self.assertEqual(self.proc_gz.returncode, 0, self.proc_gz.stderr)
        for t in TARGETS:
            # contributions are recomputed with the same seeds: same values as the first run
            self.check_track(read_bedgraph("%s_gz.%s.bedGraph.gz" % (self.out, t)), self.naive(t, "max-abs"))

    def test_bigwig_equals_bedgraph(self):
        import pyBigWig
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for t in TARGETS:
            bw = pyBigWig.open("%s.%s.bw" % (self.out, t))
            self.assertGreater(bw.header()["nLevels"], 0)
            for c, s, e, v in read_bedgraph("%s.%s.bedGraph" % (self.out, t)):
                vals = bw.values(c, s, e)
                self.assertTrue(all(abs(x - v) <= 1e-6 * max(1.0, abs(v)) for x in vals), (c, s, e, v, vals))
            bw.close()

    def test_tsv_sums_match_npz(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        with open(self.out + ".tsv") as fh:
            self.assertTrue(fh.readline().startswith("# seqlift "))  # the provenance line
            header = fh.readline().rstrip("\n").split("\t")
            rows = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in fh]
        self.assertEqual(len(rows), len(self.regions) * len(TARGETS))
        index = {r[3]: i for i, r in enumerate(self.regions)}
        for t in TARGETS:
            contrib = np.load("%s.%s.contrib.npz" % (self.out, t))["arr_0"]
            for row in rows:
                if row["target"] != t:
                    continue
                i = index[row["name"]]
                self.assertEqual(row["strand"], self.regions[i][5])
                self.assertAlmostEqual(float(row["contrib_sum"]), float(contrib[i].sum()), delta=1e-4)
                delta = float(row["output"]) - float(row["ref_mean"])
                self.assertAlmostEqual(float(row["contrib_sum"]), delta, delta=1e-3 * max(1.0, abs(delta)))

    def test_report_names_planted_motif(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for t, motif in (("gata", "GATA_like"), ("ebox", "TAL1_Ebox_like")):
            with open("%s.%s.html" % (self.out, t)) as fh:
                html = fh.read()
            self.assertIn("<svg", html)
            self.assertIn(motif, html)
            self.assertTrue(os.path.getsize("%s.%s.json" % (self.out, t)) > 0)

    def test_tracks_refuse_fasta_input(self):
        fa = os.path.join(self.tmp, "one.fa")
        with open(fa, "w") as fh:
            fh.write(">a\n" + "ACGT" * 50 + "\n")
        p = subprocess.run([SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"), "-s", fa,
                            "--bigwig", os.path.join(self.tmp, "x.bw")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()[:1]), 1)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.bw")))


if __name__ == "__main__":
    unittest.main()
