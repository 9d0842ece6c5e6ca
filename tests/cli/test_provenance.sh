#!/usr/bin/env bash
# Provenance in every output of score and predict: one line "seqlift VERSION COMMAND
# inputs options" as the TSV's first line and the bedGraph's ("# "), and as each npz's
# second entry "seqlift" (after arr_0, which TF-MoDISco loads); the run descriptor has it
# as "about" and the verbatim command line. Output paths, --shard, --threads, --batch and
# logging are not in it: those runs give the same bytes; explicit defaults = defaults.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" provenance
M=$D/models/tiny.json G=$D/genome.fa B=$D/regions.bed
V=$("$SEQLIFT" --version | cut -d' ' -f2)
run=(score -m "$M" -f "$G" -b "$B" --refs dinuc:2)
"$SEQLIFT" "${run[@]}" --tsv "$T/a.tsv" --npz "$T/a" --bedgraph "$T/a.bedGraph" --bigwig "$T/a.bw" 2>"$T/err" ||
    fail "score: $(cat "$T/err")"
line=$(head -1 "$T/a.tsv")
[[ $line == "# seqlift $V score model=$M genome=$G regions=$B method=genomics "* && $line == *" refs=dinuc:2 seed=1 target=0 "* ]] &&
    ok "TSV: the provenance line first" || fail "TSV line 1: $line"
[ "$(sed -n 2p "$T/a.tsv" | cut -f1)" = chrom ] && ok "then the header" || fail "TSV line 2: $(sed -n 2p "$T/a.tsv")"
[ "$(head -1 "$T/a.bedGraph")" = "$line" ] && ok "bedGraph: the same line first" || fail "bedGraph line 1: $(head -1 "$T/a.bedGraph")"
"$PY" - "$T/a" "${line#\# }" <<'PYEOF' && ok "npz: arr_0 first, then 'seqlift' holding the line" || fail "npz provenance"
import sys, numpy as np
for k in ("ohe", "hyp", "contrib"):
    with np.load(sys.argv[1] + "." + k + ".npz") as z:
        assert z.files == ["arr_0", "seqlift"], z.files
        assert str(z["seqlift"]) == sys.argv[2], str(z["seqlift"])
        assert z["arr_0"].shape == (16, 4, 100)
PYEOF
if command -v bedtools >/dev/null; then
    a=$(bedtools merge -i "$T/a.bedGraph" 2>&1 | wc -l) b=$(no_about "$T/a.bedGraph" | bedtools merge -i - | wc -l)
    [ "$a" = "$b" ] && ok "bedtools reads the bedGraph (the # line skipped)" || fail "bedtools: $a vs $b lines"
fi
# not in it: output paths, threads, batch, logging; defaults given explicitly change nothing
"$SEQLIFT" -q "${run[@]}" --refs dinuc:2 --threads 2 --batch 3 --progress --tsv "$T/b.tsv" --npz "$T/b" \
    --bedgraph "$T/b.bedGraph" 2>/dev/null || fail "score --threads 2"
bad=
for f in tsv bedGraph ohe.npz hyp.npz contrib.npz; do cmp -s "$T/a.$f" "$T/b.$f" || bad="$bad $f"; done
[ -z "$bad" ] && ok "other paths, threads, batch, -q, --progress: the same bytes" || fail "differ:$bad"
"$SEQLIFT" score -m "$M" -f "$G" -b "$B" --refs dinuc:2 --method genomics --seed 1 --edge pad --maxpool cross \
    --tsv "$T/c.tsv" 2>/dev/null && [ "$(head -1 "$T/c.tsv")" = "$line" ] && ok "explicit defaults: the same line" ||
    fail "explicit defaults: $(head -1 "$T/c.tsv")"
"$SEQLIFT" "${run[@]}" --refs dinuc:3 --tsv "$T/d.tsv" 2>/dev/null
[[ $(head -1 "$T/d.tsv") == *" refs=dinuc:3 "* ]] && ok "an option that changes numbers changes the line" || fail "refs not recorded"
# a shard: the same line (merged shards = one run), the verbatim command in its descriptor
"$SEQLIFT" "${run[@]}" --shard 1/2 --tsv "$T/s.tsv" 2>/dev/null || fail "shard"
[ "$(head -1 "$T/s.tsv")" = "$line" ] && ok "a shard: the same line" || fail "shard line: $(head -1 "$T/s.tsv")"
"$PY" - "$T/s.tsv.seqlift-run.json" "${line#\# }" "$V" <<'PYEOF' && ok "descriptor: about, version, verbatim command" ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d["about"] == sys.argv[2], d["about"]
assert d["version"] == sys.argv[3]
assert d["command"].endswith("--shard 1/2 --tsv " + sys.argv[1][:-len(".seqlift-run.json")]), d["command"]
PYEOF
    fail "descriptor"
# predict
"$SEQLIFT" predict -m "$M" -s "$D/models/seqs100.fa" -o "$T/p.tsv" 2>/dev/null
[ "$(head -1 "$T/p.tsv")" = "# seqlift $V predict model=$M seqs=$D/models/seqs100.fa edge=0 alphabet=ACGT length=100" ] &&
    ok "predict: the provenance line" || fail "predict: $(head -1 "$T/p.tsv")"
cli_done
