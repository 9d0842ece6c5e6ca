#!/usr/bin/env python3
"""Fixtures of tests/cli/bad_inputs.tsv, written into the folder given (argv[1]).

Each malformed file is made from test_data/ with one thing wrong, so the case names
what it tests: empty and binary files, 20 MB lines, CRLF copies (which must be
accepted), models whose shapes do not chain or whose weights are NaN/Inf, a tiny
contig, short and duplicate FASTA records, frequency files and npz prefixes."""
import json, os, random, shutil, struct, sys, zipfile

SRC = os.environ.get("SEQLIFT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TD = os.path.join(SRC, "test_data")
F = sys.argv[1]


def rd(rel):
    with open(os.path.join(TD, rel), "rb") as f:
        return f.read()


def put(name, data):
    path = os.path.join(F, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


rng = random.Random(15)
garbage = bytes(rng.randrange(256) for _ in range(4096))
for ext in ("bed", "fa", "json", "safetensors", "meme", "npz", "txt"):
    put("empty." + ext, b"")
    put("garbage." + ext, garbage)
big = b"A" * (20 << 20)
put("long.bed", b"chr1\t10\t" + big + b"\n")
put("long.fa", b">x\n" + big + b"\n")
put("longname.fa", b">" + big + b"\nACGT\n")
put("long.meme", b"MEME version 4\n\nALPHABET= ACGT\n\n" + big + b"\n")
put("long.txt", b"0.25 " * (4 << 20) + b"\n")
# CRLF copies: accepted, same output as LF
put("crlf/regions.bed", crlf(rd("regions.bed")))
put("crlf/peaks.narrowPeak", crlf(rd("peaks.narrowPeak")))
put("crlf/seqs100.fa", crlf(rd("models/seqs100.fa")))
put("crlf/seqs.fa", crlf(rd("seqs.fa")))
put("crlf/motifs.meme", crlf(rd("demo/motifs.meme")))
put("lf/motifs.meme", rd("demo/motifs.meme"))
put("lf/freq.txt", "A C G T\n0.3 0.2 0.2 0.3\n")
put("crlf/freq.txt", "A C G T\r\n0.3 0.2 0.2 0.3\r\n")
put("crlf/genome.fa", crlf(rd("genome.fa")))
# models: the tiny model with one thing wrong, each in its own folder
tiny = json.loads(rd("models/tiny.json"))
st = rd("models/tiny.safetensors")


def model(name, graph=None, weights=st):
    g = json.loads(json.dumps(tiny)) if graph is None else graph
    os.makedirs(os.path.join(F, name), exist_ok=True)
    put(name + "/tiny.json", json.dumps(g, indent=1))
    if weights is not None:
        put(name + "/tiny.safetensors", weights)
    return g


model("ok")
g = json.loads(json.dumps(tiny))
for l in g["layers"]:
    if l["name"] == "c2":
        l["inputs"] = ["input"]          # 4 channels into a conv that takes 8
model("nochain", g)
g = json.loads(json.dumps(tiny))
for l in g["layers"]:
    if l["name"] == "count":
        l["inputs"] = ["crop"]           # a dense layer on a 40-long activation
model("nochain_dense", g)
model("noweights", weights=None)
n = struct.unpack("<Q", st[:8])[0]
hdr = json.loads(st[8:8 + n])
off = 8 + n + hdr["c1.weight"]["data_offsets"][0]
for tag, v in (("nan", float("nan")), ("inf", float("inf"))):
    w = bytearray(st)
    w[off + 4 * 5:off + 4 * 6] = struct.pack("<f", v)
    model(tag, weights=bytes(w))
put("truncst/tiny.json", json.dumps(tiny))
put("truncst/tiny.safetensors", st[: len(st) // 2])
crl = json.dumps(tiny, indent=1).replace("\n", "\r\n")
put("crlfmodel/tiny.json", crl)
put("crlfmodel/tiny.safetensors", st)
# FASTA records: one shorter than the model (100 bp), duplicate names, bad bytes
recs = rd("models/seqs100.fa").decode().split(">")[1:]
put("short.fa", ">" + recs[0] + ">short\nACGTACGT\n")
put("dup.fa", ">" + recs[0] + ">" + recs[0])
# a genome with a 50 bp contig: a 100 bp window runs off both ends
put("tiny_genome.fa", ">tiny\n" + "ACGTTGCA" * 6 + "AC\n>long\n" + "ACGT" * 100 + "\n")
put("tiny.bed", "tiny\t20\t30\tr1\t0\t+\n")
put("beyond.bed", "chrM\t300\t400\tr1\t0\t+\n")
put("dupname.bed", "chr1\t100\t200\tsame\t0\t+\nchr1\t300\t400\tsame\t0\t+\n")
# frequency files
put("neg_freq.txt", "0.5 -0.1 0.3 0.3\n")
put("three_freq.txt", "0.3 0.3 0.4\n")
put("nan_freq.txt", "nan 0.2 0.2 0.3\n")
put("zero_freq.txt", "0 0 0 0\n")
put("short_refs.fa", ">r\nACGT\n")
# npz prefixes for report/seqlets: a good run is made by the runner; here broken ones
put("badnpz/run.ohe.npz", garbage)
put("badnpz/run.contrib.npz", garbage)
# an npz entry whose header claims more data than the file holds
with zipfile.ZipFile(os.path.join(F, "shortnpz.ohe.npz"), "w") as z:
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 4, 1000), }"
    hdr += " " * (118 - len(hdr)) + "\n"
    z.writestr("arr_0.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + b"\0" * 64)
shutil.copy(os.path.join(F, "shortnpz.ohe.npz"), os.path.join(F, "shortnpz.contrib.npz"))
os.makedirs(os.path.join(F, "adir.bed"), exist_ok=True)
os.makedirs(os.path.join(F, "ro"), exist_ok=True)
put("bad_base_genome.bed", "c1\t5\t15\n")
put("emptynpz/run.ohe.npz", b"")
put("emptynpz/run.contrib.npz", b"")
for name, src in (("unreadable.bed", "regions.bed"), ("unreadable.json", "models/tiny.json"),
                  ("unreadable.fa", "models/seqs100.fa"), ("unreadable.meme", "demo/motifs.meme"),
                  ("unreadable_genome.fa", "genome.fa"), ("unreadable_genome.fa.fai", "genome.fa.fai"),
                  ):
    os.chmod(put(name, rd(src)), 0)
os.chmod(put("unreadable_freq.txt", "0.3 0.2 0.2 0.3\n"), 0)
os.chmod(put("unreadablenpz/run.ohe.npz", rd("../tests/fuzz/corpus/npz/a0_s")[1:]), 0)
os.chmod(os.path.join(F, "ro"), 0o555)
# 20 MB fields quoted in error lines
put("longcontig.bed", b"chr" + big + b"\t1\t2\n")
put("longstrand.bed", b"chr1\t1\t2\tn\t0\t" + big + b"\n")
put("longname_dup.fa", b">" + big + b"\nACGT\n>" + big + b"\nACGT\n")
put("longname_base.fa", b">" + big + b"\nACGT!\n")
put("longmotif.meme", b"MEME version 4\n\nALPHABET= ACGT\n\nMOTIF " + big + b"\n\nMOTIF b\n")
put("longname_refs.fa", b">" + big + b"\nACGT\n")
# fuzz_fasta's crash: a contig whose .fai entry has 0 bases per line (htslib divided by it)
with open(os.path.join(SRC, "tests/fuzz/regressions/fasta/genome_zero_bases_per_line"), "rb") as f:
    put("zero_line_genome.fa", f.read()[1:])
put("zero_line.bed", ">T\t0\t1\n")
