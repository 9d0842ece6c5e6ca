#!/usr/bin/python3
"""DeepLIFT (Rescale rule) in PyTorch: an independent reference for `seqlift score`.

The model runs on a doubled batch [input repeated K times; K references]. Linear
layers keep their autograd gradients (DeepLIFT's Linear rule is the gradient); each
elementwise nonlinearity's derivative (relu, sigmoid, tanh, softplus, elu, gelu, exp,
log) is replaced by the Rescale multiplier m = Δy/Δx, taking the derivative at the
reference's input where |Δx| < 1e-7 (the reference implementation kundajelab/deeplift:
NEAR_ZERO_THRESHOLD, "gradient at default activation"). Max pools (MAXPOOL_RULES):

* `cross` (shap, tangermeme, bpnet-lite, captum): in each window with input argmax ax
  and reference argmax ar, Δy = x[ax] − r[ar] goes to ax when x[ax] ≥ r[ar], else to
  ar; the multiplier at a position is (Σ of what its windows gave it)/Δx there, and
  the plain gradient (Σ of the multipliers of the windows whose input argmax it is)
  where |Δx| < 1e-7; overlapping windows accumulate (the peers' max_unpool1d keeps one
  window's value per position instead, so they lose summation-to-delta there).
* `gradient` (the reference implementation kundajelab/deeplift): the input's argmax.
* `summation` (seqlift's own): split between the input's and the reference's argmax
  with weights λ, 1−λ, λΔ[a_x] + (1−λ)Δ[a_r] = Δy, λ = 1/2 when Δ[a_x] ≈ Δ[a_r].

Contributions m·Δx are averaged over references (DeepLIFT-SHAP); hypothetical
contributions are Σ_c m[c]·(onehot(b)[c] − ref[c]) averaged over references; projected
contributions are hypothetical × one-hot (tangermeme's default output), and the part of
Σ contributions on N positions (zero columns) is reported on its own (`n_part`), so
Σ projected + n_part = Σ contributions = Δ output.

Other methods on the same targets: integrated gradients (`riemann-middle`, seqlift's
rule, or `gauss-legendre`, captum's default, IG_RULES), ISM (mean-centred change of the
target per base; projected = that at the observed base, tangermeme's
saturation_mutagenesis), and reverse-complement averaging of any of them (`rc=True`:
score revcomp(x) against the reverse-complemented references, map the scores back onto
the forward bases, average with the forward scores; outputs are the means of the two
strands, so summation-to-delta holds on the mean).

Targets follow `seqlift score --target OUTPUT[:SEL]`: the sum of every value of the
output, one channel summed over positions (SEL an index), or `profile` (BPNet:
Σ w·z with w = softmax(z_input) − 1/n held constant); sigmoid and softmax outputs are
scored on their logits, softmax logits mean-normalised across channels.

Library: dl = DeepLiftRescale(model, output_names, maxpool); dl.attribute(x, refs,
target), dl.integrated_gradients(x, refs, target, steps, rule), dl.ism(x, target);
each takes rc=True for strand averaging. revcomp(x) reverses a (…, 4, L) one-hot.
Command line: `torch_deeplift.py --help`.
"""
import argparse
import collections
import copy
import os
import sys
import time

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torch  # noqa: E402
from torch_models import onehot, read_fasta  # noqa: E402

NEAR_ZERO = 1e-7
MAXPOOL_RULES = ("cross", "summation", "gradient")
IG_RULES = ("riemann-middle", "gauss-legendre")

_NONLIN_MODULES = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.ELU, nn.GELU)
_NONLIN_FUNCS = {torch.relu, F.relu, torch.sigmoid, torch.tanh, torch.exp, torch.log, F.gelu,
                 F.elu, F.softplus, F.sigmoid, F.tanh}
_NONLIN_METHODS = {"relu", "sigmoid", "tanh", "exp", "log"}


class _Rescale(torch.autograd.Function):
    """y = fn(x) on [inputs; references]; backward multiplies by the Rescale multiplier."""

    @staticmethod
    def forward(ctx, x, fn, k):
        y = fn(x)
        ctx.fn, ctx.k = fn, k
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        k = ctx.k
        xr = x[k:].detach()
        if isinstance(ctx.fn, nn.ReLU) or ctx.fn in (torch.relu, F.relu):
            dref = (xr > 0).to(xr.dtype)  # PyTorch's and the reference implementation's relu'(0) = 0
        else:
            with torch.enable_grad():
                r = xr.clone().requires_grad_(True)
                (dref,) = torch.autograd.grad(ctx.fn(r).sum(), r)
        dx = x[:k] - xr
        near = dx.abs() < NEAR_ZERO
        m = torch.where(near, dref, (y[:k] - y[k:]) / torch.where(near, torch.ones_like(dx), dx))
        return torch.cat([g[:k] * m, torch.zeros_like(g[k:])]), None, None


class _MaxPool(torch.autograd.Function):
    """Max pool (kernel, stride, padding; kernel None = global) on [inputs; references]."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, k, rule):
        if kernel is None:
            y, idx = x.max(dim=2, keepdim=True)
        else:
            y, idx = F.max_pool1d(x, kernel, stride, padding, return_indices=True)
        ctx.k, ctx.rule = k, rule
        ctx.save_for_backward(x, idx)
        return y

    @staticmethod
    def backward(ctx, g):
        x, idx = ctx.saved_tensors
        k = ctx.k
        xi, xr = x[:k], x[k:]
        ix, ir = idx[:k], idx[k:]
        gx = g[:k]
        out = torch.zeros_like(x)
        if ctx.rule == "gradient":
            out[:k].scatter_add_(2, ix, gx)
            return out, None, None, None, None, None
        g_at = lambda t, i: torch.gather(t, 2, i)
        if ctx.rule == "cross":
            dy = g_at(xi, ix) - g_at(xr, ir)      # x[ax] − r[ar]
            to_x = g_at(xi, ix) >= g_at(xr, ir)
            num, grad = torch.zeros_like(xi), torch.zeros_like(xi)
            num.scatter_add_(2, ix, torch.where(to_x, gx * dy, torch.zeros_like(dy)))
            num.scatter_add_(2, ir, torch.where(to_x, torch.zeros_like(dy), gx * dy))
            grad.scatter_add_(2, ix, gx)
            dx = xi - xr
            near = dx.abs() < NEAR_ZERO
            out[:k] = torch.where(near, grad, num / torch.where(near, torch.ones_like(dx), dx))
            return out, None, None, None, None, None
        da = g_at(xi, ix) - g_at(xr, ix)      # Δ at the input's argmax
        db = g_at(xi, ir) - g_at(xr, ir)      # Δ at the reference's argmax
        dy = g_at(xi, ix) - g_at(xr, ir)      # Δ of the pooled value
        den = da - db
        lam = torch.where(den.abs() < NEAR_ZERO, torch.full_like(den, 0.5),
                          (dy - db) / torch.where(den.abs() < NEAR_ZERO, torch.ones_like(den), den))
        lam = torch.where(ix == ir, torch.ones_like(lam), lam)
        out[:k].scatter_add_(2, ix, lam * gx)
        out[:k].scatter_add_(2, ir, (1 - lam) * gx)
        return out, None, None, None, None, None


_MaxResult = collections.namedtuple("max", "values indices")  # torch.max(x, dim): values only


class _Interp(torch.fx.Interpreter):
    """Runs the traced model with Rescale nonlinearities and DeepLIFT max pools."""

    def __init__(self, gm, k, rule, pool_rules=None):
        super().__init__(gm, garbage_collect_values=False)
        self.k, self.rule, self.pool_rules = k, rule, pool_rules or {}

    def call_module(self, target, args, kwargs):
        m = self.fetch_attr(target)
        if isinstance(m, _NONLIN_MODULES):
            return _Rescale.apply(args[0], m, self.k)
        if isinstance(m, nn.MaxPool1d):
            if m.dilation not in (1, (1,)) or m.ceil_mode:
                raise ValueError("max pool %s: dilation/ceil_mode not supported" % target)
            return _MaxPool.apply(args[0], m.kernel_size, m.stride, m.padding, self.k,
                                  self.pool_rules.get(target, self.rule))
        if isinstance(m, nn.AdaptiveMaxPool1d):
            return _MaxPool.apply(args[0], None, None, None, self.k, self.pool_rules.get(target, self.rule))
        return super().call_module(target, args, kwargs)

    def call_function(self, target, args, kwargs):
        if target in _NONLIN_FUNCS:
            rest = args[1:]
            return _Rescale.apply(args[0], lambda t: target(t, *rest, **kwargs), self.k)
        if target is F.max_pool1d:
            a = list(args) + [None] * 4
            kern = kwargs.get("kernel_size", a[1])
            stride = kwargs.get("stride", a[2]) or kern
            pad = kwargs.get("padding", a[3] if a[3] is not None else 0)
            dil = kwargs.get("dilation", a[4] if a[4] is not None else 1)
            if dil not in (1, (1,)) or kwargs.get("ceil_mode", a[5] if len(args) > 5 else False):
                raise ValueError("max_pool1d: dilation/ceil_mode not supported")  # as for nn.MaxPool1d
            return _MaxPool.apply(args[0], kern, stride, pad, self.k, self.rule)
        if target is torch.amax:
            return self._gmax(args, kwargs)
        if target is F.adaptive_max_pool1d:
            osz = kwargs.get("output_size", args[1] if len(args) > 1 else None)
            if osz not in (1, (1,), [1]):
                raise ValueError("adaptive_max_pool1d to %s not supported" % (osz,))
            return _MaxPool.apply(args[0], None, None, None, self.k, self.rule)
        if target is torch.max and (len(args) > 1 or "dim" in kwargs):
            return _MaxResult(self._gmax(args, kwargs), None)
        return super().call_function(target, args, kwargs)

    def call_method(self, target, args, kwargs):
        if target in _NONLIN_METHODS:
            rest = args[1:]
            return _Rescale.apply(args[0], lambda t: getattr(t, target)(*rest, **kwargs), self.k)
        if target == "amax":
            return self._gmax(args, kwargs)
        if target == "max" and (len(args) > 1 or "dim" in kwargs):
            return _MaxResult(self._gmax(args, kwargs), None)
        return super().call_method(target, args, kwargs)

    def _gmax(self, args, kwargs):
        x = args[0]
        dim = kwargs.get("dim", kwargs.get("axis", args[1] if len(args) > 1 else None))
        keep = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
        if dim not in (-1, 2, (-1,), (2,)):
            raise ValueError("amax over dim=%s not supported" % (dim,))
        y = _MaxPool.apply(x, None, None, None, self.k, self.rule)
        return y if keep else y.squeeze(2)


def _is_logit_transform(gm, node):
    """softmax / sigmoid applied to an output: returns 'softmax', 'sigmoid' or None."""
    mods = dict(gm.named_modules())
    if node.op == "call_module":
        m = mods[node.target]
        return "softmax" if isinstance(m, nn.Softmax) else "sigmoid" if isinstance(m, nn.Sigmoid) else None
    if node.op == "call_function":
        if node.target in (torch.softmax, F.softmax):
            return "softmax"
        if node.target in (torch.sigmoid, F.sigmoid):
            return "sigmoid"
    if node.op == "call_method" and node.target in ("softmax", "sigmoid"):
        return node.target
    return None


class DeepLiftRescale:
    """model: an nn.Module taking (N, 4, L); output_names: names in forward()'s return
    order; maxpool: one of MAXPOOL_RULES (default 'cross', the peers' rule); pool_rules:
    {max-pool module name: rule} overriding it for some modules (what captum does when a
    ReLU feeds a MaxPool: 'gradient' there); dtype of the computation; post_activation:
    score sigmoid outputs after the sigmoid (its Rescale multiplier included, as
    `seqlift score --post-activation`) instead of on their logits."""

    def __init__(self, model, output_names, maxpool="cross", dtype=torch.float64, pool_rules=None,
                 post_activation=False):
        if maxpool not in MAXPOOL_RULES or any(r not in MAXPOOL_RULES for r in (pool_rules or {}).values()):
            raise ValueError("maxpool must be one of %s" % ", ".join(MAXPOOL_RULES))
        self.pool_rules = dict(pool_rules or {})
        self.post_activation = post_activation
        self.model = copy.deepcopy(model).to(dtype).eval()
        self.dtype, self.rule = dtype, maxpool
        self.gm = export_torch.trace_module(self.model)
        out = [n for n in self.gm.graph.nodes if n.op == "output"][0].args[0]
        nodes = list(out) if isinstance(out, (tuple, list)) else [out]
        if len(nodes) != len(output_names):
            raise ValueError("%d output names for %d outputs" % (len(output_names), len(nodes)))
        self.outputs = dict(zip(output_names, nodes))
        self.names = list(output_names)

    def _target_node(self, name):
        node = self.outputs[name]
        kind = _is_logit_transform(self.gm, node)
        if kind == "sigmoid" and self.post_activation:
            return node, False
        return (node.args[0], kind == "softmax") if kind else (node, False)

    def _parse_target(self, spec):
        name, _, sel = spec.partition(":")
        if name not in self.outputs and name.isdigit() and int(name) < len(self.names):
            name = self.names[int(name)]
        if name not in self.outputs:
            raise ValueError("no output %r" % name)
        return name, sel or None

    def _weights(self, a_x, sel, softmax):
        """g with target = Σ g·a over one sequence's activation a_x ((C, L) or (F,))."""
        if sel == "profile":
            return torch.softmax(a_x.flatten(), 0).reshape(a_x.shape) - 1.0 / a_x.numel()
        g = torch.ones_like(a_x)
        if sel not in (None, "sum"):
            g = torch.zeros_like(a_x)
            g[int(sel)] = 1.0
        if softmax:
            g = g - 1.0 / a_x.shape[0]
        return g

    def _tensor(self, a):
        return torch.as_tensor(np.asarray(a), dtype=self.dtype)

    def _target_rows(self, env, node, sel, softmax, a_x=None):
        """Target per batch row; the weights come from a_x (the input's activation)."""
        a = env[node]
        g = self._weights((a[0] if a_x is None else a_x).detach(), sel, softmax)
        return (a * g).flatten(1).sum(1), a[0].detach()

    def _combine(self, x, refs, mult, out_x, out_refs):
        """Contributions of multipliers mult (K, 4, L) of references refs for input x."""
        contrib_k = mult * (x - refs)
        hyp_k = mult - (mult * refs).sum(dim=1, keepdim=True)
        res = {"contrib": contrib_k.mean(0).numpy(), "hyp": hyp_k.mean(0).numpy(),
               "mult": mult.numpy(), "out_x": float(out_x), "out_refs": np.asarray(out_refs),
               "sums": contrib_k.flatten(1).sum(1).numpy()}
        return _project(res, x.numpy())

    def attribute(self, x, refs, target, rc=False):
        """x: (4, L) one-hot; refs: (K, 4, L). target: 'OUTPUT[:SEL]'.
        Returns dict of numpy arrays: contrib (4, L) and hyp (4, L) averaged over references,
        projected (4, L) = hyp × one-hot, n_part (Σ contrib on N positions), mult (K, 4, L),
        out_x, out_refs (K,), sums (K,) of contributions per reference.
        rc=True: the strand average (see rc_average)."""
        if rc:
            return rc_average(lambda xx, rr: self.attribute(xx, rr, target), x, refs)
        name, sel = self._parse_target(target)
        node, softmax = self._target_node(name)
        x, refs = self._tensor(x), self._tensor(refs)
        k = refs.shape[0]
        batch = torch.cat([x.expand(k, -1, -1), refs]).requires_grad_(True)
        interp = _Interp(self.gm, k, self.rule, self.pool_rules)
        interp.run(batch)
        t, _ = self._target_rows(interp.env, node, sel, softmax)
        t[:k].sum().backward()
        return self._combine(x, refs, batch.grad[:k].detach(), t[0].detach(), t[k:].detach().numpy())

    def _plain(self, batch):
        """Plain forward pass (autograd gradients) keeping every node's value."""
        interp = torch.fx.Interpreter(self.gm, garbage_collect_values=False)
        interp.run(batch)
        return interp.env

    def integrated_gradients(self, x, refs, target, steps=50, rule="riemann-middle", rc=False, chunk=64):
        """Integrated gradients from each reference to x, averaged over references.
        rule 'riemann-middle': α_j = (j + 1/2)/steps, weights 1/steps (seqlift's);
        'gauss-legendre': Gauss–Legendre nodes mapped to [0, 1] (captum's default,
        captum/attr/_utils/approximation_methods.py). Same keys as attribute();
        out_refs are the exact targets on the references, so sums − Δ is the
        quadrature error. Profile weights are the input's, held fixed along the path."""
        if rc:
            return rc_average(lambda xx, rr: self.integrated_gradients(xx, rr, target, steps, rule,
                                                                       chunk=chunk), x, refs)
        alphas, weights = ig_nodes(steps, rule)
        name, sel = self._parse_target(target)
        node, softmax = self._target_node(name)
        x, refs = self._tensor(x), self._tensor(refs)
        k = refs.shape[0]
        with torch.no_grad():
            t0, a_x = self._target_rows(self._plain(torch.cat([x[None], refs])), node, sel, softmax)
        mult = torch.zeros_like(refs)
        for j in range(0, steps, max(1, chunk // k)):  # path points in chunks of ~chunk rows
            al = torch.as_tensor(alphas[j:j + max(1, chunk // k)], dtype=self.dtype)[:, None, None, None]
            w = torch.as_tensor(weights[j:j + max(1, chunk // k)], dtype=self.dtype)[:, None, None, None]
            path = (refs[None] + al * (x - refs)[None]).reshape(-1, *x.shape).requires_grad_(True)
            t, _ = self._target_rows(self._plain(path), node, sel, softmax, a_x)
            (grad,) = torch.autograd.grad(t.sum(), path)
            mult += (grad.reshape(len(al), k, *x.shape) * w).sum(0)
        return self._combine(x, refs, mult, t0[0], t0[1:].numpy())

    def ism(self, x, target, rc=False, batch=256):
        """In-silico mutagenesis: hyp[b, p] = target(x with base b at p) − target(x)
        (every base that differs from x, all four at N positions), mean-centred over the
        four bases at each p (tangermeme's _attribution_score); projected = hyp × one-hot
        (the change at the observed base, zero at N). contrib = hyp (seqlift's
        contrib.npz before issue 12). Profile weights are the input's, held fixed."""
        if rc:
            return rc_average(lambda xx, rr: self.ism(xx, target), x, None)
        name, sel = self._parse_target(target)
        node, softmax = self._target_node(name)
        x = self._tensor(x)
        L = x.shape[1]
        with torch.no_grad():
            t0, a_x = self._target_rows(self._plain(x[None]), node, sel, softmax)
            edits = [(b, p) for p in range(L) for b in range(4) if x[b, p] != 1]
            delta = torch.zeros(4, L, dtype=self.dtype)
            for i in range(0, len(edits), batch):
                chunk = edits[i:i + batch]
                xm = x.repeat(len(chunk), 1, 1)
                for j, (b, p) in enumerate(chunk):
                    xm[j, :, p] = 0
                    xm[j, b, p] = 1
                t, _ = self._target_rows(self._plain(xm), node, sel, softmax, a_x)
                for j, (b, p) in enumerate(chunk):
                    delta[b, p] = t[j] - t0[0]
        hyp = (delta - delta.mean(0, keepdim=True)).numpy()
        return {"hyp": hyp, "contrib": hyp, "projected": hyp * x.numpy(), "out_x": float(t0[0])}


def _project(res, x):
    """Adds projected = hyp × one-hot and n_part = Σ contrib over N (zero) columns."""
    x = np.asarray(x)
    res["projected"] = res["hyp"] * x
    res["n_part"] = float(res["contrib"][:, x.sum(0) == 0].sum())
    return res


def ig_nodes(steps, rule):
    """(alphas, weights) of an IG quadrature rule on [0, 1] (IG_RULES)."""
    if rule == "riemann-middle":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "gauss-legendre":
        # captum: alphas = 0.5 * (1 + x), weights = 0.5 * w of numpy's leggauss(steps)
        xg, wg = np.polynomial.legendre.leggauss(steps)
        return 0.5 * (1 + xg), 0.5 * wg
    raise ValueError("IG rule must be one of %s" % ", ".join(IG_RULES))


def revcomp(a):
    """Reverse complement of a one-hot (…, 4, L) array in ACGT order (N stays zero);
    applied to scores it maps reverse-strand values back onto the forward bases."""
    a = np.asarray(a)
    return np.ascontiguousarray(a[..., ::-1, ::-1])


def rc_average(score, x, refs):
    """Strand average: score(x, refs) and score(revcomp(x), revcomp(refs)) mapped back
    with revcomp, averaged; out_x, out_refs and sums are the means of the two strands
    (summation-to-delta holds on the mean); `fwd`/`rev` keep both results."""
    f = score(x, refs)
    r = score(revcomp(x), None if refs is None else revcomp(refs))
    res = {"fwd": f, "rev": r}
    for key in ("contrib", "hyp", "projected", "mult"):
        if key in f:
            res[key] = 0.5 * (f[key] + revcomp(r[key]))
    for key in ("out_x", "out_refs", "sums", "n_part"):
        if key in f:
            res[key] = 0.5 * (np.asarray(f[key]) + np.asarray(r[key]))
    res["out_x"] = float(res["out_x"])
    if "n_part" in res:
        res["n_part"] = float(res["n_part"])
    return res


# ---- references ----------------------------------------------------------------

def dinuc_shuffle(seq, rng):
    """One dinucleotide shuffle of an ACGT string (uniform among sequences with the same
    dinucleotide counts and first/last base: random last-edge arborescence, then a walk)."""
    if len(seq) < 3:
        return seq
    edges = {}
    for a, b in zip(seq, seq[1:]):
        edges.setdefault(a, []).append(b)
    last = seq[-1]
    nodes = sorted(set(edges) | {last})  # sorted: set order changes with PYTHONHASHSEED
    # Wilson's algorithm: random tree of last edges directed to `last`
    in_tree, nxt = {last}, {}
    for v in nodes:
        u = v
        while u not in in_tree:
            nxt[u] = edges[u][rng.integers(len(edges[u]))]
            u = nxt[u]
        u = v
        while u not in in_tree:
            in_tree.add(u)
            u = nxt[u]
    order = {}
    for v, outs in edges.items():
        outs = list(outs)
        if v != last:
            outs.remove(nxt[v])
        rng.shuffle(outs)
        if v != last:
            outs.append(nxt[v])
        order[v] = outs
    pos = {v: 0 for v in order}
    out, u = [seq[0]], seq[0]
    for _ in range(len(seq) - 1):
        v = order[u][pos[u]]
        pos[u] += 1
        out.append(v)
        u = v
    return "".join(out)


# ---- command line ----------------------------------------------------------------

def main(argv=None):

    ap = argparse.ArgumentParser(
        prog="torch_deeplift.py",
        description="DeepLIFT Rescale, integrated gradients or ISM scores in PyTorch float64 "
                    "(reference for `seqlift score`).")
    ap.add_argument("module", metavar="MODULE_FILE:FACTORY_OR_CLASS")
    ap.add_argument("weights", metavar="WEIGHTS.pt", help="state_dict, or '-' for the factory's weights")
    ap.add_argument("-s", "--seqs", required=True, help="FASTA of input sequences")
    ap.add_argument("--refs", default="dinuc:20",
                    help="fasta:REFS.fa:K (K consecutive records per sequence, or K shared) or dinuc:N")
    ap.add_argument("--outputs", required=True, help="comma-separated output names of forward()")
    ap.add_argument("--target", default="0", help="OUTPUT[:CHANNEL|profile|sum]")
    ap.add_argument("--method", default="rescale", choices=["rescale", "integrated-gradients", "ism"])
    ap.add_argument("--maxpool", default="cross", choices=MAXPOOL_RULES)
    ap.add_argument("--ig-steps", type=int, default=50)
    ap.add_argument("--ig-rule", default="riemann-middle", choices=IG_RULES)
    ap.add_argument("--rc", default="none", choices=["none", "average"],
                    help="average: mean of the forward and reverse-complement scores")
    ap.add_argument("--seed", type=int, default=1, help="seed of dinuc shuffles")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
    ap.add_argument("--npz", metavar="PREFIX",
                    help="write PREFIX.{ohe,contrib,hyp,projected}.npz (regions, 4, L)")
    ap.add_argument("--kwargs", default="{}", help="JSON arguments of the factory")
    a = ap.parse_args(argv)
    import json
    if a.threads:
        torch.set_num_threads(a.threads)
    model = export_torch.load_module_spec(a.module, json.loads(a.kwargs))
    if a.weights != "-":
        model.load_state_dict(torch.load(a.weights, map_location="cpu"))
    dl = DeepLiftRescale(model, a.outputs.split(","), a.maxpool,
                         torch.float32 if a.float32 else torch.float64)
    names, seqs = read_fasta(a.seqs)
    kind, _, rest = a.refs.partition(":")
    if kind == "fasta":
        path, _, kk = rest.rpartition(":") if rest.count(":") else (rest, "", "1")
        _, rseqs = read_fasta(path)
        kk = int(kk)
    elif kind == "dinuc":
        kk, rng = int(rest or 20), np.random.default_rng(a.seed)
    else:
        ap.error("--refs: fasta:PATH:K or dinuc:N")
    t0 = time.time()
    res = []
    print("#name\tout_x\tmean_out_refs\tsum_contrib\tn_part\tsum_to_delta_err\tn_refs")
    rc = a.rc == "average"
    for i, (nm, s) in enumerate(zip(names, seqs)):
        if kind == "fasta":
            rs = rseqs if len(rseqs) == kk else rseqs[i * kk:(i + 1) * kk]
        else:
            rs = [dinuc_shuffle(s, rng) for _ in range(kk)]
        x, refs = onehot(s), np.stack([onehot(q) for q in rs])
        if a.method == "ism":
            r = dl.ism(x, a.target, rc=rc)
            print("%s\t%.8g\tNA\t%.8g\tNA\tNA\t0" % (nm, r["out_x"], r["projected"].sum()))
        else:
            r = (dl.attribute(x, refs, a.target, rc=rc) if a.method == "rescale" else
                 dl.integrated_gradients(x, refs, a.target, a.ig_steps, a.ig_rule, rc=rc))
            d = r["out_x"] - r["out_refs"]
            err = np.max(np.abs(r["sums"] - d) / np.maximum(np.abs(d), 1e-12))
            print("%s\t%.8g\t%.8g\t%.8g\t%.8g\t%.3g\t%d" % (nm, r["out_x"], r["out_refs"].mean(),
                                                        r["contrib"].sum(), r["n_part"], err, kk))
        res.append((x, r["contrib"], r["hyp"], r["projected"]))
    print("# %.4f s per sequence" % ((time.time() - t0) / max(1, len(seqs))), file=sys.stderr)
    if a.npz:
        for j, what in enumerate(("ohe", "contrib", "hyp", "projected")):
            np.savez("%s.%s.npz" % (a.npz, what), np.stack([q[j] for q in res]).astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
