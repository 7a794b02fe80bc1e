"""Start-up of the command line: `deltaglider --version` and `--help` of
this package vs deltaglider 6.2.0's, fresh processes, side by side.

    python benchmarks/bench_startup.py --repeats 21

What a user waits for before any command starts its work: the interpreter,
then whatever the command line imports before it parses its arguments.
The two tools' runs alternate, so a busy moment of the (shared) machine
falls on both.  Reported: medians and their ratio.  Needs PyPI, to install
6.2.0 in a virtualenv of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the 6.2.0 installer

from bench_cli import compile_installed  # noqa: E402
from dg62 import install  # noqa: E402
from side_by_side import publish, table  # noqa: E402

BEGIN, END = "<!-- startup:begin -->", "<!-- startup:end -->"
MEASURES = (("--version", ["--version"]), ("--help", ["--help"]))


def seconds(argv: list[str]) -> float:
    """Wall-clock seconds of one run of ``argv``."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    ours = shutil.which("deltaglider") or sys.exit("install this package first: pip install .")
    compile_installed()
    with tempfile.TemporaryDirectory() as work:
        old = str(install(Path(work) / "dg62").parent / "deltaglider")
        results: dict[str, list[dict[str, object]]] = {"ours": [], "old": []}
        for _ in range(args.repeats):
            for tool, program in (("ours", ours), ("old", old)):
                results[tool].append({name: seconds([program, *flags]) for name, flags in MEASURES})
    rows = []
    for name, _ in MEASURES:
        mine = statistics.median(float(str(r[name])) for r in results["ours"])
        theirs = statistics.median(float(str(r[name])) for r in results["old"])
        rows.append(
            (f"`deltaglider {name}`", f"{mine:.3f} s", f"{theirs:.3f} s", f"{mine / theirs:.2f}")
        )
    lines = [
        BEGIN,
        "## Command line start-up vs deltaglider 6.2.0's",
        "",
        f"`{command}`: medians of {args.repeats} fresh processes each, the tools "
        "alternating; ratio = this package's time over 6.2.0's. The command line imports "
        "boto3 and the engine only when a command runs, not to print its version or help.",
        "",
        *table(rows),
        END,
    ]
    section = "\n".join(lines) + "\n"
    publish(section, results, "startup", (BEGIN, END), not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
