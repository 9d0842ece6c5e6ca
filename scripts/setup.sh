#!/usr/bin/env bash
# Install seqlift's build and test dependencies from Debian 12 and build into build/.
# Idempotent; run as root (or with sudo available). Set SEQLIFT_SKIP_APT=1 to skip apt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

PKGS=(build-essential cmake pkg-config git
      libhts-dev zlib1g-dev libcjson-dev libcmocka-dev libopenblas-dev libbigwig-dev
      samtools tabix bedtools
      python3 python3-numpy python3-torch python3-pybigwig
      groff-base
      libhdf5-dev python3-h5py
      chromium
      igv xvfb xauth
      clang libclang-rt-14-dev valgrind
      libgfortran-12-dev   # libgfortran.a: a static link of OpenBLAS (pkg-config --static) needs it
      snakemake)

if [ "${SEQLIFT_SKIP_APT:-0}" != 1 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

werror=OFF; [ "${CI:-}" = true ] && werror=ON
# CI=true also adds the sanitizer, valgrind and fuzz checks to ctest (label ci, tests/ci/)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSEQLIFT_WERROR=$werror -DSEQLIFT_CI_CHECKS=$werror >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built $here/build/seqlift" >&2
