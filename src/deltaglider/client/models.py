"""The SDK's result models."""

from __future__ import annotations

from dataclasses import dataclass

from deltaglider.core.models import BucketStats

__all__ = ["BucketStats", "UploadSummary"]

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
