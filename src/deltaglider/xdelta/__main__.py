"""``python -m deltaglider.xdelta``: the compiled-in codec from a shell.

    encode SOURCE TARGET DELTA     make a VCDIFF delta (as xdelta3 -e -9 -s)
    decode SOURCE DELTA OUTPUT     rebuild the target (as xdelta3 -d -s)
    inspect DELTA                  show the headers (as xdelta3 printhdrs)
    demo [DIR]                     delta-compress versions of real archives

Deltas are interchangeable with the xdelta3 command line tool's.  No
xdelta3 binary is used or needed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

from deltaglider import xdelta


def _encode(args: argparse.Namespace) -> int:
    size = xdelta.encode_file(
        args.source,
        args.target,
        args.delta,
        level=args.level,
        secondary=args.secondary,
        matcher=xdelta.DEEP_MATCHER if args.deep else None,
    )
    target_size = Path(args.target).stat().st_size
    print(f"{args.delta}: {size} bytes ({_percent(size, target_size)} of {target_size})")
    return 0


def _decode(args: argparse.Namespace) -> int:
    size = xdelta.decode_file(args.source, args.delta, args.output, size=args.size)
    print(f"{args.output}: {size} bytes")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    header = xdelta.inspect(Path(args.delta).read_bytes())
    print(f"secondary compressor: {header.secondary}")
    print(f"application header:   {header.app_header.decode('utf-8', 'replace')!r}")
    if header.external_compression:
        print(
            f"external compression: {header.external_compression} (made from decompressed streams)"
        )
    print(f"windows:              {header.window_count}")
    print(f"target size:          {header.target_size}")
    print(f"checksums:            {'yes' if header.has_checksums else 'no'}")
    for index, w in enumerate(header.windows):
        copy = f"source {w.copy_offset}+{w.copy_length}" if w.copies_from_source else "no source"
        print(
            f"  window {index}: target {w.target_offset}+{w.target_length}, "
            f"delta {w.delta_length} bytes, {copy}"
        )
    return 0


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "n/a"


def _release(packages: list[str], version: str) -> bytes:
    """A zip "release" of stdlib packages, as a build would produce it."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in packages:
            for path in sorted((stdlib / package).rglob("*.py")):
                info = zipfile.ZipInfo(path.relative_to(stdlib).as_posix(), (2024, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        archive.writestr("VERSION", version)
    return buffer.getvalue()


def _demo(args: argparse.Namespace) -> int:
    base = ["json", "email", "http", "logging", "urllib"]
    extras = [[], ["xmlrpc"], ["xmlrpc", "wsgiref"], ["xmlrpc", "wsgiref", "html"]]
    releases = [_release(base + extra, f"1.{i}.0") for i, extra in enumerate(extras)]
    folder = Path(args.dir or tempfile.mkdtemp(prefix="deltaglider-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    reference = folder / "app-1.0.0.zip"
    reference.write_bytes(releases[0])
    print(f"reference {reference.name}: {len(releases[0])} bytes, stored in full")
    total, stored = len(releases[0]), len(releases[0])
    for i, data in enumerate(releases[1:], start=1):
        name = f"app-1.{i}.0.zip"
        (folder / name).write_bytes(data)
        start = time.perf_counter()
        size = xdelta.encode_file(reference, folder / name, folder / f"{name}.delta")
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        xdelta.decode_file(
            reference, folder / f"{name}.delta", folder / f"{name}.out", size=len(data)
        )
        decode_s = time.perf_counter() - start
        same = (
            hashlib.sha256((folder / f"{name}.out").read_bytes()).digest()
            == hashlib.sha256(data).digest()
        )
        print(
            f"{name}: {len(data)} bytes -> delta {size} bytes ({_percent(size, len(data))}), "
            f"encode {encode_s * 1000:.0f} ms, decode {decode_s * 1000:.0f} ms, "
            f"rebuilt {'byte-exact' if same else 'WRONG'}"
        )
        if not same:
            return 1
        total += len(data)
        stored += size
    print(
        f"{len(releases)} versions: {total} bytes -> {stored} bytes stored "
        f"({100 - 100 * stored / total:.1f}% saved); files in {folder}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deltaglider.xdelta``."""
    parser = argparse.ArgumentParser(
        prog="python -m deltaglider.xdelta",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    enc = commands.add_parser("encode", help="make a delta of TARGET against SOURCE")
    enc.add_argument("source")
    enc.add_argument("target")
    enc.add_argument("delta")
    enc.add_argument("-l", "--level", type=int, default=9, choices=range(10), metavar="0-9")
    enc.add_argument("-S", "--secondary", default="lzma", choices=["lzma", "djw", "fgk", "none"])
    enc.add_argument("--deep", action="store_true", help="twice the -9 search depth")
    enc.set_defaults(run=_encode)
    dec = commands.add_parser("decode", help="rebuild a file from SOURCE and DELTA")
    dec.add_argument("source")
    dec.add_argument("delta")
    dec.add_argument("output")
    dec.add_argument("--size", type=int, help="expected output size in bytes")
    dec.set_defaults(run=_decode)
    ins = commands.add_parser("inspect", help="show a delta's headers")
    ins.add_argument("delta")
    ins.set_defaults(run=_inspect)
    demo = commands.add_parser("demo", help="delta-compress versions of real archives")
    demo.add_argument("dir", nargs="?", help="folder for the files (default: a new temp folder)")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (xdelta.XDeltaError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
