#!/usr/bin/env bash
# Regression tests of the scoring run: tracks of a contig whose windows start before
# position 0; one naming
# rule for per-target files (score writes what report/seqlets --npz read); duplicate
# targets refused.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" pipeline
G=$D/demo
head -23 "$G/test.bed" >"$T/sub.bed"

# a window starting before 0 (chr2 0 60 on a 100 bp model: window -20..80) has a track
printf 'chr2\t0\t60\n' >"$T/edge.bed"
"$SEQLIFT" score -m "$D/models/tiny.json" -f "$D/genome.fa" -b "$T/edge.bed" --bedgraph "$T/edge.bedGraph" \
    --bigwig "$T/edge.bw" 2>"$T/err" || fail "edge score: $(cat "$T/err")"
n=$(no_about "$T/edge.bedGraph" | wc -l)
first=$(no_about "$T/edge.bedGraph" | head -1 | cut -f1-3)
if [ "$n" -gt 0 ] && [ "$first" = "$(printf 'chr2\t0\t1')" ]; then ok "window before 0: $n track entries from chr2:0"
else fail "window before 0: $n entries, first '$first'"; fi

# one naming rule: score --target gata:0 writes P.gata_0.*.npz, report finds them
"$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" --refs dinuc:2 --target gata:0,ebox \
    --npz "$T/P" 2>"$T/err" || fail "score gata:0: $(cat "$T/err")"
[ -e "$T/P.gata_0.contrib.npz" ] || fail "score --target gata:0 did not write P.gata_0.contrib.npz"
"$SEQLIFT" report --npz "$T/P" --target gata:0 -b "$T/sub.bed" -o "$T/r.html" 2>"$T/err" &&
    [ -s "$T/r.html" ] && ok "report --npz P --target gata:0 reads P.gata_0.*" ||
    fail "report --target gata:0: $(cat "$T/err")"

# duplicate targets: one clear line, nothing written
expect 2 "gata.*twice" -- score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" --target gata,gata --npz "$T/dup"
ls "$T" | grep -q '^dup' && fail "duplicate targets wrote files"

# a later output failing (a full device) leaves no earlier one renamed into place
expect 1 "/dev/full: write failed" -- score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" --refs dinuc:2 \
    --npz "$T/full" --bedgraph "$T/full.bedGraph" --tsv /dev/full
ls "$T" | grep -q '^full' && fail "--tsv /dev/full left $(ls "$T" | grep '^full')" || ok "--tsv /dev/full: no npz or track left"

cli_done
