"""The reference cache port: reference bytes by SHA-256."""

from __future__ import annotations

from typing import Protocol


class CachePort(Protocol):
    """Content-addressed store of reference bytes.

    ``get`` returns bytes whose SHA-256 is ``sha256`` or None: an entry that
    fails its check is evicted, never returned."""

    def get(self, sha256: str) -> bytes | None: ...

    def put(self, sha256: str, data: bytes) -> None: ...

    def evict(self, sha256: str) -> None: ...

    def clear(self) -> None: ...
