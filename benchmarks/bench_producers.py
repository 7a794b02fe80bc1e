"""Contents deltas by producer: the same release series compressed by every
common deflate producer, stored by this package and deltaglider 6.2.0 on
one SeaweedFS server, beside plain xdelta3 and ``zstd --patch-from``, in
one run.

    python benchmarks/fetch_releases.py pip 24.1 24.1.1 24.1.2 24.2 --sdist
    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2
    python benchmarks/bench_producers.py benchmarks/data/pip-sdist benchmarks/data/botocore

The first folder holds source tarballs: each is gunzipped and its tar
compressed again by Python's gzip (zlib), GNU gzip -6 and -9, busybox
gzip, pigz -6 and -9, libdeflate-gzip -6, 7-Zip, Go's compress/gzip,
zlib-ng and ISA-L (the last two from PyPI: ``pip install zlib-ng isal``).
The second holds wheels: each is unpacked and zipped again by Info-ZIP's
zip, 7-Zip, Go's archive/zip and ``jar``; the wheels as published (zlib)
are the comparison.  A producer that is not installed is left out and
named.

Each series is stored in release order into one folder through each
tool's SDK (``client.upload`` / ``client.download``, each phase in a fresh
process; peak RSS of the phase) and read back byte for byte.  6.2.0 gets
the zips under ``.zip`` names (its best case).  xdelta3 (``-e -9 -s``)
and zstd (``-19 --long=27 --patch-from``) encode each version against the
first.  Reported: medians over the versions after the first.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_archives import fresh_bucket, sdk  # noqa: E402
from bench_cli import compile_installed  # noqa: E402
from bench_codec import publish, releases  # noqa: E402
from dg62 import install  # noqa: E402
from producers import build_go_producer  # noqa: E402
from seaweed import s3_client, seaweedfs  # noqa: E402

ABOUT = (
    "Each row is one series (the same releases compressed by that producer) stored in "
    "release order into one folder by each tool's SDK, each phase in a fresh process, and "
    "read back byte for byte. *bytes per version*: what a version after the first costs, as "
    "a share of the file (median). *re-created by*: the deflate families the deltas record "
    "(`dg-deflate`; a plain delta where none applied). *6.2.0* runs the xdelta3 command, "
    "which gunzips a gzip file before encoding and gzips what it rebuilds: its bytes are a "
    "delta of the tar, and its get gives other bytes unless `gzip -c` happens to write the "
    "producer's (*get fails*). *xdelta3 -9* (`-D -R`: of the bytes as stored) and *zstd "
    "--patch-from* (`-19 --long=27`): each version against the first, with their command "
    "lines. *vs zlib-made*: our put and get times over the first row's."
)

Producer = Callable[[bytes], bytes]


def piped(*command: str) -> Producer | None:
    if shutil.which(command[0]) is None:
        return None
    return lambda data: (
        subprocess.run(list(command), input=data, capture_output=True, check=True).stdout
    )


def go_tools(work: Path) -> Path | None:
    if shutil.which("go") is None:
        return None
    (work / "go").mkdir(exist_ok=True)
    return build_go_producer(work / "go")


def gzip_producers(work: Path) -> dict[str, Producer | None]:
    go = go_tools(work)
    try:
        from zlib_ng import gzip_ng
    except ImportError:
        gzip_ng = None  # type: ignore[assignment]
    try:
        from isal import igzip
    except ImportError:
        igzip = None  # type: ignore[assignment]
    return {
        "Python gzip -9 (zlib)": lambda tar: gzip.compress(tar, 9, mtime=0),
        "GNU gzip -6": piped("gzip", "-6", "-n"),
        "GNU gzip -9": piped("gzip", "-9", "-n"),
        "busybox gzip": piped("busybox", "gzip", "-c"),
        "pigz -6": piped("pigz", "-6", "-n"),
        "pigz -9": piped("pigz", "-9", "-n"),
        "libdeflate-gzip -6": piped("libdeflate-gzip", "-6", "-n", "-c"),
        "7-Zip gzip": piped("7zz", "a", "-tgzip", "-si", "-so", "-bd", "t.gz"),
        "Go compress/gzip": None if go is None else piped(str(go), "gzip"),
        "zlib-ng": None if gzip_ng is None else (lambda tar: gzip_ng.compress(tar, mtime=0)),
        "ISA-L igzip": None if igzip is None else (lambda tar: igzip.compress(tar, mtime=0)),
    }


Zipper = Callable[[Path, Path], None]


def zip_producers(work: Path) -> dict[str, Zipper | None]:
    go = go_tools(work)

    def command(*argv: str, cwd: bool = True) -> Zipper | None:
        if shutil.which(argv[0]) is None:
            return None

        def make(tree: Path, out: Path) -> None:
            args = [a.replace("{out}", str(out)).replace("{tree}", str(tree)) for a in argv]
            subprocess.run(args, cwd=tree if cwd else None, check=True, capture_output=True)

        return make

    return {
        "Info-ZIP zip -r": command("zip", "-q", "-r", "-X", "{out}", "."),
        "7-Zip zip": command("7zz", "a", "-tzip", "-bd", "{out}", "."),
        "Go archive/zip": None if go is None else command(str(go), "zip", "{out}", "{tree}"),
        "jar": command("jar", "cf", "{out}", "-C", "{tree}", ".", cwd=False),
    }


Maker = Callable[[Path, Path], None]  # (a release, the file to make of it)


def made(group: str, makers: dict[str, Maker | None], files: list[Path], work: Path,
         name: Callable[[Path], str]) -> dict[str, list[Path]]:  # fmt: skip
    """Each maker's series of the releases (none where its tool is missing)."""
    series: dict[str, list[Path]] = {}
    for label, make in makers.items():
        series[label] = []
        if make is None:
            continue
        target = work / group / label.replace(" ", "_").replace("/", "_")
        target.mkdir(parents=True)
        for path in files:
            series[label].append(target / name(path))
            make(path, series[label][-1])
    return series


def tarball_series(folder: Path, work: Path) -> dict[str, list[Path]]:
    tars = {path: gzip.decompress(path.read_bytes()) for path in releases(folder)}

    def maker(producer: Producer | None) -> Maker | None:
        def make(path: Path, out: Path) -> None:
            assert producer is not None
            out.write_bytes(producer(tars[path]))
            assert gzip.decompress(out.read_bytes()) == tars[path], out

        return None if producer is None else make

    makers = {label: maker(p) for label, p in gzip_producers(work).items()}
    return made("tar", makers, releases(folder), work, lambda path: path.name)


def zip_series(folder: Path, work: Path) -> dict[str, list[Path]]:
    def unpacked(path: Path) -> Path:
        tree = work / "trees" / path.stem
        if not tree.exists():
            with zipfile.ZipFile(path) as archive:
                archive.extractall(tree)
        return tree

    def maker(zipper: Zipper | None) -> Maker | None:
        return None if zipper is None else (lambda path, out: zipper(unpacked(path), out))

    makers: dict[str, Maker | None] = {
        "Python zipfile (zlib), as published": lambda path, out: shutil.copy(path, out) and None,
        **{label: maker(z) for label, z in zip_producers(work).items()},
    }
    return made("zip", makers, releases(folder), work, lambda path: path.stem + ".zip")


def deflate_names(endpoint: str, bucket: str, first: str) -> str:
    """How the files after the first were stored: the deflate families
    their deltas record, plain deltas, whole files."""
    client = s3_client(endpoint)
    names: dict[str, int] = {}
    for item in client.list_objects_v2(Bucket=bucket, Prefix="releases/").get("Contents", []):
        if item["Key"].startswith(f"releases/{first}"):
            continue  # the reference's own
        if item["Key"].endswith(".delta"):
            meta = client.head_object(Bucket=bucket, Key=item["Key"])["Metadata"]
            name = meta.get("dg-deflate", "plain delta")
            names[name] = names.get(name, 0) + 1
        elif not item["Key"].endswith("reference.bin"):
            names["stored whole"] = names.get("stored whole", 0) + 1
    return ", ".join(f"{n} ({c})" for n, c in sorted(names.items())) or "-"


def external(command: list[str], reference: Path, target: Path, out: Path) -> tuple[int, float]:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return out.stat().st_size, time.perf_counter() - start


def cli_deltas(files: list[Path], work: Path) -> dict[str, list[float]]:
    result: dict[str, list[float]] = {"xdelta3": [], "zstd": [], "xdelta3_s": [], "zstd_s": []}
    first = files[0]
    for target in files[1:]:
        out = work / "cli.delta"
        if shutil.which("xdelta3"):
            size, seconds = external(
                # -D -R: a delta of the bytes as stored (else xdelta3 gunzips
                # its inputs and gzips what it rebuilds, giving other bytes)
                ["xdelta3", "-e", "-9", "-D", "-R", "-f", "-s", str(first), str(target), str(out)],
                first, target, out,
            )  # fmt: skip
            result["xdelta3"].append(size)
            result["xdelta3_s"].append(seconds)
        if shutil.which("zstd"):
            size, seconds = external(
                ["zstd", "-q", "-f", "-19", "--long=27", f"--patch-from={first}", str(target),
                 "-o", str(out)],
                first, target, out,
            )  # fmt: skip
            result["zstd"].append(size)
            result["zstd_s"].append(seconds)
    return result


def median(values: list[float | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return statistics.median(numbers) if numbers else None


def measure(
    label: str, files: list[Path], endpoint: str, old_python: str, work: Path, number: int
) -> dict[str, object]:
    row: dict[str, object] = {"files": [p.stat().st_size for p in files]}
    for tool, python in (("ours", sys.executable), ("6.2.0", old_python)):
        bucket = fresh_bucket(endpoint, f"prod-{number}-{tool.replace('.', '')}")
        result = sdk(python, endpoint, bucket, files)
        sizes = []
        client = s3_client(endpoint)
        for path in files[1:]:
            key = f"releases/{path.name}"
            listed = client.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
            sizes.append(sum(item["Size"] for item in listed))
        row[tool] = {**result, "sizes": sizes}
        if tool == "ours":
            row["families"] = deflate_names(endpoint, bucket, files[0].name)
    row["cli"] = cli_deltas(files, work)
    print(label, json.dumps(row)[:600], flush=True)
    return row


def render(title: str, rows: dict[str, dict[str, object]], missing: list[str]) -> str:
    def pct(values: list[float], files: list[int]) -> str:
        shares = [100 * v / f for v, f in zip(values, files[1:], strict=False)]
        return f"{statistics.median(shares):.2f} %" if shares else "-"

    base_put = base_get = None
    lines = [
        f"### {title}",
        "",
        "| producer | file | ours: bytes per version | re-created by | ours put s | ours get s "
        "| ours peak RSS put / get | 6.2.0: bytes | 6.2.0 put s | xdelta3 -9 | zstd --patch-from "
        "| put, get vs zlib-made |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in rows.items():
        files = row["files"]
        ours, old, cli = row["ours"], row["6.2.0"], row["cli"]
        assert isinstance(files, list)
        assert isinstance(ours, dict)
        assert isinstance(old, dict)
        assert isinstance(cli, dict)
        put, get = median(ours["put"][1:]), median(ours["get"][1:])
        if base_put is None:
            base_put, base_get = put, get
        ok = all(ours["correct"])
        old_ok = all(old["correct"])
        relative = (
            f"{put / base_put:.2f}x, {get / base_get:.2f}x"
            if put and get and base_put and base_get else "-"
        )  # fmt: skip
        lines.append(
            f"| {label} | {statistics.median(files) / 1e6:.2f} MB "
            f"| {pct(ours['sizes'], files)}{'' if ok else ' (WRONG BYTES)'} | {row['families']} "
            f"| {put:.2f} | {get:.2f} | {ours['put_rss'] / 2**20:.0f} / "
            f"{ours['get_rss'] / 2**20:.0f} MiB "
            f"| {pct(old['sizes'], files)}{'' if old_ok else ' (get fails)'} "
            f"| {median(old['put'][1:]) or 0:.2f} "
            f"| {pct(cli['xdelta3'], files)} | {pct(cli['zstd'], files)} | {relative} |"
        )
    if missing:
        lines += ["", "Not installed here, left out: " + ", ".join(missing) + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sdists", type=Path, help="folder of .tar.gz releases")
    parser.add_argument("wheels", type=Path, help="folder of .whl releases")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    compile_installed()
    sections = []
    raw: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        old_python = str(install(work / "dg62"))
        (work / "weed").mkdir()
        with seaweedfs(work / "weed") as endpoint:
            number = 0
            for title, series in (
                (f"Tarballs: {args.sdists.name} recompressed", tarball_series(args.sdists, work)),
                (f"Zips: {args.wheels.name} wheels zipped again", zip_series(args.wheels, work)),
            ):
                rows, missing = {}, []
                for label, files in series.items():
                    if not files:
                        missing.append(label)
                        continue
                    number += 1
                    rows[label] = measure(label, files, endpoint, old_python, work, number)
                raw[title] = rows
                sections.append(render(title, rows, missing))
    publish(
        "producers",
        "Contents deltas by producer: one release series, every deflate producer",
        f"Command: `{command}`  \nRun {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, one "
        "SeaweedFS server. " + ABOUT,
        sections,
        raw,
        doc=not args.no_doc,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
