#!/usr/bin/env python3
"""Write the seed corpora (tests/fuzz/corpus/<target>/) and nothing else, from test_data/.

Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py. Deterministic; the output
is committed so that the normal suite replays the seeds (ctest fuzz_<target>).
Seeds that start with a mode byte (see each fuzz_<target>.c) get one copy per mode.
"""
import copy, gzip, io, json, os, shutil, struct, zipfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TD = os.path.join(SRC, "test_data")
OUT = os.path.join(HERE, "corpus")


def rd(rel):
    with open(os.path.join(TD, rel), "rb") as f:
        return f.read()


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    # FASTA: byte 0 = mode (0: -s, 1: -s width 8, 2: -s width 100, 3: genome index + fetch)
    fas = ["seqs.fa", "seqs.fa.gz", "bad_base.fa", "bad_duplicate.fa", "bad_empty_record.fa",
           "bad_no_header.fa", "bad_base_genome.fa", "models/seqs100.fa", "genome.fa"]
    for f in fas:
        for m in range(4):
            put("fasta", "%s.%d" % (os.path.basename(f), m), bytes([m]) + rd(f))
    put("fasta", "crlf.3", b"\x03>a x\r\nACGTN\r\nacg\r\n>b\r\nTTTT\r\n")
    # BED: byte 0 = width (bits 0-1) | refuse (2) | edge (3-5) | narrowPeak name (6) | no genome (7)
    beds = ["regions.bed", "regions3.bed", "regions_inside.bed", "regions.bed.gz", "bad_columns.bed",
            "bad_contig.bed", "bad_negative.bed", "bad_nonnumeric.bed", "bad_start_gt_end.bed",
            "bad_strand.bed"]
    for f in beds:
        for m in (0x00, 0x02, 0x06, 0x0a, 0x13, 0x82):
            put("bed", "%s.%02x" % (os.path.basename(f), m), bytes([m]) + rd(f))
    for f in ("peaks.narrowPeak", "bad_summit.narrowPeak"):
        for m in (0x40, 0x42, 0x4b, 0x53, 0xc3):
            put("bed", "%s.%02x" % (f, m), bytes([m]) + rd(f))
    put("bed", "edges.0a", b"\x0atrack x\nbrowser y\n# c\nchrM\t0\t10\nchrM\t320\t333\t.\t0\t-\nchr1\t2990\t3000\n")
    # model JSON (with tiny's and the demo's weights) and safetensors (byte 0: which JSON)
    tiny = json.loads(rd("models/tiny.json"))
    put("model_json", "tiny.json", rd("models/tiny.json"))
    put("model_json", "demo.json", rd("demo/model.json"))
    def variant(name, fn):
        d = copy.deepcopy(tiny)
        fn(d)
        put("model_json", name + ".json", json.dumps(d, indent=1))
    def set_op(idx, **kw):
        return lambda d: d["layers"][idx].update(kw)
    for op in ("sigmoid", "tanh", "softplus", "elu", "exp", "gelu", "dropout", "identity", "softmax"):
        variant("r1_" + op, set_op(1, op=op))
    variant("avgpool", set_op(2, op="avgpool1d", padding=1, count_include_pad=False))
    variant("maxpool_stride", set_op(2, stride=1, padding=1))
    variant("gmp", set_op(7, op="global_maxpool"))
    variant("crop_neg", set_op(5, start=-40, stop=None))
    variant("pad_list", set_op(0, padding=[2, 4]))
    def add_layers(d):
        d["layers"].insert(5, {"name": "sum", "op": "add", "inputs": ["r2", "r2"]})
        d["layers"][6]["inputs"] = ["sum"]
        d["layers"].insert(6, {"name": "cat", "op": "concat", "inputs": ["sum", "r2"], "axis": "length"})
        d["layers"].append({"name": "cat2", "op": "concat", "inputs": ["r2", "r2"], "axis": "channel"})
        d["layers"].append({"name": "fl", "op": "flatten", "inputs": ["cat2"], "order": "channel_last"})
        d["outputs"].append({"name": "flat", "layer": "fl"})
    variant("dag", add_layers)
    put("safetensors", "tiny.st", b"\x00" + rd("models/tiny.safetensors"))
    put("safetensors", "demo.st", b"\x01" + rd("demo/model.safetensors"))
    # a tiny safetensors in F16 and BF16 (dtype conversion), with metadata
    w = np.arange(8 * 4 * 7, dtype=np.float32) / 100
    for dt, raw in (("F16", w.astype(np.float16).tobytes()),
                    ("BF16", (w.view(np.uint32) >> 16).astype(np.uint16).tobytes())):
        hdr = json.dumps({"__metadata__": {"a": "b"},
                          "c1.weight": {"dtype": dt, "shape": [8, 4, 7], "data_offsets": [0, len(raw)]}}).encode()
        put("safetensors", "c1_%s.st" % dt.lower(), b"\x00" + struct.pack("<Q", len(hdr)) + hdr + raw)
    # --target specs (byte 0: model, post-activation)
    for i, t in enumerate(["", "profile", "count", "0", "1", "profile:profile", "profile:sum", "profile:1",
                           "count,profile:profile", "gata,ebox,both", "2", "gata:0", "both:sum", "x:y"]):
        put("target", "t%02d" % i, bytes([i % 4]) + t.encode())
    # MEME
    for f in sorted(os.listdir(os.path.join(TD, "motifs"))):
        if f.endswith(".meme"):
            put("meme", f, rd("motifs/" + f))
    put("meme", "demo.meme", rd("demo/motifs.meme"))
    # npz (byte 0: name asked for)
    rng = np.random.default_rng(1)
    arrs = [rng.standard_normal((2, 4, 5)).astype(np.float32), rng.standard_normal((3,)),
            np.zeros((1, 4, 0), np.float32), rng.standard_normal((2, 3)).astype(">f4"),
            np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32))]
    for i, a in enumerate(arrs):
        for comp in (0, 1):
            b = io.BytesIO()
            (np.savez_compressed if comp else np.savez)(b, a)
            put("npz", "a%d_%s" % (i, "z" if comp else "s"), bytes([i % 4]) + b.getvalue())
    b = io.BytesIO()
    np.savez(b, x=arrs[0], arr_0=arrs[1])
    put("npz", "two", b"\x03" + b.getvalue())
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", allowZip64=True) as z:  # ZIP64 records forced
        with z.open("arr_0.npy", "w", force_zip64=True) as f:
            np.save(f, arrs[0])
    put("npz", "zip64", b"\x00" + b.getvalue())
    # --refs specs (no '/': see fuzz_refspec.c)
    for i, s in enumerate(["dinuc:20", "dinuc", "kmer:3:5", "kmer:1", "gc:4", "gc=0.41:3", "background:2",
                           "background-global:2", "expected", "expected-global", "zero", "fasta:x:2",
                           "background:2:freq.txt", "expected:freq.json", "kmer:16:2", "gc=1e-300:1"]):
        put("refspec", "s%02d" % i, s)
    # frequency files and reference FASTA (byte 0: expected / background / fasta / fasta:K=2)
    freqs = [b"0.3 0.2 0.2 0.3\n", b"A C G T\n# x\n1 2 3 4\n", b"0.25\t0.25\t0.25\t0.25\n1 0 0 0\n0 1 0 0\n0 0 1 0\n",
             b"[0.1, 0.4, 0.4, 0.1]", b"[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]",
             b'{"A": 1, "C": 2, "G": 2, "T": 1}', b"0.3 0.2 0.2 0.3\r\n"]
    for i, f in enumerate(freqs):
        for m in (0, 1):
            put("freqfile", "f%d.%d" % (i, m), bytes([m]) + f)
    for f in ("seqs.fa", "models/seqs100.fa"):
        for m in (2, 3):
            put("freqfile", "%s.%d" % (os.path.basename(f), m), bytes([m]) + rd(f))
    put("freqfile", "refs24.2", b"\x02>r0\n" + b"ACGT" * 6 + b"\n>r1\n" + b"TTGCA" * 4 + b"ACGT\n")
    # Keras HDF5 (byte 0: 0 full model, 1 weights under the real architecture JSON), once
    # test_data/keras exists (the keras module, issue 14)
    kd = os.path.join(TD, "keras")
    for f in sorted(os.listdir(kd)) if os.path.isdir(kd) else []:
        if f.endswith(".h5") and os.path.getsize(os.path.join(kd, f)) <= 1 << 20:
            put("keras", f + ".%d" % ("Weights" in f), bytes([int("Weights" in f)]) + rd("keras/" + f))
    # labels: "PATH\0LABEL" or a label
    for i, s in enumerate([b"out.bedGraph.gz\0CTCF", b"out.bw\0profile:profile", b"dir.d/out\0a/b",
                           b"x.tar.gz\0..", b"chr1", b"\0", b".gz\0t"]):
        put("labels", "l%d" % i, s)


if __name__ == "__main__":
    main()
