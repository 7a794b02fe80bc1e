"""What a listing needs to know of its deltas beyond the listing itself.

A listing gives each delta's stored size; its file's own size is in the
delta's metadata, one HEAD each.  HEADs run in parallel and are remembered
by ETag.  A plain listing (sizes, no metadata) of a page holding at least
:data:`SIZE_CACHE_AT` deltas of unknown size first reads the bucket's size
cache (the one ``stats`` keeps, see :mod:`deltaglider.core.size_cache`):
one GET instead of hundreds of HEADs.  Entries are matched by ETag, so a
rewritten delta is HEADed again, never given a stale size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from deltaglider.core.listing import LogicalEntry
from deltaglider.core.models import StoredObject
from deltaglider.core.service import DeltaService
from deltaglider.core.size_cache import DeltaSizeCache

HEAD_THREADS = 16
REMEMBERED_HEADS = 8192
# Below this, HEADs cost less than reading a bucket-wide cache that may be
# large: a small listing never touches it.
SIZE_CACHE_AT = 64


class DeltaDescriptions:
    """Deltas' metadata and file sizes for listings, for one client (safe
    to use from many threads)."""

    def __init__(self, service: DeltaService) -> None:
        self._service = service
        self._heads: OrderedDict[tuple[str, str, str], StoredObject] = OrderedDict()
        self._size_caches: dict[str, DeltaSizeCache] = {}
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    def describe(self, bucket: str, deltas: list[LogicalEntry]) -> dict[str, StoredObject]:
        """Each delta's metadata by logical key (a delta deleted since it
        was listed is left out)."""
        found, missing = self._remembered(bucket, deltas)
        if not missing:
            return found
        with ThreadPoolExecutor(max_workers=min(HEAD_THREADS, len(missing))) as pool:
            results = list(pool.map(lambda e: self._service.describe(bucket, e), missing))
        with self._lock:
            for entry, stored in zip(missing, results, strict=True):
                if stored is None:
                    continue
                found[entry.key] = stored
                self._heads[(bucket, entry.physical_key, entry.etag)] = stored
                while len(self._heads) > REMEMBERED_HEADS:
                    self._heads.popitem(last=False)
        return found

    def sizes(self, bucket: str, deltas: list[LogicalEntry]) -> dict[str, int]:
        """Each delta's file size by logical key: from its size marker (read
        with the listing), what this client remembers, the bucket's size
        cache (for many deltas), then HEADs; sizes read by HEAD are added to
        a cache in use."""
        marked = {e.key: e.file_size for e in deltas if e.file_size is not None}
        remembered, unknown = self._remembered(bucket, [e for e in deltas if e.file_size is None])
        sizes = {**marked, **{key: stored.size for key, stored in remembered.items()}}
        with self._lock:
            cache = self._size_caches.get(bucket)
        if cache is None and len(unknown) >= SIZE_CACHE_AT:
            cache = self._size_cache(bucket)
        if cache is not None:
            with self._lock:
                for entry in unknown:
                    known = cache.known(entry.physical_key, entry.etag)
                    if known is not None:
                        sizes[entry.key] = known
            unknown = [entry for entry in unknown if entry.key not in sizes]
        described = self.describe(bucket, unknown)
        with self._lock:
            for entry in unknown:
                stored = described.get(entry.key)
                if stored is None:
                    continue
                sizes[entry.key] = stored.size
                if cache is not None and stored.is_delta:
                    cache.record(entry.physical_key, entry.etag, stored.size)
        return sizes

    def plain_names(self, bucket: str, deltas: list[LogicalEntry]) -> dict[str, str]:
        """Listed ``.delta`` objects that another tool wrote (no deltaglider
        metadata), as HEADs have shown them: logical key -> their own name."""
        found, _ = self._remembered(bucket, deltas)
        return {key: stored.key for key, stored in found.items() if stored.key != key}

    def save_sizes(self) -> None:
        """Write the sizes read by HEAD back to the size caches in use."""
        with self._lock:
            caches = list(self._size_caches.values())
        for cache in caches:
            with self._lock:
                cache.save()

    def forget(self) -> None:
        """Drop what was remembered (size caches are read again when next
        needed)."""
        with self._lock:
            self._heads.clear()
            self._size_caches.clear()

    def _remembered(
        self, bucket: str, deltas: list[LogicalEntry]
    ) -> tuple[dict[str, StoredObject], list[LogicalEntry]]:
        """What earlier HEADs told of these deltas, and the deltas they did not."""
        found: dict[str, StoredObject] = {}
        missing: list[LogicalEntry] = []
        with self._lock:
            for entry in deltas:
                remembered = self._heads.get((bucket, entry.physical_key, entry.etag))
                if remembered is not None:
                    found[entry.key] = remembered
                else:
                    missing.append(entry)
        return found, missing

    def _size_cache(self, bucket: str) -> DeltaSizeCache:
        with self._loading:  # one GET per bucket, whatever the threads
            with self._lock:
                cache = self._size_caches.get(bucket)
            if cache is None:
                cache = self._service.delta_size_cache(bucket)
                with self._lock:
                    self._size_caches[bucket] = cache
            return cache
