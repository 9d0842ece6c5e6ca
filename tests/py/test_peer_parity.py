"""`seqlift score` with the options issue 12 added, against scripts/torch_deeplift.py
(PyTorch float64), within 1e-5 relative per base. What it checks:

* `--maxpool cross` (and it being the default: the run without --maxpool must give
  the cross numbers), on the conv-pool models (non-overlapping and overlapping windows,
  a ReLU feeding a MaxPool directly), Basset-like, the small mixed model (padded max
  pool, global max pool) and ChromBPNet; `summation` and `gradient` still available;
* `PREFIX.contrib.npz` = projected contributions (hypothetical × one-hot, zero off the
  observed base and at N), `PREFIX.hyp.npz` unchanged, and a TSV column `n_part` (the
  contributions of N positions) with contrib_sum + n_part = output − ref_mean;
* `--method ism`: contrib.npz = the mean-centred change at the observed base, hyp.npz
  all four, and the bedGraph track = the per-position sum of contrib.npz (not zero);
* `--method integrated-gradients --ig-rule riemann-middle|gauss-legendre --ig-steps N`;
* `--rc average`: forward and reverse-complement scores averaged on forward bases;
  `output`/`ref_mean` the means of the two strands, summation-to-delta on that mean;
* the `log` op (ChromBPNet counts = log(exp(a) + exp(b))): `seqlift predict` equals
  PyTorch, and `score --target count` / `profile` equal the reference;
* `--post-activation` on a sigmoid output: within 1e-5 of float64 per base.

The peers' own numbers (tangermeme, shap, captum) are measured by scripts/peer_parity.py;
this test needs only the in-repo reference, which equals them where they agree.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)
import torch_deeplift as td  # noqa: E402
import torch_models as tm  # noqa: E402
from test_export import predict_outputs, torch_outputs  # noqa: E402
from test_torch_deeplift import export_case  # noqa: E402

SEQLIFT = os.environ.get("SEQLIFT")
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
N_SEQS, K, IG_STEPS = 3, 4, 16
# per base: |seqlift − PyTorch| <= RTOL·|PyTorch| + FLOOR·(the region's largest |score|).
# The floor is for bases whose score is float32 rounding noise; today's engine (float32)
# needs 2.2e-6 on Basset-like (--maxpool summation), 1.1e-6 for ISM, < 1e-6 elsewhere.
RTOL = 1e-5
FLOOR = 5e-6

# (model key, target, seqlift options, torch_deeplift call (method, rule, rc))
CASES = [
    ("convpool", "logits:0", ["--method", "rescale", "--maxpool", "cross"], ("dl", "cross", False)),
    ("convpool", "logits:1", ["--method", "rescale"], ("dl", "cross", False)),  # cross is the default
    ("convpool_overlap", "logits:0", ["--method", "rescale", "--maxpool", "cross"], ("dl", "cross", False)),
    ("convpool", "logits:0", ["--method", "rescale", "--maxpool", "summation"], ("dl", "summation", False)),
    ("convpool", "logits:0", ["--method", "rescale", "--maxpool", "gradient"], ("dl", "gradient", False)),
    ("basset", "logits:3", ["--method", "rescale", "--maxpool", "cross"], ("dl", "cross", False)),
    ("small", "logit:0", ["--method", "rescale", "--maxpool", "cross"], ("dl", "cross", False)),
    ("chrombpnet_small", "count", ["--method", "rescale"], ("dl", "cross", False)),
    ("chrombpnet_small", "profile:profile", ["--method", "rescale"], ("dl", "cross", False)),
    ("convpool", "logits:0", ["--method", "rescale", "--rc", "average"], ("dl", "cross", True)),
    ("chrombpnet_small", "count", ["--method", "rescale", "--rc", "average"], ("dl", "cross", True)),
    ("convpool", "logits:0", ["--method", "integrated-gradients", "--ig-rule", "riemann-middle",
                              "--ig-steps", str(IG_STEPS)], ("ig", "riemann-middle", False)),
    ("convpool", "logits:0", ["--method", "integrated-gradients", "--ig-rule", "gauss-legendre",
                              "--ig-steps", str(IG_STEPS)], ("ig", "gauss-legendre", False)),
    ("small", "logit:1", ["--method", "integrated-gradients", "--ig-rule", "gauss-legendre",
                          "--ig-steps", str(IG_STEPS)], ("ig", "gauss-legendre", False)),
    ("convpool", "logits:0", ["--method", "ism"], ("ism", None, False)),
    ("convpool", "logits:0", ["--method", "ism", "--rc", "average"], ("ism", None, True)),
]


def read_tsv(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("# ")]
    return [h.lstrip("#").strip().lower() for h in lines[0]], lines[1:]


def col(header, name):
    if name not in header:
        raise AssertionError("no TSV column %r in %s" % (name, header))
    return header.index(name)


class TestPeerParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SEQLIFT or not os.path.exists(SEQLIFT):
            raise unittest.SkipTest("SEQLIFT not set")
        cls.dir = tempfile.mkdtemp(prefix="test_peer_parity_", dir=TMP if os.path.isdir(TMP) else None)
        cls.data = {key: export_case(cls.dir, key, 5, 21, N_SEQS, K) for key in sorted({c[0] for c in CASES})}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def reference(self, key, target, call, i):
        model, names, prefix, x, refs, fa, rfa = self.data[key]
        kind, rule, rc = call
        dl = td.DeepLiftRescale(model, names, rule if kind == "dl" else "cross")
        if kind == "dl":
            return dl.attribute(x[i], refs[i], target, rc=rc)
        if kind == "ig":
            return dl.integrated_gradients(x[i], refs[i], target, IG_STEPS, rule, rc=rc)
        return dl.ism(x[i], target, rc=rc)

    worst = {}

    def assert_per_base(self, got, want, what, case=None):
        scale = np.abs(want).max()
        if case is not None:  # worst |diff| / the region's largest |score|, for the summary
            self.worst[case] = max(self.worst.get(case, 0.0), float(np.abs(got - want).max() / max(scale, 1e-30)))
        bad = np.abs(got - want) > RTOL * np.abs(want) + FLOOR * scale
        if bad.any():
            j = tuple(np.argwhere(bad)[0])
            self.fail("%s: %d bases differ, first %s: seqlift %.8g, PyTorch %.8g (max |diff| %.3g, "
                      "max |score| %.3g)" % (what, bad.sum(), j, got[j], want[j], np.abs(got - want).max(), scale))

    def test_score(self):
        for n, (key, target, opts, call) in enumerate(CASES):
            with self.subTest(model=key, target=target, opts=" ".join(opts)):
                model, names, prefix, x, refs, fa, rfa = self.data[key]
                out = os.path.join(self.dir, "case%d" % n)
                cmd = [SEQLIFT, "score", "-m", prefix + ".json", "-s", fa, "--target", target,
                       "--npz", out, "--tsv", out + ".tsv"] + opts
                if call[0] != "ism":
                    cmd += ["--refs", "fasta:%s:%d" % (rfa, K)]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                self.assertEqual(p.returncode, 0, "%s\n%s" % (" ".join(cmd), p.stderr))
                contrib = np.load(out + ".contrib.npz")["arr_0"]
                hyp = np.load(out + ".hyp.npz")["arr_0"]
                header, rows = read_tsv(out + ".tsv")
                self.assertEqual(len(rows), N_SEQS)
                for i in range(N_SEQS):
                    w = self.reference(key, target, call, i)
                    what = "%s %s %s seq %d" % (key, target, " ".join(opts), i)
                    case = "%s %s %s" % (key, target, " ".join(opts))
                    self.assert_per_base(contrib[i], w["projected"], what + " contrib.npz (projected)", case)
                    self.assert_per_base(hyp[i], w["hyp"], what + " hyp.npz", case)
                    self.assertTrue((contrib[i][x[i] == 0] == 0).all(), what + ": contrib off the observed base")
                    row = rows[i]
                    scale = max(1.0, abs(w["out_x"]))
                    self.assertAlmostEqual(float(row[col(header, "output")]), w["out_x"], delta=1e-5 * scale)
                    if call[0] == "ism":
                        continue
                    ref_mean = float(np.mean(w["out_refs"]))
                    self.assertAlmostEqual(float(row[col(header, "ref_mean")]), ref_mean, delta=1e-5 * scale)
                    s, npart = float(row[col(header, "contrib_sum")]), float(row[col(header, "n_part")])
                    self.assertAlmostEqual(s, float(contrib[i].sum(dtype=np.float64)),
                                           delta=1e-5 * abs(s) + 1e-6 * scale)
                    self.assertAlmostEqual(npart, w["n_part"], delta=1e-5 * abs(w["n_part"]) + 1e-6 * scale)
                    if call[0] == "dl" and call[1] != "gradient":
                        d = w["out_x"] - ref_mean
                        self.assertLessEqual(abs(s + npart - d), 1e-5 * abs(d) + 1e-6 * scale,
                                             "%s: contrib_sum + n_part %.9g, Δ %.9g" % (what, s + npart, d))

        print("\nworst per-base |seqlift (float32) - PyTorch (float64)| / region's max |score|:",
              file=sys.stderr)
        for case, v in self.worst.items():
            print("  %-75s %.2g" % (case, v), file=sys.stderr)

    def test_ism_track_is_the_observed_change(self):
        model, names, prefix, x, refs, fa, rfa = self.data["convpool"]
        seq = tm.onehot_to_seqs(x[:1])[0]
        genome = os.path.join(self.dir, "genome.fa")
        tm.write_fasta(genome, ["ACGT" * 5 + seq + "TTGCA" * 4], ["chrT"])
        bed = os.path.join(self.dir, "ism.bed")
        with open(bed, "w") as f:
            f.write("chrT\t20\t220\tr1\t0\t+\n")
        out = os.path.join(self.dir, "ism_track")
        cmd = [SEQLIFT, "score", "-m", prefix + ".json", "-f", genome, "-b", bed, "--method", "ism",
               "--target", "logits:0", "--bedgraph", out + ".bedGraph", "--npz", out]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, "%s\n%s" % (" ".join(cmd), p.stderr))
        want = td.DeepLiftRescale(model, names).ism(x[0], "logits:0")["projected"].sum(0)
        got = np.full(200, np.nan)
        with open(out + ".bedGraph") as f:
            for line in f:
                if line.startswith(("track", "#", "browser")):
                    continue
                c, s, e, v = line.split()[:4]
                got[int(s) - 20:int(e) - 20] = float(v)
        ok = x[0].sum(0) > 0
        self.assertGreater(np.abs(want[ok]).max(), 0)
        self.assert_per_base(got[ok], want[ok], "ISM bedGraph")

    def test_post_sigmoid(self):
        """--post-activation (issue 12 item 6): scored after the sigmoid, within 1e-5 of
        float64 per base (the Rescale secant of the sigmoid computed without cancellation)."""
        import torch
        import export_torch as ex
        torch.manual_seed(4)
        L = 60
        net = torch.nn.Sequential(torch.nn.Conv1d(4, 6, 5), torch.nn.ReLU(), torch.nn.Flatten(),
                                  torch.nn.Linear(6 * (L - 4), 3), torch.nn.Sigmoid())
        with torch.no_grad():  # small output differences: where a float32 secant of the sigmoid
            net[3].weight.mul_(0.05)  # (Δy/Δx of outputs) would be ~6e-8/|Δx| off
        prefix = os.path.join(self.dir, "post_sigmoid")
        ex.export_model(net, prefix, L, ["p"])
        x = tm.random_onehot(N_SEQS, L, seed=31, n_frac=0.03)
        refs = np.repeat(x, K, axis=0)  # the input with one base changed
        for j in range(len(refs)):
            q = 3 + 11 * j % (L - 6)
            refs[j, :, q] = np.roll(refs[j, :, q], 1) if refs[j, :, q].any() else [1, 0, 0, 0]
        fa, rfa = prefix + ".fa", prefix + "_refs.fa"
        tm.write_fasta(fa, tm.onehot_to_seqs(x))
        tm.write_fasta(rfa, tm.onehot_to_seqs(refs), ["ref%d" % i for i in range(len(refs))])
        refs = refs.reshape(N_SEQS, K, 4, L)
        dl = td.DeepLiftRescale(net, ["p"], post_activation=True)
        for target in ("p:0", "p:2"):
            out = os.path.join(self.dir, "post_sigmoid_" + target[-1])
            cmd = [SEQLIFT, "score", "-m", prefix + ".json", "-s", fa, "--refs", "fasta:%s:%d" % (rfa, K),
                   "--method", "rescale", "--post-activation", "--target", target, "--npz", out,
                   "--tsv", out + ".tsv"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, "%s\n%s" % (" ".join(cmd), p.stderr))
            contrib = np.load(out + ".contrib.npz")["arr_0"]
            hyp = np.load(out + ".hyp.npz")["arr_0"]
            header, rows = read_tsv(out + ".tsv")
            for i in range(N_SEQS):
                w = dl.attribute(x[i], refs[i], target)
                self.assert_per_base(contrib[i], w["projected"], "post-sigmoid %s seq %d contrib" % (target, i), "post")
                self.assert_per_base(hyp[i], w["hyp"], "post-sigmoid %s seq %d hyp" % (target, i), "post")
                self.assertAlmostEqual(float(rows[i][col(header, "output")]), w["out_x"], delta=1e-6)
        print("\npost-sigmoid: worst per-base |seqlift - PyTorch float64| / region's max |score| %.2g"
              % self.worst["post"], file=sys.stderr)

    def test_chrombpnet_predict(self):
        model, names, prefix, x, refs, fa, rfa = self.data["chrombpnet_small"]
        out = os.path.join(self.dir, "chrombpnet_predict.tsv")
        p = subprocess.run([SEQLIFT, "predict", "-m", prefix + ".json", "-s", fa, "-o", out],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(prefix + ".json") as f:
            graph = json.load(f)
        got = predict_outputs(out, graph, N_SEQS)
        want = torch_outputs(copy.deepcopy(model).double(), x.astype(np.float64), names)
        for n in names:
            w = want[n].reshape(N_SEQS, -1)
            self.assertLess(np.abs(got[n] - w).max(), 1e-5 * max(1.0, np.abs(w).max()), n)


if __name__ == "__main__":
    unittest.main()
