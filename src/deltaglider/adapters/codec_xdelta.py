"""The compiled-in xdelta3 codec, and the archive-aware contents deltas
built on it, as the engine's DiffPort."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO, BinaryIO, cast

from deltaglider import archive, xdelta
from deltaglider.adapters.memory_budget import MemoryBudget
from deltaglider.core.errors import CorruptDeltaError, DeltaTooLargeError, UnsupportedDeltaError
from deltaglider.ports.codec import Sink
from deltaglider.xdelta.header import external_compression
from deltaglider.xdelta.options import DEFAULT_LEVEL, LEVEL_MATCHERS, plan_source
from deltaglider.xdelta.streaming import DECODE_CACHE_BYTES

_STEP = LEVEL_MATCHERS[DEFAULT_LEVEL].large_step


class XDeltaCodec:
    """Encodes like ``xdelta3 -e -9``: in memory with the whole reference as
    the source window, streamed with a window sliding along it (64 MiB, or
    1/8 of a larger reference; see
    :func:`~deltaglider.xdelta.options.plan_source` and docs/benchmarks.md).

    At most ``parallel_encodes`` encodes run at once (by default one per
    CPU), whatever the number of threads asking: an encode keeps a core
    busy, so more of them are no faster.  Together they hold at most
    ``memory_budget`` bytes of match tables and source windows: each is
    planned within what the others leave free (one alone always runs)."""

    def __init__(
        self,
        *,
        memory_budget: int = xdelta.DEFAULT_MEMORY_BUDGET,
        parallel_encodes: int | None = None,
    ) -> None:
        self.budget = MemoryBudget(memory_budget)
        slots = parallel_encodes if parallel_encodes is not None else os.cpu_count() or 1
        if slots < 1:
            raise ValueError(f"parallel_encodes must be at least 1, got {slots}")
        self._encode_slots = threading.BoundedSemaphore(slots)

    @property
    def memory_budget(self) -> int:
        """Bytes all encodes running at once may hold together."""
        return self.budget.total

    def _hold(self, source_size: int, *, streaming: bool) -> AbstractContextManager[int]:
        """A share of the budget for an encode against ``source_size`` bytes:
        what its best plan costs, or at least what its leanest does."""
        best = plan_source(source_size, _STEP, self.budget.total, streaming=streaming)
        leanest = plan_source(source_size, _STEP, 1, streaming=streaming)
        return self.budget.hold(best.cost, leanest.cost)

    def encode(self, reference: bytes, target: bytes, *, max_size: int | None) -> bytes:
        """The delta, or DeltaTooLargeError as soon as it exceeds ``max_size``."""
        try:
            with self._encode_slots, self._hold(len(reference), streaming=False) as share:
                return xdelta.encode(reference, target, max_size=max_size, memory_budget=share)
        except xdelta.DeltaTooLargeError as exc:
            raise DeltaTooLargeError(str(exc)) from exc

    def decode(self, reference: bytes, delta: bytes, *, size: int) -> bytearray:
        """Rebuild exactly ``size`` bytes, straight into the returned buffer
        (no second copy of the file in memory)."""
        out = bytearray(size)
        with _decoding():
            written = xdelta.decode_into(reference, delta, out)
        if written != size:
            raise CorruptDeltaError(f"decode: the delta produced {written} bytes, expected {size}")
        return out

    def encode_stream(
        self, reference: BinaryIO, target: BinaryIO, out: Sink, *, max_size: int | None
    ) -> int:
        """Stream the delta of ``target`` into ``out``; returns its size."""
        try:
            with self._encode_slots, self._hold(_size(reference), streaming=True) as share:
                return xdelta.encode_file(
                    reference,
                    target,
                    cast(IO[bytes], out),  # only its write() is used
                    max_size=max_size,
                    memory_budget=share,
                )
        except xdelta.DeltaTooLargeError as exc:
            raise DeltaTooLargeError(str(exc)) from exc

    def decode_stream(self, reference: BinaryIO, delta: BinaryIO, out: Sink, *, size: int) -> int:
        """Stream exactly ``size`` rebuilt bytes into ``out``, caching as
        much of the reference as a streamed encode's window holds: copies
        reach that far back, and each block read again from the encrypted
        cache is decrypted again (a 64 MiB cache made a 1 GiB get 8x slower)."""
        window = plan_source(_size(reference), _STEP, self.budget.total, streaming=True).window
        with _decoding():
            return xdelta.decode_file(
                reference, delta, cast(IO[bytes], out), size=size,
                cache_bytes=max(window, DECODE_CACHE_BYTES),
            )  # fmt: skip

    def external_compression(self, delta_start: bytes) -> tuple[str, str] | None:
        """External-compression markers, read from the delta's first bytes."""
        with _decoding():
            return external_compression(xdelta.read_app_header(delta_start))

    contents_format = archive.FORMAT

    def contents_deflate(self, delta: bytes) -> str:
        """The deflate families a contents delta uses, by name."""
        with _decoding():
            return archive.deflate_names(delta)

    def archive_kind(self, data: bytes) -> str | None:
        """``"zip"``, ``"gzip"`` or None."""
        return archive.kind(data)

    def encode_contents(
        self,
        reference: bytes,
        target: bytes,
        *,
        kinds: frozenset[str],
        max_size: int | None,
        progress: Callable[[int], object] | None = None,
    ) -> bytes | None:
        """A verified contents delta, or None where it does not apply."""
        wanted = min(self.budget.total, archive.MEMORY_BUDGET)
        try:
            with self._encode_slots, self.budget.hold(wanted, wanted // 4) as share:
                return archive.encode(
                    reference, target, kinds=kinds, max_size=max_size, memory_budget=share,
                    progress=progress,
                )  # fmt: skip
        except xdelta.DeltaTooLargeError as exc:
            raise DeltaTooLargeError(str(exc)) from exc

    def decode_contents(
        self,
        reference: bytes,
        delta: bytes,
        *,
        size: int,
        deflate: str,
        progress: Callable[[int], object] | None = None,
    ) -> bytearray:
        """Rebuild a contents delta."""
        with _decoding():
            return archive.decode(
                reference, delta, size=size, implementation=deflate, progress=progress
            )


@contextlib.contextmanager
def _decoding() -> Iterator[None]:
    """The port's decode contract: what a delta's bytes do not allow is
    CorruptDeltaError (or UnsupportedDeltaError: another deflate); errors
    of the streams around it pass through."""
    try:
        yield
    except archive.UnsupportedDeflateError as exc:
        raise UnsupportedDeltaError(str(exc)) from exc
    except (xdelta.XDeltaError, archive.ArchiveDeltaError) as exc:
        raise CorruptDeltaError(str(exc)) from exc


def _size(stream: BinaryIO) -> int:
    """The length of a seekable stream, left at its start."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size
