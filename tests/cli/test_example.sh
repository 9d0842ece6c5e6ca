#!/usr/bin/env bash
# examples/score_demo.c scores the demo regions through seqlift/score.h and gives the
# same bytes as `seqlift score`: built against the build tree (by CMake), and built
# against the installed package with `pkg-config --cflags --libs seqlift`.
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
n=$(($(no_about "$T/ex.tsv" | wc -l) - 1))
[ "$n" = 800 ] && ok "400 regions x 2 targets" || fail "score_demo wrote $n rows, want 800"

# the installed package: cmake --install into a scratch prefix, cc + pkg-config
BUILD=$(dirname "$SEQLIFT")
if [ -f "$BUILD/CMakeCache.txt" ] && command -v pkg-config >/dev/null; then
    cmake --install "$BUILD" --prefix "$T/prefix" >"$T/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T/install.log")"
    pc=$(dirname "$(find "$T/prefix" -name seqlift.pc | head -1)")
    cflags=""
    ldd "$SEQLIFT" 2>/dev/null | grep libasan >/dev/null && cflags="-fsanitize=address,undefined"
    # shellcheck disable=SC2046
    ${CC:-cc} $cflags -o "$T/score_demo" "$SRC/examples/score_demo.c" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs seqlift) \
        2>"$T/cc.err" || fail "score_demo against the installed package: $(head -3 "$T/cc.err")"
    lib=$(dirname "$(find "$T/prefix" -name 'libseqlift.so*' | head -1)")
    LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        "$T/score_demo" "$G/model.json" "$G/genome.fa.gz" "$G/test.bed" "$T/inst.tsv" gata,ebox 2>"$T/err" ||
        fail "installed score_demo: $(cat "$T/err")"
    cmp -s "$T/inst.tsv" "$T/cli.tsv" && ok "score_demo built with pkg-config = seqlift score" ||
        fail "score_demo built with pkg-config differs from seqlift score"
fi
cli_done
