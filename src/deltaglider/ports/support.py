"""Small ports: hashing, time, logging, metrics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol


class RunningHash(Protocol):
    """A hash fed piece by piece (hashlib's objects are one)."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class HashPort(Protocol):
    """SHA-256 of bytes, of chunks read in turn, or fed as they come."""

    def sha256(self, data: bytes | bytearray | memoryview) -> str:
        """Hex SHA-256 of ``data``."""
        ...

    def sha256_chunks(self, chunks: Iterable[bytes]) -> str:
        """Hex SHA-256 of the concatenated ``chunks``."""
        ...

    def running(self) -> RunningHash:
        """A SHA-256 to feed with ``update``."""
        ...


class ClockPort(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class LoggerPort(Protocol):
    """Structured-enough logging."""

    def debug(self, message: str, **fields: object) -> None: ...

    def info(self, message: str, **fields: object) -> None: ...

    def warning(self, message: str, **fields: object) -> None: ...


class MetricsPort(Protocol):
    """Counters and timings."""

    def increment(self, name: str, value: int = 1) -> None: ...

    def timing(self, name: str, seconds: float) -> None: ...
