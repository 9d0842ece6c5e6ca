#!/usr/bin/env bash
# End-to-end test of `seqlift score`: usage and error paths; npz shapes, one-hot and
# sums against the TSV (numpy); summation-to-delta; identical outputs with 1 and 2
# threads and any batch; BED mode (minus strand) = FASTA mode on the extracted
# windows; every method runs and the ones without summation-to-delta say NA.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" score
M=$D/models/tiny.json
S=$D/models/seqs100.fa

# 1. usage and errors
"$SEQLIFT" score --help >"$T/out" 2>&1 && grep -q "Usage: seqlift score" "$T/out" && ok "--help" || fail "--help"
expect 2 "Usage" -- score
expect 2 "method" -- score -m "$M" -s "$S" --method nope
expect 2 "maxpool" -- score -m "$M" -s "$S" --maxpool nope
expect 2 "threads" -- score -m "$M" -s "$S" --threads 0
expect 2 "either" -- score -m "$M" -s "$S" -b "$D/regions.bed"
expect 1 "no_such" -- score -m "$T/no_such.json" -s "$S"
expect 2 "target 'nope': no output .*\(outputs: 0 '[a-z]+', 1 '[a-z]+'\)" -- score -m "$M" -s "$S" --target nope
expect 2 "ig-rule" -- score -m "$M" -s "$S" --ig-rule nope
expect 2 "rc" -- score -m "$M" -s "$S" --rc nope
expect 2 "refs|spec" -- score -m "$M" -s "$S" --refs nope:3

# 2. two targets, FASTA mode, 1 thread vs 2 threads and batches
run() { "$SEQLIFT" score -m "$M" -s "$S" --refs dinuc:6 --target count,profile:profile "$@" 2>"$T/err" || fail "score $*: $(cat "$T/err")"; }
run --npz "$T/a" --tsv "$T/a.tsv" --threads 1
run --npz "$T/b" --tsv "$T/b.tsv" --threads 2 --batch 2
same=1
for f in ohe.npz count.hyp.npz count.contrib.npz profile_profile.hyp.npz profile_profile.contrib.npz; do
    cmp -s "$T/a.$f" "$T/b.$f" || { same=0; fail "a.$f differs between 1 and 2 threads"; }
done
cmp -s "$T/a.tsv" "$T/b.tsv" || { same=0; fail "TSV differs between 1 and 2 threads"; }
[ $same = 1 ] && ok "1 thread = 2 threads (batch 2), byte for byte"

"$PY" - "$S" "$T/a" <<'EOF' && ok "npz shapes, one-hot, sums and summation-to-delta" || fail "npz / TSV checks"
import sys, numpy as np
fa, pre = sys.argv[1:]
seqs, cur = [], None
for line in open(fa):
    if line.startswith(">"):
        cur = []; seqs.append(cur)
    else:
        cur.append(line.strip())
seqs = ["".join(s) for s in seqs]
ohe = np.load(pre + ".ohe.npz")["arr_0"]
assert ohe.dtype == np.float32 and ohe.shape == (len(seqs), 4, 100), ohe.shape
for i, s in enumerate(seqs):
    for p, b in enumerate(s):
        want = np.array([b.upper() == c for c in "ACGT"], np.float32)
        assert (ohe[i, :, p] == want).all(), (i, p)
rows = [l.rstrip("\n").split("\t") for l in open(pre + ".tsv") if not l.startswith("#")]
hdr, rows = rows[0], rows[1:]
assert hdr == ["name", "target", "output", "ref_mean", "contrib_sum", "delta_error", "n_refs", "n_part", "region_index"], hdr
assert [r[8] for r in rows] == [str(i // 2) for i in range(len(rows))]  # the npz row of each TSV row
assert len(rows) == 2 * len(seqs)
for t, lab in ((0, "count"), (1, "profile_profile")):
    c = np.load(pre + "." + lab + ".contrib.npz")["arr_0"]
    h = np.load(pre + "." + lab + ".hyp.npz")["arr_0"]
    assert c.shape == h.shape == ohe.shape
    for i in range(len(seqs)):
        r = rows[2 * i + t]
        out, ref, s, err, k, npart = float(r[2]), float(r[3]), float(r[4]), float(r[5]), int(r[6]), float(r[7])
        assert k == 6
        assert abs(c[i].sum(dtype=np.float64) - s) <= 1e-5 * max(1, abs(s)), (lab, i)
        # projected contributions: none off the observed base or at N; the N positions'
        # part of the output difference is n_part
        assert (c[i][ohe[i] == 0] == 0).all(), (lab, i)
        assert abs(s + npart - (out - ref)) <= 1e-4 * max(abs(out - ref), 1e-2), (lab, i, s, npart, out - ref)
        assert err <= 1e-4, err
EOF

# 3. BED mode (both strands) = FASTA mode on the windows extract writes (zero reference:
#    no random seeds involved)
"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 -o "$T/win.fa" 2>/dev/null || fail "extract"
"$SEQLIFT" score -m "$M" -f "$D/genome.fa" -b "$D/regions.bed" --refs zero --target count --npz "$T/bed" \
    --tsv "$T/bed.tsv" 2>"$T/err" || fail "score BED: $(cat "$T/err")"
"$SEQLIFT" score -m "$M" -s "$T/win.fa" --refs zero --target count --npz "$T/win" 2>"$T/err" || fail "score windows: $(cat "$T/err")"
for f in ohe hyp contrib; do same_npz "$T/bed.$f.npz" "$T/win.$f.npz" || fail "BED vs FASTA windows: $f.npz differs"; done
grep -q $'\t-\t' "$T/bed.tsv" && ok "BED mode (minus strand included) = FASTA windows" || fail "no minus-strand row in BED TSV"

# 4. every method; NA where summation-to-delta does not apply
for m in genomics rescale revealcancel gradient grad-input integrated-gradients ism; do
    "$SEQLIFT" score -m "$M" -s "$S" --method "$m" --refs dinuc:3 --ig-steps 8 --target count --tsv "$T/m.tsv" \
        2>"$T/err" || { fail "--method $m: $(cat "$T/err")"; continue; }
    case $m in
    gradient | grad-input | ism)
        awk -F'\t' '/^[^#]/ && h++ && ($6 != "NA" || $7 != 0) { bad = 1 } END { exit bad }' "$T/m.tsv" \
            && ok "--method $m: delta_error NA" || fail "--method $m: expected NA delta_error";;
    integrated-gradients) ok "--method $m runs";;
    *)
        awk -F'\t' '/^[^#]/ && h++ && $6 > 1e-4 { bad = 1 } END { exit bad }' "$T/m.tsv" \
            && ok "--method $m: summation-to-delta <= 1e-4" || fail "--method $m: summation error";;
    esac
done
# the gradient max pool rule breaks summation-to-delta and says so once
"$SEQLIFT" score -m "$M" -s "$S" --method rescale --maxpool gradient --refs dinuc:3 --target count --tsv "$T/g.tsv" \
    2>"$T/err" || fail "--maxpool gradient"
[ "$(grep -c 'summation-to-delta' "$T/err")" -le 1 ] && ok "--maxpool gradient: at most one warning line" \
    || fail "--maxpool gradient: $(cat "$T/err")"
# --rc average: the same bytes with any threads and batch; summation-to-delta on the means
for b in "-t 1 --batch 1" "-t 2 --batch 3"; do
    "$SEQLIFT" score -m "$M" -s "$S" --refs dinuc:4 --target count,profile:profile --rc average $b \
        --npz "$T/rc${b// /}" --tsv "$T/rc${b// /}.tsv" 2>"$T/err" || fail "--rc average $b: $(cat "$T/err")"
done
same=1
for f in count.contrib.npz count.hyp.npz profile_profile.contrib.npz tsv; do
    cmp -s "$T/rc-t1--batch1.$f" "$T/rc-t2--batch3.$f" || { same=0; fail "--rc average: $f differs with threads/batch"; }
done
[ $same = 1 ] && ok "--rc average: same bytes with 2 threads and batch 3"
awk -F'\t' '/^[^#]/ && h++ && $6 > 1e-4 { bad = 1 } END { exit bad }' "$T/rc-t1--batch1.tsv" \
    && ok "--rc average: summation-to-delta <= 1e-4" || fail "--rc average: summation error"

cli_done
