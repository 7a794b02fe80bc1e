"""The compiled-in xdelta3 codec as the engine's DiffPort."""

from __future__ import annotations

from typing import IO, BinaryIO, cast

from deltaglider import xdelta
from deltaglider.ports.codec import DeltaTooLargeError, Sink
from deltaglider.xdelta.header import external_compression


class XDeltaCodec:
    """Encodes like ``xdelta3 -e -9``, with the whole reference as the source
    window and a sparse match table (see docs/benchmarks.md)."""

    def __init__(self, *, memory_budget: int = xdelta.DEFAULT_MEMORY_BUDGET) -> None:
        self.memory_budget = memory_budget

    def encode(self, reference: bytes, target: bytes, *, max_size: int | None) -> bytes:
        """The delta, or DeltaTooLargeError as soon as it exceeds ``max_size``."""
        try:
            return xdelta.encode(
                reference, target, max_size=max_size, memory_budget=self.memory_budget
            )
        except xdelta.DeltaTooLargeError as exc:
            raise DeltaTooLargeError(str(exc)) from exc

    def decode(self, reference: bytes, delta: bytes, *, size: int) -> bytearray:
        """Rebuild exactly ``size`` bytes, straight into the returned buffer
        (no second copy of the file in memory)."""
        out = bytearray(size)
        written = xdelta.decode_into(reference, delta, out)
        if written != size:
            raise xdelta.CorruptDeltaError(
                f"decode: the delta produced {written} bytes, expected {size}"
            )
        return out

    def encode_stream(
        self, reference: BinaryIO, target: BinaryIO, out: Sink, *, max_size: int | None
    ) -> int:
        """Stream the delta of ``target`` into ``out``; returns its size."""
        try:
            return xdelta.encode_file(
                reference,
                target,
                cast(IO[bytes], out),  # only its write() is used
                max_size=max_size,
                memory_budget=self.memory_budget,
            )
        except xdelta.DeltaTooLargeError as exc:
            raise DeltaTooLargeError(str(exc)) from exc

    def decode_stream(self, reference: BinaryIO, delta: BinaryIO, out: Sink, *, size: int) -> int:
        """Stream exactly ``size`` rebuilt bytes into ``out``."""
        return xdelta.decode_file(reference, delta, cast(IO[bytes], out), size=size)

    def external_compression(self, delta_start: bytes) -> tuple[str, str] | None:
        """External-compression markers, read from the delta's first bytes."""
        return external_compression(xdelta.read_app_header(delta_start))
