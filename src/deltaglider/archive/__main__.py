"""``python -m deltaglider.archive``: contents deltas from a shell.

encode REFERENCE TARGET DELTA   a contents delta of an archive (zip or gzip)
decode REFERENCE DELTA OUTPUT   rebuild the archive, byte for byte
inspect DELTA                   what the delta holds: members copied,
                                re-deflated, carried; bytes of each
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deltaglider import archive, xdelta
from deltaglider.fsutil import atomic_writer


def _encode(args: argparse.Namespace) -> int:
    target = Path(args.target).read_bytes()
    kinds = frozenset({"zip"} if args.zip_only else {"zip", "gzip"})
    payload = archive.encode(Path(args.reference).read_bytes(), target, kinds=kinds)
    if payload is None:
        print(
            f"error: {args.target} is not a zip or gzip archive this can take apart, or nothing "
            "in it is copied or re-deflated (use python -m deltaglider.xdelta encode)",
            file=sys.stderr,
        )
        return 1
    with atomic_writer(args.delta) as out:
        out.write(payload)
    share = _percent(len(payload), len(target))
    print(f"{args.delta}: {len(payload)} bytes ({share} of {len(target)})")
    return 0


def _decode(args: argparse.Namespace) -> int:
    payload = Path(args.delta).read_bytes()
    size = archive.describe(payload).size
    # A file of its own records nothing: its recipe says what it uses.
    data = archive.decode(
        Path(args.reference).read_bytes(), payload, size=size,
        implementation=archive.deflate_names(payload),
    )  # fmt: skip
    with atomic_writer(args.output) as out:
        out.write(data)
    print(f"{args.output}: {len(data)} bytes (not checked: a stored object's SHA-256 is)")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    payload = Path(args.delta).read_bytes()
    facts = archive.describe(payload)
    print(f"format:                {archive.FORMAT}, deflate {archive.deflate_names(payload)}")
    print(f"rebuilds:              {facts.size} bytes")
    print(f"delta:                 {len(payload)} bytes = recipe {facts.recipe_size} "
          f"+ xdelta3 part {facts.data_delta_size}")  # fmt: skip
    print(f"copied from reference: {facts.copied} runs, {facts.copied_bytes} bytes")
    print(f"re-deflated:           {facts.redeflated} streams, {facts.redeflated_bytes} bytes")
    for params, count in sorted(facts.params.items(), key=lambda item: -item[1]):
        print(f"  {count:6d} x {params}")
    print(f"spliced:               {facts.spliced} streams, {facts.spliced_bytes} bytes")
    print(f"written from a parse:  {facts.parsed} streams, {facts.parsed_bytes} bytes")
    print(f"header changed only:   {facts.relinked} members (data copied by name)")
    print(f"directory:             {facts.directory_entries} entries, offsets relative")
    print(f"carried as they are:   {facts.carried_bytes} bytes (headers, members not "
          "re-deflated)")  # fmt: skip
    print(f"data stream:           {facts.data_size} bytes, encoded against "
          f"{facts.source_size} bytes of the reference")  # fmt: skip
    return 0


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deltaglider.archive``."""
    parser = argparse.ArgumentParser(
        prog="python -m deltaglider.archive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    enc = commands.add_parser("encode", help="make a contents delta of TARGET against REFERENCE")
    enc.add_argument("reference")
    enc.add_argument("target")
    enc.add_argument("delta")
    enc.add_argument("--zip-only", action="store_true", help="leave gzip streams alone")
    enc.set_defaults(run=_encode)
    dec = commands.add_parser("decode", help="rebuild a file from REFERENCE and DELTA")
    dec.add_argument("reference")
    dec.add_argument("delta")
    dec.add_argument("output")
    dec.set_defaults(run=_decode)
    ins = commands.add_parser("inspect", help="explain a contents delta")
    ins.add_argument("delta")
    ins.set_defaults(run=_inspect)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (archive.ArchiveDeltaError, xdelta.XDeltaError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
