#!/usr/bin/env bash
# test_log.sh — the CLI's global -q / -v: warnings are dropped by -q (errors never are),
# info lines appear only with -v.
. "$(dirname "$0")/lib.sh" log
m=$D/models/tiny.json seqs=$D/models/seqs100.fa

"$SEQLIFT" extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 --edge skip >"$T/a.fa" 2>"$T/warn.err"
grep -q 'warning: .*skipped' "$T/warn.err" && ok "warnings by default" || fail "no warning: $(cat "$T/warn.err")"
for q in -q --quiet; do
    "$SEQLIFT" $q extract -f "$D/genome.fa" -b "$D/regions.bed" -w 100 --edge skip >"$T/q.fa" 2>"$T/q.err"
    [ ! -s "$T/q.err" ] && cmp -s "$T/a.fa" "$T/q.fa" && ok "$q drops warnings, same output" \
        || fail "$q: $(cat "$T/q.err")"
done
expect 1 'error: .*missing\.json' -- -q predict -m "$T/missing.json" -s "$seqs"

"$SEQLIFT" score -m "$m" -s "$seqs" --refs dinuc:2 >"$T/s.tsv" 2>"$T/s.err"
[ ! -s "$T/s.err" ] && ok "no info lines by default" || fail "default stderr: $(cat "$T/s.err")"
for v in -v --verbose -vv "-v -v"; do
    # shellcheck disable=SC2086
    "$SEQLIFT" $v score -m "$m" -s "$seqs" --refs dinuc:2 >"$T/v.tsv" 2>"$T/v.err"
    grep -v 'error:\|warning:' "$T/v.err" | grep -q '^seqlift: ' && cmp -s "$T/s.tsv" "$T/v.tsv" \
        && ok "$v prints info, same output" || fail "$v: $(cat "$T/v.err")"
done
expect 2 'Usage' -- -v
"$SEQLIFT" -q --version | grep -q '^seqlift ' && ok "-q --version" || fail "-q --version"
cli_done
