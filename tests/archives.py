"""Archives for the tests: package-like zip releases, hand-made zips with
any flags, tarball-like text; each version changes a little of the last."""

from __future__ import annotations

import gzip
import io
import random
import struct
import zipfile
import zlib

RNG = random.Random(12)
WORDS = [
    bytes(RNG.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(RNG.randint(2, 9)))
    for _ in range(400)
]


def text(seed: int, lines: int = 300) -> bytes:
    rnd = random.Random(seed)
    return b"\n".join(b" ".join(rnd.choice(WORDS) for _ in range(10)) for _ in range(lines))


def edited(data: bytes, seed: int) -> bytes:
    rnd = random.Random(seed)
    at = rnd.randrange(len(data))
    return data[:at] + b"CHANGED " + bytes(str(seed), "ascii") + data[at + 3 :]


def make_zip(
    members: list[tuple[str, bytes]],
    *,
    method: int = zipfile.ZIP_DEFLATED,
    level: int | None = None,
    zip64: bool = False,
    comment: bytes = b"",
    day: int = 2,
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method, compresslevel=level) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, day, 3, 4, 6))
            info.compress_type = method
            with zf.open(info, "w", force_zip64=zip64) as handle:
                handle.write(data)
        zf.comment = comment
    return buf.getvalue()


def release(version: int, **kwargs: object) -> bytes:
    """A package-like archive; version N changes a few members of N-1."""
    members = [(f"pkg/mod{i}.py", text(i)) for i in range(40)]
    for v in range(1, version + 1):
        i = (v * 7) % 40
        members[i] = (members[i][0], edited(members[i][1], v))
    members.append(
        (f"pkg-1.{version}.dist-info/RECORD", b"\n".join(n.encode() for n, _ in members))
    )
    return make_zip(members, **kwargs)  # type: ignore[arg-type]


def hand_made_zip(
    members: list[tuple[str, bytes, bytes, int]], *, flags: int = 0, descriptor: bool = False
) -> bytes:
    """A zip built field by field: (name, stored bytes, content, method)."""
    out, central = bytearray(), bytearray()
    for name, stored, content, method in members:
        offset = len(out)
        crc = zlib.crc32(content)
        sizes = (0, 0, 0) if descriptor else (crc, len(stored), len(content))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags | (8 if descriptor else 0),
                           method, 0, 0, *sizes, len(name), 0) + name.encode() + stored  # fmt: skip
        if descriptor:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, len(stored), len(content))
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags | (8 if descriptor else 0),
            method, 0, 0, crc, len(stored), len(content), len(name), 0, 0, 0, 0, 0, offset,
        ) + name.encode()  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(out), 0)  # fmt: skip
    return bytes(out + central + end)


def tarball(version: int) -> bytes:
    return b"".join(edited(text(i, 200), version) if i == 7 else text(i, 200) for i in range(30))


def source_tarball(version: int, *, level: int = 9) -> bytes:
    """A package's source archive, as sdists are: a tar under a folder named
    for the version, gzipped; version N changes two files of N-1 and adds
    one."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = {f"src/mod{i}.py": text(i, 100) for i in range(25)}
        files["PKG-INFO"] = f"Version: 1.{version}\n".encode()
        for v in range(1, version + 1):
            files[f"src/mod{v % 25}.py"] = edited(files[f"src/mod{v % 25}.py"], v)
            files[f"src/new{v}.py"] = text(100 + v, 20)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"pkg-1.{version}/{name}")
            info.size, info.mtime = len(data), 1_700_000_000 + version
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=version) as handle:
        handle.write(buf.getvalue())
    return out.getvalue()


def long_content(seed: int = 1) -> bytes:
    """About 3 MiB: text, with runs that do not compress in between (they
    become stored blocks, which start on a byte boundary): a stream long
    enough to be rebuilt in chunks (archive/restarts.py)."""
    rnd = random.Random(seed)
    parts = []
    for i in range(40):
        parts.append(text(seed * 100 + i, 1200))
        if i % 9 == 4:
            parts.append(bytes(rnd.getrandbits(8) for _ in range(40_000)))
    return b"".join(parts)
