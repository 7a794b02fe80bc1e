"""What the end-to-end benchmarks against deltaglider 6.2.0 share: their
arguments, the staged release files, the results table and publishing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bench_codec import ROOT, releases, write_doc
from seaweed import s3_client

Results = dict[str, list[dict[str, object]]]


def arguments(
    doc: str | None,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
    *,
    folder: bool = True,
) -> tuple[argparse.Namespace, str]:
    """The parsed ``FOLDER [--repeats N] [--no-doc]`` (and any options
    ``more`` adds), and the command line as docs/benchmarks.md shows it."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if folder:
        parser.add_argument("folder", type=Path, help="a folder of consecutive releases")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    if more is not None:
        more(parser)
    args = parser.parse_args()
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    return args, command


def stage_as_zip(folder: Path, work: Path) -> tuple[Path, list[Path]]:
    """The releases copied under ``.zip`` names into ``work/files`` (a
    wheel is a zip archive; ``.whl`` is in neither tool's list of delta
    candidates), in release order."""
    staged = work / "files"
    staged.mkdir()
    files = []
    for path in releases(folder):
        target = staged / (path.stem + ".zip")
        target.write_bytes(path.read_bytes())
        files.append(target)
    return staged, files


def stored_bytes(endpoint: str, bucket: str) -> int:
    """Bytes a bucket of the test server holds."""
    client = s3_client(endpoint)
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        total += sum(item["Size"] for item in page.get("Contents", []))
    return total


def table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """A markdown table of (measure, ours, 6.2.0's, ratio) rows."""
    return [
        "| measure | this package | deltaglider 6.2.0 | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]


def publish(section: str, results: Results, name: str, markers: tuple[str, str], doc: bool) -> None:
    """Keep the raw results, print the section, and (unless told not to)
    put it into docs/benchmarks.md."""
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=1))
    print(section)
    if doc:
        write_doc(section, *markers)
