"""Codec benchmark: deltaglider.xdelta vs the stock xdelta3 CLI, one run.

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 1.44.4 1.44.5
    python benchmarks/bench_codec.py benchmarks/data/botocore --repeats 5

The first file of the folder (in the order of its order.json) is the
reference; every later file is encoded against it, as the storage engine
stores versions.  Three ways to run the codec, on the same bytes:

- ours: ``xdelta.encode(reference, target)`` / ``xdelta.decode(...)`` in
  process, bytes in, bytes out;
- CLI as used: how deltaglider 6.2.0 runs it: the inputs written to temp
  files, ``xdelta3 -e -9 -s`` / ``-d -s`` as a child process, the output
  read back;
- CLI bare: the child process alone, inputs already on disk (a lower bound
  for any tool that calls the binary).

Reported: medians of ``--repeats`` runs, MB/s of target bytes, delta sizes,
peak RSS of one operation in a fresh process, and 1 vs 2 threads.  Results
go to docs/benchmarks.md (the codec section) and benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deltaglider import xdelta

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


def median_time(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ru_maxrss survives exec: a child forked from this (large) process would
# report our own peak.  Children are started by this small launcher instead,
# run with -S in a fresh interpreter, so the figure is the child's own (or
# the launcher's ~10 MiB, whichever is larger).
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def child_peak_rss(argv: list[str]) -> int:
    """Run ``argv`` in a fresh process; return its peak RSS in bytes."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {result.stderr}")
    return int(result.stdout.split()[-1]) * 1024


OURS_CHILD = """
import sys
from deltaglider import xdelta
operation, reference, data, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ref = open(reference, "rb").read()
body = open(data, "rb").read()
if operation == "encode":
    xdelta.encode(ref, body)
elif operation == "decode":
    xdelta.decode(ref, body, size=size)
"""


class Cli:
    """The stock xdelta3 binary, run as deltaglider 6.2.0 runs it."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder

    def encode_files(self, reference: Path, target: Path, out: Path) -> None:
        subprocess.run(
            [self.binary, "-e", "-9", "-f", "-s", str(reference), str(target), str(out)],
            check=True,
            capture_output=True,
        )

    def decode_files(self, reference: Path, delta: Path, out: Path) -> None:
        subprocess.run(
            [self.binary, "-d", "-f", "-s", str(reference), str(delta), str(out)],
            check=True,
            capture_output=True,
        )

    def encode_as_used(self, reference: bytes, target: bytes) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            ref, tgt, out = Path(tmp, "reference.bin"), Path(tmp, "target"), Path(tmp, "x.delta")
            ref.write_bytes(reference)
            tgt.write_bytes(target)
            self.encode_files(ref, tgt, out)
            return out.read_bytes()

    def decode_as_used(self, reference: bytes, delta: bytes) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            ref, dlt, out = Path(tmp, "reference.bin"), Path(tmp, "x.delta"), Path(tmp, "out")
            ref.write_bytes(reference)
            dlt.write_bytes(delta)
            self.decode_files(ref, dlt, out)
            return out.read_bytes()


def releases(folder: Path) -> list[Path]:
    order = folder / "order.json"
    if order.exists():
        return [folder / name for name in json.loads(order.read_text())]
    return sorted(p for p in folder.iterdir() if p.is_file())


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def measure(
    path: Path, reference: bytes, ref_path: Path, cli: Cli, work: Path, repeats: int
) -> dict[str, object]:
    """Every figure for one target file."""
    target = path.read_bytes()
    ours_delta = xdelta.encode(reference, target)
    deep_delta = xdelta.encode(reference, target, matcher=xdelta.DEEP_MATCHER)
    cli_delta = cli.encode_as_used(reference, target)
    assert xdelta.decode(reference, cli_delta, size=len(target)) == target
    assert cli.decode_as_used(reference, ours_delta) == target
    cli_delta_path, ours_delta_path = work / "cli.delta", work / "ours.delta"
    cli_delta_path.write_bytes(cli_delta)
    ours_delta_path.write_bytes(ours_delta)
    ours_child = [sys.executable, "-c", OURS_CHILD]
    return {
        "file": path.name,
        "size": len(target),
        "delta_ours": len(ours_delta),
        "delta_ours_deep": len(deep_delta),
        "delta_cli": len(cli_delta),
        "encode_ours_s": median_time(lambda: xdelta.encode(reference, target), repeats),
        "encode_ours_deep_s": median_time(
            lambda: xdelta.encode(reference, target, matcher=xdelta.DEEP_MATCHER), repeats
        ),
        "encode_cli_used_s": median_time(lambda: cli.encode_as_used(reference, target), repeats),
        "encode_cli_bare_s": median_time(
            lambda: cli.encode_files(ref_path, path, work / "bare.delta"), repeats
        ),
        "decode_ours_s": median_time(
            lambda: xdelta.decode(reference, ours_delta, size=len(target)), repeats * 3
        ),
        "decode_cli_used_s": median_time(
            lambda: cli.decode_as_used(reference, cli_delta), repeats * 3
        ),
        "decode_cli_bare_s": median_time(
            lambda: cli.decode_files(ref_path, cli_delta_path, work / "bare.out"), repeats * 3
        ),
        "rss_encode_ours": child_peak_rss([*ours_child, "encode", str(ref_path), str(path), "0"]),
        "rss_encode_cli": child_peak_rss(
            [cli.binary, "-e", "-9", "-f", "-s", str(ref_path), str(path), str(work / "r.delta")]
        ),
        "rss_decode_ours": child_peak_rss(
            [*ours_child, "decode", str(ref_path), str(ours_delta_path), str(len(target))]
        ),
        "rss_decode_cli": child_peak_rss(
            [cli.binary, "-d", "-f", "-s", str(ref_path), str(cli_delta_path), str(work / "r.out")]
        ),
    }


def run(folder: Path, repeats: int, cli_binary: str) -> dict[str, object]:
    files = releases(folder)
    reference = files[0].read_bytes()
    work = Path(tempfile.mkdtemp(prefix="dg-bench-"))
    cli = Cli(cli_binary, work)
    rows = []
    try:
        for path in files[1:]:
            row = measure(path, reference, files[0], cli, work, repeats)
            rows.append(row)
            print(
                f"{path.name}: {json.dumps({k: v for k, v in row.items() if k != 'file'})}",
                flush=True,
            )
        baseline = child_peak_rss([sys.executable, "-c", "import deltaglider.xdelta"])
        threads = thread_scaling(reference, [p.read_bytes() for p in files[1:]], repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    version = subprocess.run([cli_binary, "-V"], capture_output=True, text=True)
    return {
        "rows": rows,
        "python_baseline_rss": baseline,
        "threads": threads,
        "cli_version": (version.stdout or version.stderr).splitlines()[0],
    }


def thread_scaling(reference: bytes, targets: list[bytes], repeats: int) -> dict[str, float]:
    """Wall time of the same set of jobs on 1 and on 2 threads."""
    deltas = [xdelta.encode(reference, t) for t in targets]

    def encode_all(workers: int) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda t: xdelta.encode(reference, t), targets * 2))

    def decode_all(workers: int) -> None:
        jobs = list(zip(deltas, targets, strict=True)) * 20
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda j: xdelta.decode(reference, j[0], size=len(j[1])), jobs))

    result = {}
    for name, job in (("encode", encode_all), ("decode", decode_all)):
        one = median_time(lambda job=job: job(1), repeats)
        two = median_time(lambda job=job: job(2), repeats)
        result[f"{name}_1_thread_s"] = one
        result[f"{name}_2_threads_s"] = two
        result[f"{name}_speedup"] = one / two
    return result


def markers(folder: Path) -> tuple[str, str]:
    """The comments around this dataset's section of docs/benchmarks.md."""
    return f"<!-- codec:{folder.name}:begin -->", f"<!-- codec:{folder.name}:end -->"


def render(result: dict[str, object], command: str, folder: Path) -> str:
    rows: list[dict[str, float]] = result["rows"]  # type: ignore[assignment]
    threads: dict[str, float] = result["threads"]  # type: ignore[assignment]
    begin, end = markers(folder)
    lines = [
        begin,
        f"## Codec: deltaglider.xdelta vs the xdelta3 CLI ({folder.name})",
        "",
        f"Command: `{command}`  ",
        f"Data: `{folder.name}`: {len(rows) + 1} consecutive releases from PyPI; the first is the "
        "reference, each later one is encoded against it.  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, CLI: {result['cli_version']}; "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.  ",
        "Medians per file; MB/s is target megabytes (10^6) per second. *CLI as used*: inputs "
        "written to temp files, `xdelta3 -e -9 -s` / `-d -s` as a child process, output read "
        "back (how deltaglider 6.2.0 calls it). *CLI bare*: the child process alone on files "
        "already on disk.",
        "",
        "| file | size | delta ours | delta ours (deep) | delta CLI | "
        "encode ours MB/s | encode CLI used | encode CLI bare | "
        "decode ours MB/s | decode CLI used | decode CLI bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        size = int(r["size"])
        sizes = [f"{int(r[k]):,}" for k in ("delta_ours", "delta_ours_deep", "delta_cli")]
        encode = [
            f"{mbps(size, r[k]):.1f}"
            for k in ("encode_ours_s", "encode_cli_used_s", "encode_cli_bare_s")
        ]
        decode = [
            f"{mbps(size, r[k]):.0f}"
            for k in ("decode_ours_s", "decode_cli_used_s", "decode_cli_bare_s")
        ]
        lines.append(
            "| " + " | ".join([str(r["file"]), f"{size:,}", *sizes, *encode, *decode]) + " |"
        )

    def ratio(a: str, b: str) -> str:
        return f"{statistics.median(r[a] / r[b] for r in rows):.4f}"

    def speed(slow: str, fast: str) -> str:
        return f"{statistics.median(r[slow] / r[fast] for r in rows):.2f}x"

    def mib(key: str) -> str:
        return f"{statistics.median(r[key] for r in rows) / 2**20:.0f} MiB"

    summary = [
        ("delta size, ours / CLI", ratio("delta_ours", "delta_cli")),
        ("delta size, ours deep / CLI", ratio("delta_ours_deep", "delta_cli")),
        ("encode speed, ours vs CLI as used", speed("encode_cli_used_s", "encode_ours_s")),
        ("encode speed, ours vs CLI bare", speed("encode_cli_bare_s", "encode_ours_s")),
        (
            "encode speed, ours deep vs CLI as used",
            speed("encode_cli_used_s", "encode_ours_deep_s"),
        ),
        ("decode speed, ours vs CLI as used", speed("decode_cli_used_s", "decode_ours_s")),
        ("decode speed, ours vs CLI bare", speed("decode_cli_bare_s", "decode_ours_s")),
        ("peak RSS encode, ours (whole Python process)", mib("rss_encode_ours")),
        ("peak RSS encode, CLI", mib("rss_encode_cli")),
        ("peak RSS decode, ours (whole Python process)", mib("rss_decode_ours")),
        ("peak RSS decode, CLI", mib("rss_decode_cli")),
        (
            "Python + deltaglider import alone",
            f"{int(result['python_baseline_rss']) / 2**20:.0f} MiB",
        ),  # type: ignore[call-overload]
        ("encode, 2 threads vs 1 (same jobs)", f"{threads['encode_speedup']:.2f}x"),
        ("decode, 2 threads vs 1 (same jobs)", f"{threads['decode_speedup']:.2f}x"),
    ]
    lines += [
        "",
        "Summary (median over files of the per-file ratio):",
        "",
        "| measure | value |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {value} |" for label, value in summary]
    lines += [
        "",
        "Ours holds the reference, the target and the delta in memory (the caller's bytes) "
        "plus xdelta3's tables; the CLI process reads its inputs from files.",
        end,
    ]
    return "\n".join(lines) + "\n"


def publish(
    name: str, title: str, intro: str, sections: list[str], raw: object, *, doc: bool
) -> None:
    """A benchmark's section: printed, its raw results kept in
    benchmarks/results/NAME.json and, with ``doc``, written between its
    ``<!-- NAME:begin/end -->`` markers in docs/benchmarks.md."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = "\n".join([begin, f"## {title}", "", intro, "", *sections, end])
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(raw, indent=1))
    print(section)
    if doc:
        write_doc(section + "\n", begin, end)


def write_doc(section: str, begin: str, end: str) -> None:
    """Put ``section`` between the ``begin``/``end`` comments of
    docs/benchmarks.md, replacing what was there, or append it."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path, help="a folder of consecutive releases")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cli", default="xdelta3", help="the xdelta3 binary")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    cli_binary = shutil.which(args.cli)
    if cli_binary is None:
        sys.exit(f"{args.cli} not found")
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    result = run(args.folder, args.repeats, cli_binary)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"codec-{args.folder.name}.json").write_text(json.dumps(result, indent=1))
    section = render(result, command, args.folder)
    print(section)
    if not args.no_doc:
        write_doc(section, *markers(args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
