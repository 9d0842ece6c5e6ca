#!/usr/bin/env bash
# scripts/workflows/Snakefile with Debian's snakemake (--cores 2, 4 shards, its default
# config: the shipped demo, paths resolved from the Snakefile's directory, run from
# another working directory): the merged bedGraph, TSV, npz, windows BED, motif report
# (HTML, JSON) and seqlets BED are byte-identical to one `seqlift score` run with the same options, the bigWig holds the
# same values; a second snakemake run has nothing to do, and when a shard fails (the
# others done), the next run reruns only that shard and the merge.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" workflow
T=$(cd "$T" && pwd) SRC=$(cd "$SRC" && pwd)   # snakemake runs from another directory
command -v snakemake >/dev/null || { fail "snakemake is not installed (scripts/setup.sh installs it)"; cli_done; }
DM=$SRC/test_data/demo
bin=$(cd "$(dirname "$SEQLIFT")" && pwd)/$(basename "$SEQLIFT")
W=$T/wd
mkdir -p "$W"
(cd "$T" && snakemake --cores 2 -s "$SRC/scripts/workflows/Snakefile" -d "$W" --config seqlift="$bin" shards=4 \
    >"$T/smk.log" 2>&1) || fail "snakemake: $(tail -5 "$T/smk.log")"
"$SEQLIFT" score -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$DM/test.bed" --refs dinuc:4 --target gata \
    --npz "$T/one" --tsv "$T/one.tsv" --bedgraph "$T/one.bedGraph" --bigwig "$T/one.bw" \
    --motifs "$DM/motifs.meme" --report "$T/one.html" --report-json "$T/one.json" 2>/dev/null || fail "one run"
bad=
for f in tsv bedGraph ohe.npz hyp.npz contrib.npz windows.bed html json seqlets.bed; do cmp -s "$T/one.$f" "$W/results/merged.$f" || bad="$bad $f"; done
[ -z "$bad" ] && ok "snakemake, 4 shards: merged = one run, byte for byte" || fail "snakemake merged differ:$bad"
"$PY" - "$T/one.bw" "$W/results/merged.bw" <<'PYEOF' && ok "bigWig: the same values" || fail "bigWig values differ"
import sys, pyBigWig
a, b = (pyBigWig.open(p) for p in sys.argv[1:3])
assert a.chroms() == b.chroms()
assert all((a.intervals(c, 0, L) or ()) == (b.intervals(c, 0, L) or ()) for c, L in a.chroms().items())
PYEOF
[ "$(ls "$W"/results/shards/*.seqlift-run.json | wc -l)" = 4 ] && ok "4 shard descriptors" || fail "not 4 shards"
(cd "$T" && snakemake --cores 2 -s "$SRC/scripts/workflows/Snakefile" -d "$W" --config seqlift="$bin" shards=4 -n \
    >"$T/dry.log" 2>&1)
grep -q "Nothing to be done" "$T/dry.log" && ok "a second run has nothing to do" || fail "rerun: $(tail -3 "$T/dry.log")"
# a shard that fails leaves no output; the next run reruns it alone, then the merge
# (a wrapper fails shard 3 while $T/broken exists: the same binary both times)
printf '#!/bin/sh\ncase "$*" in *"--shard 3/4"*) [ -e "%s" ] && { echo "shard 3 fails" >&2; exit 1; };; esac\nexec "%s" "$@"\n' \
    "$T/broken" "$bin" >"$T/flaky" && chmod +x "$T/flaky" && touch "$T/broken"
F=$T/wf2
mkdir -p "$F"
(cd "$T" && snakemake --cores 2 --keep-going -s "$SRC/scripts/workflows/Snakefile" -d "$F" \
    --config seqlift="$T/flaky" shards=4 >"$T/fail.log" 2>&1) && fail "the failing shard did not fail the workflow"
[ "$(ls "$F"/results/shards/*.seqlift-run.json 2>/dev/null | wc -l)" = 3 ] && [ ! -e "$F/results/shards/3.tsv" ] &&
    [ ! -e "$F/results/merged.tsv" ] && ok "a failed shard leaves no file; the other shards are done" ||
    fail "after a failed shard: $(ls "$F"/results/shards/ "$F"/results 2>&1 | tr '\n' ' ')"
rm -f "$T/broken"
(cd "$T" && snakemake --cores 2 -s "$SRC/scripts/workflows/Snakefile" -d "$F" --config seqlift="$T/flaky" shards=4 \
    >"$T/re.log" 2>&1) || fail "snakemake rerun: $(tail -5 "$T/re.log")"
n=$(grep -c "^rule shard:" "$T/re.log")
grep -q "output: results/shards/3\.seqlift-run.json" "$T/re.log" && [ "$n" = 1 ] && cmp -s "$T/one.tsv" "$F/results/merged.tsv" &&
    cmp -s "$T/one.bedGraph" "$F/results/merged.bedGraph" && ok "the failed shard is rerun alone, then the merge" ||
    fail "rerun ran $n shards"
cli_done
