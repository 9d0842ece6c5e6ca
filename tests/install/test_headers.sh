#!/usr/bin/env bash
# test_headers.sh — every public header compiles on its own, as C11 and as C++, without a
# warning, and declares its functions extern "C". Needs SEQLIFT_BUILD (the generated
# seqlift/version.h), CC and CXX (from CMake).
. "$(dirname "$0")/../cli/lib.sh" headers
CC=${CC:-cc} CXX=${CXX:-c++}
inc=(-I"$SRC/include" -I"$SEQLIFT_BUILD/include")
warn=(-Wall -Wextra -Werror -Wpedantic)
hdrs=("$SRC"/include/seqlift/*.h "$SEQLIFT_BUILD/include/seqlift/version.h")
[ "${#hdrs[@]}" -ge 12 ] || fail "only ${#hdrs[@]} headers found"
for h in "${hdrs[@]}"; do
    name=seqlift/$(basename "$h")
    printf '#include "%s"\n#include "%s"\n' "$name" "$name" >"$T/one.c"   # twice: include guard
    if "$CC" -std=c11 "${warn[@]}" "${inc[@]}" -fsyntax-only "$T/one.c" 2>"$T/err"; then ok "$name as C11"
    else fail "$name as C11: $(cat "$T/err")"; fi
    if "$CXX" -x c++ -std=c++11 "${warn[@]}" "${inc[@]}" -fsyntax-only "$T/one.c" 2>"$T/err"; then ok "$name as C++"
    else fail "$name as C++: $(cat "$T/err")"; fi
    grep -q 'extern "C" {' "$h" || fail "$name has no extern \"C\" guard"
done
cli_done
