"""The delta codec port."""

from __future__ import annotations

from typing import Protocol


class DeltaTooLargeError(Exception):
    """The delta would exceed the size cap: store the file directly."""


class DeltaHeaderInfo(Protocol):
    """What the engine needs to know of a delta before decoding it."""

    @property
    def external_compression(self) -> tuple[str, str] | None: ...

    @property
    def target_size(self) -> int: ...


class DiffPort(Protocol):
    """Binary deltas: encode against a reference, decode, inspect."""

    def encode(self, reference: bytes, target: bytes, *, max_size: int | None) -> bytes:
        """The delta of ``target``; DeltaTooLargeError when over ``max_size``."""
        ...

    def decode(self, reference: bytes, delta: bytes, *, size: int) -> bytearray:
        """Rebuild ``size`` bytes; raises on a delta that does not fit."""
        ...

    def inspect(self, delta: bytes) -> DeltaHeaderInfo:
        """The delta's headers."""
        ...
