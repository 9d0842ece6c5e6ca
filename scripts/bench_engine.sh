#!/usr/bin/env bash
# Forward-pass throughput of the C engine on BPNet-like and Basset-like models with
# random weights, at 1 and 2 threads. Needs the library built in build/ (scripts/setup.sh).
# Usage: scripts/bench_engine.sh [SECONDS]   (MODEL.json files: scripts/bench_engine.sh run M.json T)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p "$B"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -Itests scripts/bench_engine.c \
    tests/support/model_builder.c build/libseqlift_core.a \
    $(pkg-config --libs libcjson openblas htslib zlib) -lBigWig -lpthread -lm -o "$B/bench_engine"
case "${1:-}" in run|profile|make-*) exec "$B/bench_engine" "$@";; esac
secs=${1:-5}
[ -f "$B/bpnet.json" ] || "$B/bench_engine" make-bpnet "$B" >/dev/null
[ -f "$B/basset.json" ] || "$B/bench_engine" make-basset "$B" >/dev/null
for m in bpnet basset; do
    for t in 1 2; do "$B/bench_engine" run "$B/$m.json" "$t" "$secs"; done
done
