"""Where bytes go as the engine reads and writes them: sinks that hash,
discard or collect what they are given, and a seekable reader over bytes
already in memory."""

from __future__ import annotations

from typing import Any

from deltaglider.fsutil import RandomAccessReader
from deltaglider.ports.codec import Sink
from deltaglider.ports.support import RunningHash

CHUNK = 1 << 20
"""Bytes read at a time from a file or a stored object."""


class HashingWriter:
    """Passes writes on to ``out`` and hashes them on the way."""

    def __init__(self, out: Sink, running: RunningHash) -> None:
        self._out = out
        self._hash = running

    def write(self, data: bytes | bytearray | memoryview) -> object:
        self._hash.update(data)
        return self._out.write(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class Discard:
    """A sink for output that is only hashed."""

    def write(self, data: bytes | bytearray | memoryview) -> object:
        return len(data)


class BufferReader(RandomAccessReader):
    """A seekable stream over bytes already in memory, without copying them
    (``io.BytesIO`` would copy a rebuilt bytearray)."""

    def __init__(self, data: bytes | bytearray) -> None:
        super().__init__(len(data))
        self._view = memoryview(data)

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self.position : self.position + len(buffer)]
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


class Collector:
    """A sink that keeps what it is given, in order."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> object:
        self.parts.append(bytes(data))
        return len(data)
