#!/usr/bin/python3
"""Export a PyTorch sequence model to seqlift's model format (docs/model-format.md).

    export_model(module, path_prefix, input_length, output_names=None, dtype="F32")

writes path_prefix.json (the graph) and path_prefix.safetensors (the weights).
The module must take one (N, 4, L) one-hot input (channels A, C, G, T) and be
traceable by torch.fx. Supported: nn.Conv1d (zero padding: int, 'same', 'valid';
stride, dilation, bias=False), nn.Linear, nn.BatchNorm1d (inference statistics),
nn.ReLU/Sigmoid/Tanh/Softplus/ELU/GELU, torch.exp, torch.log (op `log`, see
LOG_OP_SPEC; ChromBPNet's counts log(exp(a) + exp(b))), nn.MaxPool1d/AvgPool1d,
nn.AdaptiveAvgPool1d(1)/AdaptiveMaxPool1d(1), x.mean(-1) and x.amax(-1) as global
pools, nn.Flatten/torch.flatten/view/reshape/squeeze/unsqueeze, nn.Dropout,
nn.Identity, nn.Softmax over channels, `+` (residuals), torch.cat over channels or
length, and slicing x[:, :, a:b] as a crop (bounds may be computed from x.shape), plus
the functional spellings (F.relu, torch.exp, F.max_pool1d, torch.max(x, dim)[0], ...).
forward() arguments after the input are fixed at their defaults (e.g. ctl=None).
Anything else raises ExportError naming the module or graph node.

Command line: see `export_torch.py --help`.
"""
import argparse
import importlib.util
import inspect
import json
import operator
import os
import struct
import sys

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

FORMAT_VERSION = 1
INPUT_NAME = "input"


# The `log` op (issue 12), not yet in docs/model-format.md nor in the C engine: the
# layer the exporter writes and what it means. ChromBPNet's counts are exported as
# exp, exp, add, log layers (bpnet-lite's graph, whose _Exp/_Log modules tangermeme
# scores with one Rescale rule each), not as a fused logsumexp.
LOG_OP_SPEC = {
    "op": "log",
    "layer": {"name": "NAME", "op": "log", "inputs": ["ONE_LAYER"]},
    "attributes": {},
    "inputs": "one tensor, any shape ([len][ch] or [features]); output of the same shape",
    "semantics": "y = ln(x) elementwise; x must be > 0 (x <= 0 gives -inf/NaN, which the "
                 "engine reports as a non-finite output, naming the layer)",
    "rescale": "m = (ln x - ln r) / (x - r) for |x - r| >= 1e-7, computed without "
               "cancellation as log1p((x - r) / r) / (x - r) in double; m = 1 / r (the "
               "derivative at the reference) for |x - r| < 1e-7",
    "gradient": "1 / x",
}


class ExportError(Exception):
    """The module uses something seqlift's model format cannot express."""


# ---- safetensors writer ------------------------------------------------------

_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def write_safetensors(path, tensors, dtype="F32"):
    """Write {name: tensor} as a safetensors file, every tensor stored as `dtype`
    (F32, F16 or BF16), little-endian, header padded to 8 bytes."""
    if dtype not in _ST_DTYPES:
        raise ValueError("dtype must be one of %s" % ", ".join(_ST_DTYPES))
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous().to(_ST_DTYPES[dtype])
        if dtype == "BF16":  # numpy has no bfloat16: store the raw 16-bit words
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "producer": "seqlift export_torch.py"}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Read a safetensors file written by write_safetensors into {name: float32 ndarray}."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    base, out = 8 + hlen, {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        b, e = meta["data_offsets"]
        raw = data[base + b:base + e]
        if meta["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif meta["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif meta["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError("%s: tensor %s: unsupported dtype %s" % (path, name, meta["dtype"]))
        out[name] = a.reshape(meta["shape"]).astype(np.float32)
    return out


# ---- graph conversion ---------------------------------------------------------

def trace_module(module):
    """torch.fx trace of module.forward(x, ...): arguments after the first input are
    fixed at their defaults (e.g. an optional control track `ctl=None`)."""
    params = list(inspect.signature(module.forward).parameters.values())
    empty = inspect.Parameter.empty
    if not params or any(p.default is empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                         for p in params[1:]):
        raise ExportError("forward() must take one input (N, 4, L); further arguments need defaults")
    concrete = {p.name: p.default for p in params[1:] if p.default is not empty}
    return torch.fx.symbolic_trace(module, concrete_args=concrete or None)


class _Exporter:
    def __init__(self, module, input_length):
        self.module = module
        self.L = int(input_length)
        self.layers = []
        self.tensors = {}       # safetensors name -> tensor
        self.names = {INPUT_NAME}
        self.layer_of = {}      # fx node -> seqlift layer name producing its value
        self.val = {}           # fx node -> concrete value on a dummy input
        self.module_names = dict(module.named_modules())
        self.max_tuples = set()  # torch.max(x, dim) nodes (a (values, indices) pair)

    # -- helpers
    def err(self, node, what):
        where = "node '%s'" % node.name
        if node.op == "call_module":
            where = "module '%s' (%s)" % (node.target, type(self.module_names[node.target]).__name__)
        raise ExportError("%s: %s" % (where, what))

    def unique(self, base):
        base = "".join(c if (c.isalnum() or c in "_.-") else "_" for c in base) or "layer"
        name, i = base, 1
        while name in self.names:
            name = "%s_%d" % (base, i)
            i += 1
        self.names.add(name)
        return name

    def tensor(self, name, t):
        if name in self.tensors:
            if self.tensors[name] is not t and not torch.equal(self.tensors[name], t):
                raise ExportError("tensor name %s used for two different tensors" % name)
        self.tensors[name] = t.detach().float()
        return name

    @staticmethod
    def shape(v):
        return tuple(v.shape)

    def is_act(self, v):
        """A tensor seqlift can hold: (N, C, L) or (N, F), N being the batch."""
        return isinstance(v, torch.Tensor) and v.dim() in (2, 3) and v.shape[0] == 1

    def sl_shape(self, v):
        """seqlift's [len][ch] for a PyTorch activation."""
        s = self.shape(v)
        return (s[2], s[1]) if len(s) == 3 else (1, s[1])

    def src(self, node, arg):
        if not isinstance(arg, torch.fx.Node) or arg not in self.layer_of:
            self.err(node, "input %r is not a tensor computed from the model input" % (arg,))
        return self.layer_of[arg]

    def emit(self, node, op, inputs, **attrs):
        # modules keep their attribute path; functions get the op's name (crop, add_1, ...)
        name = self.unique(node.target if node.op == "call_module" else op)
        layer = {"name": name, "op": op, "inputs": list(inputs)}
        layer.update(attrs)
        self.layers.append(layer)
        self.layer_of[node] = name
        return name

    def alias(self, node, arg):
        """Same values in seqlift's layout: no layer, the node reuses its producer."""
        self.layer_of[node] = self.src(node, arg)

    def require_3d(self, node, v, what):
        if v.dim() != 3:
            self.err(node, "%s needs an (N, C, L) input, got shape %s" % (what, list(v.shape)))

    # -- concrete run: every node's value on a dummy (1, 4, L) input
    def run(self, gm):
        x = torch.zeros(1, 4, self.L)
        x[0, torch.arange(self.L) % 4, torch.arange(self.L)] = 1.0
        interp = torch.fx.Interpreter(gm, garbage_collect_values=False)
        with torch.no_grad():
            interp.run(x)
        self.val = interp.env

    def args_val(self, node):
        m = lambda n: self.val[n]
        return (torch.fx.node.map_arg(node.args, m), torch.fx.node.map_arg(node.kwargs, m))

    # -- modules
    def do_module(self, node):
        m = self.module_names[node.target]
        a0 = node.args[0] if node.args else None
        if len(node.args) != 1 or node.kwargs:
            self.err(node, "expected one input")
        v = self.val[a0]
        out = self.val[node]
        if not self.is_act(v):
            self.err(node, "input is not a (1, C, L) or (1, F) tensor")
        src = self.src(node, a0)
        p = node.target
        if isinstance(m, nn.Conv1d):
            self.require_3d(node, v, "Conv1d")
            if m.groups != 1:
                self.err(node, "groups=%d is not supported" % m.groups)
            if m.padding_mode != "zeros":
                self.err(node, "padding_mode=%r is not supported (zeros only)" % m.padding_mode)
            pad = m.padding
            if isinstance(pad, str):
                pad = pad
            else:
                pad = int(pad[0])
            attrs = dict(in_channels=m.in_channels, out_channels=m.out_channels,
                         kernel_size=m.kernel_size[0], stride=m.stride[0],
                         dilation=m.dilation[0], padding=pad,
                         weight=self.tensor(p + ".weight", m.weight),
                         bias=self.tensor(p + ".bias", m.bias) if m.bias is not None else None)
            self.emit(node, "conv1d", [src], **attrs)
        elif isinstance(m, nn.Linear):
            if v.dim() != 2:
                self.err(node, "Linear on a tensor of shape %s: flatten or pool to (N, F) first"
                         % list(v.shape))
            self.emit(node, "linear", [src], in_features=m.in_features, out_features=m.out_features,
                      weight=self.tensor(p + ".weight", m.weight),
                      bias=self.tensor(p + ".bias", m.bias) if m.bias is not None else None)
        elif isinstance(m, nn.BatchNorm1d):
            if m.running_mean is None or m.running_var is None:
                self.err(node, "BatchNorm1d without running statistics cannot run at inference")
            c = m.num_features
            w = m.weight if m.affine else torch.ones(c)
            b = m.bias if m.affine else torch.zeros(c)
            self.emit(node, "batchnorm", [src], eps=float(m.eps),
                      weight=self.tensor(p + ".weight", w), bias=self.tensor(p + ".bias", b),
                      running_mean=self.tensor(p + ".running_mean", m.running_mean),
                      running_var=self.tensor(p + ".running_var", m.running_var))
        elif type(m) in (nn.ReLU, nn.Sigmoid, nn.Tanh):
            self.emit(node, {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}[type(m)], [src])
        elif isinstance(m, nn.Softplus):
            self.emit(node, "softplus", [src], beta=float(m.beta), threshold=float(m.threshold))
        elif isinstance(m, nn.ELU):
            self.emit(node, "elu", [src], alpha=float(m.alpha))
        elif isinstance(m, nn.GELU):
            if getattr(m, "approximate", "none") != "none":
                self.err(node, "GELU(approximate=%r) is not supported (exact GELU only)" % m.approximate)
            self.emit(node, "gelu", [src])
        elif isinstance(m, nn.MaxPool1d):
            self.require_3d(node, v, "MaxPool1d")
            self.pool(node, "maxpool1d", src, m.kernel_size, m.stride, m.padding, m.dilation,
                      m.ceil_mode, getattr(m, "return_indices", False))
        elif isinstance(m, nn.AvgPool1d):
            self.require_3d(node, v, "AvgPool1d")
            self.pool(node, "avgpool1d", src, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode,
                      False, m.count_include_pad)
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d)):
            self.require_3d(node, v, type(m).__name__)
            osz = m.output_size if isinstance(m.output_size, int) else m.output_size[0]
            if osz == v.shape[2]:
                self.alias(node, a0)
            elif osz == 1:
                op = "global_avgpool" if isinstance(m, nn.AdaptiveAvgPool1d) else "global_maxpool"
                self.emit(node, op, [src])
            else:
                self.err(node, "output_size=%s is not supported (1 only)" % (m.output_size,))
        elif isinstance(m, nn.Flatten):
            self.reshape(node, a0, v, out)
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            self.alias(node, a0)
        elif isinstance(m, nn.Softmax):
            self.softmax(node, a0, v, m.dim)
        else:
            self.err(node, "unsupported module type %s" % type(m).__name__)

    def pool(self, node, op, src, k, s, pad, dil, ceil, ret_idx, count_include_pad=None):
        one = lambda t: t[0] if isinstance(t, (tuple, list)) else t
        k, s, pad, dil = one(k), one(s), one(pad), one(dil)
        if s is None:
            s = k
        if dil != 1:
            self.err(node, "pooling with dilation=%s is not supported" % dil)
        if ceil:
            self.err(node, "pooling with ceil_mode=True is not supported")
        if ret_idx:
            self.err(node, "pooling with return_indices=True is not supported")
        attrs = dict(kernel_size=int(k), stride=int(s), padding=int(pad))
        if count_include_pad is not None:
            attrs["count_include_pad"] = bool(count_include_pad)
        self.emit(node, op, [src], **attrs)

    def reshape(self, node, a0, v, out):
        """Any view that keeps seqlift's [len][ch] order is free; (N,C,L)->(N,C*L) is a flatten."""
        if not self.is_act(out):
            self.err(node, "reshape to %s is not supported (want (N, C, L) or (N, F))" % list(out.shape))
        if self.sl_shape(v) == self.sl_shape(out) and (v.dim() == 2 or v.shape[2] == 1 or out.dim() == 3):
            self.alias(node, a0)
        elif v.dim() == 3 and out.dim() == 2 and out.shape[1] == v.shape[1] * v.shape[2]:
            self.emit(node, "flatten", [self.src(node, a0)], order="channel_first")
        else:
            self.err(node, "reshape %s -> %s is not supported" % (list(v.shape), list(out.shape)))

    def softmax(self, node, a0, v, dim):
        if dim is None or (dim % v.dim()) != 1:
            self.err(node, "softmax over dim=%s is not supported (channels, dim=1, only)" % dim)
        self.emit(node, "softmax", [self.src(node, a0)])

    def global_reduce(self, node, a0, v, dims, op):
        self.require_3d(node, v, op)
        dims = dims if isinstance(dims, (tuple, list)) else (dims,)
        if len(dims) != 1 or not isinstance(dims[0], int) or dims[0] % 3 != 2:
            self.err(node, "reduction over dim=%s is not supported (length, dim=-1, only)" % (dims,))
        self.emit(node, op, [self.src(node, a0)])

    # -- functions and methods
    _ELEMENTWISE = {
        torch.relu: "relu", F.relu: "relu", torch.sigmoid: "sigmoid", torch.tanh: "tanh",
        torch.exp: "exp", torch.log: "log", F.gelu: "gelu", F.elu: "elu", F.softplus: "softplus",
        torch.nn.functional.sigmoid: "sigmoid", torch.nn.functional.tanh: "tanh",
    }
    _METHOD_ELEMENTWISE = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "exp": "exp", "log": "log"}
    _RESHAPE_FUNCS = (torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze)
    _RESHAPE_METHODS = ("flatten", "view", "reshape", "squeeze", "unsqueeze", "contiguous")

    def do_call(self, node):
        t = node.target
        args, kwargs = self.args_val(node)
        out = self.val[node]
        tensor_args = [a for a in node.args if isinstance(a, torch.fx.Node)
                       and isinstance(self.val[a], torch.Tensor)]
        is_m = node.op == "call_method"
        if ((not is_m and t is torch.max) or (is_m and t == "max")) and isinstance(out, tuple):
            # torch.max(x, dim=-1) -> (values, indices): values is a global max pool
            self.global_reduce(node, node.args[0], args[0], self.dim_arg(args, kwargs), "global_maxpool")
            self.max_tuples.add(node)
            return
        if node.args and isinstance(node.args[0], torch.fx.Node) and node.args[0] in self.max_tuples:
            if (t is operator.getitem and args[1] == 0) or (t is getattr and args[1] == "values"):
                self.alias(node, node.args[0])
                return
            self.err(node, "only the values of torch.max(x, dim) are supported, not its indices")
        if not isinstance(out, torch.Tensor):
            # shape arithmetic (x.shape[2] // 2, x.size(0), ...): evaluated, not exported
            if tensor_args and not (t is getattr or (node.op == "call_method" and t in ("size", "dim"))):
                self.err(node, "unsupported operation %s returning %s"
                         % (self.fname(node), type(out).__name__))
            return
        if not self.is_act(out):
            self.err(node, "%s gives a tensor of shape %s; seqlift holds (N, C, L) or (N, F)"
                     % (self.fname(node), list(out.shape)))
        a0 = node.args[0] if node.args else None
        v = args[0] if args else None
        if (not is_m and t in self._ELEMENTWISE) or (is_m and t in self._METHOD_ELEMENTWISE):
            op = self._METHOD_ELEMENTWISE[t] if is_m else self._ELEMENTWISE[t]
            extra = {}
            if op == "softplus":
                extra = dict(beta=float(self.arg(args, kwargs, 1, "beta", 1.0)),
                             threshold=float(self.arg(args, kwargs, 2, "threshold", 20.0)))
            elif op == "elu":
                extra = dict(alpha=float(self.arg(args, kwargs, 1, "alpha", 1.0)))
            elif op == "gelu" and self.arg(args, kwargs, 1, "approximate", "none") != "none":
                self.err(node, "gelu(approximate='tanh') is not supported")
            self.emit(node, op, [self.src(node, a0)], **extra)
        elif t in (operator.add, operator.iadd, torch.add) or (is_m and t in ("add", "add_")):
            self.add(node, args, kwargs)
        elif t is torch.cat or t is torch.concat:
            self.cat(node, args, kwargs)
        elif t is operator.getitem:
            self.crop(node, a0, v, args[1])
        elif (not is_m and t in self._RESHAPE_FUNCS) or (is_m and t in self._RESHAPE_METHODS):
            self.reshape(node, a0, v, out)
        elif (not is_m and t is torch.mean) or (is_m and t == "mean"):
            self.global_reduce(node, a0, v, self.dim_arg(args, kwargs), "global_avgpool")
        elif (not is_m and t is torch.amax) or (is_m and t == "amax"):
            self.global_reduce(node, a0, v, self.dim_arg(args, kwargs), "global_maxpool")
        elif (not is_m and t in (torch.softmax, F.softmax)) or (is_m and t == "softmax"):
            self.softmax(node, a0, v, self.arg(args, kwargs, 1, "dim", None))
        elif (not is_m and t is F.dropout) or (is_m and t == "clone"):
            self.alias(node, a0)
        elif not is_m and t is F.max_pool1d:
            self.require_3d(node, v, "max_pool1d")
            g = lambda i, k, d: self.arg(args, kwargs, i, k, d)
            self.pool(node, "maxpool1d", self.src(node, a0), g(1, "kernel_size", None),
                      g(2, "stride", None), g(3, "padding", 0), g(4, "dilation", 1),
                      g(5, "ceil_mode", False), g(6, "return_indices", False))
        elif not is_m and t is F.avg_pool1d:
            self.require_3d(node, v, "avg_pool1d")
            g = lambda i, k, d: self.arg(args, kwargs, i, k, d)
            self.pool(node, "avgpool1d", self.src(node, a0), g(1, "kernel_size", None),
                      g(2, "stride", None), g(3, "padding", 0), 1, g(4, "ceil_mode", False),
                      False, g(5, "count_include_pad", True))
        elif not is_m and t in (F.adaptive_avg_pool1d, F.adaptive_max_pool1d):
            self.require_3d(node, v, t.__name__)
            osz = self.arg(args, kwargs, 1, "output_size", None)
            osz = osz[0] if isinstance(osz, (tuple, list)) else osz
            if osz != 1:
                self.err(node, "output_size=%s is not supported (1 only)" % (osz,))
            self.emit(node, "global_avgpool" if t is F.adaptive_avg_pool1d else "global_maxpool",
                      [self.src(node, a0)])
        else:
            self.err(node, "unsupported %s %s" % ("method" if is_m else "function", self.fname(node)))

    @staticmethod
    def fname(node):
        t = node.target
        if isinstance(t, str):
            return "." + t + "()"
        mod = getattr(t, "__module__", None) or ""
        return (mod + "." if mod else "") + getattr(t, "__name__", repr(t))

    @staticmethod
    def arg(args, kwargs, i, key, default):
        if key in kwargs:
            return kwargs[key]
        return args[i] if len(args) > i else default

    @classmethod
    def dim_arg(cls, args, kwargs):
        return kwargs["axis"] if "axis" in kwargs else cls.arg(args, kwargs, 1, "dim", None)

    def add(self, node, args, kwargs):
        if len(node.args) != 2 or any(not isinstance(a, torch.fx.Node) for a in node.args):
            self.err(node, "add of a constant is not supported (residual x + y of two tensors only)")
        if kwargs.get("alpha", 1) != 1:
            self.err(node, "add with alpha != 1 is not supported")
        a, b = args
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.shape != b.shape:
            self.err(node, "add needs two tensors of the same shape (no broadcasting)")
        self.emit(node, "add", [self.src(node, n) for n in node.args])

    def cat(self, node, args, kwargs):
        parts = node.args[0]
        dim = self.arg(args, kwargs, 1, "dim", 0)
        vals = [self.val[p] for p in parts]
        nd = vals[0].dim()
        if dim % nd == 1:
            axis = "channel"
        elif nd == 3 and dim % nd == 2:
            axis = "length"
        else:
            self.err(node, "cat over dim=%s is not supported (channels or length only)" % dim)
        self.emit(node, "concat", [self.src(node, p) for p in parts], axis=axis)

    def crop(self, node, a0, v, idx):
        if not isinstance(v, torch.Tensor):
            self.err(node, "indexing a non-tensor")
        if not isinstance(idx, tuple):
            idx = (idx,)
        if Ellipsis in idx:  # x[..., a:b]
            i = idx.index(Ellipsis)
            idx = idx[:i] + (slice(None),) * (v.dim() - len(idx) + 1) + idx[i + 1:]
        full = lambda s: isinstance(s, slice) and s == slice(None, None, None)
        idx = idx + (slice(None),) * (v.dim() - len(idx))
        if v.dim() != 3 or len(idx) != 3 or not all(full(s) for s in idx[:2]) \
                or not isinstance(idx[2], slice):
            self.err(node, "indexing %s is supported only as a crop x[:, :, a:b] of an (N, C, L) tensor"
                     % (idx,))
        start, stop, step = idx[2].indices(v.shape[2])
        if step != 1 or stop <= start:
            self.err(node, "crop %s of length %d is empty or strided" % (idx[2], v.shape[2]))
        if start == 0 and stop == v.shape[2]:
            self.alias(node, a0)
        else:
            self.emit(node, "crop", [self.src(node, a0)], start=start, stop=stop)

    # -- whole graph
    def convert(self, output_names):
        gm = trace_module(self.module)
        self.run(gm)
        out_node, first = None, True
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                if not first and isinstance(self.val[node], torch.Tensor):
                    self.err(node, "forward() arguments after the input must not be tensors")
                if first:
                    self.layer_of[node] = INPUT_NAME
                first = False
            elif node.op == "call_module":
                self.do_module(node)
            elif node.op in ("call_function", "call_method"):
                self.do_call(node)
            elif node.op == "get_attr":
                self.err(node, "parameters used outside a module (get_attr %s) are not supported"
                         % node.target)
            elif node.op == "output":
                out_node = node
        return self.outputs(out_node, output_names)

    def outputs(self, out_node, output_names):
        res = out_node.args[0]
        if isinstance(res, torch.fx.Node):
            items, default = [res], ["output"]
        elif isinstance(res, (tuple, list)):
            items, default = list(res), ["output%d" % i for i in range(len(res))]
        elif isinstance(res, dict):
            items, default = list(res.values()), [str(k) for k in res]
        else:
            raise ExportError("forward() must return a tensor, a tuple/list or a dict of tensors")
        names = list(output_names) if output_names is not None else default
        if len(names) != len(items):
            raise ExportError("%d output names given for %d outputs" % (len(names), len(items)))
        if len(set(names)) != len(names):
            raise ExportError("output names must be unique: %s" % names)
        outs = []
        for name, n in zip(names, items):
            if not isinstance(n, torch.fx.Node) or n not in self.layer_of:
                raise ExportError("output %s is not a tensor computed from the input" % name)
            if self.layer_of[n] == INPUT_NAME:
                raise ExportError("output %s is the input itself" % name)
            outs.append({"name": name, "layer": self.layer_of[n]})
        return outs


def export_model(module, path_prefix, input_length, output_names=None, dtype="F32"):
    """Write path_prefix.json and path_prefix.safetensors for `module` (input (N, 4, L)).

    output_names: names of the outputs in the order forward() returns them (default
    "output" for one tensor, "output0", "output1", ... for a tuple, the keys of a dict).
    dtype: "F32" (default), "F16" or "BF16" for the stored weights.
    Returns the JSON graph as a dict. Raises ExportError for unsupported constructs."""
    was_training = module.training
    module.eval()
    try:
        ex = _Exporter(module, input_length)
        outputs = ex.convert(output_names)
    finally:
        module.train(was_training)
    for name, t in ex.tensors.items():
        if not torch.isfinite(t).all():
            raise ExportError("tensor %s has non-finite values" % name)
    prefix = os.fspath(path_prefix)
    st_path = prefix + ".safetensors"
    graph = {"format": "seqlift-model", "version": FORMAT_VERSION,
             "weights": os.path.basename(st_path),
             "input": {"name": INPUT_NAME, "length": int(input_length), "alphabet": "ACGT"},
             "layers": ex.layers, "outputs": outputs}
    d = os.path.dirname(prefix)
    if d:
        os.makedirs(d, exist_ok=True)
    write_safetensors(st_path, ex.tensors, dtype)
    tmp = prefix + ".json.tmp"
    with open(tmp, "w") as f:
        json.dump(graph, f, indent=1)
        f.write("\n")
    os.replace(tmp, prefix + ".json")
    return graph


# ---- command line -------------------------------------------------------------

def load_module_spec(spec, kwargs=None):
    """'path/to/file.py:NAME' -> NAME(**kwargs) from that file (a class or factory)."""
    path, sep, attr = spec.rpartition(":")
    if not sep or not path or not attr:
        raise ValueError("expected MODULE_FILE.py:FACTORY_OR_CLASS, got %r" % spec)
    modname = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    ms = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(ms)
    ms.loader.exec_module(mod)
    if not hasattr(mod, attr):
        raise ValueError("%s has no %s" % (path, attr))
    return getattr(mod, attr)(**(kwargs or {}))


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="export_torch.py",
        description="Export a PyTorch model (input (N, 4, L), one-hot ACGT) to seqlift's "
                    "format: OUT_PREFIX.json + OUT_PREFIX.safetensors (docs/model-format.md).",
        epilog="Example: export_torch.py scripts/torch_models.py:bpnet_like weights.pt "
               "models/bpnet --length 2114 --outputs profile,count")
    ap.add_argument("module", metavar="MODULE_FILE:FACTORY_OR_CLASS",
                    help="Python file and the class or function in it that builds the model")
    ap.add_argument("weights", metavar="WEIGHTS.pt",
                    help="state_dict (or whole pickled module) saved with torch.save; "
                         "'-' keeps the weights the factory builds")
    ap.add_argument("prefix", metavar="OUT_PREFIX", help="writes OUT_PREFIX.json and .safetensors")
    ap.add_argument("--length", "-L", type=int, required=True, help="input length in bases")
    ap.add_argument("--outputs", help="comma-separated output names, in forward()'s return order")
    ap.add_argument("--kwargs", default="{}", help="JSON object of arguments for the factory")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"],
                    help="stored weight type (default F32; seqlift converts F16/BF16 on load)")
    a = ap.parse_args(argv)
    try:
        model = load_module_spec(a.module, json.loads(a.kwargs))
        if a.weights != "-":
            obj = torch.load(a.weights, map_location="cpu")
            if isinstance(obj, nn.Module):
                model = obj
            else:
                if isinstance(obj, dict) and "state_dict" in obj:
                    obj = obj["state_dict"]
                model.load_state_dict(obj)
        names = a.outputs.split(",") if a.outputs else None
        g = export_model(model, a.prefix, a.length, names, a.dtype)
    except (ExportError, ValueError, OSError, RuntimeError) as e:
        print("export_torch.py: error: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s.json (%d layers; outputs %s) and %s.safetensors"
          % (a.prefix, len(g["layers"]), ", ".join(o["name"] for o in g["outputs"]), a.prefix),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
