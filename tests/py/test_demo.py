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
* genomics beats gradient on every target;
* summation-to-delta holds (< 1e-3 relative) for genomics, rescale and revealcancel;
* genomics with `--rc average` (forward and reverse-complement scores averaged) has a
  higher mean auPRC over the targets than genomics alone.

Also: `seqlift predict` on the shipped model equals the PyTorch model on the same
weights and separates the 400 held-out regions (auROC > 0.9 per task), and truth.bed
agrees with labels.tsv. The score (predict) tests are skipped, with a message, while the
binary's `score` (`predict`) command is not implemented; a missing binary is an error.
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

SRC = os.environ.get("SEQLIFT_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", ".."))
sys.path.insert(0, os.path.join(SRC, "scripts"))
from simulate_demo import one_hot, read_bed, read_genome, truth_masks  # noqa: E402
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
SUMS_TO_DELTA = {"genomics", "rescale", "revealcancel"}
RC = "genomics --rc average"


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


def implemented(command, option):
    """True when `seqlift COMMAND --help` works and lists OPTION."""
    r = subprocess.run([SEQLIFT, command, "--help"], capture_output=True, text=True,
                       timeout=30)  # a missing binary is an error, not a skip
    return r.returncode == 0 and option in r.stdout


class TestDemo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.regions = read_bed(os.path.join(DATA, "test.bed"), N_REGIONS)
        cls.ohe = one_hot(read_genome(os.path.join(DATA, "genome.fa.gz")), cls.regions)
        cls.masks = truth_masks(os.path.join(DATA, "truth.bed"), cls.regions)

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
        # truth.bed and labels.tsv agree: a region holds a motif iff its label says so
        labels = {}
        with open(os.path.join(DATA, "labels.tsv")) as f:
            next(f)
            for line in f:
                name, _, gata, ebox, _ = line.split("\t")
                labels[name] = (gata == "1", ebox == "1")
        for k, motif in enumerate(("GATA_like", "TAL1_Ebox_like")):
            has = self.masks[motif].any(axis=1)
            self.assertEqual(list(has), [labels[r[3]][k] for r in self.regions], motif)
            self.assertGreater(has.sum(), 10, motif)

    def test_model_predictions(self):
        # the shipped model, run by seqlift, is the trained PyTorch model, and it separates
        # the held-out regions (TRAINING.md)
        if not implemented("predict", "--bed"):
            self.skipTest("`seqlift predict` is not implemented in %s yet" % SEQLIFT)
        import torch
        from export_torch import read_safetensors
        from train_demo import TASKS, DemoCNN, auroc, logits
        bed = os.path.join(DATA, "test.bed")
        r = subprocess.run([SEQLIFT, "predict", "-m", os.path.join(DATA, "model.json"),
                            "-f", os.path.join(DATA, "genome.fa.gz"), "-b", bed],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stdout.splitlines() if not l.startswith("# ")]  # provenance aside
        header = lines[0].split("\t")
        cols = [header.index(t) for t in TASKS]
        pred = np.array([[float(line.split("\t")[c]) for c in cols] for line in lines[1:]])
        regions = read_bed(bed)
        self.assertEqual(pred.shape, (len(regions), len(TASKS)))

        torch.set_num_threads(1)
        model = DemoCNN()
        weights = read_safetensors(os.path.join(DATA, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
        model.eval()
        x = one_hot(read_genome(os.path.join(DATA, "genome.fa.gz")), regions)
        with torch.no_grad():
            ref = logits(model, torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(pred, ref, rtol=1e-5, atol=1e-5)

        y = {}
        with open(os.path.join(DATA, "labels.tsv")) as f:
            next(f)
            for line in f:
                c = line.rstrip("\n").split("\t")
                y[c[0]] = [int(v) for v in c[2:5]]
        labels = np.array([y[reg[3]] for reg in regions])
        aucs = [auroc(labels[:, t], pred[:, t]) for t in range(len(TASKS))]
        print("\nheld-out auROC from seqlift predict (%d regions): %s" % (
            len(regions), ", ".join("%s %.4f" % (t, a) for t, a in zip(TASKS, aucs))),
            file=sys.stderr)
        for t, a in zip(TASKS, aucs):
            self.assertGreater(a, 0.9, t)

    def run_score(self, tmp, bed, method, extra=()):
        """Score every target in one run; {target: |score of the observed base|}."""
        prefix = os.path.join(tmp, method + "".join(extra))
        cmd = [SEQLIFT, "score", "-m", os.path.join(DATA, "model.json"),
               "-f", os.path.join(DATA, "genome.fa.gz"), "-b", bed, "--method", method,
               "--target", ",".join(TARGETS), "--seed", "1", "--threads", "1",
               "--npz", prefix, "--tsv", prefix + ".tsv"] + list(extra)
        if method in REF_METHODS:
            cmd += ["--refs", REFS]
        if method == "integrated-gradients":
            cmd += ["--ig-steps", IG_STEPS]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, "%s\n%s" % (" ".join(cmd), r.stderr))
        with np.load(prefix + ".ohe.npz") as z:  # regions in input order
            np.testing.assert_array_equal(z["arr_0"], self.ohe)
        with open(prefix + ".tsv") as f:  # header + a row per region and target
            rows = [line.split("\t") for line in f.read().splitlines() if not line.startswith("#")]
        self.assertEqual(len(rows), 1 + len(self.regions) * len(TARGETS))
        if method in SUMS_TO_DELTA:  # Σ contributions = output − mean reference output
            col = rows[0].index("delta_error")
            worst = max(float(row[col]) for row in rows[1:])
            self.assertLess(worst, 1e-3, "%s: summation-to-delta error %g" % (method, worst))
        scores = {}
        for target in TARGETS:  # several targets: PREFIX.<target>.hyp.npz
            with np.load("%s.%s.hyp.npz" % (prefix, target)) as z:
                hyp = z["arr_0"]
            self.assertEqual(hyp.shape, self.ohe.shape, target)
            self.assertTrue(np.isfinite(hyp).all(), target)
            scores[target] = np.abs((hyp * self.ohe).sum(axis=1))  # (regions, L)
        return scores

    def test_planted_motifs_recovered(self):
        if not implemented("score", "--npz"):
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
            scores[RC] = self.run_score(tmp, bed, "genomics", ["--rc", "average"])
        ap, chance = {}, {}
        for target, motifs in TARGETS.items():
            mask = np.zeros_like(self.masks[motifs[0]])
            keep = np.ones(len(self.regions), dtype=bool)
            for m in motifs:  # the target's positives: every one of its motifs present
                mask |= self.masks[m]
                keep &= self.masks[m].any(axis=1)
            chance[target] = float(mask[keep].mean())
            for method in METHODS + [RC]:
                ap[method, target] = average_precision(mask[keep], scores[method][target][keep])
        elapsed = time.time() - t0

        print("\nauPRC of |score of the observed base| vs planted motif bases "
              "(%d held-out regions, refs %s, IG steps %s; %.1f s):"
              % (len(self.regions), REFS, IG_STEPS, elapsed), file=sys.stderr)
        print("%-22s" % "method" + "".join("%9s" % t for t in TARGETS) + "%9s" % "mean",
              file=sys.stderr)
        print("%-22s" % "chance (pos. fraction)" + "".join("%9.3f" % chance[t] for t in TARGETS)
              + "%9.3f" % np.mean(list(chance.values())), file=sys.stderr)
        for method in METHODS + [RC]:
            v = [ap[method, t] for t in TARGETS]
            print("%-22s" % method + "".join("%9.3f" % x for x in v) + "%9.3f" % np.mean(v),
                  file=sys.stderr)

        for t in TARGETS:
            self.assertGreaterEqual(ap["genomics", t], CHANCE_FACTOR * chance[t],
                                    "genomics auPRC on %s not >= %gx chance" % (t, CHANCE_FACTOR))
        for t in TARGETS:
            self.assertGreater(ap["genomics", t], ap["gradient", t],
                               "genomics does not beat gradient on %s" % t)
        self.assertGreater(np.mean([ap[RC, t] for t in TARGETS]), np.mean([ap["genomics", t] for t in TARGETS]),
                           "--rc average does not raise the mean auPRC of genomics")


if __name__ == "__main__":
    unittest.main()
