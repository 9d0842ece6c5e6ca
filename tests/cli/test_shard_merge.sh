#!/usr/bin/env bash
# Shards are exact: `score --shard K/N` for K = 1..N, put together by `seqlift merge`,
# give the bytes of one run for the bedGraph (plain and bgzip), the TSV, the npz, the
# windows BED, the report HTML and JSON and the seqlets BED (the report of the union:
# its kept regions ranked over all shards, its motif table summed over all seqlets),
# and the values of one run for the bigWig (pyBigWig), for N = 1, 2, 3, 7:
#  - on the demo (overlapping windows across the shard boundaries, both strands, the
#    input order shuffled, two targets, a track width; tiled windows with 40 shards, so
#    that a halo spans several earlier shards),
#  - on the small test data (windows off contig ends, N runs, a point region, five
#    contigs; N = 20 > 16 regions gives shards without regions),
#  - with --merge-runs on a model whose contributions are all 0 (every boundary falls
#    inside a run of equal values: merge must join them as one run does),
#  - for predict (TSV).
# --threads/--batch do not change a shard's bytes; shards of different runs, a missing
# and a repeated K are refused with one line naming what differs.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" shard_merge
DM=$SRC/test_data/demo

# same_bigwig A B: the same intervals and values on every contig
same_bigwig() {
    "$PY" - "$1" "$2" <<'PYEOF'
import sys, pyBigWig
a, b = (pyBigWig.open(p) for p in sys.argv[1:3])
assert a.chroms() == b.chroms(), "contigs differ"
n = 0
for c, L in a.chroms().items():
    x, y = a.intervals(c, 0, L) or (), b.intervals(c, 0, L) or ()
    assert tuple(x) == tuple(y), (c, len(x), len(y), [(u, v) for u, v in zip(x, y) if u != v][:3])
    n += len(x)
assert n > 0, "empty bigWig"
PYEOF
}

# report P: the report options (REPORT=1) writing P.html, P.json and P.seqlets.bed
REPORT=
report() {
    [ -n "$REPORT" ] && echo --motifs "$DM/motifs.meme" --report-regions 5 --report "$1.html" --report-json "$1.json" \
        ${REPORT_ARGS:-}
}

# shards NAME N ARGS...: shards 1..N of `score ARGS` into $T/NAME.N.K.*, merged into
# $T/NAME.N.m.*; then every output compared with $T/NAME.one.*
shards() {
    local name=$1 n=$2 k descs=() f; shift 2
    for k in $(seq 1 "$n"); do
        # shellcheck disable=SC2046
        "$SEQLIFT" score "$@" $(report "$T/$name.$n.$k") --shard "$k/$n" --npz "$T/$name.$n.$k" --tsv "$T/$name.$n.$k.tsv" \
            --bedgraph "$T/$name.$n.$k.bedGraph$GZ" --bigwig "$T/$name.$n.$k.bw" 2>"$T/err" ||
            { fail "$name shard $k/$n: $(cat "$T/err")"; return; }
        descs+=("$T/$name.$n.$k.seqlift-run.json")
    done
    "$SEQLIFT" merge -o "$T/$name.$n.m" "${descs[@]}" 2>"$T/err" || { fail "$name merge $n: $(cat "$T/err")"; return; }
    local bad=
    for f in $(cd "$T" && ls "$name.one".* | sed "s/^$name\.one\.//"); do
        case $f in
        *.bw) same_bigwig "$T/$name.one.$f" "$T/$name.$n.m.$f" || bad="$bad $f" ;;
        *) cmp -s "$T/$name.one.$f" "$T/$name.$n.m.$f" || bad="$bad $f" ;;
        esac
    done
    [ -z "$bad" ] && ok "$name: $n shards merged = one run ($(cd "$T" && ls "$name.one".* | wc -l) files)" ||
        fail "$name: $n shards merged differ from one run:$bad"
}

one() {
    local name=$1; shift
    # shellcheck disable=SC2046
    "$SEQLIFT" score "$@" $(report "$T/$name.one") --npz "$T/$name.one" --tsv "$T/$name.one.tsv" --bedgraph "$T/$name.one.bedGraph$GZ" \
        --bigwig "$T/$name.one.bw" 2>"$T/err" || fail "$name one run: $(cat "$T/err")"
}

# ---- the demo: 3 contigs, overlapping windows, both strands, shuffled input order
{ head -12 "$DM/train.bed"; awk '$1 == "chr2"' "$DM/train.bed" | head -12; head -12 "$DM/test.bed"; } |
    awk 'BEGIN{OFS="\t"} {s = (NR % 3 == 0) ? "-" : "+"; print $1, $2, $3, "r" NR, 0, s;
         if (NR % 2 == 0) print $1, $2 + 60, $3 + 60, "r" NR "s", 0, "-"; if (NR % 5 == 0) print $1, $2 + 130, $3 + 130, "r" NR "t", 0, "+"}' \
    >"$T/all.bed"
{ echo "track name=demo"; awk 'NR % 2 == 0' "$T/all.bed"; echo "# a comment"; awk 'NR % 2 == 1' "$T/all.bed"; } >"$T/demo.bed"
demo=(-m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/demo.bed" --refs dinuc:2 --target gata,ebox)
GZ=.gz REPORT=1
one demo "${demo[@]}"
for n in 1 2 3 7; do shards demo "$n" "${demo[@]}"; done
GZ= REPORT_ARGS="--report-order input"
one demot "${demo[@]}" --track-width 150 --overlap max-abs
shards demot 3 "${demo[@]}" --track-width 150 --overlap max-abs

# tiled windows (200 bp every 50 bp: each base in 4 windows); with 40 shards of 2 regions
# a shard's halo reaches back over more than one earlier shard
awk 'BEGIN{OFS="\t"; for (s = 100000; s < 104000; s += 50) print "chr3", s, s + 200, "t" s, 0, (s % 150 ? "+" : "-")}' \
    >"$T/tile.bed"
tile=(-m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/tile.bed" --refs dinuc:2)
REPORT_ARGS=
one tile "${tile[@]}"
for n in 2 7 40; do shards tile "$n" "${tile[@]}"; done
REPORT=
for f in demo.3.m.gata.json tile.40.m.json; do
    "$PY" - "$T/$f" <<'PYEOF' && ok "$f: a merged report with seqlets, motifs and 5 drawn regions" || fail "$f: a thin report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n_seqlets"] > 20 and len(d["seqlets"]) == d["n_seqlets"], d["n_seqlets"]
assert len(d["regions"]) == 5 and any(m["n_seqlets"] for m in d["motifs"]), d["motifs"]
PYEOF
done

# --threads/--batch do not change a shard's bytes
"$SEQLIFT" score "${demo[@]}" --shard 2/3 --threads 2 --batch 4 --npz "$T/tb" --tsv "$T/tb.tsv" \
    --bedgraph "$T/tb.bedGraph.gz" --bigwig "$T/tb.bw" 2>"$T/err" || fail "threads/batch shard: $(cat "$T/err")"
bad=
for f in tsv gata.bedGraph.gz ebox.bedGraph.gz gata.bw ebox.bw ohe.npz gata.contrib.npz ebox.hyp.npz windows.bed; do
    cmp -s "$T/tb.$f" "$T/demo.3.2.$f" || bad="$bad $f"
done
[ -z "$bad" ] && ok "--threads 2 --batch 4: the shard's bytes are the same" || fail "threads/batch change:$bad"

# ---- the small test data: edge windows, N runs, five contigs; more shards than regions
small=(-m "$D/models/tiny.json" -f "$D/genome.fa" -b "$D/regions.bed" --refs dinuc:2)
REPORT=1
one small "${small[@]}"
for n in 1 2 3 7 20; do shards small "$n" "${small[@]}"; done
REPORT=
n_empty=$(grep -l '"n_own":0' "$T"/small.20.*.seqlift-run.json | wc -l)
[ "$n_empty" -gt 0 ] && ok "N = 20: $n_empty shards without regions" || fail "N = 20: no empty shard"
"$PY" - "$(grep -l '"n_own":0' "$T"/small.20.*.seqlift-run.json | head -1 | sed 's/.seqlift-run.json$//')" <<'PYEOF' &&
import json, sys, numpy as np, pyBigWig
p = sys.argv[1]
assert np.load(p + ".ohe.npz")["arr_0"].shape == (0, 4, 100)
# the TSV header and the bedGraph's provenance line only
assert [l[0] for l in open(p + ".tsv")] == ["#", "c"] and open(p + ".bedGraph").read().startswith("# seqlift ")
assert len(open(p + ".bedGraph").readlines()) == 1
r = json.load(open(p + ".json"))
assert r["n_regions"] == 0 and r["seqlets"] == [] and open(p + ".seqlets.bed").read() == ""
b = pyBigWig.open(p + ".bw")
assert b and len(b.chroms()) == 5 and not any(b.intervals(c) for c in b.chroms())
PYEOF
    ok "an empty shard writes valid empty outputs (npz, TSV header, bedGraph, bigWig, report)" || fail "empty shard outputs"

# ---- --merge-runs: a model whose weights are all 0 scores every base 0
mkdir -p "$T/zero" && cp "$D/models/tiny.json" "$T/zero/"
"$PY" - "$D/models/tiny.safetensors" "$T/zero/tiny.safetensors" <<'PYEOF'
import sys, struct
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
open(sys.argv[2], "wb").write(b[:8 + n] + bytes(len(b) - 8 - n))
PYEOF
zero=(-m "$T/zero/tiny.json" -f "$D/genome.fa" -b "$D/regions.bed" --refs zero --merge-runs)
GZ=.gz
one zero "${zero[@]}"
for n in 2 7; do shards zero "$n" "${zero[@]}"; done
z=$(cat "$T"/zero.7.?.bedGraph.gz | gzip -dc | wc -l)
o=$(gzip -dc "$T/zero.one.bedGraph.gz" | wc -l)
[ "$z" -gt "$o" ] && ok "--merge-runs: $z shard entries joined into $o" || fail "--merge-runs: no run crosses a boundary ($z, $o)"

# ---- predict: the TSV
"$SEQLIFT" predict -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/demo.bed" -o "$T/p.one.tsv" || fail "predict"
d=()
for k in 3 1 2; do
    "$SEQLIFT" predict -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/demo.bed" -o "$T/p.$k.tsv" --shard "$k/3" \
        --threads 2 || fail "predict shard $k"
    d+=("$T/p.$k.tsv.seqlift-run.json")
done
"$SEQLIFT" merge -o "$T/p.m" "${d[@]}" && cmp "$T/p.one.tsv" "$T/p.m.tsv" && ok "predict: 3 shards merged = one run" ||
    fail "predict merge differs"

# ---- FASTA records (-s): shards in record order; score (npz, TSV) and predict (TSV)
fa=(-m "$D/models/tiny.json" -s "$D/models/seqs100.fa")
"$SEQLIFT" score "${fa[@]}" --refs dinuc:2 --npz "$T/fa.one" --tsv "$T/fa.one.tsv" 2>/dev/null || fail "fasta score"
"$SEQLIFT" predict "${fa[@]}" -o "$T/fp.one.tsv" || fail "fasta predict"
d=() e=()
for k in 1 2 3; do
    "$SEQLIFT" score "${fa[@]}" --refs dinuc:2 --shard "$k/3" --npz "$T/fa.$k" --tsv "$T/fa.$k.tsv" 2>/dev/null ||
        fail "fasta score shard $k"
    "$SEQLIFT" predict "${fa[@]}" --shard "$k/3" -o "$T/fp.$k.tsv" || fail "fasta predict shard $k"
    d+=("$T/fa.$k.seqlift-run.json") e+=("$T/fp.$k.tsv.seqlift-run.json")
done
"$SEQLIFT" merge -o "$T/fa.m" "${d[@]}" && "$SEQLIFT" merge -o "$T/fp.m" "${e[@]}" || fail "fasta merge"
bad=
for f in fa.one.tsv fa.one.ohe.npz fa.one.contrib.npz fa.one.windows.bed fp.one.tsv; do
    cmp -s "$T/$f" "$T/${f/.one./.m.}" || bad="$bad $f"
done
[ -z "$bad" ] && ok "FASTA records: 3 shards merged = one run (score npz/TSV, predict TSV)" || fail "FASTA merge:$bad"

# ---- refusals: one line naming what differs
"$SEQLIFT" score "${demo[@]}" --seed 7 --shard 2/3 --tsv "$T/seed.tsv" 2>/dev/null || fail "seed shard"
"$SEQLIFT" score "${small[@]}" --shard 2/3 --tsv "$T/other.tsv" --npz "$T/other" 2>/dev/null || fail "other shard"
"$SEQLIFT" score "${demo[@]}" --shard 2/2 --npz "$T/n2" --tsv "$T/n2.tsv" 2>/dev/null || fail "N=2 shard"
S="$T/demo.3"
expect 1 "options differ" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$T/seed.tsv.seqlift-run.json" "$S.3.seqlift-run.json"
expect 1 "model differ" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$T/other.seqlift-run.json" "$S.3.seqlift-run.json"
expect 1 "shards differ" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$T/n2.seqlift-run.json" "$S.3.seqlift-run.json"
expect 1 "shard 2/3 is missing" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$S.3.seqlift-run.json"
expect 1 "shard 3/3 is given twice" -- merge -o "$T/x" "$S.3.seqlift-run.json" "$S.1.seqlift-run.json" \
    "$S.3.seqlift-run.json" "$S.2.seqlift-run.json"
cp "$T/demo.bed" "$T/demo2.bed" && echo -e "chr1\t5000\t5200\textra\t0\t+" >>"$T/demo2.bed"
"$SEQLIFT" score -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/demo2.bed" --refs dinuc:2 --target gata,ebox --shard 2/3 --npz "$T/reg" --tsv "$T/reg.tsv" 2>/dev/null ||
    fail "regions shard"
expect 1 "regions differ" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$T/reg.seqlift-run.json" "$S.3.seqlift-run.json"
"$SEQLIFT" score "${demo[@]}" --shard 2/3 --npz "$T/rr" --tsv "$T/rr.tsv" --bedgraph "$T/rr.bedGraph.gz" \
    --bigwig "$T/rr.bw" --motifs "$DM/motifs.meme" --report-regions 6 --report "$T/rr.html" --report-json "$T/rr.json" \
    2>/dev/null || fail "report options shard"
expect 1 "report options or motifs differ" -- merge -o "$T/x" "$S.1.seqlift-run.json" "$T/rr.seqlift-run.json" "$S.3.seqlift-run.json"
ls "$T"/x.* >/dev/null 2>&1 && fail "a refused merge left files" || ok "a refused merge writes nothing"
expect 2 "K/N" -- score "${demo[@]}" --shard 4/3 --tsv "$T/y.tsv"
expect 2 "needs an output file" -- score "${demo[@]}" --shard 1/3
expect 2 "needs -o" -- predict -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$T/demo.bed" --shard 1/3

cli_done
