"""What a smaller match table costs in delta bytes: the data behind the
codec's memory plan (``deltaglider.xdelta.options.plan_source``).

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 1.44.4 1.44.5
    python benchmarks/bench_tables.py benchmarks/data/botocore benchmarks/data/botocore-sdist \\
        benchmarks/data/tars/128m

Each folder is a release series; consecutive pairs are encoded (``.tar.gz``
files are gunzipped first: a source tarball as the opaque ``.tar`` it
holds).  Encoded in memory, the whole source as the window, with the
matcher of ``-9`` and these grids: the old default (a window 4 times the
source at step 2, as far as a 1 GiB table allowed), the densest grid whose
table fits the source's own size (today's plan), and fixed steps.  Then
streamed, as ``encode_file`` does for large files: a 64 MiB window at the
step its 128 MiB table allows, against the xdelta3 command line's
``-e -9`` (64 MiB window, what deltaglider 6.2.0 runs).  Reported: total
delta bytes, seconds, the largest match table.
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # side_by_side's SeaweedFS helpers

from bench_codec import releases, write_doc  # noqa: E402
from side_by_side import arguments  # noqa: E402

from deltaglider import xdelta  # noqa: E402
from deltaglider.xdelta.options import (  # noqa: E402
    SLOW_MATCHER,
    GiB,
    MiB,
    match_table_bytes,
    plan_source,
    pow2_ceil,
)

BEGIN, END = "<!-- tables:begin -->", "<!-- tables:end -->"
Encoder = Callable[[bytes, bytes], tuple[int, int]]  # -> (delta bytes, table bytes)


def opaque(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def in_memory(step_for: Callable[[int], tuple[int, int]]) -> Encoder:
    """An in-memory encode with the (window, step) ``step_for`` picks."""

    def encode(ref: bytes, new: bytes) -> tuple[int, int]:
        window, step = step_for(len(ref))
        matcher = SLOW_MATCHER._replace(large_step=step)
        delta = xdelta.encode(ref, new, source_window=window, matcher=matcher)
        return len(delta), match_table_bytes(window, step)

    return encode


def old_default(size: int) -> tuple[int, int]:
    window = min(pow2_ceil(size) * 4, 2 * GiB)
    while match_table_bytes(window, 2) > GiB:
        window //= 2
    return window, 2


def planned(size: int) -> tuple[int, int]:
    plan = plan_source(size, 2, 512 * MiB, streaming=False)
    return plan.window, plan.step


def fixed(step: int) -> Callable[[int], tuple[int, int]]:
    return lambda size: (pow2_ceil(size), step)


def streamed(ref: bytes, new: bytes) -> tuple[int, int]:
    plan = plan_source(len(ref), 2, 512 * MiB, streaming=True)
    out = io.BytesIO()
    size = xdelta.encode_file(io.BytesIO(ref), io.BytesIO(new), out, memory_budget=512 * MiB)
    return size, plan.table


def cli(ref: bytes, new: bytes) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as folder:
        a, b, out = (Path(folder) / name for name in ("a", "b", "out"))
        a.write_bytes(ref)
        b.write_bytes(new)
        subprocess.run(["xdelta3", "-e", "-9", "-f", "-s", str(a), str(b), str(out)], check=True)
        window = 64 * MiB
        return out.stat().st_size, match_table_bytes(window, 2)


def run(folder: Path) -> list[tuple[str, int, float, int]]:
    files = [opaque(path) for path in releases(folder)]
    pairs = list(itertools.pairwise(files))
    variants: list[tuple[str, Encoder]] = [
        ("in memory, old default (4x window, step 2, up to 1 GiB)", in_memory(old_default)),
        ("in memory, plan: table <= source", in_memory(planned)),
        *((f"in memory, step {s}", in_memory(fixed(s))) for s in (2, 4, 8, 16)),
        ("streamed, plan: 64 MiB window", streamed),
        ("xdelta3 CLI -e -9 (6.2.0)", cli),
    ]
    rows = []
    for name, encode in variants:
        start = time.perf_counter()
        total = table = 0
        for ref, new in pairs:
            size, used = encode(ref, new)
            total, table = total + size, max(table, used)
        rows.append((name, total, time.perf_counter() - start, table))
        print(folder.name, name, total, table >> 20, flush=True)
    return rows


def main() -> int:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("folders", type=Path, nargs="+")

    args, command = arguments(__doc__, more, folder=False)
    lines = [
        BEGIN,
        "## Match table size against delta bytes",
        "",
        f"Command: `{command}`  ",
        "Consecutive releases of each series, encoded with the matcher of `-9` "
        "(`.tar.gz` gunzipped first); total delta bytes, seconds, largest match table. "
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
    ]
    for folder in args.folders:
        files = releases(folder)
        mib = max(len(opaque(path)) for path in files) / MiB
        lines += [
            f"### {folder.name}: {len(files)} releases, up to {mib:,.0f} MiB each",
            "",
            "| encode | delta bytes | seconds | largest table |",
            "|---|---:|---:|---:|",
        ]
        for name, total, seconds, table in run(folder):
            lines.append(f"| {name} | {total:,} | {seconds:.2f} | {table >> 20:,} MiB |")
        lines.append("")
    lines.append(END)
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_doc:
        write_doc(section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
