"""Counting the bytes a transfer moves, for progress callbacks.

A callback receives the bytes moved since its last call, as boto3's
``Callback`` does.  A transfer may read its input more than once (a
checksum pass, a fallback from delta to direct storage); the meter never
reports more than the transfer's size in all.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any, BinaryIO, cast

ProgressCallback = Callable[[int], object]
"""Called with the number of bytes moved since the previous call."""


class Meter:
    """Reports bytes moved to a callback, at most ``total`` in all."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.reported = 0
        self._lock = threading.Lock()  # transfer managers read from threads

    def add(self, count: int) -> None:
        """``count`` more bytes moved."""
        if self.callback is None or count <= 0:
            return
        with self._lock:
            step = min(count, self.total - self.reported)
            self.reported += step
        if step > 0:
            self.callback(step)

    def finish(self) -> None:
        """The transfer is complete: report what was not counted on the way."""
        self.add(self.total - self.reported)


class MeteredReader(io.RawIOBase):
    """A readable (and, when the wrapped stream is, seekable) stream that
    counts the bytes read from it."""

    def __init__(self, raw: BinaryIO, meter: Meter) -> None:
        super().__init__()
        self._raw = raw
        self._meter = meter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._meter.add(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def counted(data: bytes, meter: Meter | None) -> bytes | BinaryIO:
    """Bytes about to be sent: as they are, or, when ``meter`` has a
    callback, a stream over them (uncopied for ``bytes``) that counts them
    as they are read."""
    if meter is None or meter.callback is None:
        return data
    return cast(BinaryIO, MeteredReader(cast(BinaryIO, io.BytesIO(data)), meter))


class MeteredWriter:
    """Passes writes on to ``out`` and counts them."""

    def __init__(self, out: Any, meter: Meter) -> None:
        self._out = out
        self._meter = meter

    def write(self, data: bytes | bytearray | memoryview) -> object:
        written = self._out.write(data)
        self._meter.add(len(data))
        return written
