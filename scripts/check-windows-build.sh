#!/usr/bin/env bash
# Cross-compile the C layer (vendored liblzma and xdelta3, csrc/) for
# 64-bit Windows with mingw-w64, through the project's own CMakeLists.txt
# (DG_C_ONLY: no Python module).  Catches breakage in the _WIN32 code paths
# here; the MSVC build itself runs in .github/workflows/wheels.yml.
#   Needs: gcc-mingw-w64-x86-64, cmake, ninja.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dg-win.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake -S "$repo" -B "$work" -G Ninja -DDG_C_ONLY=ON \
  -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER=x86_64-w64-mingw32-gcc \
  -DCMAKE_C_FLAGS="-Werror=implicit-function-declaration -Werror=int-conversion" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
echo "windows cross-build: ok ($(find "$work" -name 'libdg_core.a' -printf '%s bytes'))"
