"""get_object bodies: botocore StreamingBody over verified bytes, and Range."""

from __future__ import annotations

import re
from typing import IO, BinaryIO, cast

from botocore.response import StreamingBody

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")  # S3 takes ASCII digits only


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte span an HTTP ``Range`` header asks of ``size``
    bytes, or None when it cannot be satisfied (S3 answers 416).

    Raises:
        ValueError: not a single ``bytes=`` range.
    """
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise ValueError(f"unsupported Range {header!r} (expected bytes=first-last)")
    first, last = match.groups()
    if first == "":  # the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            return None
        return max(0, size - count), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        return None
    return start, end


class _Window:
    """At most ``length`` bytes of a stream from its current position."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream = stream
        self._left = length

    def read(self, amt: int | None = None) -> bytes:
        want = self._left if amt is None or amt < 0 else min(amt, self._left)
        data = self._stream.read(want) if want else b""
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._stream.close()


def streaming_body(stream: BinaryIO, start: int, length: int) -> StreamingBody:
    """A botocore StreamingBody of ``length`` bytes of ``stream`` from ``start``."""
    stream.seek(start)
    return StreamingBody(cast(IO[bytes], _Window(stream, length)), length)
