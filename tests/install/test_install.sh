#!/usr/bin/env bash
# test_install.sh — `cmake --install` into a scratch prefix puts the binary, both libraries
# (shared with its SOVERSION), the headers with version.h, seqlift.pc, the CMake package and
# the man page there; tests/install/embed.c built against it with `pkg-config --cflags --libs`
# (as C and as C++), with `pkg-config --static` (static libseqlift.a) and with
# find_package(seqlift) prints the installed CLI's --version and its `predict` output.
# Needs SEQLIFT_BUILD, CC, CXX, CMAKE and CFLAGS (-fsanitize=... for a sanitizer build) from CMake.
. "$(dirname "$0")/../cli/lib.sh" install
CC=${CC:-cc} CXX=${CXX:-c++} CMAKE=${CMAKE:-cmake}
T=$(cd "$T" && pwd) SRC=$(cd "$SRC" && pwd) SEQLIFT_BUILD=$(cd "$SEQLIFT_BUILD" && pwd)
D=$SRC/test_data
P=$T/prefix
if ! "$CMAKE" --install "$SEQLIFT_BUILD" --prefix "$P" >"$T/install.log" 2>&1; then
    fail "cmake --install: $(tail -3 "$T/install.log")"; cli_done
fi
pc=$(find "$P" -name seqlift.pc)
lib=$(dirname "$(dirname "$pc")")
for f in bin/seqlift include/seqlift/version.h include/seqlift/log.h include/seqlift/model.h \
         share/man/man1/seqlift.1; do
    [ -f "$P/$f" ] && ok "installed $f" || fail "$f not installed"
done
for f in libseqlift.a libseqlift.so libseqlift.so.0 seqlift/seqlift-config.cmake; do
    f=${f/seqlift\//cmake/seqlift/}
    [ -e "$lib/$f" ] && ok "installed $f" || fail "$f not installed in $lib"
done
# the library is every src/<module>/*.c but the CLI's (the CMake glob)
miss=
for c in "$SRC"/src/*/*.c; do
    case $c in "$SRC"/src/cli/*) continue ;; esac
    ar t "$lib/libseqlift.a" | grep -x "$(basename "$c").o" >/dev/null || miss="$miss ${c#"$SRC"/}"
done
[ -z "$miss" ] && ok "libseqlift.a holds every src/<module>/*.c" || fail "not in libseqlift.a:$miss"
ar t "$lib/libseqlift.a" | grep '^main\.c\.o$' >/dev/null && fail "libseqlift.a holds the CLI's main.c"
soname=$(readelf -d "$lib/libseqlift.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libseqlift.so.0 ] && ok "SONAME $soname" || fail "SONAME '$soname'"

seq=$(sed -n 2,3p "$D/models/seqs100.fa" | tr -d '\n')
printf '>one\n%s\n' "$seq" >"$T/one.fa"
# (the CLI's provenance line aside: embed.c prints the header and rows only)
{ "$P/bin/seqlift" --version && "$P/bin/seqlift" predict -m "$D/models/tiny.json" -s "$T/one.fa" | grep -v '^# seqlift '; } >"$T/want" ||
    fail "installed seqlift predict"
# run NAME [env...] -- EXE: EXE's output equals the CLI's
run() {
    local name=$1; shift
    if env "$@" "$D/models/tiny.json" one "$seq" >"$T/$name.out" 2>"$T/$name.err" && cmp -s "$T/want" "$T/$name.out"
    then ok "$name: same version and outputs as the CLI"
    else fail "$name: $(head -c 300 "$T/$name.err") $(diff "$T/want" "$T/$name.out" | head -c 300)"; fi
}
needs_so() { readelf -d "$1" | grep 'NEEDED.*libseqlift\.so\.0' >/dev/null; }
export PKG_CONFIG_PATH=$lib/pkgconfig

# pkg-config, shared library, as C and as C++ (links only if the headers say extern "C")
src=$SRC/tests/install/embed.c
# shellcheck disable=SC2046
if "$CC" $CFLAGS -std=c11 -Wall -Wextra -Werror "$src" -o "$T/embed_pc" $(pkg-config --cflags --libs seqlift) 2>"$T/err"; then
    needs_so "$T/embed_pc" || fail "pkg-config build does not use libseqlift.so.0"
    run pkg-config LD_LIBRARY_PATH="$lib" "$T/embed_pc"
else fail "build with pkg-config --cflags --libs seqlift: $(head -c 500 "$T/err")"; fi
# shellcheck disable=SC2046
if "$CXX" $CFLAGS -x c++ -Wall -Wextra -Werror "$src" -o "$T/embed_cxx" $(pkg-config --cflags --libs seqlift) 2>"$T/err"; then
    run pkg-config-c++ LD_LIBRARY_PATH="$lib" "$T/embed_cxx"
else fail "build as C++ with pkg-config: $(head -c 500 "$T/err")"; fi

# pkg-config --static: a prefix with the static library only; Requires.private and
# Libs.private must name everything libseqlift.a needs
cp -a "$P" "$T/static" && rm -f "$T/static/${lib#"$P"/}"/libseqlift.so*
# shellcheck disable=SC2046
if "$CC" $CFLAGS -std=c11 "$src" -o "$T/embed_static" $(PKG_CONFIG_PATH=${lib/"$P"/"$T/static"}/pkgconfig pkg-config --static --cflags --libs seqlift) 2>"$T/err"; then
    needs_so "$T/embed_static" && fail "static build still needs libseqlift.so"
    run pkg-config-static "$T/embed_static"
else fail "build with pkg-config --static: $(head -c 500 "$T/err")"; fi

# find_package(seqlift) and the imported target seqlift::seqlift
mkdir -p "$T/cm"
cat >"$T/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(embed C)
find_package(seqlift 0.1 REQUIRED)
add_executable(embed "$src")
target_link_libraries(embed PRIVATE seqlift::seqlift)
CM
if "$CMAKE" -S "$T/cm" -B "$T/cm/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$CFLAGS" >"$T/cm.log" 2>&1 &&
   "$CMAKE" --build "$T/cm/build" >>"$T/cm.log" 2>&1; then
    run find_package "$T/cm/build/embed"
else fail "find_package(seqlift) build: $(tail -5 "$T/cm.log")"; fi
cli_done
