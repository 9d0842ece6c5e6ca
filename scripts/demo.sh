#!/usr/bin/env bash
# The seqlift demo: score the held-out regions of the shipped example (a synthetic genome
# with planted GATA and E-box motifs, and a small CNN trained on it; test_data/demo/README.md)
# with DeepLIFT's genomics default against 20 dinucleotide-shuffled references, for the
# three model outputs (gata, ebox, both) in one run, writing into the repository's
# demo_out/ (or $1):
#   demo.tsv                          one row per region and target: output, reference
#                                     mean, sum of contributions, summation-to-delta error
#   demo.ohe.npz, demo.<target>.{hyp,contrib}.npz   arrays (regions, 4, 200), TF-MoDISco input
#   demo.<target>.bw, .bedGraph       per-base contributions of the observed bases
#   demo.<target>.html                motif-highlight report (seqlets matched to motifs.meme)
# Run scripts/setup.sh first (it builds build/seqlift). Usage: scripts/demo.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seqlift=${SEQLIFT:-$root/build/seqlift}
data=$root/test_data/demo
out=${1:-$root/demo_out}

if [ ! -x "$seqlift" ]; then
  echo "demo: $seqlift not found; run scripts/setup.sh first" >&2
  exit 1
fi
mkdir -p "$out"
start=$SECONDS
args=(score -m "$data/model.json" -f "$data/genome.fa.gz" -b "$data/test.bed"
      --method genomics --refs dinuc:20 --seed 1 --target gata,ebox,both
      --tsv "$out/demo.tsv" --npz "$out/demo" --bigwig "$out/demo.bw" --bedgraph "$out/demo.bedGraph"
      --motifs "$data/motifs.meme" --report "$out/demo.html" --threads 2
      --igv-session "$out/demo.xml")
echo "+ seqlift ${args[*]}" >&2
"$seqlift" "${args[@]}"
echo "demo: scored $(wc -l <"$data/test.bed") regions x 3 targets in $((SECONDS - start)) s; outputs in $out/:"
ls -l "$out"
echo "Planted motifs (the truth) are in $data/truth.bed; load it with the tracks in IGV"
echo "(genome: $data/genome.fa.gz)."
