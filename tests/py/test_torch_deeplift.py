"""`seqlift score --method rescale` against an independent PyTorch DeepLIFT
(scripts/torch_deeplift.py: autograd with the Rescale multiplier substituted for each
nonlinearity's derivative) on the same weights:

* contributions and hypothetical contributions (PREFIX.contrib.npz / PREFIX.hyp.npz,
  arr_0 (regions, 4, length) float32) equal PyTorch's per base within 1e-4 relative;
* PREFIX.ohe.npz is the one-hot input;
* the TSV's output on the input and on the references match PyTorch, and
  summation-to-delta holds (≤ 1e-4 relative) on the BPNet-like and Basset-like models:
  seqlift's Σ contributions against PyTorch's float64 output difference.

The PyTorch reference itself is checked for summation-to-delta (float64) first.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import export_torch as ex  # noqa: E402
import torch_deeplift as td  # noqa: E402
import torch_models as tm  # noqa: E402

SEQLIFT = os.environ.get("SEQLIFT")
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
N_SEQS, K = 3, 4

# (model, target, maxpool rule)
CASES = [
    ("bpnet", "count", "summation"),
    ("bpnet", "profile:profile", "summation"),
    ("basset", "logits:3", "summation"),
    ("basset", "logits:3", "gradient"),
    ("small", "logit:0", "summation"),
    ("small", "probs:1", "summation"),
    ("small", "track:1", "summation"),
    ("functional", "probs:0", "summation"),
    ("functional", "seq:2", "summation"),
]


def export_case(directory, key, seed, x_seed, n_seqs, k):
    """Exports tm.MODELS[key] (weights seeded by seed) to directory/key.{json,safetensors}
    and writes n_seqs random inputs (seed x_seed, 3% N) and k references for each (seed
    x_seed + 1) as FASTA. Returns (model, names, prefix, x (n, 4, L), refs (n, k, 4, L),
    inputs.fa, refs.fa)."""
    factory, length, names = tm.MODELS[key]
    model = factory(seed=seed)
    prefix = os.path.join(directory, key)
    ex.export_model(model, prefix, length, names)
    x = tm.random_onehot(n_seqs, length, seed=x_seed, n_frac=0.03)
    refs = tm.random_onehot(n_seqs * k, length, seed=x_seed + 1, n_frac=0.0)
    fa, rfa = prefix + ".fa", prefix + "_refs.fa"
    tm.write_fasta(fa, tm.onehot_to_seqs(x))
    tm.write_fasta(rfa, tm.onehot_to_seqs(refs), ["ref%d" % i for i in range(len(refs))])
    return model, names, prefix, x, refs.reshape(n_seqs, k, 4, length), fa, rfa


def seqlift_score_ready():
    if not SEQLIFT or not os.path.exists(SEQLIFT):
        return False
    r = subprocess.run([SEQLIFT, "score"], capture_output=True, text=True, timeout=60)
    return "not implemented" not in r.stderr


def read_tsv(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("# ")]
    header = [h.lstrip("#").strip().lower() for h in lines[0]]
    return header, lines[1:]


def column(header, *keys):
    """Index of the first column whose name contains every key (case-insensitive)."""
    for j, h in enumerate(header):
        if all(k in h for k in keys):
            return j
    raise AssertionError("no TSV column matching %s in %s" % (keys, header))


class TestTorchDeepLift(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="test_torch_deeplift_", dir=TMP if os.path.isdir(TMP) else None)
        cls.data = {key: export_case(cls.dir, key, 2, 11, N_SEQS, K) for key in sorted({c[0] for c in CASES})}

    def torch_scores(self, key, target, rule):
        model, names, prefix, x, refs, fa, rfa = self.data[key]
        dl = td.DeepLiftRescale(model, names, rule, torch.float64)
        return [dl.attribute(x[i], refs[i], target) for i in range(N_SEQS)]

    def test_reference_sums_to_delta(self):
        """The PyTorch reference is itself exact (float64) with the summation max pool."""
        for key, target, rule in CASES:
            if rule != "summation":
                continue
            for r in self.torch_scores(key, target, rule):
                d = r["out_x"] - r["out_refs"]
                np.testing.assert_allclose(r["sums"], d, rtol=1e-9, atol=1e-12,
                                           err_msg="%s %s" % (key, target))

    def test_reference_rescale_equals_grad_times_input_for_relu_net(self):
        """Zero biases and a zero reference on a ReLU conv net: Rescale = gradient × input."""
        net = torch.nn.Sequential(torch.nn.Conv1d(4, 6, 5), torch.nn.ReLU(), torch.nn.Conv1d(6, 3, 3),
                                  torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 24, 1))
        for m in net.modules():
            if hasattr(m, "bias") and m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        x = tm.random_onehot(1, 30, seed=5, n_frac=0)[0]
        r = td.DeepLiftRescale(net, ["y"]).attribute(x, np.zeros((1, 4, 30)), "y")
        xt = torch.tensor(x[None], dtype=torch.float64, requires_grad=True)
        net.double()(xt).sum().backward()
        np.testing.assert_allclose(r["contrib"], (xt.grad * xt).detach().numpy()[0], rtol=1e-9, atol=1e-12)

    def test_seqlift_score_matches_torch(self):
        if not seqlift_score_ready():
            self.skipTest("seqlift score is not implemented yet")
        worst = {}
        for key, target, rule in CASES:
            with self.subTest(model=key, target=target, maxpool=rule):
                model, names, prefix, x, refs, fa, rfa = self.data[key]
                out = os.path.join(self.dir, "%s_%s_%s" % (key, target.replace(":", "_"), rule))
                cmd = [SEQLIFT, "score", "-m", prefix + ".json", "-s", fa, "--method", "rescale",
                       "--refs", "fasta:%s:%d" % (rfa, K), "--target", target, "--maxpool", rule,
                       "--npz", out, "--tsv", out + ".tsv"]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                self.assertEqual(p.returncode, 0, "%s\n%s" % (" ".join(cmd), p.stderr))
                want = self.torch_scores(key, target, rule)
                ohe = np.load(out + ".ohe.npz")["arr_0"]
                contrib = np.load(out + ".contrib.npz")["arr_0"]
                hyp = np.load(out + ".hyp.npz")["arr_0"]
                L = x.shape[2]
                for arr in (ohe, contrib, hyp):
                    self.assertEqual(arr.shape, (N_SEQS, 4, L))
                    self.assertEqual(arr.dtype, np.float32)
                np.testing.assert_array_equal(ohe, x)
                for i, w in enumerate(want):
                    for name, got, ref in (("contrib", contrib[i], w["projected"]), ("hyp", hyp[i], w["hyp"])):
                        # per base: 1e-4 relative, with a floor of 1e-5 of the region's largest score
                        # for bases whose score is float32 rounding noise
                        scale = np.abs(ref).max()
                        bad = np.abs(got - ref) > 1e-4 * np.abs(ref) + 1e-5 * scale
                        if bad.any():
                            j = tuple(np.argwhere(bad)[0])
                            self.fail("%s %s %s seq %d %s: %d bases differ, first %s: seqlift %.7g, "
                                      "PyTorch %.7g (max |diff| %.3g, max |score| %.3g)"
                                      % (key, target, rule, i, name, bad.sum(), j, got[j], ref[j],
                                         np.abs(got - ref).max(), scale))
                header, rows = read_tsv(out + ".tsv")
                self.assertEqual(len(rows), N_SEQS)
                jout, jref = column(header, "output"), column(header, "ref")
                jsum, jerr = column(header, "sum"), column(header, "err")
                # float32 forward passes are good to ~1e-5 of max(1, |output|)
                scale = max(1.0, max(abs(w["out_x"]) for w in want))
                for i, w in enumerate(want):
                    row = rows[i]
                    # outputs on the input and (mean) on the references: float32 forward passes
                    self.assertAlmostEqual(float(row[jout]), w["out_x"], delta=1e-5 * scale)
                    self.assertAlmostEqual(float(row[jref]), w["out_refs"].mean(), delta=1e-5 * scale)
                    s = float(row[jsum])
                    self.assertAlmostEqual(s, float(contrib[i].sum(dtype=np.float64)),
                                           delta=1e-5 * abs(s) + 1e-6 * scale)
                    # contrib.npz is projected (hyp × one-hot): the N positions' part is n_part
                    npart = float(row[column(header, "n_part")])
                    self.assertAlmostEqual(npart, w["n_part"], delta=1e-5 * abs(w["n_part"]) + 1e-6 * scale)
                    s += npart
                    if rule == "summation":
                        # summation-to-delta against the exact (float64) output difference
                        d = w["out_x"] - w["out_refs"].mean()
                        self.assertLessEqual(abs(s - d), 1e-4 * abs(d) + 1e-6 * scale,
                                             "%s %s seq %d: Σ contributions %.9g, Δ output %.9g"
                                             % (key, target, i, s, d))
                        # seqlift's own check uses its float32 Δ (noisier than its contributions
                        # when outputs cancel); it warns above 1e-3
                        err = float(row[jerr])
                        self.assertLessEqual(err, 1e-3, "%s %s seq %d: reported error %g" % (key, target, i, err))
                        k = "%s %s" % (key, target)
                        w0 = worst.get(k, (0.0, 0.0))
                        worst[k] = (max(w0[0], abs(s - d) / abs(d)), max(w0[1], err))
        print("\nworst relative summation-to-delta error: Σ contributions vs float64 Δ / "
              "seqlift's own delta_error column", file=sys.stderr)
        for k, (a, b) in worst.items():
            print("  %-24s %.2g / %.2g" % (k, a, b), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
