#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in build-fuzz/ and run
# each for SECONDS (default 60), one at a time (one process each), under `nice -n 19`. Usage:
#   scripts/fuzz.sh [SECONDS] [TARGET...]        (targets: fasta bed model_json ...)
#   scripts/fuzz.sh --build-only                 (then SEQLIFT_FUZZ_NO_BUILD=1 skips the build)
# The working corpus grows in build-fuzz/corpus/<target> (seeded from
# tests/fuzz/corpus/<target>); a crash is saved as build-fuzz/artifacts/<target>/crash-*
# and fails the run: fix it, then keep the input in tests/fuzz/regressions/<target>/
# (replayed by ctest's fuzz_<target>). A line per target is printed:
#   fuzz: <target> <seconds>s <executions> execs <corpus size> inputs: ok|FAILED
# SEQLIFT_FUZZ_BUILD sets the build directory; SEQLIFT_FUZZ_FLAGS adds libFuzzer flags.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
out=${SEQLIFT_FUZZ_BUILD:-$here/build-fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
if [ "${SEQLIFT_FUZZ_NO_BUILD:-0}" != 1 ]; then
  cmake -S "$here" -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSEQLIFT_FUZZ=ON >/dev/null
  cmake --build "$out" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
fi
[ "$secs" = --build-only ] && exit 0
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# libhdf5's own leak on corrupt files; the slow unwinder sees the frames under libhdf5 (no frame pointers)
export LSAN_OPTIONS=suppressions="$here/tests/fuzz/lsan.supp":fast_unwind_on_malloc=0
export TMPDIR=$out
status=0
for t in "${targets[@]}"; do
  corpus=$out/corpus/$t art=$out/artifacts/$t
  mkdir -p "$corpus" "$art"
  seeds=()
  for d in corpus regressions; do [ -d "$here/tests/fuzz/$d/$t" ] && seeds+=("$here/tests/fuzz/$d/$t"); done
  if [ ${#seeds[@]} = 0 ]; then echo "fuzz: $t: no seeds (tests/fuzz/corpus/$t): skipped" >&2; continue; fi
  dict=(); [ -f "$here/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$here/tests/fuzz/dict/$t.dict")
  log=$out/fuzz_$t.log
  # -close_fd_mask=2: the targets' error lines go nowhere; libFuzzer's and the sanitizers'
  # reports still reach the log. -rss_limit_mb: the readers must refuse huge sizes.
  if nice -n 19 "$out/tests/fuzz/fuzz_$t" "$corpus" "${seeds[@]}" "${dict[@]}" \
       -max_total_time="$secs" -close_fd_mask=2 -timeout=10 \
       -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$art/" ${SEQLIFT_FUZZ_FLAGS:-} >"$log" 2>&1; then res=ok
  else res=FAILED; status=1; fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  echo "fuzz: $t ${secs}s ${execs:-?} execs $(ls "$corpus" | wc -l) inputs: $res" >&2
  [ $res = ok ] || tail -40 "$log" >&2
done
exit $status
