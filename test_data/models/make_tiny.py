#!/usr/bin/python3
"""Writes tiny.json / tiny.safetensors: a small two-head model for the predict tests
and the demo (numpy only; seeded, so the files are reproducible).

input [100][4] -> conv1d 4->8 k=7 same -> relu -> maxpool 2 -> conv1d 8->8 k=3 dil 2 valid
  -> crop to 40 -> profile head: conv1d 8->2 k=5 same ("profile", [40][2])
  -> count head: global_avgpool -> linear 8->1 ("count")
"""
import json, os, struct, sys
import numpy as np

rng = np.random.default_rng(11)
t = {}
def w(name, *shape):
    t[name] = (rng.standard_normal(shape) * 0.3).astype(np.float32)
    return name

layers = [
    dict(name="c1", op="conv1d", inputs=["input"], in_channels=4, out_channels=8, kernel_size=7,
         padding="same", weight=w("c1.weight", 8, 4, 7), bias=w("c1.bias", 8)),
    dict(name="r1", op="relu", inputs=["c1"]),
    dict(name="p1", op="maxpool1d", inputs=["r1"], kernel_size=2),
    dict(name="c2", op="conv1d", inputs=["p1"], in_channels=8, out_channels=8, kernel_size=3, dilation=2,
         padding="valid", weight=w("c2.weight", 8, 8, 3), bias=w("c2.bias", 8)),
    dict(name="r2", op="relu", inputs=["c2"]),
    dict(name="crop", op="crop", inputs=["r2"], start=3, stop=43),
    dict(name="prof", op="conv1d", inputs=["crop"], in_channels=8, out_channels=2, kernel_size=5,
         padding="same", weight=w("prof.weight", 2, 8, 5), bias=w("prof.bias", 2)),
    dict(name="gap", op="global_avgpool", inputs=["r2"]),
    dict(name="count", op="linear", inputs=["gap"], in_features=8, out_features=1,
         weight=w("count.weight", 1, 8), bias=w("count.bias", 1)),
]
model = {"format": "seqlift-model", "version": 1, "weights": "tiny.safetensors",
         "input": {"name": "input", "length": 100, "alphabet": "ACGT"},
         "layers": layers,
         "outputs": [{"name": "profile", "layer": "prof"}, {"name": "count", "layer": "count"}]}

out = os.path.dirname(os.path.abspath(__file__))
hdr, data, off = {}, b"", 0
for k, v in t.items():
    b = v.tobytes()
    hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    data += b
    off += len(b)
h = json.dumps(hdr, separators=(",", ":")).encode()
with open(os.path.join(out, "tiny.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
with open(os.path.join(out, "tiny.json"), "w") as f:
    json.dump(model, f, indent=1)
    f.write("\n")
# 5 records of length 100 for `predict -s`
seq_rng = np.random.default_rng(5)
with open(os.path.join(out, "seqs100.fa"), "w") as f:
    for i in range(5):
        s = "".join(seq_rng.choice(list("ACGT"), 100))
        if i == 2:
            s = s[:10] + "NNNN" + s[14:50] + s[50:].lower()
        f.write(">r%d\n%s\n%s\n" % (i, s[:60], s[60:]))
