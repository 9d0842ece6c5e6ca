#!/usr/bin/env bash
# examples/score_demo.c (built against the build tree by CMake) scores the demo regions
# through seqlift/score.h and gives the same bytes as `seqlift score`.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" example
DEMO=${SEQLIFT_SCORE_DEMO:-build/score_demo}
G=$D/demo
"$DEMO" "$G/model.json" "$G/genome.fa.gz" "$G/test.bed" "$T/ex.tsv" gata,ebox "$T/ex" 2>"$T/err" ||
    fail "score_demo: $(cat "$T/err")"
"$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$G/test.bed" --target gata,ebox -t 2 \
    --tsv "$T/cli.tsv" --npz "$T/cli" 2>"$T/err" || fail "seqlift score: $(cat "$T/err")"
for f in tsv ohe.npz gata.contrib.npz ebox.hyp.npz; do
    if cmp -s "$T/ex.$f" "$T/cli.$f"; then ok "score_demo $f = seqlift score $f"
    else fail "score_demo $f differs from seqlift score"; fi
done
n=$(($(wc -l <"$T/ex.tsv") - 1))
[ "$n" = 800 ] && ok "400 regions x 2 targets" || fail "score_demo wrote $n rows, want 800"
cli_done
