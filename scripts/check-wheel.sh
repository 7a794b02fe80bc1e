#!/usr/bin/env bash
# Build and test the package the way users get it:
#   1. an sdist, then a wheel built from it offline (no index, no isolation);
#      the wheel repaired by auditwheel and its manylinux tag checked;
#   2. the wheel installed into a fresh virtualenv, with no compiler and no
#      xdelta3 on PATH, and the test suite run from outside the source tree;
#   3. the wheel's contents checked: no tests, no build leftovers, licences;
#   4. the wheel's size and the import time reported.
# Needs: build, auditwheel, scikit-build-core, cffi, cmake, ninja installed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dg-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$repo"

echo "--- sdist"
python3 -m build --sdist --outdir "$work/sdist" . >"$work/sdist.log" 2>&1 || { cat "$work/sdist.log"; exit 1; }
sdist=$(ls "$work"/sdist/*.tar.gz)
echo "$(basename "$sdist"): $(stat -c %s "$sdist") bytes"

echo "--- wheel from the sdist, offline"
# scikit-build-core gives `cmake --version` a few seconds; through a version
# manager's shell shim on a loaded machine that has timed out.  Name the
# real binary (pip's cmake package when installed) and allow CI's longer wait.
CMAKE_EXECUTABLE=$(python3 -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' \
  2>/dev/null || command -v cmake)
export CMAKE_EXECUTABLE CI="${CI:-1}"
python3 -m pip wheel --quiet --no-index --no-build-isolation --no-deps \
  --wheel-dir "$work/dist" "$sdist"
built=$(ls "$work"/dist/*.whl)
echo "$(basename "$built")"

echo "--- auditwheel repair"
python3 -m auditwheel repair --wheel-dir "$work/wheelhouse" "$built" >"$work/audit.log" 2>&1 || {
  cat "$work/audit.log"; exit 1; }
wheel=$(ls "$work"/wheelhouse/*.whl)
name=$(basename "$wheel")
echo "$name"
case "$name" in
  *-cp311-abi3-*manylinux_2_*_x86_64.whl|*-cp311-abi3-*manylinux_2_*_aarch64.whl) ;;
  *) echo "unexpected wheel tag: $name (want cp311-abi3-manylinux_*)" >&2; exit 1 ;;
esac
python3 -m auditwheel show "$wheel" | sed -n '1,4p'

echo "--- contents"
python3 - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
bad = [n for n in names if n.startswith(("tests/", "deltaglider/tests"))
       or n.endswith((".o", ".obj", ".c", ".h", ".cmake", ".a", ".lib"))
       or "CMakeFiles" in n or "__pycache__" in n]
if bad:
    sys.exit(f"unexpected files in the wheel: {bad}")
licences = [n for n in names if "/licenses/" in n and not n.endswith("/")]
for want in ("LICENSE", "vendor/xdelta3/LICENSE", "vendor/xz/COPYING", "vendor/zlib/LICENSE"):
    if not any(n.endswith(want) for n in licences):
        sys.exit(f"licence missing from the wheel: {want} (have {licences})")
ext = [n for n in names if n.startswith("deltaglider/_xdelta3")]
if len(ext) != 2:  # the extension and its .pyi stub
    sys.exit(f"expected the extension and its stub, got {ext}")
print(f"{len(names)} files; licences: {', '.join(licences)}")
PY

echo "--- fresh virtualenv: no compiler, no xdelta3 on PATH"
python3 -m venv "$work/venv"
venv_bin="$work/venv/bin"
CC=/nonexistent/cc CXX=/nonexistent/c++ "$venv_bin/python" -m pip install --quiet \
  --only-binary=:all: "$wheel" pytest hypothesis "moto[s3]" flask flask-cors 2>"$work/pip.log" || { cat "$work/pip.log"; exit 1; }
(
  cd "$work"
  export PATH="$venv_bin"
  # No xdelta3, no SeaweedFS, no archive producers (gzip, zip...) on this
  # PATH: those tests skip in this run; the main run has them.
  unset DG_REQUIRE_XDELTA3_CLI DG_REQUIRE_SEAWEEDFS DG_REQUIRE_DG62 DG_REQUIRE_PRODUCERS
  ! command -v xdelta3 >/dev/null && ! command -v cc >/dev/null && ! command -v gcc >/dev/null
  "$venv_bin/python" -c "import deltaglider, sys; assert deltaglider.__file__.startswith(sys.prefix), deltaglider.__file__"
  # The schedule explorer and the stress races exercise the engine's
  # pure-Python protocol, the same code in the wheel; the main run has them.
  "$venv_bin/python" "$repo/scripts/run_installed_tests.py" "$repo/tests" -x \
    -k "not test_interleavings and not test_stress"
  "$venv_bin/deltaglider-xdelta" demo "$work/demo" >"$work/demo.log"
)
tail -n 1 "$work/demo.log"

echo "--- size and import time"
python3 - "$wheel" "$venv_bin/python" <<'PY'
import os, statistics, subprocess, sys
wheel, python = sys.argv[1], sys.argv[2]
print(f"wheel size: {os.path.getsize(wheel) / 1024:.0f} KiB")
times = []
for _ in range(7):
    out = subprocess.run([python, "-X", "importtime", "-c", "import deltaglider.xdelta"],
                         capture_output=True, text=True, check=True).stderr
    line = [l for l in out.splitlines() if l.rstrip().endswith("| deltaglider.xdelta")][-1]
    times.append(int(line.split("|")[1]))
print(f"import deltaglider.xdelta: {statistics.median(times) / 1000:.1f} ms (median of 7, cumulative)")
PY
echo "check-wheel: ok"
