"""The delta codec port.  What its methods raise is in
:mod:`deltaglider.core.errors` (DeltaTooLargeError, UnsupportedDeltaError,
CorruptDeltaError)."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol


class Sink(Protocol):
    """Where streamed output goes: anything with ``write``."""

    def write(self, data: bytes | bytearray | memoryview, /) -> object: ...


class DiffPort(Protocol):
    """Binary deltas: encode against a reference, decode; in memory or streamed."""

    def encode(self, reference: bytes, target: bytes, *, max_size: int | None) -> bytes:
        """The delta of ``target``; DeltaTooLargeError when over ``max_size``."""
        ...

    def decode(self, reference: bytes, delta: bytes, *, size: int) -> bytearray:
        """Rebuild ``size`` bytes; raises on a delta that does not fit."""
        ...

    def encode_stream(
        self, reference: BinaryIO, target: BinaryIO, out: Sink, *, max_size: int | None
    ) -> int:
        """Stream the delta of ``target`` (read once) against ``reference``
        (seekable) into ``out``; returns its size.  DeltaTooLargeError when
        over ``max_size``."""
        ...

    def decode_stream(self, reference: BinaryIO, delta: BinaryIO, out: Sink, *, size: int) -> int:
        """Stream exactly ``size`` rebuilt bytes into ``out``."""
        ...

    def external_compression(self, delta_start: bytes) -> tuple[str, str] | None:
        """External-compression markers from a delta's first bytes."""
        ...

    # -- contents deltas (archive-aware) --------------------------------------

    contents_format: str
    """The contents-delta format this codec writes (recorded on the object)."""

    def contents_deflate(self, delta: bytes) -> str:
        """What re-deflates a contents delta's members, as recorded on the
        object (a reader without it refuses the object)."""
        ...

    def archive_kind(self, data: bytes) -> str | None:
        """``"zip"``, ``"gzip"`` or None, from a file's bytes (its first four
        suffice, but for a zip after a stub, found by its end record)."""
        ...

    def encode_contents(
        self,
        reference: bytes,
        target: bytes,
        *,
        kinds: frozenset[str],
        max_size: int | None,
        progress: Callable[[int], object] | None = None,
    ) -> bytes | None:
        """The contents delta of an archive of one of ``kinds``, verified to
        rebuild it; None where it does not apply.  DeltaTooLargeError when
        over ``max_size``.  ``progress`` is told the target's bytes as they
        are taken apart."""
        ...

    def decode_contents(
        self,
        reference: bytes,
        delta: bytes,
        *,
        size: int,
        deflate: str,
        progress: Callable[[int], object] | None = None,
    ) -> bytearray:
        """Rebuild ``size`` bytes from a contents delta made with ``deflate``
        (UnsupportedDeltaError if this codec has another); ``progress`` is
        told the bytes rebuilt as they are."""
        ...
