"""A local store that counts the requests the size cache is meant to save."""

from __future__ import annotations

from typing import Any

from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.size_cache import SIZE_CACHE_KEY
from deltaglider.ports.storage import ObjectHead


class CountingStorage(LocalStorage):
    """Counts HEADs of deltas and reads of the bucket's size cache."""

    delta_heads = 0
    cache_reads = 0

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        if key.endswith(".delta"):
            self.delta_heads += 1
        return super().head(bucket, key)

    def open(self, bucket: str, key: str) -> Any:
        if key == SIZE_CACHE_KEY:
            self.cache_reads += 1
        return super().open(bucket, key)
