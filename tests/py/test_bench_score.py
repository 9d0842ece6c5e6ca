"""The measuring side of scripts/bench_score (issue 17), checked against independent numbers:

* the shapes it derives from a model JSON equal the shapes PyTorch produces (forward hooks
  on every module of the exported model: conv padding/stride/dilation, pools, concat,
  crops, flatten);
* its FLOP count per sequence is 2·M·N·K per GEMM layer the target depends on, 21 forward
  + 20 multiplier passes, and gives issue 17's figures: BPNet-like 15.8 GFLOP (the profile
  head, not on `count`'s path, left out), Basset-like 12.2;
* bench_sgemm builds, times a shape, rejects a bad line, and `--rss` reports the peak RSS
  of the command it runs, not of its (large) parent;
* stubbed optional dependencies import (numba.jit is the identity), and `unshared` gives
  every call of a module its own submodule without changing the outputs;
* one small end-to-end run (Basset-like, 1 sequence, 2 references, 1 thread, no peers but
  PyTorch) prints every row and target line the README names, and the correctness check
  passes.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
sys.path.insert(0, SCRIPTS)
import export_torch as ex  # noqa: E402
import torch_models as tm  # noqa: E402

_loader = SourceFileLoader("bench_score", os.path.join(SCRIPTS, "bench_score"))
bench = module_from_spec(spec_from_loader("bench_score", _loader))
_loader.exec_module(bench)
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()


def exported(key, d):
    factory, length, names = tm.MODELS[key]
    model = factory(seed=0)
    prefix = os.path.join(d, key)
    ex.export_model(model, prefix, length, names)
    with open(prefix + ".json") as f:
        return model, length, json.load(f)


def torch_shapes(model, length):
    """{module name: (length, channels)} of every leaf module's output on one input (modules
    called once: a shared one has several)."""
    got, calls = {}, {}

    def hook(m, i, o, n):
        got[n] = tuple(o.shape)
        calls[n] = calls.get(n, 0) + 1
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: hook(m, i, o, n))
             for n, m in model.named_modules() if n and not list(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, 4, length))
    for h in hooks:
        h.remove()
    return {n: (s[2], s[1]) if len(s) == 3 else (1, s[1]) for n, s in got.items() if calls[n] == 1}


class TestBenchScore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="bench_score_test_", dir=TMP)
        cls.models = {k: exported(k, cls.dir) for k in ("bpnet", "basset", "small")}

    def test_shapes_equal_pytorch(self):
        for key, (model, length, js) in self.models.items():
            shapes = bench.layer_shapes(js)
            want = torch_shapes(model, length)
            checked = 0
            for ly in js["layers"]:
                if ly["name"] in want:  # layers that are a module (not a functional op)
                    self.assertEqual(shapes[ly["name"]], want[ly["name"]], "%s %s" % (key, ly["name"]))
                    checked += 1
            self.assertGreater(checked, 5, key)

    def test_flops_reproduce_issue_17(self):
        _, _, js = self.models["bpnet"]
        g = bench.target_gemms(js, "count")
        self.assertEqual([n for n, *_ in g], ["iconv"] + ["rconvs.%d" % i for i in range(8)] + ["linear"])
        self.assertEqual(g[0][2:], (2094, 64, 4 * 21))
        self.assertEqual(g[1][2:], (2090, 64, 64 * 3))
        one = 2 * (2094 * 64 * 84 + 64 * 192 * sum(2114 - 20 - 2 * (2 ** (i + 2) - 2) for i in range(8)) + 64)
        self.assertEqual(bench.flops_per_seq(g, 20), 41 * one)
        self.assertAlmostEqual(bench.flops_per_seq(g, 20) / 1e9, 15.8, delta=0.05)
        with_profile = bench.target_gemms(js, "profile")
        self.assertIn("fconv", [n for n, *_ in with_profile])
        self.assertNotIn("linear", [n for n, *_ in with_profile])
        _, _, js = self.models["basset"]
        g = bench.target_gemms(js, "logits")
        self.assertEqual([(n, m, k) for n, _, m, _, k in g],
                         [("conv1", 582, 76), ("conv2", 184, 3300), ("conv3", 40, 1400),
                          ("fc1", 1, 2000), ("fc2", 1, 1000), ("fc3", 1, 1000)])
        self.assertAlmostEqual(bench.flops_per_seq(g, 20) / 1e9, 12.2, delta=0.05)

    def test_sgemm_calls(self):
        calls = bench.sgemm_calls([("c", "conv1d", 100, 64, 192), ("d", "linear", 1, 10, 20)], 20)
        self.assertEqual(calls[0], ("c", "fwd", [(100, 64, 192, 0, 21), (2100, 64, 192, 0, 1)]))
        self.assertEqual(calls[1], ("c", "bwd", [(100, 192, 64, 1, 20), (2000, 192, 64, 1, 1)]))
        self.assertEqual(calls[3], ("d", "bwd", [(1, 20, 10, 1, 20), (20, 20, 10, 1, 1)]))

    def test_bench_sgemm(self):
        exe = bench.build_sgemm(self.dir)
        r = subprocess.run([exe, "2", "0.001"], input="64 32 16 0\n16 32 8 1\n", capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split() for line in r.stdout.splitlines()]
        self.assertEqual([x[:4] for x in rows], [["64", "32", "16", "0"], ["16", "32", "8", "1"]])
        self.assertTrue(all(float(x[4]) > 0 for x in rows))
        r = subprocess.run([exe, "1", "0.001"], input="64 32\n", capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 1", r.stderr)
        self.assertEqual(subprocess.run([exe], capture_output=True).returncode, 2)
        self.assertTrue(subprocess.run([exe, "--config"], capture_output=True, text=True).stdout.startswith("OpenBLAS"))
        # --rss: ~200 MB touched by the child; this process holding 400 MB does not count
        hold = bytearray(400 << 20)  # noqa: F841
        code = "b = bytearray(200 << 20); import sys; sys.exit(3)"
        dt, mb, rc, err, out = bench.run_measured(exe, [sys.executable, "-c", code])
        self.assertEqual(rc, 3, err)
        self.assertGreater(mb, 200)
        self.assertLess(mb, 320)
        dt, mb, rc, err, out = bench.run_measured(exe, ["true"])
        self.assertEqual(rc, 0)
        self.assertLess(mb, 20)

    def test_stubs_and_unshared(self):
        code = ("from importlib.machinery import SourceFileLoader\n"
                "b = SourceFileLoader('b', %r).load_module()\n"
                "print(b.stub_missing(['no_such_mod_xyz', 'json']))\n"
                "import no_such_mod_xyz.sub as s\n"
                "f = s.anything(1, k=2)\n"
                "print(b.stub_missing(['numba']))\n"
                "import numba\n"
                "g = numba.njit('void(int8[:])', cache=True)(len)\n"
                "print(g is len, numba.jit(len) is len)\n") % os.path.join(SCRIPTS, "bench_score")
        env = dict(os.environ, PYTHONPATH=SCRIPTS)
        r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "['no_such_mod_xyz']")
        if lines[1] == "['numba']":  # numba itself is not installed here
            self.assertEqual(lines[2], "True True")
        model, length, _ = self.models["basset"]
        gm = bench.unshared(model)
        relus = [n.target for n in gm.graph.nodes if n.op == "call_module" and n.target.startswith("relu")]
        self.assertEqual(len(relus), 5)
        self.assertEqual(len(set(relus)), 5)
        x = torch.as_tensor(tm.random_onehot(2, length, seed=1))
        with torch.no_grad():
            torch.testing.assert_close(gm(x), model(x), rtol=0, atol=0)
        sel = bench.select_output(tm.bpnet_like(seed=0), ["profile", "count"], "count")
        with torch.no_grad():
            self.assertEqual(tuple(sel(torch.zeros(3, 4, 2114)).shape), (3, 1))

    def test_end_to_end(self):
        seqlift = os.environ.get("SEQLIFT")
        if not seqlift or not os.path.exists(seqlift):
            self.skipTest("SEQLIFT not set (ctest sets it)")
        env = dict(os.environ)
        env.pop("CAPTUM_PATH", None)
        env.pop("TANGERMEME_PATH", None)
        r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "bench_score"), "--quick", "--models", "basset",
                            "--threads", "1", "--n", "1", "--refs", "2", "--seqlift", seqlift],
                           capture_output=True, text=True, env=env, timeout=900)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout
        for want in ("machine:", "OpenBLAS", "load average before:", "load average after:",
                     "Basset-like, 600 bp, target logits:0: ", "GFLOP/seq",
                     "seqlift rescale", "seqlift genomics", "PyTorch hand-batched", "sgemm bound",
                     "seqlift all outputs", "of TSV-only", "targets of issue 17",
                     "Basset-like all outputs / TSV-only, 1 thread"):
            self.assertIn(want, out)
        rows = [line.split() for line in out.splitlines() if line.startswith("1 ")]
        self.assertTrue(any(x[1:3] == ["seqlift", "rescale"] and "MB" in x for x in rows), out)
        checks = [line for line in out.splitlines() if line.startswith("  Basset-like  ")]
        self.assertEqual(len(checks), 2, out)
        self.assertTrue(all(line.rstrip().endswith("PASS") for line in checks), out)
        self.assertRegex(out, r"Basset-like rescale = PyTorch float64 per base\s+0 bases off\s+<= 1e-4 rel  PASS")


if __name__ == "__main__":
    unittest.main()
