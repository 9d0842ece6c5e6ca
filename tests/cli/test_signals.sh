#!/usr/bin/env bash
# SIGTERM, SIGINT and SIGHUP (Slurm, Snakemake, Ctrl-C, a closed terminal) stop a
# running `score` with exit 128 + signal, and no temporary or final file is left.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" signals
G=$D/demo
O=$T/o
for sig in TERM INT HUP; do
    rm -rf "$O" && mkdir -p "$O"
    # long enough to be caught while its temporaries exist
    "$SEQLIFT" score -m "$G/model.json" -f "$G/genome.fa.gz" -b "$G/test.bed" --refs dinuc:100 --target gata,ebox \
        --tsv "$O/x.tsv" --npz "$O/x" --bedgraph "$O/x.bedGraph.gz" --bigwig "$O/x.bw" 2>"$T/err" &
    pid=$!
    for _ in $(seq 200); do
        ls "$O" 2>/dev/null | grep -q '\.tmp\.' && break
        sleep 0.05
    done
    sleep 0.2
    kill -s "$sig" "$pid"
    wait "$pid"
    rc=$?
    num=$(kill -l "$sig")
    left=$(ls -A "$O")
    if [ "$rc" != $((128 + num)) ]; then fail "SIG$sig -> exit $rc, want $((128 + num)): $(cat "$T/err")"
    elif [ -n "$left" ]; then fail "SIG$sig left files: $left"
    else ok "SIG$sig -> exit $rc, no file left"; fi
done
cli_done
