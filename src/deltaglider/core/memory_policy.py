"""Which files are handled in memory and which are streamed: the one place
that choice is made, for puts and gets alike.

In memory, a delta is encoded or rebuilt in one call with the whole
reference at hand; streamed, the codec reads the reference from its
encrypted cache file a window at a time and memory stays bounded whatever
the file's size.
"""

from __future__ import annotations

OPAQUE_IN_MEMORY = 64 << 20
"""A file that takes no contents delta and is larger than this is encoded
streamed even under the stream threshold: beyond the codec's streaming
window (64 MiB) the streamed delta is as small or smaller, and neither the
file nor the whole reference is held (docs/benchmarks.md)."""


class MemoryPolicy:
    """The stream threshold, and what it means for each kind of file."""

    def __init__(self, stream_threshold: int) -> None:
        self.stream_threshold = stream_threshold

    @property
    def stream_threshold(self) -> int:
        """Files larger than this are streamed, not held in memory."""
        return self._threshold

    @stream_threshold.setter
    def stream_threshold(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"stream_threshold must not be negative, got {value}")
        self._threshold = value

    def holds(self, size: int) -> bool:
        """Whether a file of ``size`` bytes may be held in memory at all."""
        return size <= self._threshold

    def encodes_in_memory(self, size: int, *, archive: bool) -> bool:
        """Whether a delta candidate of ``size`` bytes is encoded in memory:
        if it may be held, and unless it is an ``archive`` taking a contents
        delta (made only in memory), no larger than :data:`OPAQUE_IN_MEMORY`."""
        return self.holds(size) and (archive or size <= OPAQUE_IN_MEMORY)

    def decodes_in_memory(self, size: int, *, contents: bool) -> bool:
        """Whether a delta of a ``size``-byte file is rebuilt in memory: if
        it may be held, or it is a ``contents`` delta (writers make them only
        of files they hold, and their expansion is bounded)."""
        return self.holds(size) or contents
