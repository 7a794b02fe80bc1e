"""Test helpers shared by several test modules."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any


def mutate(data: bytes, seed: int, edits: int = 20) -> bytes:
    """A new version of ``data``: random inserts, deletes, replaces and moves."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        if not out:
            out += rng.randbytes(rng.randrange(1, 64))
            continue
        pos = rng.randrange(len(out))
        kind = rng.randrange(4)
        size = rng.randrange(1, 256)
        if kind == 0:
            out[pos:pos] = rng.randbytes(size)
        elif kind == 1:
            del out[pos : pos + size]
        elif kind == 2:
            out[pos : pos + size] = rng.randbytes(size)
        else:
            chunk = bytes(out[pos : pos + size * 16])
            del out[pos : pos + len(chunk)]
            dest = rng.randrange(len(out) + 1)
            out[dest:dest] = chunk
    return bytes(out)


def varint(n: int) -> bytes:
    """RFC 3284 integer: base 128, most significant digit first."""
    digits = [n & 0x7F]
    n >>= 7
    while n:
        digits.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(digits))


def vcdiff(
    *windows: bytes,
    secondary: int | None = None,
    code_table: bool = False,
    app_header: bytes | None = None,
    app_header_len: int | None = None,
) -> bytes:
    """A VCDIFF file: magic, header indicator and optional header fields.

    Header fields follow RFC 3284 order: secondary id, code table, app header.
    """
    indicator, rest = 0, b""
    if secondary is not None:
        indicator |= 0x01
        rest += bytes([secondary])
    if code_table:
        # A (compressed) code table: its length, NEAR and SAME sizes, data.
        indicator |= 0x02
        rest += varint(2 + 4) + b"\x04\x03" + b"\x00" * 4
    if app_header is not None:
        indicator |= 0x04
        length = len(app_header) if app_header_len is None else app_header_len
        rest += varint(length) + app_header
    return b"\xd6\xc3\xc4\x00" + bytes([indicator]) + rest + b"".join(windows)


def window(
    target_len: int,
    data: bytes = b"",
    inst: bytes = b"",
    addr: bytes = b"",
    *,
    source: tuple[int, int] | None = None,
    from_target: tuple[int, int] | None = None,
    delta_indicator: int = 0,
    adler32: int | None = None,
) -> bytes:
    """One VCDIFF window; ``source``/``from_target`` are (length, offset)."""
    indicator, head = 0, b""
    for bit, copy in ((0x01, source), (0x02, from_target)):
        if copy is not None:
            indicator |= bit
            head = varint(copy[0]) + varint(copy[1])
    body = varint(target_len) + bytes([delta_indicator])
    body += varint(len(data)) + varint(len(inst)) + varint(len(addr))
    if adler32 is not None:
        indicator |= 0x04
        body += adler32.to_bytes(4, "big")
    body += data + inst + addr
    return bytes([indicator]) + head + varint(len(body)) + body


def add(size: int) -> bytes:
    """An ADD instruction of ``size`` bytes (default code table, index 1)."""
    return b"\x01" + varint(size)


def copy(size: int) -> bytes:
    """A COPY instruction in mode 0 (code table index 19); address separate."""
    return b"\x13" + varint(size)


def make_service(storage: Any, cache: Any = None, tool_version: str = "deltaglider/test") -> Any:
    """A DeltaService on ``storage`` with the package's adapters (an in-memory
    reference cache unless ``cache`` is given)."""
    from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
    from deltaglider.adapters.cache import LayeredCache, MemoryCache
    from deltaglider.adapters.codec_xdelta import XDeltaCodec
    from deltaglider.core.service import DeltaService

    return DeltaService(
        storage,
        XDeltaCodec(),
        Sha256Hasher(),
        cache if cache is not None else LayeredCache(MemoryCache(64 << 20), None),
        UtcClock(),
        StdLogger(),
        NoopMetrics(),
        tool_version=tool_version,
    )


# ru_maxrss survives exec: a child started from a large process (pytest after
# big encodes) inherits its high-water mark and would measure nothing.  This
# small launcher forks the real child, whose counter then starts clean.
_CLEAN_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss_growth(script: str, *args: str) -> int:
    """Run ``python -c script args`` in a clean process; the script prints
    its ``ru_maxrss`` before and after the work.  Returns the growth in bytes."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", _CLEAN_LAUNCHER, sys.executable, "-c", script, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    before, after = (int(v) * unit for v in result.stdout.split())
    if before > 512 << 20:
        raise AssertionError(f"baseline {before} bytes: the peak-RSS counter did not start clean")
    return after - before


def drop_size_markers(storage: Any, bucket: str) -> int:
    """Remove a bucket's size markers, as if another tool (6.2.0) had
    written its deltas: listings and stats then HEAD them or read the size
    cache.  Returns how many there were."""
    from deltaglider.core.size_markers import MARKER_PREFIX

    found = list(storage.iter_objects(bucket, MARKER_PREFIX))
    for obj in found:
        storage.delete(bucket, obj.key)
    return len(found)
