#!/usr/bin/env bash
# Progress on stderr (score, predict): with --progress and stderr not a terminal, plain
# lines (regions done / total, regions per second, ETA) and a one-line summary (regions,
# seconds, worst summation-to-delta error, warnings); on a terminal a line rewritten in
# place with "\r"; -q silences both; nothing without a terminal or --progress; the
# outputs are byte-identical with and without progress.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" progress
DM=$D/demo
run=(score -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$DM/test.bed" --refs dinuc:48)
"$SEQLIFT" "${run[@]}" --progress --tsv "$T/p.tsv" --npz "$T/p" 2>"$T/p.err" || fail "score --progress"
grep -Eq '^seqlift: [0-9]+ / 400 regions \([0-9.]+ %\), [0-9.]+ regions/s, ETA [0-9]+:[0-9]{2}:[0-9]{2}$' "$T/p.err" &&
    ok "--progress: plain progress lines" || fail "no progress line: $(cat "$T/p.err")"
tail -1 "$T/p.err" | grep -Eq '^seqlift: 400 regions in [0-9.]+ s \([0-9.]+ regions/s\), worst summation-to-delta error [0-9.e+-]+, 0 warnings$' &&
    ok "--progress: the summary line" || fail "no summary: $(tail -1 "$T/p.err")"
grep -q $'\r' "$T/p.err" && fail "carriage return without a terminal" || ok "no carriage return in a file"
"$SEQLIFT" -q "${run[@]}" --progress --tsv "$T/q.tsv" --npz "$T/q" 2>"$T/q.err" || fail "score -q --progress"
[ ! -s "$T/q.err" ] && ok "-q: no progress, no summary" || fail "-q wrote: $(cat "$T/q.err")"
"$SEQLIFT" "${run[@]}" --tsv "$T/n.tsv" --npz "$T/n" 2>"$T/n.err" || fail "score"
[ ! -s "$T/n.err" ] && ok "no terminal, no --progress: nothing on stderr" || fail "stderr: $(cat "$T/n.err")"
bad=
for f in tsv ohe.npz hyp.npz contrib.npz windows.bed; do
    cmp -s "$T/p.$f" "$T/n.$f" && cmp -s "$T/q.$f" "$T/n.$f" || bad="$bad $f"
done
[ -z "$bad" ] && ok "outputs byte-identical with and without progress" || fail "outputs differ:$bad"
"$SEQLIFT" predict -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$DM/test.bed" --progress -o "$T/pr.tsv" 2>"$T/pr.err" ||
    fail "predict --progress"
"$SEQLIFT" predict -m "$DM/model.json" -f "$DM/genome.fa.gz" -b "$DM/test.bed" -o "$T/pr0.tsv" 2>/dev/null
tail -1 "$T/pr.err" | grep -Eq '^seqlift: 400 regions in [0-9.]+ s \([0-9.]+ regions/s\), 0 warnings$' &&
    cmp -s "$T/pr.tsv" "$T/pr0.tsv" && ok "predict --progress: summary, same TSV" || fail "predict: $(cat "$T/pr.err")"
# on a terminal: the line is rewritten in place, the summary is a line of its own
"$PY" - "$SEQLIFT" "${run[@]}" --tsv "$T/tty.tsv" <<'PYEOF' && ok "terminal: '\r' line, then the summary" || fail "terminal progress"
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stderr=s, stdout=subprocess.DEVNULL)
os.close(s)
out = b""
while True:
    try:
        b = os.read(m, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
assert p.wait() == 0
t = out.decode()
assert "\rseqlift: " in t and " / 400 regions (" in t and "\x1b[K" in t, repr(t[:200])
assert t.endswith("0 warnings\r\n") and "\r\x1b[Kseqlift: 400 regions in " in t, repr(t[-200:])
PYEOF
cmp -s "$T/tty.tsv" "$T/n.tsv" && ok "terminal: same TSV" || fail "terminal: TSV differs"
cli_done
