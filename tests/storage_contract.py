"""Behaviour every StoragePort adapter must have.  A test module subclasses
:class:`StorageContract` and provides a ``store`` fixture with a bucket
named :data:`BUCKET` already created."""

from __future__ import annotations

import io
import os
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deltaglider.core.errors import (
    BucketNotFoundError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from deltaglider.ports.storage import StoragePort

BUCKET = "contract-bucket"


class StorageContract:
    BYTE_ORDER = True
    """Whether the store lists in S3's UTF-8 byte order.  SeaweedFS lists in
    folder-tree order (``p/b/1`` before ``p/b.txt``): complete, but not
    sorted; the engine must not rely on the store's order."""

    def test_put_head_open_round_trip(self, store: StoragePort) -> None:
        data = random.Random(1).randbytes(3 << 20)
        etag = store.put(
            BUCKET,
            "dir/a b/ünï.zip",
            data,
            {"dg-file-sha256": "x", "User-Thing": "v"},
            content_type="application/zip",
        )
        head = store.head(BUCKET, "dir/a b/ünï.zip")
        assert head is not None
        assert (head.size, head.etag, head.content_type) == (len(data), etag, "application/zip")
        assert head.metadata == {"dg-file-sha256": "x", "user-thing": "v"}
        assert head.last_modified.tzinfo is not None
        assert abs(head.last_modified - datetime.now(UTC)) < timedelta(minutes=5)
        got_head, stream = store.open(BUCKET, "dir/a b/ünï.zip")
        with stream:
            assert stream.read() == data
        assert got_head.etag == etag

    def test_streamed_body_and_empty_object(self, store: StoragePort) -> None:
        store.put(BUCKET, "stream.bin", io.BytesIO(b"x" * 100_000), {})
        store.put(BUCKET, "empty", b"", {})
        _, stream = store.open(BUCKET, "stream.bin")
        with stream:
            assert stream.read() == b"x" * 100_000
        head = store.head(BUCKET, "empty")
        assert head is not None
        assert head.size == 0

    def test_overwrite_replaces_data_and_metadata(self, store: StoragePort) -> None:
        store.put(BUCKET, "k", b"one", {"a": "1"})
        store.put(BUCKET, "k", b"two!", {"b": "2"})
        head = store.head(BUCKET, "k")
        assert head is not None
        assert (head.size, head.metadata) == (4, {"b": "2"})

    def test_missing_objects_and_buckets(self, store: StoragePort) -> None:
        assert store.head(BUCKET, "nope") is None
        with pytest.raises(ObjectNotFoundError):
            store.open(BUCKET, "nope")
        store.delete(BUCKET, "nope")  # not an error
        with pytest.raises(BucketNotFoundError):
            store.put("no-such-bucket", "k", b"", {})
        assert not store.bucket_exists("no-such-bucket")

    def test_conditional_create(self, store: StoragePort) -> None:
        store.put(BUCKET, "ref/reference.bin", b"first", {}, if_none_match=True)
        with pytest.raises(PreconditionFailedError):
            store.put(BUCKET, "ref/reference.bin", b"second", {}, if_none_match=True)
        _, stream = store.open(BUCKET, "ref/reference.bin")
        with stream:
            assert stream.read() == b"first"

    def test_conditional_create_from_a_stream(self, store: StoragePort, tmp_path: Path) -> None:
        # Large enough for several parts where the store uploads in parts.
        data = os.urandom(11 << 20)
        source = tmp_path / "reference.bin"
        source.write_bytes(data)
        with open(source, "rb") as body:
            store.put(BUCKET, "big/reference.bin", body, {"w": "1"}, if_none_match=True)
        with open(source, "rb") as body, pytest.raises(PreconditionFailedError):
            store.put(BUCKET, "big/reference.bin", body, {"w": "2"}, if_none_match=True)
        head, stream = store.open(BUCKET, "big/reference.bin")
        with stream:
            assert stream.read() == data
        assert head.metadata == {"w": "1"}

    def test_object_tags(self, store: StoragePort) -> None:
        store.put(BUCKET, "t/a.zip.delta", b"delta", {"m": "1"}, tags={"role": "file", "k": "v w"})
        assert store.get_tags(BUCKET, "t/a.zip.delta") == {"role": "file", "k": "v w"}
        store.put_tags(BUCKET, "t/a.zip.delta", {"only": "this"})
        assert store.get_tags(BUCKET, "t/a.zip.delta") == {"only": "this"}
        head = store.head(BUCKET, "t/a.zip.delta")
        assert head is not None
        assert head.metadata == {"m": "1"}  # metadata untouched by tagging
        store.put(BUCKET, "t/plain", b"x", {})
        assert store.get_tags(BUCKET, "t/plain") == {}
        with pytest.raises(ObjectNotFoundError):
            store.get_tags(BUCKET, "t/missing")

    def test_conditional_create_race_has_one_winner(self, store: StoragePort) -> None:
        winners: list[int] = []
        barrier = threading.Barrier(8)

        def attempt(i: int) -> None:
            barrier.wait()
            try:
                store.put(
                    BUCKET,
                    "race/reference.bin",
                    f"writer {i}".encode(),
                    {"w": str(i)},
                    if_none_match=True,
                )
                winners.append(i)
            except PreconditionFailedError:
                pass

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        head, stream = store.open(BUCKET, "race/reference.bin")
        with stream:
            assert stream.read() == f"writer {winners[0]}".encode()
        assert head.metadata == {"w": str(winners[0])}

    def test_listing_order_pagination_and_delimiter(self, store: StoragePort) -> None:
        keys = sorted(
            {f"p/{d}/{n}" for d in ("a", "b", "é", "z z") for n in ("1.zip", "2.zip", "10.zip")}
            | {"p/top.zip", "p/b.txt", "other/x"},
            key=lambda k: k.encode(),
        )
        for key in keys:
            store.put(BUCKET, key, key.encode(), {})
        under_p = [k for k in keys if k.startswith("p/")]
        seen, token = [], None
        while True:
            page = store.list_objects(BUCKET, "p/", token=token, max_keys=5)
            assert len(page.objects) <= 5
            seen += [o.key for o in page.objects]
            if page.next_token is None:
                break
            token = page.next_token
        assert sorted(seen) == sorted(under_p)
        assert len(seen) == len(set(seen))
        if self.BYTE_ORDER:
            assert seen == under_p
        listed = store.list_objects(BUCKET, "p/", delimiter="/")
        assert [o.key for o in listed.objects] == ["p/b.txt", "p/top.zip"]
        assert sorted(listed.common_prefixes) == ["p/a/", "p/b/", "p/z z/", "p/é/"]
        small = store.list_objects(BUCKET, "p/", delimiter="/", max_keys=3)
        rest = store.list_objects(BUCKET, "p/", delimiter="/", token=small.next_token)
        assert len(small.objects) + len(small.common_prefixes) == 3
        assert sorted(small.common_prefixes + rest.common_prefixes) == sorted(
            listed.common_prefixes
        )
        assert sorted(o.key for o in small.objects + rest.objects) == ["p/b.txt", "p/top.zip"]
        if self.BYTE_ORDER:
            after = store.list_objects(BUCKET, "p/", start_after="p/b/2.zip")
            assert after.objects[0].key == under_p[under_p.index("p/b/2.zip") + 1]
        assert [o.key for o in store.iter_objects(BUCKET, "p/a/")] == [
            "p/a/1.zip",
            "p/a/10.zip",
            "p/a/2.zip",
        ]

    def test_buckets(self, store: StoragePort) -> None:
        store.create_bucket("second-bucket")
        store.create_bucket("second-bucket")  # idempotent
        assert store.bucket_exists("second-bucket")
        assert "second-bucket" in [b.name for b in store.list_buckets()]
        store.put("second-bucket", "k", b"x", {})
        with pytest.raises(OSError, match="not empty"):
            store.delete_bucket("second-bucket")
        store.delete("second-bucket", "k")
        store.delete_bucket("second-bucket")
        store.delete_bucket("second-bucket")  # idempotent
        assert not store.bucket_exists("second-bucket")

    def test_conditional_reads_and_removals_name_one_version(self, store: StoragePort) -> None:
        first = store.put(BUCKET, "cond/k", b"one", {})
        second = store.put(BUCKET, "cond/k", b"two", {})
        with pytest.raises(PreconditionFailedError):
            store.open(BUCKET, "cond/k", if_match=first)
        _, stream = store.open(BUCKET, "cond/k", if_match=second)
        with stream:
            assert stream.read() == b"two"
        with pytest.raises(PreconditionFailedError):
            store.delete(BUCKET, "cond/k", if_match=first)
        assert store.head(BUCKET, "cond/k") is not None
        store.delete(BUCKET, "cond/k", if_match=second)
        assert store.head(BUCKET, "cond/k") is None
        store.delete(BUCKET, "cond/k", if_match=second)  # already gone: not an error

    def test_copy_keeps_bytes_and_metadata(self, store: StoragePort) -> None:
        store.put(BUCKET, "copy/src", b"payload", {"dg-x": "1"}, content_type="text/plain")
        etag = store.copy(BUCKET, "copy/src", "copy/dst")
        head, stream = store.open(BUCKET, "copy/dst")
        with stream:
            assert stream.read() == b"payload"
        assert (head.etag, head.metadata, head.content_type) == (etag, {"dg-x": "1"}, "text/plain")
        with pytest.raises(ObjectNotFoundError):
            store.copy(BUCKET, "copy/missing", "copy/other")

    def test_object_fields_are_kept_and_copied(self, store: StoragePort) -> None:
        fields = {
            "CacheControl": "max-age=60",
            "ContentDisposition": 'attachment; filename="a.zip"',
            "ContentLanguage": "en-GB",
            "Expires": "Wed, 01 Dec 2027 10:00:00 GMT",
        }
        assert set(fields) <= store.object_fields
        store.put(BUCKET, "fields/src", b"payload", {}, fields=fields)
        head = store.head(BUCKET, "fields/src")
        assert head is not None
        assert {k: head.fields.get(k) for k in fields} == fields
        store.copy(BUCKET, "fields/src", "fields/dst")
        copied = store.head(BUCKET, "fields/dst")
        assert copied is not None
        assert {k: copied.fields.get(k) for k in fields} == fields
        plain = store.put(BUCKET, "fields/plain", b"x", {})
        assert plain
        bare = store.head(BUCKET, "fields/plain")
        assert bare is not None
        assert "CacheControl" not in bare.fields
