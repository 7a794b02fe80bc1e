"""Bucket statistics from a listing, with or without each delta's metadata."""

from __future__ import annotations

from collections.abc import Callable

from deltaglider.core import keys
from deltaglider.core.listing import logical_key
from deltaglider.core.models import BucketStats
from deltaglider.ports.storage import ListedObject, StoragePort


def bucket_stats(
    storage: StoragePort,
    bucket: str,
    logical_size: Callable[[ListedObject], int] | None,
) -> BucketStats:
    """Statistics of ``bucket``, from one listing.

    ``logical_size`` gives a delta's file size (from its metadata); without
    it a delta counts as large as its space's reference, which is what a
    version of the same file usually is."""
    stored = 0
    references: dict[str, int] = {}
    deltas: list[ListedObject] = []
    direct_bytes = direct_count = 0
    for obj in storage.iter_objects(bucket):
        stored += obj.size
        prefix, name = keys.split_key(obj.key)
        if name == keys.REFERENCE_NAME:
            references[prefix] = obj.size
        elif logical_key(obj.key) is None:
            continue
        elif obj.key.endswith(keys.DELTA_SUFFIX):
            deltas.append(obj)
        else:
            direct_bytes += obj.size
            direct_count += 1
    delta_bytes = 0
    for obj in deltas:
        if logical_size is not None:
            delta_bytes += logical_size(obj)
        else:
            delta_bytes += references.get(keys.split_key(obj.key)[0], obj.size)
    total = direct_bytes + delta_bytes
    saved = total - stored
    return BucketStats(
        bucket=bucket,
        object_count=direct_count + len(deltas),
        total_size=total,
        compressed_size=stored,
        space_saved=saved,
        average_compression_ratio=saved / total if total else 0.0,
        delta_objects=len(deltas),
        direct_objects=direct_count,
        detailed=logical_size is not None,
    )
