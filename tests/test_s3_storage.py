"""The S3 store: the storage contract on moto and on a real SeaweedFS."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from seaweed import s3_client
from storage_contract import BUCKET, StorageContract

from deltaglider.adapters.s3_storage import S3Storage

CONTRACT_BUCKETS = (BUCKET, "second-bucket")


def empty_buckets(store: S3Storage) -> None:
    for bucket in CONTRACT_BUCKETS:
        if store.bucket_exists(bucket):
            for obj in list(store.iter_objects(bucket)):
                store.delete(bucket, obj.key)
            store.delete_bucket(bucket)


# Multipart uploads from 1 MiB, in 5 MiB parts (S3's smallest), so the
# contract's larger bodies take the multipart paths.
SMALL_PARTS = {"multipart_threshold": 1 << 20, "part_size": 5 << 20}


class TestS3StorageOnMoto(StorageContract):
    @pytest.fixture
    def store(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Storage]:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        with mock_aws():
            storage = S3Storage(boto3.client("s3", region_name="us-east-1"), **SMALL_PARTS)
            storage.create_bucket(BUCKET)
            yield storage

    def test_conditional_create_race_has_one_winner(self, store: S3Storage) -> None:
        pytest.skip(
            "moto checks If-None-Match and then writes, without a lock: racing threads can "
            "both win there (seen in CI). The race runs on SeaweedFS and the local store."
        )


class TestS3StorageOnSeaweedFS(StorageContract):
    BYTE_ORDER = False

    @pytest.fixture
    def store(self, seaweed_endpoint: str) -> Iterator[S3Storage]:
        storage = S3Storage(s3_client(seaweed_endpoint), **SMALL_PARTS)
        empty_buckets(storage)
        storage.create_bucket(BUCKET)
        yield storage
        empty_buckets(storage)


def test_access_denied_is_a_permission_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    store = S3Storage(
        boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
    )

    def deny(**_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "HeadObject")

    monkeypatch.setattr(store.client, "head_object", deny)
    monkeypatch.setattr(store, "bucket_exists", lambda bucket: True)  # no network
    with pytest.raises(PermissionError, match="access denied"):
        store.head("bkt", "k")


def test_an_empty_body_leaves_the_connection_usable(seaweed_endpoint: str) -> None:
    # SeaweedFS hangs the next request on a connection that sent an empty
    # PUT with "Expect: 100-continue"; the adapter does not send it.
    storage = S3Storage(s3_client(seaweed_endpoint))
    empty_buckets(storage)
    storage.create_bucket(BUCKET)
    for i in range(3):
        storage.put(BUCKET, f"empty-{i}", b"", {})
        storage.put(BUCKET, f"full-{i}", b"x", {})
    assert sorted(o.key for o in storage.iter_objects(BUCKET)) == [
        "empty-0", "empty-1", "empty-2", "full-0", "full-1", "full-2",
    ]  # fmt: skip
    empty_buckets(storage)
