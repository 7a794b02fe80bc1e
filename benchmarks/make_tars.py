"""Generate a series of opaque ``.tar`` versions of real files, with edits
between versions, for the large-file benchmarks.

    python benchmarks/make_tars.py OUT --size 1024 --versions 3

Version 1 is a tar of this machine's own files (``/usr/lib``, ``/usr/share``,
the Python installation), taken in sorted order until ``--size`` MiB.  Each
next version edits the previous one the way a new release does: about 2 %
of the files change (a run of bytes rewritten and a line inserted), 0.5 %
are dropped and as many new files join at random places, and the tar's
order is otherwise kept.  Everything is seeded, so one command always makes
the same series from the same machine.  Uncompressed on purpose: this is
what stays opaque to archive-aware deltas (``.tar``, images, dumps).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

ROOTS = (Path("/usr/lib"), Path("/usr/share"), Path(sys.prefix))
MiB = 1 << 20
_MAX_MEMBER = 8 * MiB


def real_files(roots: tuple[Path, ...] = ROOTS) -> Iterator[Path]:
    """Regular, readable files under ``roots``, in sorted order."""
    seen: set[Path] = set()
    for root in roots:
        for path in sorted(root.rglob("*")):
            try:
                if path.is_symlink() or not path.is_file() or path in seen:
                    continue
                if path.stat().st_size > _MAX_MEMBER:
                    continue
            except OSError:
                continue
            seen.add(path)
            yield path


def pick(total: int) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of real files until ``total`` bytes."""
    members: list[tuple[str, bytes]] = []
    size = 0
    for path in real_files():
        try:
            data = path.read_bytes()
        except OSError:
            continue
        members.append((str(path).lstrip("/"), data))
        size += len(data) + 512
        if size >= total:
            break
    return members


def edit(members: list[tuple[str, bytes]], spare: list[tuple[str, bytes]], rng: random.Random,
         ) -> list[tuple[str, bytes]]:  # fmt: skip
    """The next version of ``members`` (new files taken from ``spare``)."""
    out: list[tuple[str, bytes]] = []
    for name, data in members:
        roll = rng.random()
        if roll < 0.005:
            continue  # dropped
        if roll < 0.025 and data:
            at = rng.randrange(len(data))
            run = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            line = f"# edited in the next release {rng.random()}\n".encode()
            data = data[:at] + run + data[at + len(run) :]
            cut = rng.randrange(len(data) + 1)
            data = data[:cut] + line + data[cut:]
        out.append((name, data))
        if roll > 0.995 and spare:
            out.append(spare.pop())
    return out


def write_tar(members: list[tuple[str, bytes]], path: Path) -> None:
    """A plain ustar/pax tar of ``members``, with fixed owners and times."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


def make_series(out: Path, size_mib: int, versions: int, seed: int = 14) -> list[Path]:
    """Write ``versions`` tars of about ``size_mib`` MiB into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    names = [out / f"image-{size_mib}m-v{n}.tar" for n in range(1, versions + 1)]
    if all(path.exists() for path in names):
        return names
    everything = pick(size_mib * MiB * 21 // 20)
    members, total = [], 0
    while everything and total < size_mib * MiB:
        members.append(everything.pop(0))
        total += len(members[-1][1]) + 512
    spare = everything
    rng = random.Random(seed)
    for path in names:
        write_tar(members, path)
        members = edit(members, spare, rng)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=128, help="MiB per version")
    parser.add_argument("--versions", type=int, default=3)
    args = parser.parse_args()
    for path in make_series(args.out, args.size, args.versions):
        print(f"{path}  {path.stat().st_size / MiB:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
