#!/bin/sh
# Store consecutive releases of a real archive with the deltaglider command
# line, on a local directory (no cloud account), and print the savings.
#
#   sh examples/store-releases.sh [WORK_DIR]
#
# The archives are four consecutive botocore wheels from PyPI (about 16 MB
# each).  A wheel is a zip archive; it is stored under a .zip name because
# deltaglider picks delta candidates by extension, as deltaglider 6.2.0 does.
set -eu

work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/deltaglider-demo.XXXXXX")}
versions="1.44.0 1.44.1 1.44.2 1.44.3"
mkdir -p "$work/downloads" "$work/store" "$work/check"
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
done

echo "== storing them in $store"
dg mb s3://releases
for v in $versions; do
    dg cp "$work/downloads/botocore-$v-py3-none-any.whl" "s3://releases/botocore/botocore-$v.zip"
done

echo "== what is stored"
dg ls --human-readable --summarize --show-stored s3://releases/botocore/
dg stats releases --detailed

echo "== reading the newest back and checking it byte for byte"
last=$(echo "$versions" | tr ' ' '\n' | tail -n 1)
dg cp "s3://releases/botocore/botocore-$last.zip" "$work/check/"
cmp "$work/downloads/botocore-$last-py3-none-any.whl" "$work/check/botocore-$last.zip"
dg verify --recursive s3://releases/botocore/
echo "== done: identical bytes back; the store is $work/store"
