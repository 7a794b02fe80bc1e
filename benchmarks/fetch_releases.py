"""Download consecutive releases of a package's wheel (or, with --sdist,
its source archive) from PyPI for the benchmarks (the files are not kept
in the repository).

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 ... [--sdist] [--dest DIR]

Files land in benchmarks/data/<package>/ in the order given; that order is
the release order the benchmarks use (the first file is the reference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def fetch(package: str, versions: list[str], dest: Path, *, sdist: bool = False) -> list[Path]:
    """Download one wheel per version (CPython 3.11, manylinux x86_64), or
    with ``sdist`` one source archive per version."""
    dest.mkdir(parents=True, exist_ok=True)
    pattern = "*.tar.gz" if sdist else "*.whl"
    kind = ["--no-binary=:all:"] if sdist else [
        "--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux2014_x86_64",
    ]  # fmt: skip
    files = []
    for version in versions:
        before = set(dest.glob(pattern))
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-build-isolation", *kind, "--dest", str(dest), f"{package}=={version}"],
            check=True,
        )  # fmt: skip
        found = [p for p in dest.glob(pattern) if f"-{version}" in p.name]
        new = sorted(set(dest.glob(pattern)) - before) or found
        files.append(new[0])
    (dest / "order.json").write_text(json.dumps([p.name for p in files], indent=1))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("package")
    parser.add_argument("versions", nargs="+")
    parser.add_argument("--dest", type=Path)
    parser.add_argument("--sdist", action="store_true", help="source archives, not wheels")
    args = parser.parse_args()
    default = DATA / (args.package + ("-sdist" if args.sdist else ""))
    for path in fetch(args.package, args.versions, args.dest or default, sdist=args.sdist):
        print(f"{path.name}\t{path.stat().st_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
