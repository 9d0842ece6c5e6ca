"""PyTorch exporter tests: the exported graph means what the PyTorch model computes.

1. A small numpy interpreter of docs/model-format.md runs each exported JSON +
   safetensors and must reproduce PyTorch (checks the exporter alone).
2. `$SEQLIFT predict` on the exported files must reproduce PyTorch on every output
   within 1e-5 relative + 1e-6 absolute (checks the C engine against PyTorch).
   The reference is PyTorch in float64 (the model's exact value): float32 PyTorch itself
   is off by up to ~3e-6 of the output's scale on the 1000-term sums of these models, so
   the absolute term is 1e-6 in units of the output's largest magnitude (max(1, max|y|)).
3. Unsupported modules/functions raise ExportError naming them; F16/BF16 weights.
"""
import copy
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import export_torch as ex  # noqa: E402
import torch_models as tm  # noqa: E402

SEQLIFT = os.environ.get("SEQLIFT")
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
N_SEQS = 5


# ---- numpy interpreter of the model format (float64, layout [n][len][ch]) ----------

_erf = np.vectorize(math.erf)


def np_forward(graph, weights, x):
    """x: (n, L, 4). Returns {output name: (n, len, ch)}."""
    acts = {graph["input"]["name"]: x.astype(np.float64)}
    W = lambda name: weights[name].astype(np.float64)
    for ly in graph["layers"]:
        ins = [acts[i] for i in ly["inputs"]]
        a = ins[0]
        op = ly["op"]
        if op == "conv1d":
            w = W(ly["weight"])  # [out][in][k]
            k, s, d = ly["kernel_size"], ly.get("stride", 1), ly.get("dilation", 1)
            p = ly.get("padding", 0)
            if p == "valid":
                pl = pr = 0
            elif p == "same":
                tot = d * (k - 1)
                pl, pr = tot // 2, tot - tot // 2
            elif isinstance(p, list):
                pl, pr = p
            else:
                pl = pr = p
            a = np.pad(a, ((0, 0), (pl, pr), (0, 0)))
            lout = (a.shape[1] - d * (k - 1) - 1) // s + 1
            y = np.zeros((a.shape[0], lout, w.shape[0]))
            for j in range(k):
                y += a[:, j * d: j * d + s * (lout - 1) + 1: s, :] @ w[:, :, j].T
            if ly.get("bias"):
                y += W(ly["bias"])
        elif op in ("linear", "dense"):
            assert a.shape[1] == 1
            y = a @ W(ly["weight"]).T
            if ly.get("bias"):
                y += W(ly["bias"])
        elif op == "batchnorm":
            y = (a - W(ly["running_mean"])) / np.sqrt(W(ly["running_var"]) + ly.get("eps", 1e-5)) \
                * W(ly["weight"]) + W(ly["bias"])
        elif op == "relu":
            y = np.maximum(a, 0)
        elif op == "sigmoid":
            y = 1 / (1 + np.exp(-a))
        elif op == "tanh":
            y = np.tanh(a)
        elif op == "exp":
            y = np.exp(a)
        elif op == "log":
            y = np.log(a)
        elif op == "gelu":
            y = 0.5 * a * (1 + _erf(a / math.sqrt(2)))
        elif op == "softplus":
            b, t = ly.get("beta", 1.0), ly.get("threshold", 20.0)
            y = np.where(a * b > t, a, np.log1p(np.exp(np.minimum(a * b, t))) / b)
        elif op == "elu":
            al = ly.get("alpha", 1.0)
            y = np.where(a > 0, a, al * (np.exp(np.minimum(a, 0)) - 1))
        elif op in ("maxpool1d", "avgpool1d"):
            k = ly["kernel_size"]
            s, p = ly.get("stride", k), ly.get("padding", 0)
            fill = -np.inf if op == "maxpool1d" else 0.0
            ap = np.pad(a, ((0, 0), (p, p), (0, 0)), constant_values=fill)
            cnt = np.pad(np.ones(a.shape[1]), (p, p))
            lout = (ap.shape[1] - k) // s + 1
            y = np.zeros((a.shape[0], lout, a.shape[2]))
            for t in range(lout):
                win = ap[:, t * s: t * s + k, :]
                if op == "maxpool1d":
                    y[:, t] = win.max(axis=1)
                else:
                    div = k if ly.get("count_include_pad", True) else cnt[t * s: t * s + k].sum()
                    y[:, t] = win.sum(axis=1) / div
        elif op == "global_avgpool":
            y = a.mean(axis=1, keepdims=True)
        elif op == "global_maxpool":
            y = a.max(axis=1, keepdims=True)
        elif op == "flatten":
            order = ly.get("order", "channel_first")
            y = (a.transpose(0, 2, 1) if order == "channel_first" else a).reshape(a.shape[0], 1, -1)
        elif op in ("dropout", "identity"):
            y = a
        elif op == "add":
            y = sum(ins)
        elif op == "concat":
            y = np.concatenate(ins, axis=2 if ly["axis"] == "channel" else 1)
        elif op == "crop":
            y = a[:, slice(ly["start"], ly["stop"]), :]
        elif op == "softmax":
            e = np.exp(a - a.max(axis=2, keepdims=True))
            y = e / e.sum(axis=2, keepdims=True)
        else:
            raise AssertionError("unknown op " + op)
        acts[ly["name"]] = y
    return {o["name"]: acts[o["layer"]] for o in graph["outputs"]}


def torch_outputs(model, x, names):
    """PyTorch outputs as {name: (n, len, ch)} in seqlift's layout (float64 numpy)."""
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    out = out if isinstance(out, (tuple, list)) else (out,)
    res = {}
    for n, t in zip(names, out):
        t = t.double().numpy()
        res[n] = t.transpose(0, 2, 1) if t.ndim == 3 else t[:, None, :]
    return res


def assert_close(tc, got, want, what, rtol=1e-5, atol=1e-6):
    tc.assertEqual(got.shape, want.shape, what)
    bad = np.abs(got - want) > atol + rtol * np.abs(want)
    if bad.any():
        i = np.argwhere(bad)[0]
        tc.fail("%s: %d of %d values differ; first at %s: got %.9g, want %.9g (max abs err %.3g)"
                % (what, bad.sum(), bad.size, tuple(i), got[tuple(i)], want[tuple(i)],
                   np.abs(got - want).max()))


def read_predict_tsv(path):
    """seqlift predict TSV -> (header, rows of str)."""
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("# ")]
    return lines[0], lines[1:]


def predict_outputs(tsv, graph, n):
    """{output name: (n, len, ch)} from the predict TSV; the columns of each output are
    named NAME (one value) or NAME[i] / NAME_i, i running over its [len][ch] values."""
    header, rows = read_predict_tsv(tsv)
    header = [h.lstrip("#") for h in header]
    if len(rows) != n:
        raise AssertionError("predict wrote %d rows for %d sequences" % (len(rows), n))
    res = {}
    for o in graph["outputs"]:
        cols = [j for j, h in enumerate(header)
                if h == o["name"] or h.startswith(o["name"] + "[") or h.startswith(o["name"] + "_")
                and h[len(o["name"]) + 1:].isdigit()]
        res[o["name"]] = np.array([[float(r[j]) for j in cols] for r in rows])
    return res


def run_seqlift(*args):
    return subprocess.run([SEQLIFT] + list(args), capture_output=True, text=True, timeout=120)


def seqlift_implements(cmd):
    if not SEQLIFT or not os.path.exists(SEQLIFT):
        return False
    r = run_seqlift(cmd)
    return "not implemented" not in r.stderr


class TestExport(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="test_export_", dir=TMP if os.path.isdir(TMP) else None)
        cls.models = {}
        for key in ("bpnet2", "basset", "small", "functional"):
            factory, length, names = tm.MODELS[key]
            model = factory(seed=1)
            prefix = os.path.join(cls.dir, key)
            graph = ex.export_model(model, prefix, length, names)
            x = tm.random_onehot(N_SEQS, length, seed=7, n_frac=0.03)
            cls.models[key] = (model, prefix, graph, x, names)

    def test_graph_files(self):
        for key, (model, prefix, graph, x, names) in self.models.items():
            with open(prefix + ".json") as f:
                g = json.load(f)
            self.assertEqual(g["format"], "seqlift-model")
            self.assertEqual(g["weights"], key + ".safetensors")
            self.assertEqual([o["name"] for o in g["outputs"]], names)
            st = ex.read_safetensors(prefix + ".safetensors")
            sd = model.state_dict()
            for ly in g["layers"]:
                for k in ("weight", "bias", "running_mean", "running_var"):
                    if ly.get(k) in sd:
                        np.testing.assert_array_equal(st[ly[k]], sd[ly[k]].numpy())
                    elif ly.get(k):  # BatchNorm1d(affine=False): identity scale and shift
                        self.assertEqual(ly["op"], "batchnorm")
                        np.testing.assert_array_equal(st[ly[k]], 1.0 if k == "weight" else 0.0)

    def test_numpy_interpreter_matches_torch(self):
        for key, (model, prefix, graph, x, names) in self.models.items():
            st = ex.read_safetensors(prefix + ".safetensors")
            got = np_forward(graph, st, x.transpose(0, 2, 1))
            want = torch_outputs(copy.deepcopy(model).double(), x.astype(np.float64), names)
            for n in names:
                assert_close(self, got[n], want[n], "%s/%s (numpy interpreter)" % (key, n), 1e-9, 1e-10)

    def test_seqlift_predict_matches_torch(self):
        if not seqlift_implements("predict"):
            self.skipTest("seqlift predict is not implemented yet")
        for key, (model, prefix, graph, x, names) in self.models.items():
            fa = os.path.join(self.dir, key + ".fa")
            tm.write_fasta(fa, tm.onehot_to_seqs(x))
            out = os.path.join(self.dir, key + ".tsv")
            r = run_seqlift("predict", "-m", prefix + ".json", "-s", fa, "-o", out, "--batch", "2")
            self.assertEqual(r.returncode, 0, "%s: seqlift predict failed: %s" % (key, r.stderr))
            got = predict_outputs(out, graph, len(x))
            want = torch_outputs(copy.deepcopy(model).double(), x.astype(np.float64), names)
            for n in names:
                w = want[n].reshape(len(x), -1)
                assert_close(self, got[n], w, "%s/%s (seqlift predict)" % (key, n),
                             atol=1e-6 * max(1.0, np.abs(w).max()))

    def test_half_precision_weights(self):
        model, prefix, graph, x, names = self.models["small"]
        for dt, tol in (("F16", 1e-3), ("BF16", 1e-2)):
            p = prefix + "_" + dt.lower()
            ex.export_model(model, p, 200, names, dtype=dt)
            with open(p + ".safetensors", "rb") as f:
                hlen = int.from_bytes(f.read(8), "little")
                hdr = json.loads(f.read(hlen))
            self.assertEqual({v["dtype"] for k, v in hdr.items() if k != "__metadata__"}, {dt})
            st = ex.read_safetensors(p + ".safetensors")
            for k, v in st.items():
                np.testing.assert_allclose(v, model.state_dict()[k].numpy(), rtol=tol, atol=tol)
            if not seqlift_implements("predict"):
                continue
            # seqlift converts on load: it must compute the model with the rounded weights
            rounded = copy.deepcopy(model).double()
            rounded.load_state_dict({k: torch.from_numpy(v) for k, v in st.items()}, strict=False)
            fa, out = p + ".fa", p + ".tsv"
            tm.write_fasta(fa, tm.onehot_to_seqs(x))
            r = run_seqlift("predict", "-m", p + ".json", "-s", fa, "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = predict_outputs(out, graph, len(x))
            want = torch_outputs(rounded, x.astype(np.float64), names)
            for n in names:
                w = want[n].reshape(len(x), -1)
                assert_close(self, got[n], w, "small/%s (%s weights)" % (n, dt),
                             atol=1e-6 * max(1.0, np.abs(w).max()))

    def test_unsupported_module_named(self):
        class Bad(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(4, 4, 3)
                self.lrelu = nn.LeakyReLU()

            def forward(self, x):
                return self.lrelu(self.conv(x))

        with self.assertRaisesRegex(ex.ExportError, r"module 'lrelu' \(LeakyReLU\)"):
            ex.export_model(Bad(), os.path.join(self.dir, "bad"), 50)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "bad.json")))

    def test_unsupported_function_named(self):
        class BadFn(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(4, 4, 3)

            def forward(self, x):
                return torch.sin(self.conv(x))

        with self.assertRaisesRegex(ex.ExportError, r"node 'sin'.*torch.*sin"):
            ex.export_model(BadFn(), os.path.join(self.dir, "badfn"), 50)

    def test_unsupported_conv_options(self):
        for conv in (nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"), nn.Conv1d(4, 4, 3, groups=2)):
            with self.assertRaisesRegex(ex.ExportError, r"module '0' \(Conv1d\)"):
                ex.export_model(nn.Sequential(conv), os.path.join(self.dir, "badconv"), 50)

    def test_cli(self):
        prefix = os.path.join(self.dir, "cli_small")
        script = os.path.join(os.path.dirname(ex.__file__), "export_torch.py")
        r = subprocess.run([sys.executable, script, tm.__file__ + ":small_mixed", "-", prefix,
                            "--length", "200", "--outputs", "a,b,c"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(prefix + ".json") as f:
            self.assertEqual([o["name"] for o in json.load(f)["outputs"]], ["a", "b", "c"])
        r = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--length", r.stdout)


if __name__ == "__main__":
    unittest.main()
