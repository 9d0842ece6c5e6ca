"""The demo reproduces the DNA experiment of the DeepLIFT paper: on held-out regions of
the synthetic genome (test_data/demo), per-base scores of `seqlift score` find the
planted motif bases.

For each method, `seqlift score` runs once on the first N_REGIONS regions of test.bed
for the three model outputs (gata, ebox, both); the score of a base is the hypothetical
contribution of its observed base (hyp.npz · ohe.npz: for DeepLIFT and integrated
gradients that is the base's contribution summed over channels, for gradient the
gradient of the observed base, for ISM the mean-centred effect of mutating it). The
truth mask of a region is the set of bases of the planted instances of the target's
motif(s) (truth.bed); only the target's positive regions count (those holding an
instance of each of its motifs). The test reports, per method and target, the average
precision (auPRC) of |score| against the pooled mask, and asserts:

* genomics (Rescale after conv, RevealCancel after dense) with dinucleotide-shuffled
  references reaches >= CHANCE_FACTOR x the positive fraction (the auPRC of random
  scores) on every target;
* genomics beats gradient on every target.

Skipped (with a message) while the binary's `score` command is not implemented.
"""
import gzip
import os
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", ".."))
SEQLIFT = os.environ.get("SEQLIFT", os.path.join(SRC, "build", "seqlift"))
DATA = os.path.join(SRC, "test_data", "demo")

N_REGIONS = 100
REFS = "dinuc:10"
IG_STEPS = "20"
CHANCE_FACTOR = 3.0
TARGETS = {"gata": ("GATA_like",), "ebox": ("TAL1_Ebox_like",),
           "both": ("GATA_like", "TAL1_Ebox_like")}
METHODS = ["genomics", "rescale", "revealcancel", "gradient", "grad-input",
           "integrated-gradients", "ism"]
REF_METHODS = {"genomics", "rescale", "revealcancel", "integrated-gradients"}
BASES = {ord(c): i for i, c in enumerate("ACGT")}


def average_precision(truth, score):
    """Area under the precision-recall curve as average precision: the sum over
    distinct score thresholds (high to low) of precision x the recall gained there.
    Tied scores enter together (no credit from an arbitrary order of ties)."""
    truth = np.asarray(truth, dtype=bool).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int(truth.sum())
    if n_pos == 0:
        raise ValueError("no positives")
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], truth[order]
    tp = np.cumsum(t)
    last = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]  # end of each tie group
    tp_at = tp[last]
    precision = tp_at / (last + 1.0)
    recall_gain = np.diff(np.r_[0, tp_at]) / n_pos
    return float((precision * recall_gain).sum())


def score_help():
    """`seqlift score --help` if score is implemented, else None."""
    try:
        r = subprocess.run([SEQLIFT, "score", "--help"], capture_output=True, text=True,
                           timeout=30)
    except OSError:
        return None
    if r.returncode != 0 or "--npz" not in r.stdout:
        return None
    return r.stdout


def read_genome(path):
    seqs, name, chunks = {}, None, []
    with gzip.open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line.startswith(b">"):
                if name:
                    seqs[name] = b"".join(chunks)
                name, chunks = line[1:].split()[0].decode(), []
            else:
                chunks.append(line)
    if name:
        seqs[name] = b"".join(chunks)
    return seqs


def read_bed(path, n=None):
    rows = []
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            rows.append((c[0], int(c[1]), int(c[2]), c[3]))
            if n is not None and len(rows) == n:
                break
    return rows


class TestDemo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.regions = read_bed(os.path.join(DATA, "test.bed"), N_REGIONS)
        cls.L = cls.regions[0][2] - cls.regions[0][1]
        genome = read_genome(os.path.join(DATA, "genome.fa.gz"))
        cls.ohe = np.zeros((len(cls.regions), 4, cls.L), dtype=np.float32)
        for i, (c, s, e, _) in enumerate(cls.regions):
            for p, b in enumerate(genome[c][s:e]):
                cls.ohe[i, BASES[b], p] = 1.0
        # truth masks per motif: (regions, L)
        cls.masks = {m: np.zeros((len(cls.regions), cls.L), dtype=bool)
                     for m in ("GATA_like", "TAL1_Ebox_like")}
        index = {(c, s): i for i, (c, s, e, _) in enumerate(cls.regions)}
        starts = {}
        for c, s, e, _ in cls.regions:
            starts.setdefault(c, []).append(s)
        with open(os.path.join(DATA, "truth.bed")) as f:
            for line in f:
                c, s, e, motif = line.split("\t")[:4]
                s, e = int(s), int(e)
                for rs in starts.get(c, ()):
                    if rs <= s and e <= rs + cls.L:
                        cls.masks[motif][index[(c, rs)], s - rs:e - rs] = True

    def test_average_precision(self):
        # hand-computed: ranks 1..4 = T F T F -> (1/1 + 2/3) / 2
        self.assertAlmostEqual(average_precision([1, 0, 1, 0], [4, 3, 2, 1]), (1 + 2 / 3) / 2)
        # a tie of one positive and one negative at the top counts precision 1/2
        self.assertAlmostEqual(average_precision([1, 0, 0], [1, 1, 0]), 0.5)
        self.assertAlmostEqual(average_precision([0, 1, 1], [0, 5, 5]), 1.0)
        # random scores: about the positive fraction
        rng = np.random.default_rng(0)
        y = rng.random(20000) < 0.1
        self.assertAlmostEqual(average_precision(y, rng.random(20000)), y.mean(), delta=0.01)

    def test_truth_masks(self):
        # every planted instance lies inside one region (simulate_demo.py plants only there)
        for m, mask in self.masks.items():
            self.assertGreater(mask.any(axis=1).sum(), 10, m)

    def run_score(self, tmp, bed, method):
        """Score every target in one run; {target: |score of the observed base|}."""
        prefix = os.path.join(tmp, method)
        cmd = [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"),
               "-f", os.path.join(DATA, "genome.fa.gz"), "-b", bed, "--method", method,
               "--target", ",".join(TARGETS), "--seed", "1", "--threads", "1",
               "--npz", prefix, "--tsv", prefix + ".tsv"]
        if method in REF_METHODS:
            cmd += ["--refs", REFS]
        if method == "integrated-gradients":
            cmd += ["--ig-steps", IG_STEPS]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, "%s\n%s" % (" ".join(cmd), r.stderr))
        with np.load(prefix + ".ohe.npz") as z:  # regions in input order
            np.testing.assert_array_equal(z["arr_0"], self.ohe)
        with open(prefix + ".tsv") as f:  # header + a row per region and target
            self.assertEqual(len(f.read().splitlines()), 1 + len(self.regions) * len(TARGETS))
        scores = {}
        for target in TARGETS:  # several targets: PREFIX.<target>.hyp.npz
            with np.load("%s.%s.hyp.npz" % (prefix, target)) as z:
                hyp = z["arr_0"]
            self.assertEqual(hyp.shape, self.ohe.shape, target)
            self.assertTrue(np.isfinite(hyp).all(), target)
            scores[target] = np.abs((hyp * self.ohe).sum(axis=1))  # (regions, L)
        return scores

    def test_planted_motifs_recovered(self):
        if score_help() is None:
            self.skipTest("`seqlift score` is not implemented in %s yet" % SEQLIFT)
        t0 = time.time()
        tmpdir = os.environ.get("SEQLIFT_TMP")
        if tmpdir:
            os.makedirs(tmpdir, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmpdir) as tmp:
            bed = os.path.join(tmp, "regions.bed")
            with open(bed, "w") as f:
                for c, s, e, name in self.regions:
                    f.write("%s\t%d\t%d\t%s\n" % (c, s, e, name))
            scores = {method: self.run_score(tmp, bed, method) for method in METHODS}
        ap, chance = {}, {}
        for target, motifs in TARGETS.items():
            mask = np.zeros_like(self.masks[motifs[0]])
            keep = np.ones(len(self.regions), dtype=bool)
            for m in motifs:  # the target's positives: every one of its motifs present
                mask |= self.masks[m]
                keep &= self.masks[m].any(axis=1)
            chance[target] = float(mask[keep].mean())
            for method in METHODS:
                ap[method, target] = average_precision(mask[keep], scores[method][target][keep])
        elapsed = time.time() - t0

        print("\nauPRC of |score of the observed base| vs planted motif bases "
              "(%d held-out regions, refs %s, IG steps %s; %.1f s):"
              % (len(self.regions), REFS, IG_STEPS, elapsed), file=sys.stderr)
        print("%-22s" % "method" + "".join("%9s" % t for t in TARGETS) + "%9s" % "mean",
              file=sys.stderr)
        print("%-22s" % "chance (pos. fraction)" + "".join("%9.3f" % chance[t] for t in TARGETS)
              + "%9.3f" % np.mean(list(chance.values())), file=sys.stderr)
        for method in METHODS:
            v = [ap[method, t] for t in TARGETS]
            print("%-22s" % method + "".join("%9.3f" % x for x in v) + "%9.3f" % np.mean(v),
                  file=sys.stderr)

        for t in TARGETS:
            self.assertGreaterEqual(ap["genomics", t], CHANCE_FACTOR * chance[t],
                                    "genomics auPRC on %s not >= %gx chance" % (t, CHANCE_FACTOR))
        for t in TARGETS:
            self.assertGreater(ap["genomics", t], ap["gradient", t],
                               "genomics does not beat gradient on %s" % t)


if __name__ == "__main__":
    unittest.main()
