"""Hashing, clock, logging and metrics adapters."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from deltaglider.ports.support import RunningHash


class Sha256Hasher:
    """hashlib's SHA-256 (releases the GIL on large buffers)."""

    def sha256(self, data: bytes | bytearray | memoryview) -> str:
        """Hex SHA-256 of ``data``."""
        return hashlib.sha256(data).hexdigest()

    def sha256_chunks(self, chunks: Iterable[bytes]) -> str:
        """Hex SHA-256 of the concatenated chunks."""
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    def running(self) -> RunningHash:
        """A fresh SHA-256 to feed with ``update``."""
        return hashlib.sha256()


class UtcClock:
    """The system clock in UTC."""

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        return datetime.now(UTC)


class StdLogger:
    """The ``deltaglider`` logger of the standard library."""

    def __init__(self, name: str = "deltaglider") -> None:
        self._log = logging.getLogger(name)

    @staticmethod
    def _line(message: str, fields: dict[str, object]) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{message} {extra}" if extra else message

    def debug(self, message: str, **fields: object) -> None:
        """Log at DEBUG."""
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug(self._line(message, fields))

    def info(self, message: str, **fields: object) -> None:
        """Log at INFO."""
        if self._log.isEnabledFor(logging.INFO):
            self._log.info(self._line(message, fields))

    def warning(self, message: str, **fields: object) -> None:
        """Log at WARNING."""
        self._log.warning(self._line(message, fields))


class NoopMetrics:
    """Metrics that go nowhere."""

    def increment(self, name: str, value: int = 1) -> None:
        """Discard a counter."""

    def timing(self, name: str, seconds: float) -> None:
        """Discard a timing."""


class LoggingMetrics:
    """Metrics written to the ``deltaglider.metrics`` logger at DEBUG."""

    def __init__(self) -> None:
        self._log = logging.getLogger("deltaglider.metrics")

    def increment(self, name: str, value: int = 1) -> None:
        """Log a counter."""
        self._log.debug("%s +%d", name, value)

    def timing(self, name: str, seconds: float) -> None:
        """Log a timing."""
        self._log.debug("%s %.3fs", name, seconds)
