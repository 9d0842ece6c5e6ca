"""Keras 2 model files written with h5py, without TensorFlow, and two independent
forwards of them (NumPy for predictions, PyTorch for the DeepLIFT reference).

The file layout is Keras 2's own (keras-team/keras v2.x keras/saving/legacy/
hdf5_format.py, tf.keras 2.x the same): root attributes `keras_version`, `backend`,
`model_config` (the architecture JSON, bytes); group `model_weights` with attributes
`layer_names`, `backend`, `keras_version`; one group per layer with attribute
`weight_names` (the variables' names, e.g. b"conv1d/kernel:0"; an empty float64 array
when the layer has none) and a dataset at each name's path. A nested model's group lists
all its layers' weights: first the trainable weights of its trainable layers, then each
layer's non-trainable ones (all of a frozen layer's). save_weights writes the same at the
file's root. Layer configs carry the attribute names of the layers' get_config().
"""
import base64
import json
import marshal
import math

import h5py
import numpy as np

KERAS_VERSION = "2.4.0"

# ---- architecture (get_config() output) -------------------------------------------

_INIT = {"class_name": "GlorotUniform", "config": {"seed": None}}
_ZEROS = {"class_name": "Zeros", "config": {}}


def conv1d(name, filters, k, strides=1, padding="valid", dilation=1, activation="linear", use_bias=True,
           trainable=True):
    return {"class_name": "Conv1D", "config": {
        "name": name, "trainable": trainable, "dtype": "float32", "filters": filters, "kernel_size": [k],
        "strides": [strides], "padding": padding, "data_format": "channels_last", "dilation_rate": [dilation],
        "groups": 1, "activation": activation, "use_bias": use_bias, "kernel_initializer": _INIT,
        "bias_initializer": _ZEROS, "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def dense(name, units, activation="linear", use_bias=True, trainable=True):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": trainable, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": use_bias, "kernel_initializer": _INIT, "bias_initializer": _ZEROS,
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


def batchnorm(name, eps=1e-3, center=True, scale=True, axis=-1):
    return {"class_name": "BatchNormalization", "config": {
        "name": name, "trainable": True, "dtype": "float32", "axis": axis, "momentum": 0.99, "epsilon": eps,
        "center": center, "scale": scale, "beta_initializer": _ZEROS, "gamma_initializer": _ZEROS,
        "moving_mean_initializer": _ZEROS, "moving_variance_initializer": _ZEROS,
        "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}}


def simple(cls, name, **cfg):
    c = {"name": name, "trainable": True, "dtype": "float32"}
    c.update(cfg)
    return {"class_name": cls, "config": c}


def pool(cls, name, size, strides=None, padding="valid"):
    return simple(cls, name, pool_size=[size], strides=[strides or size], padding=padding,
                  data_format="channels_last")


def input_layer(name, length):
    return {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, length, 4], "dtype": "float32", "sparse": False, "ragged": False,
        "name": name}}


def logsumexp_lambda(name):
    """ChromBPNet's count head: Lambda(lambda x: tf.math.reduce_logsumexp(x, axis=-1,
    keepdims=True)), its code marshalled and base64-encoded as Keras's func_dump does."""
    f = lambda x: tf.math.reduce_logsumexp(x, axis=-1, keepdims=True)  # noqa: E731,F821
    code = base64.encodebytes(marshal.dumps(f.__code__)).decode("ascii")
    return simple("Lambda", name, function=[code, None, None], function_type="lambda", module="__main__",
                  output_shape=None, output_shape_type="raw", output_shape_module=None, arguments={})


class Graph:
    """A Functional model's config: add(layer, inputs) with inputs (name, tensor_index)
    pairs; a nested model's outputs are referenced at node index 1 (TF 2 keeps node 0
    for the model's own graph)."""

    def __init__(self, name, inp):
        self.name, self.layers, self.nested = name, [], set()
        self.layers.append(dict(inp, name=inp["config"]["name"], inbound_nodes=[]))
        self.input = inp["config"]["name"]
        self.outputs = []

    def add(self, layer, *inputs):
        refs = [[n, 1 if n in self.nested else 0, t, {}] for n, t in
                ((i, 0) if isinstance(i, str) else i for i in inputs)]
        name = layer["config"]["name"]
        self.layers.append(dict(layer, name=name, inbound_nodes=[refs]))
        if layer["class_name"] == "Functional":
            self.nested.add(name)
        return name

    def config(self):
        return {"class_name": "Functional", "config": {
            "name": self.name, "layers": self.layers, "input_layers": [[self.input, 0, 0]],
            "output_layers": [list(o) if isinstance(o, tuple) else [o, 0, 0] for o in self.outputs]}}


def sequential(name, layers, length=None, tf2=True):
    """A Sequential config: TF 2 style ({name, layers} with an InputLayer first) or
    Keras 2.1.6 style (a list, batch_input_shape on the first layer)."""
    if tf2:
        return {"class_name": "Sequential", "config": {"name": name, "layers": [input_layer(name + "_input", length)]
                                                         + layers}}
    first = dict(layers[0], config=dict(layers[0]["config"], batch_input_shape=[None, length, 4]))
    return {"class_name": "Sequential", "config": [first] + layers[1:]}


# ---- weights -------------------------------------------------------------------------

def kinds(layer):
    """(trainable, non-trainable) weight kinds of a layer, as Keras orders them."""
    c, cls = layer["config"], layer["class_name"]
    if cls in ("Conv1D", "Dense"):
        return ["kernel"] + (["bias"] if c.get("use_bias", True) else []), []
    if cls == "BatchNormalization":
        return ([k for k, f in (("gamma", "scale"), ("beta", "center")) if c.get(f, True)],
                ["moving_mean", "moving_variance"])
    return [], []


def model_layer_list(cfg):
    c = cfg["config"]
    return c if isinstance(c, list) else c["layers"]


def is_model(layer):
    return layer["class_name"] in ("Functional", "Model", "Sequential")


def weight_order(layer):
    """[(owner layer name, kind)] in the order Keras saves the layer's weights."""
    if not is_model(layer):
        t, n = kinds(layer)
        return [(layer["config"]["name"], k) for k in t + n]
    leaves = []

    def walk(m):
        for l in model_layer_list(m):
            walk(l) if is_model(l) else leaves.append(l)
    walk(layer)
    train = [(l["config"]["name"], k) for l in leaves if l["config"].get("trainable", True) for k in kinds(l)[0]]
    rest = [(l["config"]["name"], k) for l in leaves
            for k in (kinds(l)[1] if l["config"].get("trainable", True) else sum(kinds(l), []))]
    return train + rest


def random_weights(model, shapes, rng, scale=0.3):
    """{layer name: {kind: array}} for every weighted leaf layer; shapes gives each
    Conv1D/Dense layer's input channels."""
    w = {}

    def walk(m):
        for l in model_layer_list(m):
            if is_model(l):
                walk(l)
                continue
            c, cls, nm = l["config"], l["class_name"], l["config"]["name"]
            if cls == "Conv1D":
                w[nm] = {"kernel": rng.uniform(-scale, scale, (c["kernel_size"][0], shapes[nm], c["filters"]))}
                if c.get("use_bias", True):
                    w[nm]["bias"] = rng.uniform(-0.1, 0.1, c["filters"])
            elif cls == "Dense":
                w[nm] = {"kernel": rng.uniform(-scale, scale, (shapes[nm], c["units"]))}
                if c.get("use_bias", True):
                    w[nm]["bias"] = rng.uniform(-0.1, 0.1, c["units"])
            elif cls == "BatchNormalization":
                ch = shapes[nm]
                w[nm] = {"moving_mean": rng.uniform(-0.2, 0.2, ch), "moving_variance": rng.uniform(0.5, 1.5, ch)}
                if c.get("scale", True):
                    w[nm]["gamma"] = rng.uniform(0.5, 1.5, ch)
                if c.get("center", True):
                    w[nm]["beta"] = rng.uniform(-0.2, 0.2, ch)
    walk(model)
    return w


def _write_weight_groups(g, model, weights, dtypes):
    top = model_layer_list(model)
    names = [l["config"]["name"] for l in top if not (model["class_name"] == "Sequential"
                                                        and l["class_name"] == "InputLayer")]
    g.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
    g.attrs["backend"] = b"tensorflow"
    g.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for l in sorted((l for l in top if l["config"]["name"] in names), key=lambda l: l["config"]["name"]):
        lg = g.create_group(l["config"]["name"])
        order = weight_order(l)
        wnames = ["%s/%s:0" % (owner, k) for owner, k in order]
        lg.attrs["weight_names"] = np.array([n.encode("utf8") for n in wnames]) if wnames else np.array([])
        for (owner, k), n in zip(order, wnames):
            lg.create_dataset(n, data=np.asarray(weights[owner][k], dtype=dtypes.get((owner, k), np.float32)))


def save_model(path, model, weights, dtypes=None):
    """model.save(path): a Keras 2 full-model HDF5 file. dtypes: {(layer, kind): dtype}."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(dict(model, keras_version=KERAS_VERSION,
                                                  backend="tensorflow")).encode("utf8")
        f.attrs["training_config"] = json.dumps({"loss": "mse"}).encode("utf8")
        _write_weight_groups(f.create_group("model_weights"), model, weights, dtypes or {})


def save_weights(path, model, weights, dtypes=None):
    """model.save_weights(path) (HDF5): the weight groups at the root."""
    with h5py.File(path, "w") as f:
        _write_weight_groups(f, model, weights, dtypes or {})


def to_json(model):
    return json.dumps(dict(model, keras_version=KERAS_VERSION, backend="tensorflow"))


# ---- NumPy forward (Keras semantics, float64) ----------------------------------------

def _same_pad(L, k, s, d=1):
    out = -(-L // s)
    tot = max((out - 1) * s + (k - 1) * d + 1 - L, 0)
    return tot // 2, tot - tot // 2


def _act(name, x):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    if name == "exponential":
        return np.exp(x)
    if name == "softplus":
        return np.log1p(np.exp(x))
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    raise ValueError(name)


def _np_layer(l, xs, w):
    c, cls = l["config"], l["class_name"]
    x = xs[0]
    if cls == "Conv1D":
        k, s, d = c["kernel_size"][0], c["strides"][0], c["dilation_rate"][0]
        L = x.shape[1]
        pl, pr = {"valid": (0, 0), "same": _same_pad(L, k, s, d), "causal": ((k - 1) * d, 0)}[c["padding"]]
        xp = np.pad(x, ((0, 0), (pl, pr), (0, 0)))
        out = (xp.shape[1] - (k - 1) * d - 1) // s + 1
        y = sum(xp[:, j * d: j * d + (out - 1) * s + 1: s, :] @ w["kernel"][j] for j in range(k))
        y = y + w.get("bias", 0)
        return _act(c["activation"], y)
    if cls == "Dense":
        return _act(c["activation"], x @ w["kernel"] + w.get("bias", 0))
    if cls == "BatchNormalization":
        g, b = w.get("gamma", 1.0), w.get("beta", 0.0)
        return g * (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) + b
    if cls in ("MaxPooling1D", "AveragePooling1D"):
        k, s = c["pool_size"][0], c["strides"][0]
        L = x.shape[1]
        pl, pr = _same_pad(L, k, s) if c["padding"] == "same" else (0, 0)
        out = (L + pl + pr - k) // s + 1
        ys = []
        for t in range(out):
            a, b = max(t * s - pl, 0), min(t * s - pl + k, L)
            win = x[:, a:b, :]
            ys.append(win.max(1) if cls.startswith("Max") else win.mean(1))
        return np.stack(ys, 1)
    if cls in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        f = np.max if cls.startswith("GlobalMax") else np.mean
        return f(x, axis=1, keepdims=c.get("keepdims", False))
    if cls == "Flatten":
        return x.reshape(x.shape[0], -1)
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(c["target_shape"]))
    if cls in ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout"):
        return x
    if cls == "Cropping1D":
        a, b = c["cropping"]
        return x[:, a: x.shape[1] - b]
    if cls == "Add":
        return sum(xs)
    if cls == "Concatenate":
        return np.concatenate(xs, axis=c.get("axis", -1))
    if cls == "Activation":
        return _act(c["activation"], x)
    if cls == "ReLU":
        return np.maximum(x, 0)
    if cls == "Softmax":
        return _act("softmax", x)
    if cls == "ELU":
        a = c.get("alpha", 1.0)
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))
    if cls == "Lambda":  # the one Lambda the tests write: ChromBPNet's logsumexp
        return np.logaddexp.reduce(x, axis=-1, keepdims=True)
    raise ValueError("numpy forward: no %s" % cls)


def numpy_forward(model, weights, x):
    """x: (N, L, 4) float64 -> list of outputs, as Keras's model.predict(x)."""
    return _run(model, weights, [x], _np_layer)


def _run(model, weights, inputs, apply):
    """Run a Sequential or Functional config on inputs with apply(layer, xs, w)."""
    c = model["config"]
    if model["class_name"] == "Sequential":
        x = inputs[0]
        for l in model_layer_list(model):
            if l["class_name"] == "InputLayer":
                continue
            x = _run(l, weights, [x], apply)[0] if is_model(l) else apply(l, [x], weights.get(l["config"]["name"], {}))
        return [x]
    env = {}
    for (name, _, _), x in zip(c["input_layers"], inputs):
        env[name] = [x]
    for l in c["layers"]:
        if l["class_name"] == "InputLayer":
            continue
        xs = [env[n][t] for n, _, t, _ in l["inbound_nodes"][0]]
        env[l["name"]] = _run(l, weights, xs, apply) if is_model(l) else \
            [apply(l, xs, weights.get(l["config"]["name"], {}))]
    return [env[n][t] for n, _, t in c["output_layers"]]


# ---- PyTorch model of the same graph (for scripts/torch_deeplift.py) --------------------

def torch_model(model, weights, length):
    """An nn.Module taking (N, 4, L) that computes the Keras model in PyTorch ops
    (traceable by torch.fx; nonlinearities as torch functions, max pools as
    F.max_pool1d, so torch_deeplift applies its rules to them). ChromBPNet's logsumexp
    of two counts is b + softplus(a - b), the form seqlift converts it to."""
    import torch
    import torch.nn.functional as F

    def T(a):
        return torch.as_tensor(np.asarray(a), dtype=torch.float64)

    acts = {"linear": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "softmax": lambda t: torch.softmax(t, -1), "exponential": torch.exp, "softplus": F.softplus,
            "elu": F.elu, "gelu": F.gelu}

    lengths = {}  # input length of every layer (fx traces without concrete shapes)

    def record(l, xs, w):
        lengths[l["config"]["name"]] = xs[0].shape[1] if xs[0].ndim == 3 else 1
        return _np_layer(l, xs, w)
    _run(model, weights, [np.zeros((1, length, 4))], record)

    def apply(l, xs, w):  # xs in Keras layout (N, L, C) / (N, C)
        c, cls = l["config"], l["class_name"]
        x = xs[0]
        if cls == "Conv1D":
            k, s, d = c["kernel_size"][0], c["strides"][0], c["dilation_rate"][0]
            pl, pr = {"valid": (0, 0), "same": _same_pad(lengths[c["name"]], k, s, d),
                      "causal": ((k - 1) * d, 0)}[c["padding"]]
            xt = F.pad(x.transpose(1, 2), (pl, pr))
            y = F.conv1d(xt, T(w["kernel"]).permute(2, 1, 0), T(w["bias"]) if "bias" in w else None, s, 0, d)
            return acts[c["activation"]](y.transpose(1, 2))
        if cls == "Dense":
            y = x @ T(w["kernel"])
            if "bias" in w:
                y = y + T(w["bias"])
            return acts[c["activation"]](y)
        if cls == "BatchNormalization":
            sc = T(w.get("gamma", 1.0)) / torch.sqrt(T(w["moving_variance"]) + c["epsilon"])
            return (x - T(w["moving_mean"])) * sc + T(w.get("beta", 0.0))
        if cls == "MaxPooling1D":
            assert c["padding"] == "valid"
            return F.max_pool1d(x.transpose(1, 2), c["pool_size"][0], c["strides"][0]).transpose(1, 2)
        if cls == "AveragePooling1D":
            assert c["padding"] == "valid"
            return F.avg_pool1d(x.transpose(1, 2), c["pool_size"][0], c["strides"][0]).transpose(1, 2)
        if cls == "GlobalAveragePooling1D":
            return x.mean(1, keepdim=c.get("keepdims", False))
        if cls == "GlobalMaxPooling1D":
            return torch.amax(x.transpose(1, 2), dim=-1, keepdim=c.get("keepdims", False))
        if cls == "Flatten":
            return x.flatten(1)
        if cls in ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout"):
            return x
        if cls == "Cropping1D":
            a, b = c["cropping"]
            return x[:, a: lengths[c["name"]] - b]
        if cls == "Add":
            y = xs[0]
            for t in xs[1:]:
                y = y + t
            return y
        if cls == "Concatenate":
            return torch.cat(xs, dim=c.get("axis", -1))
        if cls == "Activation":
            return acts[c["activation"]](x)
        if cls == "Lambda":
            a, b = x[:, 0:1], x[:, 1:2]
            return b + F.softplus(a - b)
        raise ValueError("torch model: no %s" % cls)

    class KerasTorch(torch.nn.Module):
        def forward(self, x):
            return tuple(_run(model, weights, [x.transpose(1, 2)], apply))

    return KerasTorch()
