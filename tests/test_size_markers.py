"""Size markers: listings and stats give deltas' true sizes without a HEAD
per delta, never a wrong size, on both backends."""

from __future__ import annotations

import os
from typing import Any

from client_backends import backend  # noqa: F401 - the fixture
from helpers import mutate

from deltaglider import DeltaGliderClient
from deltaglider.core import size_markers
from deltaglider.core.size_markers import MARKER_PREFIX
from deltaglider.ports.storage import ObjectHead

BASE = os.urandom(30_000)
FILES = {f"rel/v{i}.zip": mutate(BASE, seed=i, edits=4)[: 29_000 + i] for i in range(6)}


class HeadCounter:
    """Counts the HEADs of deltas a client's storage makes."""

    def __init__(self, client: DeltaGliderClient) -> None:
        self.storage = client.service.storage
        self.heads = 0
        original = self.storage.head

        def head(bucket: str, key: str) -> ObjectHead | None:
            if key.endswith(".delta"):
                self.heads += 1
            return original(bucket, key)

        self.storage.head = head  # type: ignore[method-assign]


def markers(client: DeltaGliderClient, bucket: str) -> list[str]:
    return sorted(o.key for o in client.service.storage.iter_objects(bucket, MARKER_PREFIX))


def sizes(client: DeltaGliderClient, bucket: str, **listing: Any) -> dict[str, int]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, **listing)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


def test_marker_keys_round_trip() -> None:
    key = size_markers.marker_key("a/b!c.zip.delta", '"0cc175b9c0f1b6a831c399e269772661"', 42)
    assert key == ".deltaglider/sizes/a/b!c.zip.delta!0cc175b9c0f1b6a831c399e269772661!42"
    assert size_markers.parse(key) == ("a/b!c.zip.delta", "0cc175b9c0f1b6a831c399e269772661", 42)
    for junk in (
        ".deltaglider/sizes/a.zip.delta!etag!x",
        ".deltaglider/sizes/a.zip!etag!4",
        ".deltaglider/stats/a.zip.delta!etag!4",
        ".deltaglider/sizes/a.zip.delta",
    ):
        assert size_markers.parse(junk) is None


def test_listings_and_stats_need_no_head_per_delta(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for key, data in FILES.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    assert len(markers(client, bucket)) == len(FILES)  # one per delta
    fresh = DeltaGliderClient(client.service, raw_client=client._boto3)
    counter = HeadCounter(fresh)
    expected = {key: len(data) for key, data in FILES.items()}
    assert sizes(fresh, bucket) == expected
    assert sizes(fresh, bucket, Prefix="rel/", Delimiter="/") == expected
    assert sizes(fresh, bucket, Prefix="rel/v", MaxKeys=2) == expected
    stats = fresh.get_bucket_stats(bucket)  # quick: exact now
    assert (stats.total_size, stats.estimated_objects) == (sum(expected.values()), 0)
    assert counter.heads == 0


def test_a_marker_is_never_trusted_past_its_etag(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for key, data in list(FILES.items())[:3]:
        client.put_object(Bucket=bucket, Key=key, Body=data)
    storage = client.service.storage
    forged = size_markers.marker_key("rel/v1.zip.delta", "not-its-etag", 7)
    storage.put(bucket, forged, b"", {})
    # Rewrite v2: its old marker is orphaned, and its new one is dropped
    # (as if the writer stopped between its two PUTs): a HEAD answers.
    client.put_object(Bucket=bucket, Key="rel/v2.zip", Body=FILES["rel/v2.zip"][:20_000])
    head = storage.head(bucket, "rel/v2.zip.delta")
    assert head is not None
    size_markers.remove(storage, client.service.logger, bucket, "rel/v2.zip.delta", head.etag)
    fresh = DeltaGliderClient(client.service, raw_client=client._boto3)
    counter = HeadCounter(fresh)
    assert sizes(fresh, bucket) == {
        "rel/v0.zip": len(FILES["rel/v0.zip"]),
        "rel/v1.zip": len(FILES["rel/v1.zip"]),
        "rel/v2.zip": 20_000,
    }
    assert counter.heads == 1  # v2 alone
    orphans = client.purge_temp_files(bucket)  # purge: expired copies, orphans, ...
    assert forged in orphans
    assert len([k for k in orphans if k.startswith(MARKER_PREFIX)]) == 2  # forged, v2's old
    assert len(markers(client, bucket)) == 2  # v0's and v1's


def test_deletes_take_their_markers_with_them(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for key, data in list(FILES.items())[:3]:
        client.put_object(Bucket=bucket, Key=key, Body=data)
    client.delete_object(Bucket=bucket, Key="rel/v1.zip")
    left = [size_markers.parse(m) for m in markers(client, bucket)]
    assert sorted(p[0] for p in left if p is not None) == ["rel/v0.zip.delta", "rel/v2.zip.delta"]
    client.delete_objects_recursive(Bucket=bucket, Prefix="rel/")
    assert markers(client, bucket) == []


def test_a_key_too_long_for_a_marker_still_stores_and_lists(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    """A marker's name is longer than its delta's: where the store cannot
    hold it, the put still succeeds and the listing HEADs that delta."""
    client, bucket = backend
    # A local store's names hold 248 bytes, SeaweedFS's 255: the delta's
    # name fits, its marker's (39 bytes more) does not.
    name = "d/" + "n" * 226 + ".zip"
    client.put_object(Bucket=bucket, Key=name, Body=FILES["rel/v0.zip"])
    client.put_object(Bucket=bucket, Key="d/short.zip", Body=FILES["rel/v1.zip"])
    assert [size_markers.parse(m)[0] for m in markers(client, bucket)] == ["d/short.zip.delta"]
    assert sizes(client, bucket) == {
        name: len(FILES["rel/v0.zip"]),
        "d/short.zip": len(FILES["rel/v1.zip"]),
    }
