"""The SDK's result models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from deltaglider.core.models import BucketStats

__all__ = ["BucketStats", "CompressionEstimate", "ObjectInfo", "UploadSummary"]

_MB = 1024 * 1024


@dataclass
class UploadSummary:
    """What an upload stored."""

    operation: str
    """``"PUT"`` (stored as is) or ``"PUT_DELTA"``."""
    bucket: str
    key: str
    original_size: int
    stored_size: int
    is_delta: bool
    delta_ratio: float = 0.0

    @property
    def original_size_mb(self) -> float:
        """The file's size in MiB."""
        return self.original_size / _MB

    @property
    def stored_size_mb(self) -> float:
        """The stored size in MiB."""
        return self.stored_size / _MB

    @property
    def savings_percent(self) -> float:
        """Percentage of the file's size not stored."""
        if self.original_size == 0:
            return 0.0
        return 100.0 * (1 - self.stored_size / self.original_size)


class _ReadsAsDict:
    """``result["name"]`` reads a field, as the results read when they were
    dicts; ``dict(result)`` and ``result.keys()`` work too."""

    def __getitem__(self, name: str) -> Any:
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def keys(self) -> list[str]:
        """The field names."""
        return [f.name for f in fields(self)]  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.keys()

    def get(self, name: str, default: Any = None) -> Any:
        """A field's value, or ``default``."""
        return getattr(self, name) if name in self.keys() else default


@dataclass
class CompressionEstimate(_ReadsAsDict):
    """What uploading a file would store, found by encoding it against the
    folder's reference (6.2.0's fields, then deltaglider's)."""

    original_size: int
    estimated_compressed_size: int
    estimated_ratio: float
    """The share of the file's bytes not stored (0.99: 99 % saved), as
    6.2.0 and ``BucketStats.average_compression_ratio`` count it."""
    confidence: float
    """1.0: the delta was really encoded (nothing is sampled or guessed)."""
    recommended_reference: str | None = None
    should_use_delta: bool = True
    """Stored through its folder's reference: as a delta, or (the folder's
    first file) as the reference itself."""
    key: str = ""
    stored_as: str = "direct"
    """``"delta"``, ``"reference"`` (the folder's first file) or ``"direct"``."""

    @property
    def estimated_stored_size(self) -> int:
        """The stored bytes (the name of deltaglider's first releases)."""
        return self.estimated_compressed_size

    @property
    def savings_percent(self) -> float:
        """Percentage of the file's size not stored."""
        return 100.0 * self.estimated_ratio

    def keys(self) -> list[str]:
        return [*super().keys(), "estimated_stored_size", "savings_percent"]


@dataclass
class ObjectInfo(_ReadsAsDict):
    """How an object is stored (6.2.0's fields, then deltaglider's)."""

    key: str
    size: int
    """The file's size (6.2.0: the stored size; see ``compressed_size``)."""
    last_modified: datetime
    etag: str | None = None
    storage_class: str = "STANDARD"
    original_size: int | None = None
    compressed_size: int | None = None
    compression_ratio: float | None = None
    """The share of the file's bytes not stored (0.95: 95 % saved)."""
    is_delta: bool = False
    reference_key: str | None = None
    delta_chain_length: int = 0
    """Always 0 or 1: every delta is against its folder's reference."""
    stored_key: str = ""
    sha256: str | None = None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def stored_size(self) -> int | None:
        """The stored bytes (the name of deltaglider's first releases)."""
        return self.compressed_size

    def keys(self) -> list[str]:
        return [*super().keys(), "stored_size"]
