#!/usr/bin/env bash
# End-to-end test of `seqlift predict`: values against an independent numpy forward
# pass of the model files, BED mode against FASTA mode on `seqlift extract`'s windows,
# threads/batch invariance, and the error paths.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" predict
M=$D/models/tiny.json

# 1. FASTA mode against numpy, in PyTorch's (C, L) layout from the files themselves.
"$SEQLIFT" predict -m "$M" -s "$D/models/seqs100.fa" -o "$T/fa.tsv" 2>"$T/err" || fail "predict -s: $(cat "$T/err")"
"$PY" - "$M" "$D/models/seqs100.fa" "$T/fa.tsv" <<'EOF' && ok "values match numpy" || fail "values differ from numpy"
import json, struct, sys, os
import numpy as np
model = json.load(open(sys.argv[1]))
raw = open(os.path.join(os.path.dirname(sys.argv[1]), model["weights"]), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
W = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4").reshape(v["shape"]).astype(np.float64)
     for k, v in hdr.items() if k != "__metadata__"}
def conv(x, L):  # x (C, L)
    w, k, d = W[L["weight"]], L["kernel_size"], L.get("dilation", 1)
    pad = L.get("padding", "valid")
    tot = d * (k - 1)
    l, r = (tot // 2, tot - tot // 2) if pad == "same" else (0, 0)
    x = np.pad(x, ((0, 0), (l, r)))
    lo = x.shape[1] - tot
    y = sum(w[:, :, j] @ x[:, j * d:j * d + lo] for j in range(k))
    return y + W[L["bias"]][:, None]
recs, name = {}, None
for line in open(sys.argv[2]):
    line = line.strip()
    if line.startswith(">"): name = line[1:]; recs[name] = ""
    else: recs[name] += line
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if not l.startswith("#")]
assert got[0][:3] == ["name", "profile_0", "profile_1"] and got[0][-2:] == ["count", "region_index"], got[0][:3]
assert len(got[0]) == 1 + 80 + 1 + 1
for i, (row, (nm, s)) in enumerate(zip(got[1:], recs.items())):
    assert row[0] == nm and row[-1] == str(i), (row[0], row[-1])
    row = row[:-1]
    x = np.array([[1.0 if c.upper() == b else 0.0 for c in s] for b in "ACGT"])
    a = {"input": x}
    for L in model["layers"]:
        v = a[L["inputs"][0]]
        op = L["op"]
        if op == "conv1d": y = conv(v, L)
        elif op == "relu": y = np.maximum(v, 0)
        elif op == "maxpool1d": k = L["kernel_size"]; y = v[:, :v.shape[1] // k * k].reshape(v.shape[0], -1, k).max(2)
        elif op == "crop": y = v[:, L["start"]:L["stop"]]
        elif op == "global_avgpool": y = v.mean(1, keepdims=True)
        elif op == "linear": y = W[L["weight"]] @ v[:, 0] + W[L["bias"]]; y = y[:, None]
        a[L["name"]] = y
    want = np.concatenate([a["prof"].T.ravel(), a["count"].ravel()])  # [len][ch] order
    vals = np.array([float(t) for t in row[1:]])
    err = np.abs(vals - want) / np.maximum(1e-6, np.abs(want))
    assert np.all((np.abs(vals - want) <= 1e-6) | (err <= 1e-5)), (nm, np.max(err))
assert len(got) == 1 + len(recs)
EOF

# 2. BED mode = FASTA mode on the windows `seqlift extract -w 100` writes.
"$SEQLIFT" predict -m "$M" -f "$D/genome.fa" -b "$D/regions.bed" -o "$T/bed.tsv" 2>"$T/err" || fail "predict -f -b: $(cat "$T/err")"
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 -o "$T/win.fa" 2>/dev/null || fail "extract"
"$SEQLIFT" predict -m "$M" -s "$T/win.fa" -o "$T/win.tsv" 2>"$T/err" || fail "predict -s windows: $(cat "$T/err")"
if [ "$(no_about "$T/bed.tsv" | head -1 | cut -f1-6)" = "$(printf 'chrom\tstart\tend\tstrand\tname\tprofile_0')" ] \
    && diff <(no_about "$T/bed.tsv" | tail -n +2 | cut -f6-) <(no_about "$T/win.tsv" | tail -n +2 | cut -f2-) >/dev/null \
    && [ "$(no_about "$T/bed.tsv" | tail -n +2 | wc -l)" = "$(grep -c '>' "$T/win.fa")" ]; then
    ok "BED rows equal FASTA rows of the extracted windows"
else fail "BED mode differs from FASTA mode"; fi
# coordinates: the scored window, input order
[ "$(sed -n 3p "$T/bed.tsv" | cut -f1-5)" = "$(printf 'chr1\t0\t100\t+\tstart_plus')" ] \
    && ok "first row coordinates" || fail "first row: $(sed -n 3p "$T/bed.tsv" | cut -f1-5)"
# the provenance line: version, inputs as given, the options that set the numbers
[ "$(head -1 "$T/bed.tsv")" = "# seqlift $("$SEQLIFT" --version | cut -d' ' -f2) predict model=$M genome=$D/genome.fa regions=$D/regions.bed edge=0 alphabet=ACGT length=100" ] \
    && ok "provenance line" || fail "provenance: $(head -1 "$T/bed.tsv")"

# 3. threads and batch sizes do not change a byte.
for opt in "-t 2" "-t 3 --batch 1" "--batch 2"; do
    # shellcheck disable=SC2086
    "$SEQLIFT" predict -m "$M" -f "$D/genome.fa" -b "$D/regions.bed" $opt -o "$T/t.tsv" 2>/dev/null
    cmp -s "$T/t.tsv" "$T/bed.tsv" && ok "$opt identical" || fail "$opt changes the output"
done

# 4. usage and errors
expect 2 "Usage" -- predict
"$SEQLIFT" predict --help | grep "Usage: seqlift predict" >/dev/null && ok "--help on stdout" || fail "--help"
expect 2 "model" -- predict -s "$D/models/seqs100.fa"
expect 2 "either" -- predict -m "$M"
expect 2 "threads" -- predict -m "$M" -s "$D/models/seqs100.fa" -t 0
expect 1 "nope.json" -- predict -m "$T/nope.json" -s "$D/models/seqs100.fa" -o "$T/never.tsv"
[ -e "$T/never.tsv" ] && fail "output left behind after an error" || ok "no output after an error"
sed 's/tiny.safetensors/gone.safetensors/' "$M" >"$T/gone.json"
expect 1 "gone.safetensors" -- predict -m "$T/gone.json" -s "$D/models/seqs100.fa"
expect 1 "length|100" -- predict -m "$M" -s "$D/seqs.fa"

cli_done
