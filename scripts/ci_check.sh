#!/usr/bin/env bash
# The CI-only checks, each run by a ctest test of label `ci` (tests/ci/CMakeLists.txt,
# enabled by -DSEQLIFT_CI_CHECKS=ON, which scripts/setup.sh sets when CI=true):
#   scripts/ci_check.sh asan-build   build the whole suite with ASan + UBSan in BUILD/ci-asan
#   scripts/ci_check.sh asan         run it (halt_on_error; every test but the py_ ones,
#                                    whose time is PyTorch's)
#   scripts/ci_check.sh tsan         build seqlift with ThreadSanitizer in BUILD/ci-tsan and run
#                                    `score --threads 2 --batch 4` with every output, and
#                                    `predict --threads 2`; outputs must equal the normal build's
#   scripts/ci_check.sh valgrind     one small end-to-end score (2 threads, every output) under
#                                    valgrind: no error, no definite leak
#   scripts/ci_check.sh fuzz-build   build the libFuzzer targets in BUILD/ci-fuzz
#   scripts/ci_check.sh fuzz T [S]   run fuzz target T for S seconds (30; SEQLIFT_CI_FUZZ_SECONDS overrides)
# BUILD is the normal build directory (SEQLIFT_BUILD, default build/); its seqlift is
# the reference for the tsan run and the program valgrind runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${SEQLIFT_BUILD:-$here/build}" && pwd)
D=$here/test_data
jobs=$(nproc)
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# libhdf5's own leak on corrupt files; the slow unwinder sees the frames under libhdf5 (no frame pointers)
export LSAN_OPTIONS=suppressions="$here/tests/fuzz/lsan.supp":fast_unwind_on_malloc=0:print_suppressions=0
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"

# score with every output into folder $2, by seqlift $1 (and a runner such as valgrind before it)
score_all() {
  local o=$1; shift
  rm -rf "$o" && mkdir -p "$o"
  "$@" score -m "$D/models/tiny.json" -f "$D/genome.fa" -b "$D/regions.bed" --threads 2 \
    --refs dinuc:4 --target count,profile:profile --npz "$o/run" --tsv "$o/run.tsv" \
    --bedgraph "$o/run.bedGraph.gz" --bigwig "$o/run.bw" --motifs "$D/demo/motifs.meme" \
    --report "$o/r.html" --report-json "$o/r.json" "${batch[@]}"
}

case ${1:-} in
asan-build)
  cmake -S "$here" -B "$build/ci-asan" -DCMAKE_BUILD_TYPE=Debug -DSEQLIFT_SANITIZE=ON -DSEQLIFT_WERROR=ON >/dev/null
  cmake --build "$build/ci-asan" -j"$jobs" ;;
asan)
  ctest --test-dir "$build/ci-asan" --output-on-failure -E '^py_' ;;
tsan)
  cmake -S "$here" -B "$build/ci-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEQLIFT_TSAN=ON >/dev/null
  cmake --build "$build/ci-tsan" -j"$jobs" --target seqlift
  t=$build/ci-tsan/out
  batch=(--batch 4)
  score_all "$t/tsan" "$build/ci-tsan/seqlift"
  score_all "$t/ref" "$build/seqlift"
  diff -r "$t/tsan" "$t/ref"
  for s in ci-tsan/seqlift seqlift; do
    "$build/$s" predict -m "$D/models/tiny.json" -f "$D/genome.fa" -b "$D/regions.bed" --threads 2 \
      --batch 2 -o "$t/predict.${s%%/*}.tsv"
  done
  cmp "$t/predict.ci-tsan.tsv" "$t/predict.seqlift.tsv"
  echo "tsan: score --threads 2 --batch 4 (all outputs) and predict --threads 2: no race, same outputs" ;;
valgrind)
  batch=(--batch 2)
  score_all "$build/ci-valgrind" valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite "$build/seqlift"
  echo "valgrind: no error, no definite leak" ;;
fuzz-build)
  SEQLIFT_FUZZ_BUILD=$build/ci-fuzz "$here/scripts/fuzz.sh" --build-only ;;
fuzz)
  SEQLIFT_FUZZ_BUILD=$build/ci-fuzz SEQLIFT_FUZZ_NO_BUILD=1 "$here/scripts/fuzz.sh" "${SEQLIFT_CI_FUZZ_SECONDS:-${3:-30}}" "$2" ;;
*)
  sed -n '2,15p' "$0" >&2
  exit 2 ;;
esac
