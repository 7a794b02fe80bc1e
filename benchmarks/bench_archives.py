"""Archive-aware deltas: this package vs deltaglider 6.2.0 on release
series of real archives, on one SeaweedFS server, in one run.

    python benchmarks/fetch_releases.py django 5.2.1 5.2.2 5.2.3 5.2.4 5.2.5 5.2.6
    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 1.44.4 1.44.5
    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 --sdist
    python benchmarks/fetch_releases.py pip 24.0 24.1 24.1.1 24.1.2 24.2 24.3
    python benchmarks/bench_archives.py benchmarks/data/django benchmarks/data/botocore \\
        benchmarks/data/botocore-sdist benchmarks/data/pip --repeats 1

Each series is stored in release order into one folder (the first file
becomes the reference), then read back and compared, by:

- this package, under the files' own names (``.whl``, ``.tar.gz``);
- deltaglider 6.2.0 under the same names (what a user gets: it stores a
  ``.whl`` as is, and cannot read back the ``.tar.gz`` it stores);
- deltaglider 6.2.0 with wheels renamed ``.zip`` (its best: a delta of the
  archive's bytes).

Both tools run through their SDK (``client.upload`` / ``client.download``,
the same calls), each phase in a fresh process that times each operation;
then through their command line, one ``cp`` per file (wall clock, start-up
included).  Peak RSS is measured from outside (the largest of the process
and its children).  Reported per series: bytes stored for the files after
the first, medians of put and get seconds over those files, peak RSS.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_cli import compile_installed, tool_env  # noqa: E402
from bench_codec import LAUNCHER, publish, releases  # noqa: E402
from dg62 import install  # noqa: E402
from seaweed import s3_client, seaweedfs  # noqa: E402

ABOUT = (
    "Each series is stored in release order into one folder (the first file becomes the "
    "reference), then read back and compared byte for byte. *SDK*: `client.upload` / "
    "`client.download` (the same calls in both tools), each phase in a fresh process that "
    "times each operation; medians over the files after the first. *CLI*: one "
    "`deltaglider cp` per file, wall clock with start-up. *6.2.0* stores the files under "
    "their own names; *6.2.0 .zip* under `.zip` names (wheels only: its best case, a delta "
    "of the archive's bytes); the ratio is to that column where there is one (the deltas "
    "6.2.0 makes), else to *6.2.0*."
)

PHASE = """
import json, sys, time
from deltaglider import create_client
phase, endpoint, bucket, out, *files = sys.argv[1:]
client = create_client(endpoint_url=endpoint, log_level="ERROR")
times = []
for path in files:
    name = path.rsplit("/", 1)[-1]
    start = time.perf_counter()
    try:
        if phase == "put":
            client.upload(path, f"s3://{bucket}/releases/")
        else:
            client.download(f"s3://{bucket}/releases/{name}", f"{out}/{name}")
    except Exception as exc:
        print(f"{name}: {exc}"[:300], file=sys.stderr)
        times.append(None)
        continue
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def run(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """A command in a fresh process: its result, wall seconds, peak RSS."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv], capture_output=True, text=True,
        env=tool_env(),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    lines = result.stdout.strip().splitlines()
    return result, seconds, int(lines[-1]) * 1024 if lines else 0


def fresh_bucket(endpoint: str, name: str) -> str:
    client = s3_client(endpoint)
    client.create_bucket(Bucket=name)
    # SeaweedFS allocates a volume on a bucket's first write: untimed.
    client.put_object(Bucket=name, Key="warm-up", Body=b"x")
    client.delete_object(Bucket=name, Key="warm-up")
    return name


def stored(endpoint: str, bucket: str, prefix: str) -> int:
    client = s3_client(endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def checked(files: list[Path], out: Path) -> list[bool]:
    """Which files came back byte for byte."""
    return [
        (out / p.name).exists() and (out / p.name).read_bytes() == p.read_bytes() for p in files
    ]


def sdk(python: str, endpoint: str, bucket: str, files: list[Path]) -> dict[str, object]:
    """Put then get every file through the SDK, each phase in one process."""
    with tempfile.TemporaryDirectory() as out:
        result: dict[str, object] = {}
        for phase in ("put", "get"):
            done, _, rss = run(
                [python, "-c", PHASE, phase, endpoint, bucket, out, *map(str, files)]
            )
            if done.returncode != 0:
                raise RuntimeError(f"{python} {phase}: {done.stderr[-2000:]}")
            result[phase] = json.loads(done.stdout.strip().splitlines()[-2])
            result[f"{phase}_rss"] = rss
            result[f"{phase}_errors"] = done.stderr[-600:]
        result["correct"] = checked(files, Path(out))
    result["stored"] = stored(endpoint, bucket, "releases/")
    return result


def cli(
    tool: str, program: str, endpoint: str, bucket: str, files: list[Path]
) -> dict[str, object]:
    """One ``cp`` per file up, then one per file down (fresh processes),
    into the bucket's top folder (6.2.0's ``cp FILE s3://b/prefix/`` puts
    the file at the top whatever the prefix)."""

    def argv(*args: str) -> list[str]:
        if tool == "ours":
            return [program, "--endpoint-url", endpoint, "cp", *args]
        return [program, "cp", "--endpoint-url", endpoint, *args]

    result: dict[str, list[object]] = {"up": [], "up_rss": [], "down": [], "down_rss": []}
    with tempfile.TemporaryDirectory() as out:
        for path in files:
            done, seconds, rss = run(argv(str(path), f"s3://{bucket}/"))
            if done.returncode != 0:
                raise RuntimeError(f"{tool} cp up: {done.stderr[-2000:]}")
            result["up"].append(seconds)
            result["up_rss"].append(rss)
        for path in files:
            done, seconds, rss = run(argv(f"s3://{bucket}/{path.name}", f"{out}/{path.name}"))
            result["down"].append(seconds if done.returncode == 0 else None)
            result["down_rss"].append(rss)
        result["correct"] = checked(files, Path(out))  # type: ignore[assignment]
    return result


def tools(work: Path) -> list[tuple[str, str, str, bool]]:
    """(label, python, command line program, rename wheels to .zip)."""
    old_python = install(work / "dg62")
    old_cli = str(old_python.parent / "deltaglider")
    ours_cli = shutil.which("deltaglider") or sys.exit("install this package first: pip install .")
    return [
        ("ours", sys.executable, ours_cli, False),
        ("6.2.0", str(old_python), old_cli, False),
        ("6.2.0 .zip", str(old_python), old_cli, True),
    ]


def staged(folder: Path, work: Path, as_zip: bool) -> list[Path]:
    """The series' files, renamed ``.zip`` for 6.2.0's best case (wheels)."""
    target = work / ("zip-" if as_zip else "own-") / folder.name
    target.mkdir(parents=True, exist_ok=True)
    files = []
    for path in releases(folder):
        name = path.stem + ".zip" if as_zip and path.suffix == ".whl" else path.name
        (target / name).write_bytes(path.read_bytes())
        files.append(target / name)
    return files


def median(values: list[object]) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return statistics.median(numbers) if numbers else None


def series_rows(runs: dict[str, list[dict[str, object]]], files: list[Path]) -> list[list[str]]:
    """One row per measure: ours, 6.2.0, 6.2.0 .zip, ratio to 6.2.0's best."""
    first = files[0].stat().st_size
    later = sum(p.stat().st_size for p in files[1:])

    def pick(tool: str, key: str, part: str) -> float | None:
        values = []
        for r in runs[tool]:
            data = r[part]
            assert isinstance(data, dict)
            value = data[key]
            if isinstance(value, list):
                value = median(value[1:]) if "rss" not in key else max(value)
            if key == "stored":
                value = float(value) - first  # type: ignore[arg-type]
            values.append(value)
        return median(values)

    def failed(tool: str, part: str) -> bool:
        return any(not all(r[part]["correct"]) for r in runs[tool])  # type: ignore[index]

    measures = [
        ("bytes stored for the files after the first", "stored", "sdk", "bytes"),
        ("SDK put, seconds per file", "put", "sdk", "s"),
        ("SDK get, seconds per file", "get", "sdk", "s"),
        ("SDK put phase, peak RSS", "put_rss", "sdk", "rss"),
        ("SDK get phase, peak RSS", "get_rss", "sdk", "rss"),
        ("CLI `cp` up, wall seconds per file", "up", "cli", "s"),
        ("CLI `cp` down, wall seconds per file", "down", "cli", "s"),
        ("CLI `cp` up, peak RSS", "up_rss", "cli", "rss"),
        ("CLI `cp` down, peak RSS", "down_rss", "cli", "rss"),
    ]
    rows = []
    for label, key, part, unit in measures:
        cells, values = [], {}
        for tool in runs:
            value = pick(tool, key, part)
            bad = failed(tool, part) and key in ("get", "down", "get_rss", "down_rss")
            values[tool] = None if bad else value
            cells.append("fails (wrong or no bytes)" if bad else _fmt(value, unit, later))
        other = values.get("6.2.0 .zip", values.get("6.2.0"))
        ours = values["ours"]
        if ours and other:
            target = other
            ratio = target / ours if unit == "s" else ours / target  # type: ignore[operator]
            cells.append(f"{ratio:.2f}x faster" if unit == "s" else f"{ratio:.3f} of 6.2.0's")
        else:
            cells.append("-")
        rows.append([label, *cells])
    return rows


def _fmt(value: float | None, unit: str, later: int) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value:,.0f} ({100 * value / later:.2f} %)"
    if unit == "rss":
        return f"{value / 2**20:.0f} MiB"
    return f"{value:.2f}"


def main() -> int:
    import argparse
    import os

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    compile_installed()
    sections = []
    raw: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        programs = tools(work)
        with seaweedfs(work) as endpoint:
            for number, folder in enumerate(args.folders):
                runs: dict[str, list[dict[str, object]]] = {label: [] for label, *_ in programs}
                for repeat in range(args.repeats):
                    for index, (label, python, program, as_zip) in enumerate(programs):
                        if as_zip and not any(p.suffix == ".whl" for p in releases(folder)):
                            runs.pop(label, None)
                            continue
                        files = staged(folder, work, as_zip)
                        bucket = fresh_bucket(endpoint, f"arc-{number}-{repeat}-{index}")
                        result = {
                            "sdk": sdk(python, endpoint, bucket, files),
                            "cli": cli(
                                "ours" if label == "ours" else "old",
                                program,
                                endpoint,
                                bucket,
                                files,
                            ),
                        }
                        runs[label].append(result)
                        print(folder.name, label, repeat, json.dumps(result)[:400], flush=True)
                files = releases(folder)
                raw[folder.name] = runs
                sections.append(render_series(folder, files, runs))
    publish(
        "archives",
        "Archive-aware deltas vs deltaglider 6.2.0, on SeaweedFS",
        f"Command: `{command}`  \nRun {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{args.repeats} run(s) per tool and series on one SeaweedFS server. " + ABOUT,
        sections,
        raw,
        doc=not args.no_doc,
    )
    return 0


def render_series(folder: Path, files: list[Path], runs: dict[str, list[dict[str, object]]]) -> str:
    sizes = [p.stat().st_size for p in files]
    header = ["measure", *runs, "ratio"]
    lines = [
        f"### {folder.name}: {len(files)} releases, {min(sizes):,} to {max(sizes):,} bytes "
        f"({', '.join(p.name for p in files[:2])}, ...)",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in series_rows(runs, files)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
