"""Keras 2 models read without TensorFlow (`-m MODEL.h5`, `-m ARCH.json --weights W.h5`,
`seqlift convert`), on files written with h5py in Keras 2's own layout (tests/py/keras_h5.py):

* the ChromBPNet BPNet architecture (chrombpnet/training/models/bpnet_model.py: layer
  names bpnet_1st_conv, bpnet_<i>conv, bpnet_<i>crop, add, prof_out_precrop,
  logits_profile_predictions, gap, logcount_predictions), its bias-free export
  (chrombpnet_nobias.h5) and the full ChromBPNet model (bias model and bias-free model
  nested, Add of the profiles, Lambda logsumexp of the counts);
* a Basset-like Sequential CNN with BatchNormalization and max pooling (float16 and
  float64 weights on file), also as architecture JSON + save_weights file;
* a model using every other supported layer and activation;
* the real Keras 2.1.6 model of test_data/keras/ (DeepLIFT's genomics example);
* the same files with their string attributes variable-length (h5py's str, as tf.keras
  writes `keras_version` and `backend`), with superblock 3 (libver="latest") and with
  user blocks: the same conversion; and a corrupt global heap under a variable-length
  string (libhdf5 1.10 spins on it): refused at once with one line.

Predictions equal an independent NumPy float64 forward of the same weights (<= 1e-5
relative); `score --method rescale` equals scripts/torch_deeplift.py on a PyTorch model of
the same graph and weights. Malformed files are refused with one line naming the layer
and its class.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import keras_h5 as kh  # noqa: E402
import torch_deeplift as td  # noqa: E402
import torch_models as tm  # noqa: E402

SEQLIFT = os.environ.get("SEQLIFT", "build/seqlift")
TMP = os.environ.get("SEQLIFT_TMP") or tempfile.gettempdir()
SRC = os.environ.get("SEQLIFT_SRC", os.path.join(HERE, "..", ".."))
REAL = os.path.join(SRC, "test_data", "keras")
N_SEQS, K = 3, 4


# ---- models -----------------------------------------------------------------------------

def bpnet(prefix="", name="model", length=300, filters=8, n_dil=3, out_len=100, trainable=True):
    """chrombpnet's BPNet (bpnet_model.py; prefix 'wo_bias_' and its other names as in
    chrombpnet_with_bias_model.py's bias-free model). Returns (graph, input channels)."""
    g = kh.Graph(name, kh.input_layer("sequence", length))
    p = prefix + "bpnet_" if prefix else "bpnet_"
    ch = {}
    x = g.add(kh.conv1d(p + "1st_conv", filters, 21, activation="relu", trainable=trainable), "sequence")
    ch[p + "1st_conv"] = 4
    L = length - 20
    for i in range(1, n_dil + 1):
        c = g.add(kh.conv1d("%s%dconv" % (p, i), filters, 3, dilation=2 ** i, activation="relu",
                            trainable=trainable), x)
        ch["%s%dconv" % (p, i)] = filters
        cl = L - 2 * 2 ** i
        cr = g.add(kh.simple("Cropping1D", "%s%dcrop" % (p, i), cropping=[(L - cl) // 2, (L - cl) // 2]), x)
        x = g.add(kh.simple("Add", "add" if i == 1 else "add_%d" % (i - 1)), c, cr)
        L = cl
    prof = (prefix + "bpnet_prof_out_precrop") if prefix else "prof_out_precrop"
    g.add(kh.conv1d(prof, 1, 75, trainable=trainable), x)
    ch[prof] = filters
    L -= 74
    crop = L // 2 - out_len // 2
    pre = (prefix + "bpnet_logitt_before_flatten") if prefix else "logits_profile_predictions_preflatten"
    g.add(kh.simple("Cropping1D", pre, cropping=[crop, crop]), prof)
    flat = (prefix + "bpnet_logits_profile_predictions") if prefix else "logits_profile_predictions"
    g.add(kh.simple("Flatten", flat, data_format="channels_last"), pre)
    g.add(kh.simple("GlobalAveragePooling1D", "gap", data_format="channels_last"), x)
    count = (prefix + "bpnet_logcount_predictions") if prefix else "logcount_predictions"
    g.add(kh.dense(count, 1, trainable=trainable), "gap")
    ch[count] = filters
    g.outputs = [flat, count]
    return g, ch


def chrombpnet(length=300, lam=None):
    """chrombpnet_with_bias_model.py: the frozen bias model and model_wo_bias nested."""
    bias, c1 = bpnet(name="model", length=length, filters=4, n_dil=2, trainable=False)
    wob, c2 = bpnet("wo_bias_", name="model_wo_bias", length=length)
    g = kh.Graph("model_1", kh.input_layer("sequence", length))
    g.add(bias.config(), "sequence")
    g.add(wob.config(), "sequence")
    g.add(kh.simple("Add", "logits_profile_predictions"), ("model_wo_bias", 0), ("model", 0))
    g.add(kh.simple("Concatenate", "concatenate", axis=-1), ("model_wo_bias", 1), ("model", 1))
    g.add(lam or kh.logsumexp_lambda("logcount_predictions"), "concatenate")
    g.outputs = ["logits_profile_predictions", "logcount_predictions"]
    return g.config(), dict(c1, **c2)


def basset(length=120, tf2=True):
    layers = [
        kh.conv1d("conv1d", 16, 7, padding="same", activation="relu"),
        kh.batchnorm("batch_normalization"),
        kh.pool("MaxPooling1D", "max_pooling1d", 3),
        kh.conv1d("conv1d_1", 12, 5, dilation=2),
        kh.batchnorm("batch_normalization_1", center=False, eps=1e-5, axis=[2]),
        kh.simple("Activation", "activation", activation="relu"),
        kh.simple("SpatialDropout1D", "spatial_dropout1d", rate=0.1),
        kh.pool("MaxPooling1D", "max_pooling1d_1", 2),
        kh.conv1d("conv1d_2", 8, 3, padding="causal", activation="relu"),
        kh.pool("AveragePooling1D", "average_pooling1d", 2),
        kh.simple("Flatten", "flatten", data_format="channels_last"),
        kh.dense("dense", 16, activation="relu"),
        kh.simple("Dropout", "dropout", rate=0.3),
        kh.simple("GaussianNoise", "gaussian_noise", stddev=0.1),
        kh.dense("dense_1", 5, activation="sigmoid"),
    ]
    ch = {"conv1d": 4, "batch_normalization": 16, "conv1d_1": 16, "batch_normalization_1": 12, "conv1d_2": 12,
          "dense": 64, "dense_1": 16}
    return kh.sequential("sequential", layers, length, tf2), ch


def mixed(length=64):
    """Every other supported layer and activation."""
    g = kh.Graph("mixed", kh.input_layer("dna", length))
    g.add(kh.conv1d("c0", 6, 5, padding="same", activation="elu"), "dna")
    g.add(kh.conv1d("c1", 6, 3, padding="same", activation="gelu", use_bias=False), "c0")
    g.add(kh.simple("Add", "sum"), "c0", "c1")
    g.add(kh.simple("ReLU", "relu", max_value=None, negative_slope=0.0, threshold=0.0), "sum")
    g.add(kh.conv1d("c2", 4, 1, activation="tanh"), "relu")
    g.add(kh.simple("Concatenate", "cat", axis=-1), "relu", "c2")
    g.add(kh.pool("MaxPooling1D", "mp_same", 3, 1, padding="same"), "cat")
    g.add(kh.pool("AveragePooling1D", "ap_same", 3, 1, padding="same"), "mp_same")
    g.add(kh.simple("GaussianDropout", "gdrop", rate=0.2), "ap_same")
    g.add(kh.simple("ELU", "elu", alpha=0.7), "gdrop")
    g.add(kh.conv1d("c3", 5, 4, strides=2, padding="same", activation="softplus"), "elu")
    g.add(kh.simple("GlobalMaxPooling1D", "gmp", data_format="channels_last"), "c3")
    g.add(kh.dense("probs", 3, activation="softmax"), "gmp")
    g.add(kh.conv1d("c4", 3, 3, activation="exponential"), "elu")
    g.add(kh.simple("Cropping1D", "crop", cropping=[2, 3]), "c4")
    g.add(kh.simple("Concatenate", "cat_len", axis=1), "crop", "crop")
    g.add(kh.dense("per_pos", 2, activation="sigmoid"), "cat_len")
    g.add(kh.simple("Reshape", "flat", target_shape=[-1]), "per_pos")
    g.add(kh.dense("track", 2), "flat")
    g.add(kh.simple("GlobalAveragePooling1D", "gap_keep", data_format="channels_last", keepdims=True), "c3")
    g.add(kh.simple("Reshape", "same_shape", target_shape=[1, 5]), "gap_keep")
    g.add(kh.simple("Activation", "lin", activation="linear"), "same_shape")
    g.add(kh.batchnorm("bn_vec", scale=False), "gmp")
    g.add(kh.simple("Softmax", "sm", axis=-1), "bn_vec")
    g.outputs = ["probs", "track", "lin", "sm"]
    ch = {"c0": 4, "c1": 6, "c2": 6, "c3": 10, "probs": 5, "c4": 10, "per_pos": 3, "track": 2 * 2 * 57,
          "bn_vec": 5}
    return g.config(), ch


def nested_bn(length=50):
    """A nested Sequential with a BatchNormalization: its weights are saved trainable
    ones first (kernel, bias, gamma, beta, kernel, bias), then moving statistics."""
    inner = kh.sequential("block", [kh.conv1d("ca", 6, 5, activation="relu"), kh.batchnorm("bn"),
                                    kh.conv1d("cb", 4, 3)], length)
    g = kh.Graph("outer", kh.input_layer("x", length))
    g.add(inner, "x")
    g.add(kh.simple("GlobalAveragePooling1D", "pool"), "block")
    g.add(kh.dense("out", 2), "pool")
    g.outputs = ["out"]
    return g.config(), {"ca": 4, "bn": 6, "cb": 6, "out": 4}


# ---- helpers ---------------------------------------------------------------------------

def run(*args):
    return subprocess.run([SEQLIFT] + [str(a) for a in args], capture_output=True, text=True, timeout=600)


def restring(src, dst, vlen=True, **file_kw):
    """Copy the Keras file src with h5py into a file made with file_kw (libver,
    userblock_size), its string attributes all variable-length UTF-8 (h5py's str) if
    vlen, else all fixed-length (numpy bytes)."""
    def attrs(s, d):
        for k, v in s.attrs.items():
            if isinstance(v, (bytes, str)) or (isinstance(v, np.ndarray) and v.dtype.kind in "SO"):
                b = [x if isinstance(x, bytes) else x.encode("utf8") for x in np.ravel(np.array(v, dtype=object))]
                v = np.array([x.decode("utf8") for x in b], dtype=h5py.string_dtype()) if vlen else np.array(b)
                if np.ndim(s.attrs[k]) == 0:
                    v = v.reshape(())
            d.attrs[k] = v

    with h5py.File(src, "r") as a, h5py.File(dst, "w", **file_kw) as b:
        attrs(a, b)

        def copy(name, obj):
            if isinstance(obj, h5py.Dataset):
                b.create_dataset(name, data=obj[()])
            else:
                b.require_group(name)
            attrs(obj, b[name])
        a.visititems(copy)


def read_predict(path):
    with open(path) as f:
        rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("# ")]
    assert rows[0][-1] == "region_index", rows[0][-1]  # the last column joins to the npz row
    assert [r[-1] for r in rows[1:]] == [str(i) for i in range(len(rows) - 1)]
    return rows[0][:-1], np.array([[float(v) for v in r[1:-1]] for r in rows[1:]])


class KerasBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="test_keras_", dir=TMP if os.path.isdir(TMP) else None)
        cls.rng = np.random.default_rng(7)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def seqs(self, key, length, seed=3):
        x = tm.random_onehot(N_SEQS, length, seed=seed, n_frac=0.02)  # (N, 4, L)
        fa = self.path(key + ".fa")
        tm.write_fasta(fa, tm.onehot_to_seqs(x))
        return x, fa

    def check_predict(self, key, model, weights, length, mpath, extra=()):
        x, fa = self.seqs(key, length)
        out = self.path(key + ".tsv")
        p = run("predict", "-m", mpath, *extra, "-s", fa, "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        header, got = read_predict(out)
        want = np.concatenate([o.reshape(N_SEQS, -1) for o in
                               kh.numpy_forward(model, weights, x.transpose(0, 2, 1).astype(np.float64))], 1)
        self.assertEqual(got.shape, want.shape)
        scale = np.abs(want).max(0, keepdims=True)
        err = (np.abs(got - want) / np.maximum(scale, 1e-30)).max()
        self.assertLessEqual(err, 1e-5, "%s: worst error %.3g relative to each column's largest value" % (key, err))
        print("\n%s: predict vs NumPy float64: worst error %.2g of each output column's largest value"
              % (key, err), file=sys.stderr)
        return header, err


class TestKerasPredict(KerasBase):
    def test_bpnet_full_model(self):
        g, ch = bpnet()
        model = g.config()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("bpnet.h5"), model, w)
        header, err = self.check_predict("bpnet", model, w, 300, self.path("bpnet.h5"))
        self.assertIn("logcount_predictions", header)
        self.assertIn("logits_profile_predictions_99", header)

    def test_layers_out_of_order(self):
        """Keras lists layers topologically; the reader does not rely on it."""
        g, ch = bpnet()
        model = g.config()
        w = kh.random_weights(model, ch, self.rng)
        ls = model["config"]["layers"]
        rev = {"class_name": "Functional", "config": dict(model["config"], layers=ls[:1] + ls[1:][::-1])}
        kh.save_model(self.path("reversed.h5"), rev, w)
        self.check_predict("reversed", model, w, 300, self.path("reversed.h5"))

    def test_chrombpnet_nested_and_nobias(self):
        model, ch = chrombpnet()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("chrombpnet.h5"), model, w)
        self.check_predict("chrombpnet", model, w, 300, self.path("chrombpnet.h5"))
        nob = model["config"]["layers"][2]  # model_wo_bias, saved alone as chrombpnet_nobias.h5 does
        nob = {"class_name": "Functional", "config": nob["config"]}
        kh.save_model(self.path("chrombpnet_nobias.h5"), nob, w)
        h, _ = self.check_predict("nobias", nob, w, 300, self.path("chrombpnet_nobias.h5"))
        self.assertIn("wo_bias_bpnet_logcount_predictions", h)

    def test_basset_sequential_float16_float64(self):
        model, ch = basset()
        w = kh.random_weights(model, ch, self.rng)
        dt = {("conv1d", "kernel"): np.float16, ("batch_normalization", "moving_variance"): np.float16,
              ("dense", "kernel"): np.float64, ("conv1d_2", "bias"): np.float64}
        for (l, k), d in dt.items():
            w[l][k] = w[l][k].astype(d).astype(np.float64)
        kh.save_model(self.path("basset.h5"), model, w, dt)
        self.check_predict("basset", model, w, 120, self.path("basset.h5"))

    def test_json_plus_weights(self):
        for tf2 in (True, False):
            model, ch = basset(tf2=tf2)
            w = kh.random_weights(model, ch, self.rng)
            js, h5 = self.path("arch%d.json" % tf2), self.path("weights%d.h5" % tf2)
            with open(js, "w") as f:
                f.write(kh.to_json(model))
            kh.save_weights(h5, model, w)
            self.check_predict("json%d" % tf2, model, w, 120, js, ("--weights", h5))

    def test_mixed_layers(self):
        model, ch = mixed()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("mixed.h5"), model, w)
        self.check_predict("mixed", model, w, 64, self.path("mixed.h5"))

    def test_nested_weight_order(self):
        model, ch = nested_bn()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("nested.h5"), model, w)
        with h5py.File(self.path("nested.h5")) as f:
            names = [n.decode() for n in f["model_weights/block"].attrs["weight_names"]]
        self.assertEqual(names, ["ca/kernel:0", "ca/bias:0", "bn/gamma:0", "bn/beta:0", "cb/kernel:0", "cb/bias:0",
                                 "bn/moving_mean:0", "bn/moving_variance:0"])
        self.check_predict("nested", model, w, 50, self.path("nested.h5"))

    def test_convert_then_predict_is_identical(self):
        g, ch = bpnet()
        model = g.config()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("conv.h5"), model, w)
        p = run("convert", self.path("conv.h5"), self.path("converted"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(self.path("converted.safetensors")))
        x, fa = self.seqs("conv", 300)
        a, b = self.path("a.tsv"), self.path("b.tsv")
        self.assertEqual(run("predict", "-m", self.path("conv.h5"), "-s", fa, "-o", a).returncode, 0)
        self.assertEqual(run("predict", "-m", self.path("converted.json"), "-s", fa, "-o", b).returncode, 0)
        with open(a) as fa_, open(b) as fb_:  # the provenance lines name the two models
            self.assertEqual(fa_.readlines()[1:], fb_.readlines()[1:])

    def test_alphabet(self):
        """A model trained on TGCA channels, converted with --alphabet TGCA, predicts on
        ACGT one-hot what the Keras model gives for the same sequences in TGCA order."""
        model, ch = basset()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("tgca.h5"), model, w)
        p = run("convert", "--alphabet", "TGCA", self.path("tgca.h5"), self.path("tgca"))
        self.assertEqual(p.returncode, 0, p.stderr)
        x, fa = self.seqs("tgca", 120)
        out = self.path("tgca.tsv")
        self.assertEqual(run("predict", "-m", self.path("tgca.json"), "-s", fa, "-o", out).returncode, 0)
        _, got = read_predict(out)
        xt = x[:, [3, 2, 1, 0], :].transpose(0, 2, 1)  # T G C A channels
        want = kh.numpy_forward(model, w, xt.astype(np.float64))[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        out2 = self.path("tgca2.tsv")  # the same, read directly
        p = run("predict", "-m", self.path("tgca.h5"), "--alphabet", "TGCA", "-s", fa, "-o", out2)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as a, open(out2) as b:  # provenance aside
            self.assertEqual(a.readlines()[1:], b.readlines()[1:])
        g = kh.Graph("m", kh.input_layer("seq", 40))
        g.add(kh.batchnorm("bn"), "seq")
        g.add(kh.simple("GlobalAveragePooling1D", "gap"), "bn")
        g.outputs = ["gap"]
        kh.save_model(self.path("bn_first.h5"), g.config(), kh.random_weights(g.config(), {"bn": 4}, self.rng))
        p = run("convert", "--alphabet", "TGCA", self.path("bn_first.h5"), self.path("bad"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("layer 'bn' (BatchNormalization): a channel order other than ACGT needs the input to feed "
                      "Conv1D or Dense", p.stderr)
        p = run("convert", "--alphabet", "ACGX", self.path("tgca.h5"), self.path("bad"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("alphabet", p.stderr)

    def test_real_keras_216_model(self):
        js = os.path.join(REAL, "keras2_conv1d_record_5_model_PQzyq_modelJson.json")
        h5 = os.path.join(REAL, "keras2_conv1d_record_5_model_PQzyq_modelWeights.h5")
        with open(js) as f:
            model = json.load(f)
        w = {}
        with h5py.File(h5) as f:
            for l in f.attrs["layer_names"]:
                g = f[l.decode()]
                for n in g.attrs["weight_names"]:
                    w.setdefault(l.decode(), {})[n.decode().split("/")[-1].split(":")[0]] = g[n.decode()][()]
        h, err = self.check_predict("real", model, w, 200, js, ("--weights", h5))
        self.assertEqual(h[1:], ["activation_4_0", "activation_4_1", "activation_4_2"])
        x, fa = self.seqs("real_score", 200)
        out = self.path("real_score")
        p = run("score", "-m", js, "--weights", h5, "-s", fa, "--target", "activation_4:1", "--tsv", out + ".tsv")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out + ".tsv") as f:
            rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#")]
        j = [c.lower() for c in rows[0]].index("delta_error")
        for r in rows[1:]:
            self.assertLessEqual(float(r[j]), 1e-3)


class TestKerasCli(KerasBase):
    def test_usage_and_model_forms(self):
        self.assertEqual(run("convert").returncode, 2)
        self.assertEqual(run("convert", "only_one").returncode, 2)
        p = run("convert", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--weights", p.stdout)
        model, ch = basset()
        w = kh.random_weights(model, ch, self.rng)
        js, h5 = self.path("a.json"), self.path("w.h5")
        with open(js, "w") as f:
            f.write(kh.to_json(model))
        kh.save_weights(h5, model, w)
        seqs = os.path.join(SRC, "test_data", "seqs.fa")
        for args, want in ((("-m", js), "needs its weights file"),
                           (("-m", os.path.join(SRC, "test_data", "models", "tiny.json"), "--weights", h5),
                            "a weights file is for a Keras architecture JSON"),
                           (("-m", h5, "--weights", h5), "a weights file is for an architecture JSON")):
            p = run("predict", *args, "-s", seqs)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(len(p.stderr.strip().split("\n")), 1, p.stderr)
            self.assertIn(want, p.stderr)


class TestKerasScore(KerasBase):
    """seqlift score --method rescale against torch_deeplift on the same graph and weights."""

    def compare(self, key, model, w, length, mpath, names, target):
        x, fa = self.seqs(key, length, seed=11)
        refs = tm.random_onehot(N_SEQS * K, length, seed=12, n_frac=0.0)
        rfa = self.path(key + "_refs.fa")
        tm.write_fasta(rfa, tm.onehot_to_seqs(refs), ["ref%d" % i for i in range(len(refs))])
        out = self.path("%s_%s" % (key, target.replace(":", "_")))
        p = run("score", "-m", mpath, "-s", fa, "--method", "rescale", "--refs", "fasta:%s:%d" % (rfa, K),
                "--target", target, "--maxpool", "summation", "--npz", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        dl = td.DeepLiftRescale(kh.torch_model(model, w, length), names, "summation", torch.float64)
        refs = refs.reshape(N_SEQS, K, 4, length)
        contrib = np.load(out + ".contrib.npz")["arr_0"]
        hyp = np.load(out + ".hyp.npz")["arr_0"]
        for i in range(N_SEQS):
            want = dl.attribute(x[i], refs[i], target)
            for name, got, ref in (("contrib", contrib[i], want["projected"]), ("hyp", hyp[i], want["hyp"])):
                scale = np.abs(ref).max()
                bad = np.abs(got - ref) > 1e-4 * np.abs(ref) + 1e-5 * scale
                self.assertFalse(bad.any(), "%s %s seq %d %s: max |diff| %.3g of max %.3g"
                                 % (key, target, i, name, np.abs(got - ref).max(), scale))

    def test_bpnet_and_chrombpnet(self):
        for key, (model, ch) in (("bpnet", (bpnet()[0].config(), bpnet()[1])), ("chrombpnet", chrombpnet())):
            w = kh.random_weights(model, ch, self.rng)
            kh.save_model(self.path(key + ".h5"), model, w)
            for t in ("logcount_predictions:0", "logits_profile_predictions:profile"):
                self.compare(key, model, w, 300, self.path(key + ".h5"),
                             ["logits_profile_predictions", "logcount_predictions"], t)

    def test_readme_chrombpnet_commands(self):
        """The README's ChromBPNet commands: bias-free and full model, genome + narrowPeak,
        one bigWig per target; targets by output name or by index."""
        model, ch = chrombpnet()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("chrombpnet.h5"), model, w)
        nob = {"class_name": "Functional", "config": model["config"]["layers"][2]["config"]}
        kh.save_model(self.path("chrombpnet_nobias.h5"), nob, w)
        d = os.path.join(SRC, "test_data")
        for m, t in (("chrombpnet_nobias.h5",
                      "wo_bias_bpnet_logcount_predictions:0,wo_bias_bpnet_logits_profile_predictions:profile"),
                     ("chrombpnet_nobias.h5", "1:0,0:profile"),
                     ("chrombpnet.h5", "logcount_predictions:0,logits_profile_predictions:profile")):
            bw = self.path("out.bw")
            p = run("score", "-m", self.path(m), "-f", os.path.join(d, "genome.fa"), "-b",
                    os.path.join(d, "peaks.narrowPeak"), "--target", t, "--bigwig", bw)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name in t.split(","):
                f = self.path("out.%s.bw" % name.replace(":", "_"))
                self.assertTrue(os.path.getsize(f) > 0, f)
                os.remove(f)

    def test_basset(self):
        model, ch = basset()
        w = kh.random_weights(model, ch, self.rng)
        kh.save_model(self.path("basset.h5"), model, w)
        self.compare("basset", model, w, 120, self.path("basset.h5"), ["dense_1"], "dense_1:3")


class TestKerasRefused(KerasBase):
    """Each bad file: exit 1 and one stderr line naming the file and the layer (class)."""

    def refused(self, model, w, *want, dtypes=None, mutate=None, weights_only=False):
        p = self.path("bad.h5")
        (kh.save_weights if weights_only else kh.save_model)(p, model, w, dtypes)
        if mutate:
            with h5py.File(p, "a") as f:
                mutate(f)
        r = run("predict", "-m", p, "-s", os.path.join(SRC, "test_data", "seqs.fa"))
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("bad.h5", lines[0])
        for s in want:
            self.assertIn(s, lines[0])
        return lines[0]

    def small(self, *extra, length=40):
        g = kh.Graph("m", kh.input_layer("seq", length))
        g.add(kh.conv1d("c1", 4, 5, activation="relu"), "seq")
        last = "c1"
        for e in extra:
            last = g.add(e, last)
        g.add(kh.simple("GlobalAveragePooling1D", "gap"), last)
        g.add(kh.dense("out", 1), "gap")
        g.outputs = ["out"]
        m = g.config()
        return m, kh.random_weights(m, {"c1": 4, "out": 4}, self.rng)

    def test_missing_attribute(self):
        m, w = self.small()
        del m["config"]["layers"][1]["config"]["filters"]
        self.refused(m, w, "layer 'c1' (Conv1D)", "missing attribute 'filters'")
        m, w = self.small()
        m["config"]["layers"][1]["config"]["filters"] = "4"
        self.refused(m, w, "layer 'c1' (Conv1D)", "'filters' must be an integer")
        m, w = self.small()
        m["config"]["layers"][1]["config"]["padding"] = "full"
        self.refused(m, w, "layer 'c1' (Conv1D)", "padding 'full'")

    def test_wrong_shape(self):
        m, w = self.small()
        w["c1"]["kernel"] = w["c1"]["kernel"][:4]
        self.refused(m, w, "layer 'c1' (Conv1D)", "c1/kernel:0", "shape (4, 4, 4), want (5, 4, 4)")

    def test_lambda(self):
        m, w = self.small(kh.simple("Lambda", "lam", function=["4wAAAA==", None, None], function_type="lambda"))
        self.refused(m, w, "layer 'lam' (Lambda)", "Python code")

    def test_chrombpnet_lambda_not_logsumexp(self):
        m, ch = chrombpnet(lam=kh.simple("Lambda", "logcount_predictions", function=["4wAAAA==", None, None],
                                         function_type="lambda"))
        w = kh.random_weights(m, ch, self.rng)
        self.refused(m, w, "layer 'logcount_predictions' (Lambda)", "model_wo_bias", "chrombpnet_nobias.h5")

    def test_unknown_layer(self):
        m, w = self.small(kh.simple("Conv2D", "c2d", filters=3, kernel_size=[3, 3]))
        self.refused(m, w, "layer 'c2d' (Conv2D)", "not supported")
        m, w = self.small(kh.simple("LeakyReLU", "lrelu", alpha=0.3))
        self.refused(m, w, "layer 'lrelu' (LeakyReLU)", "not supported")
        m, w = self.small(kh.simple("PReLU", "prelu"))
        self.refused(m, w, "layer 'prelu' (PReLU)", "not supported")
        m, w = self.small(kh.simple("LSTM", "lstm", units=4))
        self.refused(m, w, "layer 'lstm' (LSTM)", "not supported")

    def test_unsupported_settings(self):
        m, w = self.small()
        m["config"]["layers"][1]["config"]["data_format"] = "channels_first"
        self.refused(m, w, "layer 'c1' (Conv1D)", "channels_first")
        m, w = self.small(kh.pool("MaxPooling1D", "mp", 2, 1, padding="same"))
        self.refused(m, w, "layer 'mp' (MaxPooling1D)", "only equal padding")
        m, w = self.small(kh.simple("Reshape", "rs", target_shape=[8, 18]))
        self.refused(m, w, "layer 'rs' (Reshape)", "not supported")

    def test_unknown_activation(self):
        m, w = self.small()
        m["config"]["layers"][1]["config"]["activation"] = "swish"
        self.refused(m, w, "layer 'c1' (Conv1D)", "activation 'swish'")

    def test_multi_input(self):
        g = kh.Graph("m", kh.input_layer("seq", 40))
        g.layers.append(dict(kh.input_layer("ctl", 40), name="ctl", inbound_nodes=[]))
        g.add(kh.simple("Add", "sum"), "seq", "ctl")
        g.add(kh.simple("GlobalAveragePooling1D", "gap"), "sum")
        g.outputs = ["gap"]
        m = g.config()
        m["config"]["input_layers"].append(["ctl", 0, 0])
        self.refused(m, {}, "layer 'ctl' (InputLayer)", "second model input")

    def test_weights_problems(self):
        m, w = self.small()
        self.refused(m, w, "layer 'c1' (Conv1D)", "no weights group", mutate=lambda f: f["model_weights"].pop("c1"))
        self.refused(m, w, "layer 'c1' (Conv1D)", "weight_names",
                     mutate=lambda f: f["model_weights/c1"].attrs.__delitem__("weight_names"))
        w2 = {k: dict(v) for k, v in w.items()}
        w2["out"]["bias"] = np.array([np.nan])
        self.refused(m, w2, "layer 'out' (Dense)", "non-finite")

        def to_int(f):
            d = f["model_weights/c1/c1/bias:0"]
            v = d[()]
            del f["model_weights/c1/c1/bias:0"]
            f["model_weights/c1/c1"].create_dataset("bias:0", data=v.astype(np.int32))
        self.refused(m, w, "layer 'c1' (Conv1D)", "not float16/float32/float64", mutate=to_int)
        m2 = json.loads(json.dumps(m))
        m2["config"]["layers"][1]["config"]["use_bias"] = False

        def no_bias(f):
            f.attrs["model_config"] = json.dumps(m2).encode()
        self.refused(m, w, "layer 'c1' (Conv1D)", "holds 2 weights, the layer has 1", mutate=no_bias)

    def test_weights_file_as_model(self):
        m, w = self.small()
        self.refused(m, w, "model_config", "weights of its architecture JSON", weights_only=True)

    def test_unknown_length_and_shared_layer(self):
        m, w = self.small()
        m["config"]["layers"][0]["config"]["batch_input_shape"] = [None, None, 4]
        self.refused(m, w, "layer 'seq' (InputLayer)", "not fixed")
        m, w = self.small()
        m["config"]["layers"][1]["inbound_nodes"].append([["seq", 0, 0, {}]])
        self.refused(m, w, "layer 'c1' (Conv1D)", "called 2 times")

    def test_cycle(self):
        m, w = self.small()
        m["config"]["layers"][1]["inbound_nodes"] = [[["out", 0, 0, {}]]]
        self.refused(m, w, "depend on itself")

    def test_not_keras(self):
        p = self.path("garbage.h5")
        with open(p, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        r = run("predict", "-m", p, "-s", os.path.join(SRC, "test_data", "seqs.fa"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().split("\n")), 1, r.stderr)
        self.assertIn("garbage.h5", r.stderr)


class TestKerasStrings(KerasBase):
    """String attributes as h5py and Keras versions write them, and their global heap."""
    small = TestKerasRefused.small

    def converted(self, model, weights=None):
        out = self.path(os.path.basename(weights or model) + ".conv")
        p = run("convert", *(("--weights", weights) if weights else ()), model, out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out + ".safetensors", "rb") as f:
            return f.read()

    def test_vlen_fixed_superblock_userblock(self):
        m, w = self.small()
        kh.save_model(self.path("fixed.h5"), m, w)
        want = self.converted(self.path("fixed.h5"))
        for name, vlen, kw in (("vlen", True, {}), ("latest", True, {"libver": "latest"}),
                               ("ub_fixed", False, {"userblock_size": 512}),
                               ("ub_latest", True, {"libver": "latest", "userblock_size": 1024})):
            p = self.path(name + ".h5")
            restring(self.path("fixed.h5"), p, vlen, **kw)
            with h5py.File(p, "r") as f:
                self.assertEqual(h5py.check_string_dtype(f.attrs.get_id("keras_version").dtype).length,
                                 None if vlen else len(kh.KERAS_VERSION))
            self.assertEqual(self.converted(p), want, name)
        # the real Keras 2.1.6 weights (variable-length keras_version) as JSON + weights, also restrung
        arch = os.path.join(REAL, "keras2_conv1d_record_5_model_PQzyq_modelJson.json")
        real = os.path.join(REAL, "keras2_conv1d_record_5_model_PQzyq_modelWeights.h5")
        want = self.converted(arch, real)
        restring(real, self.path("real_latest.h5"), True, libver="latest", userblock_size=512)
        self.assertEqual(self.converted(arch, self.path("real_latest.h5")), want)

    def test_dense_attributes_and_soft_links_refused(self):
        m, w = self.small()
        kh.save_model(self.path("fixed3.h5"), m, w)
        p = self.path("bad.h5")
        restring(self.path("fixed3.h5"), p, True, libver="latest")
        with h5py.File(p, "a") as f:  # more than 8 attributes: dense storage (a fractal heap)
            for i in range(10):
                f.attrs["extra%d" % i] = i
        self.refused_file(p, "attribute 'model_config'", "dense storage", "not supported")
        restring(self.path("fixed3.h5"), p, True)
        with h5py.File(p, "a") as f:
            f.move("model_weights/c1", "c1_elsewhere")
            f["model_weights/c1"] = h5py.SoftLink("/c1_elsewhere")
        self.refused_file(p, "object 'c1'", "soft and external links are not supported")

    def refused_file(self, p, *want):
        r = run("predict", "-m", p, "-s", os.path.join(SRC, "test_data", "seqs.fa"))
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, r.stderr)
        for s in want:
            self.assertIn(s, lines[0])

    def test_corrupt_heap_refused_at_once(self):
        """The free-space object of the global heap of the string attributes given size 0:
        libhdf5 1.10's H5Aread never returns on it; seqlift refuses the file."""
        m, w = self.small()
        kh.save_model(self.path("fixed2.h5"), m, w)
        p = self.path("bad.h5")
        restring(self.path("fixed2.h5"), p, True)
        with open(p, "rb") as f:
            b = bytearray(f.read())
        g = b.find(b"GCOL")
        size = int.from_bytes(b[g + 8:g + 16], "little")
        q = g + 16
        while int.from_bytes(b[q:q + 2], "little") != 0:  # objects up to the free space (index 0)
            q += 16 + (int.from_bytes(b[q + 8:q + 16], "little") + 7) // 8 * 8
            self.assertLess(q, g + size)
        b[q + 8:q + 16] = bytes(8)
        with open(p, "wb") as f:
            f.write(b)
        self.refused_file(p, "bad.h5: attribute ", "corrupt variable-length string: the objects of its global "
                          "heap collection do not fill it")


if __name__ == "__main__":
    unittest.main()
