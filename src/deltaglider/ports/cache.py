"""The reference cache port: reference bytes by SHA-256."""

from __future__ import annotations

from typing import BinaryIO, Protocol


class CachePort(Protocol):
    """Content-addressed store of reference bytes.

    ``get`` returns bytes whose SHA-256 is ``sha256`` or None: an entry that
    fails its check is evicted, never returned."""

    def get(self, sha256: str) -> bytes | None: ...

    def put(self, sha256: str, data: bytes) -> None: ...

    def open(self, sha256: str) -> BinaryIO | None:
        """A seekable stream of the entry, or None; its bytes are
        authenticated as they are read (an error is raised, never wrong
        bytes returned)."""
        ...

    def put_stream(self, sha256: str, stream: BinaryIO, size: int) -> str:
        """Store ``size`` bytes from ``stream`` without holding them in
        memory; returns the SHA-256 read, keeping the entry only if it
        matches ``sha256``.  Raises CacheUnavailableError if it failed
        after reading from a stream that cannot be rewound."""
        ...

    def evict(self, sha256: str) -> None: ...

    def clear(self) -> None: ...
