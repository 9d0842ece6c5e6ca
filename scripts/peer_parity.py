#!/usr/bin/python3
"""Per-base agreement of the peers' DeepLIFT/IG/ISM with scripts/torch_deeplift.py.

Runs tangermeme's deep_lift_shap and saturation_mutagenesis, shap's DeepExplainer
(PyTorchDeep) and captum's DeepLiftShap and IntegratedGradients on the same float64
models, inputs and references as torch_deeplift.py, and prints the largest per-base
relative error of each (model, target, method, peer) against the torch_deeplift.py rule
it should equal (and against the other max-pool rules, to show which one a peer uses).

The peers are not dependencies of seqlift: pass the directories holding their Python
packages (e.g. from `git archive` of github.com/jmschrei/tangermeme, shap/shap,
pytorch/captum). Optional imports they make that Debian's python3 lacks (tqdm, numba,
matplotlib, pandas, ...) are stubbed from a temporary directory in /tmp; shap is loaded
without its package __init__ (which needs compiled extensions).

    peer_parity.py --tangermeme DIR --shap DIR --captum DIR [--models convpool,...]

Relative error per base: |peer − reference| / max(|reference|, 1e-6·max|reference| of
the region), maximised over bases and regions. `captum-quirk` is cross everywhere except
`gradient` at the max pools a ReLU feeds directly (captum 0.8 drops its max-pool rule
there: its tensor hooks, captum/_utils/common.py:846-895, put the ReLU's output hook and
the MaxPool's input hook on one tensor, and the ReLU reads the gradient before the
MaxPool's hook rewrites it).

Measured (2026-12-01; tangermeme 1.4.0 7cf0f45, shap df974a1, captum 0.8.0 faac087,
torch 1.13, 2 sequences x 4 references, float64), max relative error per base:
  BPNet-like count/profile      tangermeme 0, shap 0, captum 1e-12 (all rules equal: no pool)
  Basset-like, conv-pool        tangermeme 0, shap 0 vs cross; captum 3e-12 vs captum-quirk
                                (= gradient on Basset, whose three pools are ReLU-fed)
  conv-pool, overlapping pool   all peers 90-550 vs cross: max_unpool1d keeps one window's
                                value per position (last write wins) instead of the sum
  ChromBPNet count              tangermeme 0 (bpnet-lite registers _Exp/_Log); captum 0.2
                                and shap 0.19-6.5: they see _Exp/_Log as unknown modules
                                (gradient at the input, resp. at the reference)
  ChromBPNet profile            tangermeme 0, shap 0, captum 1e-11 (same fixed-weight target);
                                bpnet-lite's ProfileWrapper (softmax recomputed on each
                                reference) differs by 4e2 (per-base Pearson r 0.63-0.72)
  IG, 32 steps                  captum riemann_middle 3e-12, gausslegendre 2-6e-6 (captum
                                rounds the step sizes to float32)
  ISM                           tangermeme saturation_mutagenesis 0 (hyp and projected)
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time
import types
import warnings

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_deeplift as td  # noqa: E402
import torch_models as tm  # noqa: E402

STUB_TQDM = '''
def tqdm(it=None, *a, **k):
    return it if it is not None else _Bar()
def trange(*a, **k):
    k.pop("disable", None)
    return range(*a)
class _Bar:
    def update(self, *a, **k): pass
    def close(self): pass
    def __enter__(self): return self
    def __exit__(self, *a): pass
'''
STUB_NUMBA = '''
def njit(*a, **k):
    if len(a) == 1 and callable(a[0]) and not k:
        return a[0]
    return lambda f: f
jit = njit
prange = range
'''
STUB_PACKAGING_VERSION = '''
import re
def parse(v):
    return tuple(int(n) for n in re.findall(r"\\d+", str(v).split("+")[0])[:3])
'''
STUBBED = ["matplotlib", "mpl_toolkits", "pandas", "pyfaidx", "pyBigWig", "seaborn", "logomaker",
           "memelite", "h5py", "pybigtools", "sklearn", "IPython"]


class _Any(types.ModuleType):
    """Stand-in module: every attribute is another stand-in (never called on our paths)."""
    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Any(self.__name__ + "." + name)

    def __call__(self, *a, **k):
        return _Any(self.__name__ + "()")


class _StubFinder:
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Any(spec.name)

    def exec_module(self, module):
        pass


def setup_peers(tangermeme, shap, captum):
    """Imports the peers; returns dict name -> module(s). Stubs live in /tmp."""
    stub_dir = tempfile.mkdtemp(prefix="peer_stubs_", dir="/tmp")
    for name, text in (("tqdm", STUB_TQDM), ("numba", STUB_NUMBA)):
        try:
            __import__(name)
        except ImportError:
            os.makedirs(os.path.join(stub_dir, name), exist_ok=True)
            with open(os.path.join(stub_dir, name, "__init__.py"), "w") as f:
                f.write(text)
    try:
        import packaging.version  # noqa: F401  (shap compares torch versions with it)
    except ImportError:
        os.makedirs(os.path.join(stub_dir, "packaging"), exist_ok=True)
        open(os.path.join(stub_dir, "packaging", "__init__.py"), "w").close()
        with open(os.path.join(stub_dir, "packaging", "version.py"), "w") as f:
            f.write(STUB_PACKAGING_VERSION)
    os.makedirs(os.path.join(stub_dir, "tqdm", "auto"), exist_ok=True)
    with open(os.path.join(stub_dir, "tqdm", "auto", "__init__.py"), "w") as f:
        f.write("from tqdm import tqdm, trange\n")
    missing = []
    for n in STUBBED:
        try:
            __import__(n)
        except ImportError:
            missing.append(n)
    sys.meta_path.insert(0, _StubFinder(missing))
    sys.path[:0] = [stub_dir] + [d for d in (tangermeme, captum) if d]
    peers = {}
    if tangermeme:
        import tangermeme.deep_lift_shap as tdls
        import tangermeme.saturation_mutagenesis as tsm
        peers["tangermeme"] = (tdls, tsm)
    if captum:
        import captum.attr as ca
        peers["captum"] = ca
    if shap:
        # shap/__init__ imports compiled extensions; load only explainers/_deep
        root = os.path.join(shap, "shap")
        for name, path in (("shap", root), ("shap.explainers", os.path.join(root, "explainers")),
                           ("shap.explainers._deep", os.path.join(root, "explainers", "_deep"))):
            m = types.ModuleType(name)
            m.__path__ = [path]
            sys.modules[name] = m
        expl = types.ModuleType("shap.explainers._explainer")
        expl.Explainer = type("Explainer", (), {})
        sys.modules["shap.explainers._explainer"] = expl
        spec = importlib.util.spec_from_file_location(
            "shap.explainers._deep.deep_pytorch", os.path.join(root, "explainers", "_deep", "deep_pytorch.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        peers["shap"] = mod
    return peers


class Target(nn.Module):
    """The model with one scalar target per row, (N, 1), as the peers want it: output
    `out` of a tuple, then a channel summed over positions (sel int), or the profile
    target Σ w·z with w the input's softmax − 1/n (fixed: a buffer), or the sum."""

    def __init__(self, model, out, sel, w=None):
        super().__init__()
        self.model, self.out, self.sel = model, out, sel
        self.register_buffer("w", w if w is not None else torch.zeros(1))

    def forward(self, x):
        y = self.model(x)
        if isinstance(y, (tuple, list)):
            y = y[self.out]
        if self.sel == "profile":
            return (y.flatten(1) * self.w.flatten()).sum(1, keepdim=True)
        if self.sel is None:
            return y.flatten(1).sum(1, keepdim=True)
        y = y[:, self.sel]
        return (y.sum(-1) if y.dim() == 2 else y)[:, None]


class _ProfileLogitScaling(nn.Module):
    """bpnet-lite's profile scaling (bpnetlite/bpnet.py _ProfileLogitScaling): z·softmax(z),
    registered with tangermeme as one Rescale nonlinearity (bpnetlite/attribute.py)."""

    def __init__(self):
        super().__init__()
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, z):
        return z * self.softmax(z)


class ProfileWrapper(nn.Module):
    """bpnet-lite's ProfileWrapper (bpnetlite/bpnet.py): Σ softmax(z)·(z − mean z) with the
    softmax recomputed on every input, references included (seqlift holds the input's)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.flatten, self.scaling = model, nn.Flatten(), _ProfileLogitScaling()

    def forward(self, X):
        z = self.flatten(self.model(X)[0])
        return self.scaling(z - torch.mean(z, dim=-1, keepdim=True)).sum(dim=-1, keepdim=True)


def make_target(model, names, target, x):
    name, _, sel = target.partition(":")
    out = names.index(name)
    w = None
    if sel == "profile":
        with torch.no_grad():
            z = model(torch.as_tensor(x[None]))[out][0]
        w = torch.softmax(z.flatten(), 0).reshape(z.shape) - 1.0 / z.numel()
    return Target(model, out, sel if sel in ("profile",) else (int(sel) if sel else None), w).eval()


def rel_err(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    floor = 1e-6 * np.abs(ref).max()
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), max(floor, 1e-300))))


# (key, model factory kwargs, target, relu-fed max pools (captum quirk), methods)
CASES = [
    ("bpnet", "count", [], ["dl", "ig"]),
    ("bpnet", "profile:profile", [], ["dl"]),
    ("basset", "logits:3", ["pool1", "pool2", "pool3"], ["dl", "ig"]),
    ("convpool", "logits:0", ["pool1"], ["dl", "ig", "ism"]),
    ("convpool_overlap", "logits:0", ["pool1"], ["dl"]),
    ("chrombpnet", "count", [], ["dl", "ig"]),
    ("chrombpnet", "profile:profile", [], ["dl"]),
    ("chrombpnet_small", "count", [], ["dl", "ism"]),
    ("chrombpnet_small", "profile:profile", [], ["dl"]),
]


def build(key, seed):
    if key == "basset":  # one ReLU module per use: hook-based peers need that
        return tm.basset_like(seed, shared_relu=False), 600, ["logits"]
    f, L, names = tm.MODELS[key]
    return f(seed=seed), L, names


def run(peers, keys, n_seqs, k, ig_steps, seed, report):
    rows = []
    tdls_ops = {}
    if "tangermeme" in peers:
        tdls_ops = {tm.Log: peers["tangermeme"][0]._nonlinear, tm.Exp: peers["tangermeme"][0]._nonlinear}
    for key, target, relu_pools, methods in CASES:
        if keys and key not in keys:
            continue
        model, L, names = build(key, seed)
        model = model.double().eval()
        xs = tm.random_onehot(n_seqs, L, seed=seed + 10, n_frac=0.02).astype(np.float64)
        refs = tm.random_onehot(n_seqs * k, L, seed=seed + 11, n_frac=0.0).astype(np.float64).reshape(n_seqs, k, 4, L)
        ours = {r: td.DeepLiftRescale(model, names, r) for r in td.MAXPOOL_RULES}
        quirk = td.DeepLiftRescale(model, names, "cross", pool_rules={p: "gradient" for p in relu_pools})
        err = {}

        def put(method, peer, what, got, ref):
            e = rel_err(got, ref)
            kk = (method, peer, what)
            err[kk] = max(err.get(kk, 0.0), e)

        t0 = time.time()
        for i in range(n_seqs):
            x, R = xs[i], refs[i]
            wrap = make_target(model, names, target, x)
            X, RT = torch.as_tensor(x[None]), torch.as_tensor(R)
            if "dl" in methods:
                want = {r: d.attribute(x, R, target) for r, d in ours.items()}
                want["captum-quirk"] = quirk.attribute(x, R, target)
                if "tangermeme" in peers:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        h = peers["tangermeme"][0].deep_lift_shap(
                            wrap, X, references=RT[None], target=0, batch_size=k, hypothetical=True,
                            device="cpu", additional_nonlinear_ops=tdls_ops, warning_threshold=np.inf,
                            only_warn=True)[0].numpy()
                    for r in want:
                        put("deeplift", "tangermeme", r, h, want[r]["hyp"])
                        put("deeplift", "tangermeme", r + " projected", h * x, want[r]["projected"])
                    if target.endswith(":profile"):  # bpnet-lite's own profile target
                        ops = dict(tdls_ops)
                        ops[_ProfileLogitScaling] = peers["tangermeme"][0]._nonlinear
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            h = peers["tangermeme"][0].deep_lift_shap(
                                ProfileWrapper(model), X, references=RT[None], target=0, batch_size=k,
                                hypothetical=True, device="cpu", additional_nonlinear_ops=ops,
                                warning_threshold=np.inf, only_warn=True)[0].numpy()
                        put("deeplift", "tm+ProfileWrapper", "cross projected", h * x, want["cross"]["projected"])
                if "shap" in peers:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        e = peers["shap"].PyTorchDeep(wrap, RT)
                        c = np.asarray(e.shap_values(X, check_additivity=False)).reshape(4, L)
                    for r in want:
                        put("deeplift", "shap", r, c, want[r]["contrib"])
                if "captum" in peers:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        c = peers["captum"].DeepLiftShap(wrap).attribute(X, baselines=RT, target=0)
                    for r in want:
                        put("deeplift", "captum", r, c.detach().numpy()[0], want[r]["contrib"])
            if "ig" in methods and "captum" in peers:
                for rule, cm in (("riemann-middle", "riemann_middle"), ("gauss-legendre", "gausslegendre")):
                    want = ours["cross"].integrated_gradients(x, R, target, ig_steps, rule)
                    ig = peers["captum"].IntegratedGradients(wrap)
                    c = np.mean([ig.attribute(X, baselines=RT[j:j + 1], target=0, n_steps=ig_steps,
                                              method=cm).detach().numpy()[0] for j in range(k)], axis=0)
                    put("ig %d" % ig_steps, "captum", rule, c, want["contrib"])
            if "ism" in methods and "tangermeme" in peers:
                want = ours["cross"].ism(x, target)
                tsm = peers["tangermeme"][1]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p = tsm.saturation_mutagenesis(wrap, X, device="cpu", batch_size=256)[0].numpy()
                    h = tsm.saturation_mutagenesis(wrap, X, device="cpu", batch_size=256,
                                                   hypothetical=True)[0].numpy()
                put("ism", "tangermeme", "projected", p, want["projected"])
                put("ism", "tangermeme", "hyp", h, want["hyp"])
        for (method, peer, what), e in sorted(err.items()):
            rows.append((key, target, method, peer, what, e))
            report("%-17s %-16s %-9s %-10s vs %-22s %.2e" % (key, target, method, peer, what, e))
        report("  (%s %s: %.1f s)" % (key, target, time.time() - t0))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="peer_parity.py", description=__doc__.split("\n")[0])
    ap.add_argument("--tangermeme", help="directory holding the tangermeme package")
    ap.add_argument("--shap", help="directory holding the shap package")
    ap.add_argument("--captum", help="directory holding the captum package")
    ap.add_argument("--models", default="", help="comma-separated keys of CASES (default all)")
    ap.add_argument("--n-seqs", type=int, default=2)
    ap.add_argument("--refs", type=int, default=4)
    ap.add_argument("--ig-steps", type=int, default=32)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    peers = setup_peers(a.tangermeme, a.shap, a.captum)
    print("peers: %s; torch %s" % (", ".join(sorted(peers)), torch.__version__))
    print("%-17s %-16s %-9s %-10s    %-22s %s" % ("model", "target", "method", "peer", "torch_deeplift rule",
                                                  "max rel err per base"))
    run(peers, [m for m in a.models.split(",") if m], a.n_seqs, a.refs, a.ig_steps, a.seed,
        lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
