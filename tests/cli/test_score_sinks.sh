#!/usr/bin/env bash
# `seqlift score` failing while its outputs are opened or committed leaves no output and
# no temporary file behind.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" score_sinks
M=$D/models/tiny.json
S=$D/models/seqs100.fa

# The second npz of two targets fails to open (its name, longer by the target label,
# exceeds NAME_MAX) after the one-hot npz was opened.
B=$(printf 'p%.0s' $(seq 230))
"$SEQLIFT" score -m "$M" -s "$S" --method gradient --target "0,000000000000000000000000000000:sum" \
    --npz "$T/$B" --tsv "$T/out.tsv" >"$T/out" 2>"$T/err"
rc=$?
n=$(wc -l <"$T/err")
left=$(ls "$T" | grep -v -x -e out -e err)
if [ "$rc" != 1 ] || [ "$n" != 1 ]; then fail "npz open failure -> exit $rc, $n stderr lines: $(cat "$T/err")"
elif [ -n "$left" ]; then fail "npz open failure left files behind: $left"
else ok "npz open failure removes every output"; fi

# The one-hot npz fails to commit (a directory has its name): the TSV, closed after
# the npz files, must not be committed either.
rm -rf "$T"/* && mkdir "$T/x.ohe.npz"
"$SEQLIFT" score -m "$M" -s "$S" --method gradient --npz "$T/x" --tsv "$T/out.tsv" >"$T/out" 2>"$T/err"
rc=$?
n=$(wc -l <"$T/err")
left=$(ls "$T" | grep -v -x -e out -e err -e x.ohe.npz)
if [ "$rc" != 1 ] || [ "$n" != 1 ]; then fail "npz commit failure -> exit $rc, $n stderr lines: $(cat "$T/err")"
elif [ -n "$left" ]; then fail "npz commit failure left files behind: $left"
else ok "npz commit failure aborts the other outputs"; fi

# Two outputs on one path, or '-' for per-target files, are usage errors (exit 2, one line).
G=$D/demo
rm -rf "$T"/*
for args in "--tsv $T/same --bedgraph $T/same" "--target gata,ebox --bedgraph -" "--target gata,ebox --motifs $G/motifs.meme --report -"; do
  # shellcheck disable=SC2086
  "$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$G/test.bed" $args >"$T/out" 2>"$T/err"
  rc=$?
  n=$(wc -l <"$T/err")
  if [ "$rc" != 2 ] || [ "$n" != 1 ] || [ -e "$T/same" ]; then fail "$args -> exit $rc, $n stderr lines: $(cat "$T/err")"
  else ok "$args refused"; fi
done

cli_done
