#!/usr/bin/env bash
# Every writer of `score` and `predict` under injected faults (tests/support/fault:
# LD_PRELOAD, no root): its open fails, its writes fail with ENOSPC after N bytes for
# several N, or its close fails. Each run writes every output at once; each must end
# with exit 1, exactly one stderr line naming the output file (not its temporary), and
# no temporary and no final file of any output left (all-or-nothing commit).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" output_faults
FAULT=${SEQLIFT_FAULT_LIB:-build/libsl_fault.so}
G=$D/demo
head -30 "$G/test.bed" >"$T/sub.bed"
O=$T/o
# sanitizer builds: the interposer is preloaded before the ASan runtime
export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0

score_all() {
    "$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" --target gata,ebox --refs dinuc:2 \
        --tsv "$O/x.tsv" --npz "$O/x" --bedgraph "$O/x.bedGraph.gz" --bigwig "$O/x.bw" \
        --motifs "$G/motifs.meme" --report "$O/x.html" --report-json "$O/x.json" "$@"
}
score_plain() { # the plain-text bedGraph
    "$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" --refs dinuc:2 \
        --tsv "$O/x.tsv" --npz "$O/x" --bedgraph "$O/x.bedGraph" "$@"
}
predict_tsv() { "$SEQLIFT" predict -m "$G/model.json" -f "$G/genome.fa.gz" -b "$T/sub.bed" -o "$O/x.pred.tsv"; }

# clean runs: the size of the smallest file of each writer
mkdir -p "$O"
score_all >/dev/null 2>&1 || fail "clean score run failed"
declare -A size
for pat in '*.tsv' '*.npz' '*.bedGraph.gz' '*.bw' '*.html' '*.json'; do
    size[$pat]=$(find "$O" -name "$pat" -printf '%s\n' | sort -n | head -1)
done
rm -rf "$O" && mkdir -p "$O"
score_plain >/dev/null 2>&1 || fail "clean plain bedGraph run failed"
size['*.bedGraph']=$(stat -c %s "$O/x.bedGraph")
rm -rf "$O" && mkdir -p "$O"
predict_tsv >/dev/null 2>&1 || fail "clean predict run failed"
size['*.pred.tsv']=$(stat -c %s "$O/x.pred.tsv")

check() { # what cmd-function pattern mode N
    local what=$1 fn=$2 pat=$3 mode=$4 n=${5:-0}
    rm -rf "$O" && mkdir -p "$O"
    LD_PRELOAD=$FAULT SL_FAULT_PATH="*/o/$pat*" SL_FAULT_MODE=$mode SL_FAULT_AFTER=$n $fn >"$T/out" 2>"$T/err"
    local rc=$? lines left
    lines=$(wc -l <"$T/err")
    left=$(ls -A "$O")
    if [ "$rc" != 1 ] || [ "$lines" != 1 ]; then fail "$what $pat $mode $n -> exit $rc, $lines stderr lines: $(head -3 "$T/err")"
    elif [ -n "$left" ]; then fail "$what $pat $mode $n left files: $left"
    elif grep -q "Sanitizer" "$T/err"; then fail "$what $pat $mode $n: sanitizer report"
    elif grep -q '\.tmp\.' "$T/err"; then fail "$what $pat $mode $n: the message names a temporary: $(cat "$T/err")"
    else ok "$what $pat $mode $n -> exit 1, one line, nothing left"; fi
}

for pat in '*.tsv' '*.npz' '*.bedGraph.gz' '*.bw' '*.html' '*.json' '*.bedGraph' '*.pred.tsv'; do
    fn=score_all
    [ "$pat" = '*.bedGraph' ] && fn=score_plain
    [ "$pat" = '*.pred.tsv' ] && fn=predict_tsv
    s=${size[$pat]}
    [ -n "$s" ] && [ "$s" -gt 8 ] || { fail "no clean size for $pat"; continue; }
    check "$fn" "$fn" "$pat" open
    check "$fn" "$fn" "$pat" close
    for n in 0 1 4096 $((s / 2)) $((s - 1)); do
        [ "$n" -lt "$s" ] && check "$fn" "$fn" "$pat" write "$n"
    done
done

cli_done
