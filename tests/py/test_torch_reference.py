"""The PyTorch float64 reference itself (scripts/torch_deeplift.py), for the rules of
issue 12 that the C engine is to match (CI cannot fetch the peers, so the peers'
figures are in scripts/peer_parity.py's output, not here):

* the cross-max max-pool rule (shap/tangermeme/captum) sums to delta; cross, summation
  and gradient are equal where the input's and the reference's argmaxes coincide; its
  edge cases on one window (all of Δy to the larger side, |Δx| < 1e-7 takes the gradient);
* integrated gradients: riemann-middle and gauss-legendre converge to each other and
  to the exact output difference (completeness);
* the `log` op: its Rescale multiplier tends to the derivative, and with Δx = 0 the
  multipliers of ChromBPNet's counts equal finite differences of the model;
* projected contributions: hyp × one-hot; Σ projected + n_part = Σ contrib = Δ output;
* ISM: the brute-force change per base, mean-centred; projected at the observed base;
* reverse-complement averaging: equals the plain scores on a strand-symmetric model;
  averaging the scores of revcomp(x) gives revcomp of x's; sums to the mean Δ;
* bpnet-lite's BPNet and ChromBPNet (architecture from bpnetlite/bpnet.py and
  bpnetlite/chrombpnet.py) export: log as its own layer, the numpy interpreter of the
  format reproduces PyTorch, and `seqlift predict` does for BPNet (ChromBPNet needs the
  `log` op in the engine: tests/py/test_peer_parity.py).
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
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)
import export_torch as ex  # noqa: E402
import torch_deeplift as td  # noqa: E402
import torch_models as tm  # noqa: E402
from test_export import (np_forward, predict_outputs, run_seqlift, seqlift_implements,  # noqa: E402
                         torch_outputs)

TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()


def data(length, n_refs, seed, n_frac=0.03):
    x = tm.random_onehot(1, length, seed=seed, n_frac=n_frac)[0].astype(np.float64)
    refs = tm.random_onehot(n_refs, length, seed=seed + 1, n_frac=0.0).astype(np.float64)
    return x, refs


def assert_sums_to_delta(tc, r, rtol=1e-9, what=""):
    d = r["out_x"] - np.asarray(r["out_refs"])
    np.testing.assert_allclose(r["sums"], d, rtol=rtol, atol=1e-12 * max(1.0, np.abs(d).max()), err_msg=what)


class PoolNet(nn.Module):
    """conv/ReLU/overlapping max pool with padding, conv/ReLU/max pool, global max pool,
    dense; no biases, so a reference c·x (c > 0) keeps every argmax of x."""

    def __init__(self):
        super().__init__()
        self.c1, self.r1 = nn.Conv1d(4, 6, 5, bias=False), nn.ReLU()
        self.p1 = nn.MaxPool1d(4, stride=2, padding=1)
        self.c2, self.r2, self.p2 = nn.Conv1d(6, 6, 3, bias=False), nn.ReLU(), nn.MaxPool1d(3)
        self.gmp = nn.AdaptiveMaxPool1d(1)
        self.fc = nn.Linear(6 * 7 + 6, 2, bias=False)

    def forward(self, x):
        h = self.p2(self.r2(self.c2(self.p1(self.r1(self.c1(x))))))
        return self.fc(torch.cat([h.flatten(1), self.gmp(h).flatten(1)], dim=1))


def pool_net(seed=0):
    torch.manual_seed(seed)
    return PoolNet().double().eval()


class TestMaxPoolRules(unittest.TestCase):
    def test_cross_sums_to_delta(self):
        for key, target in (("convpool", "logits:0"), ("convpool_overlap", "logits:1"),
                            ("small", "logit:2"), ("functional", "z:1")):
            f, L, names = tm.MODELS[key]
            dl = td.DeepLiftRescale(f(seed=4), names, "cross")
            for seed in (1, 2):
                x, refs = data(L, 3, seed)
                assert_sums_to_delta(self, dl.attribute(x, refs, target), what="%s %s" % (key, target))

    def test_rules_equal_where_argmaxes_coincide(self):
        net = pool_net(1)
        x, _ = data(50, 1, 5, n_frac=0.0)
        refs = np.stack([0.5 * x, 0.2 * x, 0.9 * x])  # every pool picks the same positions
        res = {rule: td.DeepLiftRescale(net, ["y"], rule).attribute(x, refs, "y:0") for rule in td.MAXPOOL_RULES}
        for rule in ("summation", "gradient"):
            np.testing.assert_allclose(res[rule]["mult"], res["cross"]["mult"], rtol=1e-12, atol=1e-14,
                                       err_msg=rule)
        assert_sums_to_delta(self, res["gradient"])
        # and they differ once the argmaxes do not coincide
        x, refs = data(50, 3, 6, n_frac=0.0)
        a, b = (td.DeepLiftRescale(net, ["y"], r).attribute(x, refs, "y:0")["contrib"] for r in ("cross", "summation"))
        self.assertGreater(np.abs(a - b).max(), 1e-3 * np.abs(a).max())

    def _one_window(self, xin, xref, rule):
        """Multipliers of one pool window (kernel = length) for upstream multiplier 1."""
        t = torch.tensor([[xin], [xref]], dtype=torch.float64, requires_grad=True)
        y = td._MaxPool.apply(t, len(xin), len(xin), 0, 1, rule)
        y[:1].sum().backward()
        return t.grad[0, 0].numpy()

    def test_cross_rule_one_window(self):
        # x's max 3 at 1 >= r's max 2 at 2: all of Δy = 1 to position 1 (Δx = 3 - 0.5)
        m = self._one_window([1.0, 3.0, 0.0], [0.0, 0.5, 2.0], "cross")
        np.testing.assert_allclose(m, [0.0, 1.0 / 2.5, 0.0], rtol=1e-15)
        # r's max is larger: all of Δy = 1 - 4 to r's argmax 0 (Δx = 1 - 4 there)
        m = self._one_window([1.0, 0.5, 0.0], [4.0, 0.0, 0.0], "cross")
        np.testing.assert_allclose(m, [1.0, 0.0, 0.0], rtol=1e-15)
        # |Δx| < 1e-7 at x's argmax (r's max is 1e-9 larger, at the same position): the
        # gradient (1) there, not the secant
        m = self._one_window([0.0, 2.0], [1.0, 2.0 + 1e-9], "cross")
        np.testing.assert_allclose(m, [0.0, 1.0])
        # ties: the first maximal position (PyTorch's max_pool1d indices), for x and r
        m = self._one_window([3.0, 3.0, 1.0], [0.0, 0.0, 0.0], "cross")
        np.testing.assert_allclose(m, [1.0, 0.0, 0.0])

    def test_cross_overlapping_windows_accumulate(self):
        # kernel 2 stride 1: position 1 is x's argmax of both windows, r's argmaxes 0 and 2
        t = torch.tensor([[[0.0, 5.0, 0.0]], [[1.0, 0.0, 1.0]]], dtype=torch.float64, requires_grad=True)
        y = td._MaxPool.apply(t, 2, 1, 0, 1, "cross")
        y[:1].sum().backward()
        np.testing.assert_allclose(t.grad[0, 0].numpy(), [0.0, 2 * (5.0 - 1.0) / 5.0, 0.0], rtol=1e-15)

    def test_pool_rules_override(self):
        f, L, names = tm.MODELS["convpool"]
        m = f(seed=1)
        x, refs = data(L, 2, 7)
        a = td.DeepLiftRescale(m, names, "cross", pool_rules={"pool1": "gradient", "pool2": "gradient"})
        b = td.DeepLiftRescale(m, names, "gradient")
        np.testing.assert_array_equal(a.attribute(x, refs, "logits:0")["mult"], b.attribute(x, refs, "logits:0")["mult"])


class SmoothNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.sp = nn.Conv1d(4, 6, 5), nn.Softplus()
        self.c2, self.th = nn.Conv1d(6, 3, 3), nn.Tanh()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.th(self.c2(self.sp(self.c1(x)))).mean(-1))


class TestIntegratedGradients(unittest.TestCase):
    def test_rules_converge(self):
        torch.manual_seed(3)
        net = SmoothNet().double().eval()
        dl = td.DeepLiftRescale(net, ["y"])
        x, refs = data(40, 2, 8)
        gl = {n: dl.integrated_gradients(x, refs, "y:0", n, "gauss-legendre") for n in (4, 16, 32)}
        rm = {n: dl.integrated_gradients(x, refs, "y:0", n, "riemann-middle") for n in (16, 64, 256)}
        d = gl[32]["out_x"] - gl[32]["out_refs"]
        # completeness: Σ IG = Δ output, Gauss–Legendre to float64, Riemann-midpoint O(1/n²)
        np.testing.assert_allclose(gl[32]["sums"], d, rtol=1e-10)
        errs = [np.abs(rm[n]["sums"] - d).max() / np.abs(d).max() for n in (16, 64, 256)]
        self.assertLess(errs[2], 1e-4)
        self.assertLess(errs[2], errs[1] / 8)
        self.assertLess(errs[1], errs[0] / 8)
        # per base, the two rules agree (midpoint error ~1/n² against Gauss–Legendre)
        scale = np.abs(gl[32]["contrib"]).max()
        self.assertLess(np.abs(rm[256]["contrib"] - gl[32]["contrib"]).max(), 1e-4 * scale)
        self.assertLess(np.abs(gl[16]["contrib"] - gl[32]["contrib"]).max(), 1e-9 * scale)

    def test_nodes(self):
        a, w = td.ig_nodes(5, "riemann-middle")
        np.testing.assert_allclose(a, [0.1, 0.3, 0.5, 0.7, 0.9])
        a, w = td.ig_nodes(7, "gauss-legendre")
        self.assertAlmostEqual(w.sum(), 1.0, places=14)
        self.assertAlmostEqual((w * a ** 9).sum(), 0.1, places=14)  # exact up to degree 13


class TestLog(unittest.TestCase):
    def test_rescale_multiplier_of_log(self):
        x = torch.tensor([[2.0, 0.3, 5.0]], dtype=torch.float64)
        for r, want in ((torch.tensor([[1.0, 0.1, 5.0]], dtype=torch.float64), None),
                        (x + 1e-9, 1.0 / (x + 1e-9))):
            t = torch.cat([x, r]).requires_grad_(True)
            td._Rescale.apply(t, torch.log, 1)[:1].sum().backward()
            m = t.grad[0]
            if want is None:
                sec = (torch.log(x) - torch.log(r)) / (x - r)
                np.testing.assert_allclose(m[:2].numpy(), sec[0, :2].numpy(), rtol=1e-14)
                self.assertAlmostEqual(float(m[2]), 1 / 5.0, places=14)  # Δx = 0: 1/r
            else:
                np.testing.assert_allclose(m.numpy(), want[0].numpy(), rtol=1e-12)

    def test_chrombpnet_multipliers_at_zero_delta_are_finite_differences(self):
        f, L, names = tm.MODELS["chrombpnet_small"]
        model = f(seed=5).double()
        x, _ = data(L, 1, 10)
        r = td.DeepLiftRescale(model, names).attribute(x, x[None], "count")
        h = 1e-6
        pos = [3, 50, 100, 150, 196]
        xt = torch.tensor(x)
        fd = np.zeros((4, len(pos)))
        with torch.no_grad():
            for j, p in enumerate(pos):
                for c in range(4):
                    up, dn = xt.clone(), xt.clone()
                    up[c, p] += h
                    dn[c, p] -= h
                    fd[c, j] = float(model(up[None])[1] - model(dn[None])[1]) / (2 * h)
        # central differences in float64: ~1e-10 absolute rounding error at h = 1e-6
        np.testing.assert_allclose(r["mult"][0][:, pos], fd, rtol=1e-6, atol=1e-9)

    def test_chrombpnet_counts_sum_to_delta(self):
        f, L, names = tm.MODELS["chrombpnet_small"]
        dl = td.DeepLiftRescale(f(seed=6), names)
        x, refs = data(L, 3, 11)
        for target in ("count", "profile:profile"):
            assert_sums_to_delta(self, dl.attribute(x, refs, target), what=target)


class TestProjectedIsmRc(unittest.TestCase):
    def test_projected_and_n_part(self):
        f, L, names = tm.MODELS["convpool"]
        dl = td.DeepLiftRescale(f(seed=3), names)
        x, refs = data(L, 3, 12, n_frac=0.05)
        r = dl.attribute(x, refs, "logits:1")
        is_n = x.sum(0) == 0
        self.assertTrue(is_n.any())
        np.testing.assert_array_equal(r["projected"], r["hyp"] * x)
        self.assertTrue((r["projected"][:, is_n] == 0).all())
        # per position, projected at the observed base = Σ_c contrib there
        np.testing.assert_allclose(r["projected"].sum(0)[~is_n], r["contrib"].sum(0)[~is_n], rtol=1e-10, atol=1e-15)
        self.assertAlmostEqual(r["n_part"], r["contrib"][:, is_n].sum(), places=14)
        d = r["out_x"] - r["out_refs"].mean()
        self.assertAlmostEqual(r["projected"].sum() + r["n_part"], d, delta=1e-10 * abs(d))
        self.assertGreater(abs(r["n_part"]), 0.0)

    def test_ism_brute_force(self):
        f, L, names = tm.MODELS["convpool"]
        model = f(seed=4).double()
        x, _ = data(L, 1, 13, n_frac=0.03)
        r = td.DeepLiftRescale(model, names).ism(x, "logits:0")
        y = lambda s: float(model(torch.tensor(s[None]))[0, 0])
        with torch.no_grad():
            y0 = y(x)
            for p in [0, 7, int(np.argmin(x.sum(0))), 199]:
                ch = []
                for b in range(4):
                    m = x.copy()
                    m[:, p] = 0
                    m[b, p] = 1
                    ch.append(y(m) - y0 if x[b, p] != 1 else 0.0)
                ch = np.array(ch) - np.mean(ch)
                np.testing.assert_allclose(r["hyp"][:, p], ch, rtol=1e-10, atol=1e-13)
                np.testing.assert_allclose(r["projected"][:, p], ch * x[:, p], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(r["hyp"].sum(0), 0, atol=1e-12)

    def _symmetric(self):
        class Sym(nn.Module):
            """f(x) = h(x) + h(revcomp(x)): strand-symmetric."""

            def __init__(self):
                super().__init__()
                self.h = tm.conv_pool(seed=7)

            def forward(self, x):
                return self.h(x) + self.h(torch.flip(x, (1, 2)))
        return Sym().double().eval()

    def test_rc_average_on_strand_symmetric_model(self):
        dl = td.DeepLiftRescale(self._symmetric(), ["y"])
        x, refs = data(200, 3, 14)
        for method in ("attribute", "integrated_gradients"):
            run = getattr(dl, method)
            plain, avg = run(x, refs, "y:0"), run(x, refs, "y:0", rc=True)
            for key in ("contrib", "hyp", "projected"):
                np.testing.assert_allclose(avg[key], plain[key], rtol=1e-9, atol=1e-13, err_msg=method + key)
        plain, avg = dl.ism(x, "y:0"), dl.ism(x, "y:0", rc=True)
        np.testing.assert_allclose(avg["projected"], plain["projected"], rtol=1e-9, atol=1e-13)

    def test_rc_average_is_strand_symmetric(self):
        f, L, names = tm.MODELS["convpool"]
        dl = td.DeepLiftRescale(f(seed=8), names)
        x, refs = data(L, 3, 15)
        a = dl.attribute(x, refs, "logits:0", rc=True)
        b = dl.attribute(td.revcomp(x), td.revcomp(refs), "logits:0", rc=True)
        np.testing.assert_allclose(td.revcomp(b["contrib"]), a["contrib"], rtol=1e-12, atol=1e-15)
        self.assertAlmostEqual(a["out_x"], b["out_x"], places=12)
        # target = mean of the two strands' predictions; summation-to-delta on that mean
        fwd, rev = a["fwd"], a["rev"]
        self.assertAlmostEqual(a["out_x"], 0.5 * (fwd["out_x"] + rev["out_x"]), places=14)
        assert_sums_to_delta(self, a)
        d = a["out_x"] - a["out_refs"].mean()
        self.assertAlmostEqual(a["contrib"].sum(), d, delta=1e-10 * abs(d))
        self.assertGreater(np.abs(fwd["contrib"] - td.revcomp(rev["contrib"])).max(), 1e-6)

    def test_revcomp(self):
        x = tm.onehot("ACGGTN")
        self.assertEqual(tm.onehot_to_seqs(td.revcomp(x[None]))[0], "NACCGT")


class TestPostActivation(unittest.TestCase):
    def test_post_sigmoid_sums_to_delta(self):
        """Scored after the sigmoid (a reference for `--post-activation`, issue 12 item 6):
        exact in float64 and different from the logit scores."""
        net = nn.Sequential(nn.Conv1d(4, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26, 2), nn.Sigmoid())
        torch.manual_seed(2)
        x, refs = data(30, 3, 16)
        post = td.DeepLiftRescale(net, ["p"], post_activation=True).attribute(x, refs, "p:1")
        logit = td.DeepLiftRescale(net, ["p"]).attribute(x, refs, "p:1")
        assert_sums_to_delta(self, post)
        with torch.no_grad():
            p = net.double()(torch.tensor(x[None]))[0, 1]
        self.assertAlmostEqual(post["out_x"], float(p), places=14)
        self.assertGreater(np.abs(post["contrib"] - logit["contrib"]).max(), 1e-6)


class TestBpnetLiteExport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="test_torch_reference_", dir=TMP if os.path.isdir(TMP) else None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_chrombpnet_graph_and_numpy_forward(self):
        for key in ("chrombpnet_small", "bpnetlite"):
            f, L, names = tm.MODELS[key]
            model = f(seed=9)
            prefix = os.path.join(self.dir, key)
            graph = ex.export_model(model, prefix, L, names)
            with open(prefix + ".json") as fh:
                self.assertEqual(json.load(fh), graph)
            ops = [ly["op"] for ly in graph["layers"]]
            if key == "chrombpnet_small":
                # counts: exp(acc), exp(bias), add, log — the log layer as LOG_OP_SPEC writes it
                count = [o["layer"] for o in graph["outputs"] if o["name"] == "count"][0]
                log = [ly for ly in graph["layers"] if ly["name"] == count][0]
                self.assertEqual(set(log), set(ex.LOG_OP_SPEC["layer"]))
                self.assertEqual(log["op"], "log")
                add = [ly for ly in graph["layers"] if ly["name"] == log["inputs"][0]][0]
                self.assertEqual(add["op"], "add")
                self.assertEqual([ly["op"] for ly in graph["layers"] if ly["name"] in add["inputs"]], ["exp", "exp"])
                self.assertEqual(ops.count("log"), 1)
            else:
                self.assertNotIn("log", ops)
            x = tm.random_onehot(2, L, seed=3, n_frac=0.03)
            got = np_forward(graph, ex.read_safetensors(prefix + ".safetensors"), x.transpose(0, 2, 1))
            want = torch_outputs(copy.deepcopy(model).double(), x.astype(np.float64), names)
            for n in names:
                np.testing.assert_allclose(got[n], want[n], rtol=1e-9, atol=1e-10, err_msg="%s/%s" % (key, n))

    def test_cli_methods(self):
        fa, prefix = os.path.join(self.dir, "cli.fa"), os.path.join(self.dir, "cli")
        tm.write_fasta(fa, tm.onehot_to_seqs(tm.random_onehot(2, 200, seed=5, n_frac=0.03)))
        script = os.path.join(os.path.dirname(td.__file__), "torch_deeplift.py")
        for opts in (["--method", "rescale", "--rc", "average"],
                     ["--method", "integrated-gradients", "--ig-rule", "gauss-legendre", "--ig-steps", "4"],
                     ["--method", "ism"]):
            r = subprocess.run([sys.executable, script, tm.__file__ + ":conv_pool", "-", "-s", fa,
                                "--outputs", "logits", "--target", "logits:0", "--refs", "dinuc:2",
                                "--npz", prefix] + opts, capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = [l.split("\t") for l in r.stdout.splitlines() if not l.startswith("#")]
            self.assertEqual(len(rows), 2)
            if opts[1] == "rescale":
                self.assertTrue(all(float(row[5]) < 1e-9 for row in rows), r.stdout)
            x = np.load(prefix + ".ohe.npz")["arr_0"]
            proj = np.load(prefix + ".projected.npz")["arr_0"]
            self.assertEqual(proj.shape, (2, 4, 200))
            self.assertTrue((proj[x == 0] == 0).all())

    def test_bpnetlite_seqlift_predict(self):
        if not seqlift_implements("predict"):
            self.skipTest("seqlift predict is not implemented yet")
        f, L, names = tm.MODELS["bpnetlite"]
        model = f(seed=10)
        prefix = os.path.join(self.dir, "bpl")
        graph = ex.export_model(model, prefix, L, names)
        x = tm.random_onehot(2, L, seed=4, n_frac=0.03)
        fa, out = prefix + ".fa", prefix + ".tsv"
        tm.write_fasta(fa, tm.onehot_to_seqs(x))
        r = run_seqlift("predict", "-m", prefix + ".json", "-s", fa, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = predict_outputs(out, graph, len(x))
        want = torch_outputs(copy.deepcopy(model).double(), x.astype(np.float64), names)
        for n in names:
            w = want[n].reshape(len(x), -1)
            scale = max(1.0, np.abs(w).max())
            self.assertLess(np.abs(got[n] - w).max(), 1e-5 * scale, n)


if __name__ == "__main__":
    unittest.main()
