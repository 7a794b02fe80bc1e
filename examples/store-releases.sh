#!/bin/sh
# Store consecutive releases of a real archive with the deltaglider command
# line, on a local directory (no cloud account), and print the savings.
#
#   sh examples/store-releases.sh [WORK_DIR]
#
# The archives are four consecutive botocore wheels from PyPI (about 16 MB
# each).  A wheel is a zip archive; each is staged under a .zip name because
# deltaglider picks delta candidates by extension, as deltaglider 6.2.0 does.
set -eu

work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/deltaglider-demo.XXXXXX")}
versions="1.44.0 1.44.1 1.44.2 1.44.3"
mkdir -p "$work/downloads" "$work/releases" "$work/store" "$work/check"
store="file://$(cd "$work/store" && pwd)"

if command -v deltaglider >/dev/null 2>&1; then
    dg() { deltaglider --endpoint-url "$store" --no-progress "$@"; }
else
    dg() { python3 -m deltaglider --endpoint-url "$store" --no-progress "$@"; }
fi

echo "== downloading botocore $versions from PyPI into $work/downloads"
for v in $versions; do
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$work/downloads" "botocore==$v"
    cp "$work/downloads/botocore-$v-py3-none-any.whl" "$work/releases/botocore-$v.zip"
done

echo "== storing them in $store"
dg mb s3://releases
dg cp --recursive "$work/releases" s3://releases/botocore/

echo "== what is stored"
dg ls --human-readable --summarize --show-stored s3://releases/botocore/
dg stats releases --detailed

echo "== reading every release back and checking it byte for byte"
dg cp --recursive s3://releases/botocore/ "$work/check"
for v in $versions; do
    cmp "$work/releases/botocore-$v.zip" "$work/check/botocore-$v.zip"
done
dg verify --recursive s3://releases/botocore/
echo "== done: identical bytes back; the store is $work/store"
