"""Bucket statistics: the three modes, and the stats cache that spares
HEADs without ever serving a stale size, for deltas without size markers
(written by another tool); and size markers, which spare them all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from counting_storage import CountingStorage
from helpers import drop_size_markers, make_service, mutate

from deltaglider.core.size_cache import SIZE_CACHE_KEY

BUCKET = "stats"
BASE = os.urandom(100_000)
VERSIONS = {f"a/v{i}.zip": mutate(BASE, seed=i, edits=5) for i in range(4)}
VERSIONS.update({f"b/v{i}.zip": mutate(BASE[:50_000], seed=10 + i, edits=5) for i in range(3)})


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Any, CountingStorage]:
    storage = CountingStorage(tmp_path / "store")
    service = make_service(storage)
    service.create_bucket(BUCKET)
    for key, data in VERSIONS.items():
        service.put_bytes(BUCKET, key, data)
    service.put_bytes(BUCKET, "readme.txt", b"plain")
    drop_size_markers(storage, BUCKET)  # as if 6.2.0 had written the deltas
    storage.delta_heads = 0
    return service, storage


def test_size_markers_make_every_mode_exact_without_heads(tmp_path: Path) -> None:
    storage = CountingStorage(tmp_path / "store")
    service = make_service(storage)
    service.create_bucket(BUCKET)
    for key, data in VERSIONS.items():
        service.put_bytes(BUCKET, key, data)
    storage.delta_heads = 0
    exact = sum(len(d) for d in VERSIONS.values())
    for mode in ("quick", "sampled", "detailed"):
        stats = service.bucket_stats(BUCKET, mode=mode, use_cache=False)
        assert (stats.total_size, stats.estimated_objects) == (exact, 0), mode
    assert storage.delta_heads == 0


def test_detailed_stats_are_exact(filled: tuple[Any, CountingStorage]) -> None:
    service, storage = filled
    stats = service.bucket_stats(BUCKET, mode="detailed", use_cache=False)
    assert stats.total_size == sum(len(d) for d in VERSIONS.values()) + 5
    assert stats.object_count == len(VERSIONS) + 1
    assert stats.delta_objects == len(VERSIONS)
    assert stats.estimated_objects == 0
    assert stats.detailed
    assert storage.delta_heads == len(VERSIONS)
    stored = sum(o.size for o in storage.iter_objects(BUCKET))
    assert stats.compressed_size == stored
    assert stats.space_saved == stats.total_size - stored


def test_sampled_stats_read_one_delta_per_folder(filled: tuple[Any, CountingStorage]) -> None:
    service, storage = filled
    stats = service.bucket_stats(BUCKET, mode="sampled", use_cache=False)
    assert storage.delta_heads == 2  # folders a/ and b/
    assert stats.estimated_objects == len(VERSIONS) - 2
    exact = sum(len(d) for d in VERSIONS.values()) + 5
    assert abs(stats.total_size - exact) < exact * 0.01  # versions of one file: close
    quick = service.bucket_stats(BUCKET, mode="quick")
    assert storage.delta_heads == 2  # quick reads none
    assert quick.estimated_objects == len(VERSIONS)
    assert not quick.detailed


def test_cache_spares_heads_and_never_serves_a_stale_size(
    filled: tuple[Any, CountingStorage],
) -> None:
    service, storage = filled
    service.bucket_stats(BUCKET, mode="detailed")
    assert storage.head(BUCKET, SIZE_CACHE_KEY) is not None
    storage.delta_heads = 0
    again = service.bucket_stats(BUCKET, mode="detailed")
    assert storage.delta_heads == 0
    assert again.estimated_objects == 0
    # A rewritten delta (new ETag) is read again; a deleted one is dropped.
    bigger = mutate(BASE, seed=99, edits=5) + b"x" * 1000
    service.put_bytes(BUCKET, "a/v1.zip", bigger)
    service.delete(BUCKET, "b/v2.zip")
    drop_size_markers(storage, BUCKET)
    storage.delta_heads = 0
    fresh = service.bucket_stats(BUCKET, mode="detailed")
    assert storage.delta_heads == 1
    expected = {**VERSIONS, "a/v1.zip": bigger}
    del expected["b/v2.zip"]
    assert fresh.total_size == sum(len(d) for d in expected.values()) + 5


def test_a_damaged_cache_costs_heads_not_answers(filled: tuple[Any, CountingStorage]) -> None:
    service, storage = filled
    storage.put(BUCKET, SIZE_CACHE_KEY, b"{not json", {})
    stats = service.bucket_stats(BUCKET, mode="detailed")
    assert stats.total_size == sum(len(d) for d in VERSIONS.values()) + 5
    assert storage.delta_heads == len(VERSIONS)


def test_unknown_mode_is_refused(filled: tuple[Any, CountingStorage]) -> None:
    service, _ = filled
    with pytest.raises(ValueError, match="unknown stats mode 'fast'"):
        service.bucket_stats(BUCKET, mode="fast")


def test_a_bucket_with_only_control_objects_can_be_deleted(
    filled: tuple[Any, CountingStorage],
) -> None:
    service, storage = filled
    service.bucket_stats(BUCKET, mode="detailed")
    for key in [*VERSIONS, "readme.txt"]:
        service.delete(BUCKET, key)
    service.delete_bucket(BUCKET)
    assert not storage.bucket_exists(BUCKET)
