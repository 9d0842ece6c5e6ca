#!/usr/bin/env bash
# Sharding is exact: the demo regions of three chromosomes (some overlapping, both
# strands) scored in one run, and scored as one shard per chromosome then concatenated
# in chromosome byte order (the README's recipe), give byte-identical bedGraphs, and the
# same npz rows and TSV rows for every region.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" shard
D=$SRC/test_data/demo

# 8 regions per chromosome, every third on the minus strand, plus a shifted overlapping copy
{ head -8 "$D/train.bed"; awk '$1 == "chr2"' "$D/train.bed" | head -8; head -8 "$D/test.bed"; } |
  awk 'BEGIN{OFS="\t"} {s = (NR % 3 == 0) ? "-" : "+"; print $1, $2, $3, "r" NR, 0, s;
       if (NR % 4 == 0) print $1, $2 + 60, $3 + 60, "r" NR "s", 0, "+"}' > "$T/all.bed"
# shuffle the input order: sharding must not depend on it
awk 'NR % 2 == 0' "$T/all.bed" > "$T/in.bed"; awk 'NR % 2 == 1' "$T/all.bed" >> "$T/in.bed"

args=(-m "$D/model.json" -f "$D/genome.fa.gz" --refs dinuc:4 --target gata)
"$SEQLIFT" score "${args[@]}" -b "$T/in.bed" --bedgraph "$T/one.bedGraph" --npz "$T/one" \
    --tsv "$T/one.tsv" --threads 2 || fail "one run"
for c in $(cut -f1 "$T/in.bed" | LC_ALL=C sort -u); do
  awk -v c="$c" '$1 == c' "$T/in.bed" > "$T/shard.$c.bed"
  "$SEQLIFT" score "${args[@]}" -b "$T/shard.$c.bed" --bedgraph "$T/shard.$c.bedGraph" \
      --npz "$T/shard.$c" --tsv "$T/shard.$c.tsv" || fail "shard $c"
done
cat $(ls "$T"/shard.*.bedGraph | LC_ALL=C sort) | no_about /dev/stdin > "$T/merged.bedGraph"
[ "$(cut -f1 "$T/in.bed" | sort -u | wc -l)" = 3 ] || fail "test needs three chromosomes"
[ -s "$T/one.bedGraph" ] || fail "empty bedGraph"
no_about "$T/one.bedGraph" | cmp - "$T/merged.bedGraph" || fail "merged shards differ from one run"

"$PY" - "$T" <<'PYEOF' || fail "npz/TSV rows differ between shards and one run"
import sys, glob, numpy as np
T = sys.argv[1]
def rows(prefix, bed):
    names = [l.split("\t")[3] for l in open(bed)]
    arr = np.load(prefix + ".contrib.npz")["arr_0"]
    # all columns but region_index (the shard's own row, not the run's, in this recipe)
    tsv = {l.split("\t")[4]: l.split("\t")[5:-1] for l in list(open(prefix + ".tsv"))[1:]}
    return {n: (arr[i], tsv[n]) for i, n in enumerate(names)}
one = rows(T + "/one", T + "/in.bed")
shards = {}
for bed in glob.glob(T + "/shard.*.bed"):
    if bed.endswith(".windows.bed"):  # PREFIX.windows.bed, written beside the npz
        continue
    shards.update(rows(bed[:-4], bed))
assert set(one) == set(shards), "different regions"
for n, (a, t) in one.items():
    assert np.array_equal(a, shards[n][0]), n
    assert t == shards[n][1], (n, t, shards[n][1])
print("ok: %d regions identical" % len(one))
PYEOF

cli_done
