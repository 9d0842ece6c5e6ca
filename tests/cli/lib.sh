# lib.sh — shared set-up of the CLI tests: `. "$(dirname "$0")/lib.sh" NAME`.
# Sets SEQLIFT, SRC, PY, D (test_data) and T (a fresh scratch folder named NAME), and
# defines fail/ok/expect; finish with `cli_done`.
SEQLIFT=${SEQLIFT:-build/seqlift}
SRC=${SEQLIFT_SRC:-.}
PY=${SEQLIFT_PYTHON:-/usr/bin/python3}
T=${SEQLIFT_TMP:-build/test_tmp}/$1
D=$SRC/test_data
rm -rf "$T" && mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect CODE PATTERN -- args: `seqlift args` exits with CODE and its stderr matches
# PATTERN; an error (exit 1) must be exactly one line.
expect() {
    local code=$1 pat=$2; shift 3
    "$SEQLIFT" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    local n; n=$(wc -l <"$T/err")
    if [ "$rc" != "$code" ]; then fail "$* -> exit $rc, want $code: $(cat "$T/err")"
    elif [ "$code" = 1 ] && [ "$n" != 1 ]; then fail "$* -> $n stderr lines, want 1: $(cat "$T/err")"
    elif ! grep -Eq -- "$pat" "$T/err"; then fail "$* -> stderr '$(cat "$T/err")' lacks /$pat/"
    else ok "$* -> $code"; fi
}

# same_npz A B: the arrays (arr_0) of two npz files are equal, bit for bit; their
# "seqlift" provenance entries, which name the inputs, may differ.
same_npz() {
    "$PY" -c 'import sys, numpy as np
a, b = (np.load(p)["arr_0"] for p in sys.argv[1:3])
sys.exit(0 if a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() else 1)' "$1" "$2" 2>/dev/null
}
# no_about FILE: FILE without its "# seqlift" provenance line (TSV, bedGraph)
no_about() { grep -v '^# seqlift ' "$1"; }

cli_done() {
    if [ "$fails" -gt 0 ]; then echo "$fails failure(s)" >&2; exit 1; fi
    echo "all passed"
}
