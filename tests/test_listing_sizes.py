"""Listings give files' own sizes.  Deltas without a size marker (written
by another tool; see test_size_markers.py for those with one) cost a HEAD
each, or, for pages of many deltas, a read of the bucket's size cache,
which is never trusted past a changed ETag."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from counting_storage import CountingStorage
from helpers import make_service, mutate

from deltaglider.client import DeltaGliderClient
from deltaglider.client.described import SIZE_CACHE_AT
from deltaglider.core.size_cache import SIZE_CACHE_KEY
from deltaglider.core.size_markers import MARKER_PREFIX

BUCKET = "sizes"
BASE = os.urandom(20_000)
MANY = {f"many/v{i:03d}.zip": mutate(BASE, seed=i, edits=3)[: 19_000 + i] for i in range(70)}
FEW = {f"few/v{i}.zip": mutate(BASE, seed=100 + i, edits=3)[: 18_000 + i] for i in range(3)}


@pytest.fixture
def store(tmp_path: Path) -> tuple[Any, CountingStorage]:
    storage = CountingStorage(tmp_path / "store")
    service = make_service(storage)
    service.create_bucket(BUCKET)
    for key, data in {**MANY, **FEW}.items():
        service.put_bytes(BUCKET, key, data)
    drop_markers(storage)
    storage.delta_heads = 0
    return service, storage


def drop_markers(storage: CountingStorage) -> None:
    """Remove the deltas' size markers, as if another tool had written them."""
    for obj in list(storage.iter_objects(BUCKET, MARKER_PREFIX)):
        storage.delete(BUCKET, obj.key)


def _sizes(client: DeltaGliderClient, prefix: str) -> dict[str, int]:
    response = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: item["Size"] for item in response["Contents"]}


def test_a_listing_of_many_deltas_reads_the_size_cache_instead_of_heads(
    store: tuple[Any, CountingStorage],
) -> None:
    service, storage = store
    deltas = sum(1 for o in storage.iter_objects(BUCKET) if o.key.startswith("many/"))
    assert deltas >= SIZE_CACHE_AT  # one file is the folder's reference
    first = DeltaGliderClient(service)
    expected = {key: len(data) for key, data in MANY.items()}
    assert _sizes(first, "many/") == expected
    assert storage.delta_heads == len(MANY)  # no cache yet: every delta HEADed
    assert storage.head(BUCKET, SIZE_CACHE_KEY) is None  # a listing alone writes nothing
    first.save_delta_sizes()
    assert storage.head(BUCKET, SIZE_CACHE_KEY) is not None

    storage.delta_heads = 0
    assert _sizes(DeltaGliderClient(service), "many/") == expected
    assert storage.delta_heads == 0

    # A rewritten delta has a new ETag: it alone is HEADed, for its new size.
    service.put_bytes(BUCKET, "many/v007.zip", MANY["many/v007.zip"][:15_000])
    drop_markers(storage)
    storage.delta_heads = 0
    assert _sizes(DeltaGliderClient(service), "many/")["many/v007.zip"] == 15_000
    assert storage.delta_heads == 1


def test_a_small_listing_never_reads_the_cache(store: tuple[Any, CountingStorage]) -> None:
    service, storage = store
    seeded = DeltaGliderClient(service)
    _sizes(seeded, "")
    seeded.save_delta_sizes()
    storage.delta_heads = storage.cache_reads = 0
    assert _sizes(DeltaGliderClient(service), "few/") == {k: len(d) for k, d in FEW.items()}
    assert (storage.cache_reads, storage.delta_heads) == (0, len(FEW))


def test_sizes_are_right_whatever_the_cache_holds(store: tuple[Any, CountingStorage]) -> None:
    service, storage = store
    wrong = b'{"format":1,"sizes":{"many/v001.zip.delta":["not-its-etag",5]}}'
    storage.put(BUCKET, SIZE_CACHE_KEY, wrong, {}, content_type="application/json")
    assert _sizes(DeltaGliderClient(service), "many/")["many/v001.zip"] == len(
        MANY["many/v001.zip"]
    )
    storage.put(BUCKET, SIZE_CACHE_KEY, b"{damaged", {}, content_type="application/json")
    client = DeltaGliderClient(service)
    assert _sizes(client, "many/") == {key: len(data) for key, data in MANY.items()}
    client.save_delta_sizes()  # the damaged cache is replaced by a good one
    storage.delta_heads = 0
    assert _sizes(DeltaGliderClient(service), "many/") == {k: len(d) for k, d in MANY.items()}
    assert storage.delta_heads == 0


def test_saving_keeps_entries_outside_the_listing(store: tuple[Any, CountingStorage]) -> None:
    service, storage = store
    service.bucket_stats(BUCKET, mode="detailed")  # every delta of the bucket
    client = DeltaGliderClient(service)
    service.put_bytes(BUCKET, "many/v999.zip", mutate(BASE, seed=999, edits=3)[:12_345])
    drop_markers(storage)
    storage.delta_heads = 0  # count the listing's HEADs, not the put's
    assert _sizes(client, "many/")["many/v999.zip"] == 12_345
    assert storage.delta_heads == 1
    client.save_delta_sizes()
    storage.delta_heads = 0
    assert _sizes(DeltaGliderClient(service), "few/") == {k: len(d) for k, d in FEW.items()}
    stats = service.bucket_stats(BUCKET, mode="detailed")
    assert storage.delta_heads == len(FEW)  # few/ from the listing, not the cache; stats none
    assert stats.total_size == sum(map(len, [*MANY.values(), *FEW.values()])) + 12_345


def test_listings_from_many_threads_agree(store: tuple[Any, CountingStorage]) -> None:
    service, storage = store
    client = DeltaGliderClient(service)
    expected = {key: len(data) for key, data in MANY.items()}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _sizes(client, "many/"), range(8)))
    assert all(result == expected for result in results)
    assert storage.cache_reads <= 1
    client.save_delta_sizes()
    with_metadata = client.list_objects_v2(Bucket=BUCKET, Prefix="many/", FetchMetadata=True)
    item = with_metadata["Contents"][0]
    assert item["Metadata"]["deltaglider-original-size"] == str(item["Size"])
