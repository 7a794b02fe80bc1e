#!/usr/bin/env bash
# Fuzz the C decoders through tests/fuzz/ (fuzz_decode.py: xdelta3's;
# fuzz_parse.py: the deflate parse codec's), each for SECONDS, with real coverage:
# the extension is rebuilt with clang's sanitizer coverage and ASan, and
# libFuzzer + ASan are preloaded as one library so that atheris drives the
# same libFuzzer that sees the C counters.
#
#   scripts/fuzz.sh [SECONDS]      (default 60; needs clang-14, libclang-rt-14-dev, atheris)
set -euo pipefail
seconds=${1:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

rt=$(dirname "$(clang-14 -print-file-name=libclang_rt.asan-x86_64.so)")
# ASan's preinit section cannot live in a shared object: drop that member.
cp "$rt/libclang_rt.asan-x86_64.a" "$work/asan.a"
ar d "$work/asan.a" asan_preinit.cpp.o
clang++-14 -shared -o "$work/asan_with_fuzzer.so" \
  -Wl,--whole-archive "$work/asan.a" "$rt/libclang_rt.asan_cxx-x86_64.a" \
  "$rt/libclang_rt.fuzzer_no_main-x86_64.a" -Wl,--no-whole-archive \
  -lpthread -ldl -lrt -lm -lstdc++

CC=clang-14 CFLAGS="-fsanitize=fuzzer-no-link,address -g -O1" \
  python3 -m pip install --quiet --no-build-isolation --no-deps \
  --target "$work/pkg" -C build-dir="$work/build" "$repo"

# -S: no .pth processing, so an editable install of the package cannot
# shadow the instrumented build; site-packages is added back explicitly.
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$work/crashes"
status=0
for target in fuzz_decode fuzz_parse; do
  ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$work/asan_with_fuzzer.so" \
    PYTHONPATH="$work/pkg:$site" \
    python3 -S "$repo/tests/fuzz/$target.py" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/$target-" 2>"$work/log" || status=$?
  echo "--- $target"
  grep -E "^(stat::|#[0-9]+ +DONE)|ERROR|SUMMARY" "$work/log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$work/log"
    mkdir -p "$repo/fuzz-crashes" && cp "$work"/crashes/* "$repo/fuzz-crashes/" 2>/dev/null || true
    echo "fuzzing $target found a failure (inputs copied to fuzz-crashes/)" >&2
    exit "$status"
  fi
done
echo "fuzz: no failure in ${seconds}s per target"
