"""Every boto3 argument is honoured or refused, never dropped: object
fields on every object a put writes, create-only puts, refusals that
change nothing, copies, deletes' counts and 6.2.0's response fields."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from client_backends import backend  # noqa: F401 - the fixture
from helpers import make_service, mutate
from moto import mock_aws

from deltaglider import DeltaGliderClient
from deltaglider.adapters.s3_storage import S3Storage

V1 = os.urandom(120_000)
V2 = mutate(V1, seed=1, edits=10)
HEADERS = {
    "CacheControl": "max-age=600",
    "ContentDisposition": 'attachment; filename="app.zip"',
    "ContentLanguage": "de",
    "Expires": datetime(2027, 12, 1, 10, 0, tzinfo=UTC),
}


def physical(client: DeltaGliderClient, bucket: str) -> dict[str, Any]:
    """Each stored object's head, by physical key."""
    storage = client.service.storage
    return {o.key: storage.head(bucket, o.key) for o in storage.iter_objects(bucket)}


def test_headers_go_on_every_object_a_put_writes_and_come_back(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    first = client.put_object(Bucket=bucket, Key="r/app-1.zip", Body=V1, **HEADERS)
    assert first["DeltaGlider"]["ReferenceCreated"]
    second = client.put_object(Bucket=bucket, Key="r/app-2.zip", Body=V2, CacheControl="no-store")
    assert second["DeltaGlider"]["IsDelta"]
    stored = physical(client, bucket)
    assert stored["r/reference.bin"].fields["CacheControl"] == "max-age=600"
    assert stored["r/app-1.zip.delta"].fields["ContentLanguage"] == "de"
    assert stored["r/app-2.zip.delta"].fields == {"CacheControl": "no-store"}
    head = client.head_object(Bucket=bucket, Key="r/app-1.zip")
    got = client.get_object(Bucket=bucket, Key="r/app-1.zip")
    for response in (head, got):
        assert {k: response[k] for k in HEADERS} == HEADERS
        sent = response["ResponseMetadata"]["HTTPHeaders"]
        assert sent["cache-control"] == "max-age=600"
        assert sent["expires"] == "Wed, 01 Dec 2027 10:00:00 GMT"
    assert got["Body"].read() == V1


def test_unknown_arguments_fail_as_boto3s_do(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    client, bucket = backend
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Colour"'):
        client.put_object(Bucket=bucket, Key="a.zip", Body=V1, Colour="red")
    with pytest.raises(ParamValidationError):
        client.list_objects_v2(Bucket=bucket, Unordered=True)
    with pytest.raises(ParamValidationError, match="Invalid type for parameter MaxKeys"):
        client.list_objects_v2(Bucket=bucket, MaxKeys="10")
    with pytest.raises(ValueError, match="Invalid extra_args key 'Colour'"):
        client.upload_fileobj(iter_bytes(V1), bucket, "a.zip", ExtraArgs={"Colour": "red"})
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def iter_bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


@pytest.mark.parametrize(
    ("method", "arguments"),
    [
        ("put_object", {"Key": "a.zip", "Body": V1, "SSECustomerAlgorithm": "AES256"}),
        ("put_object", {"Key": "a.zip", "Body": V1, "ObjectLockMode": "GOVERNANCE"}),
        ("put_object", {"Key": "a.zip", "Body": V1, "IfMatch": '"abc"'}),
        ("put_object", {"Key": "a.zip", "Body": V1, "ChecksumAlgorithm": "CRC32C"}),
        ("get_object", {"Key": "kept.zip", "VersionId": "3"}),
        ("head_object", {"Key": "kept.zip", "PartNumber": 1}),
        ("delete_object", {"Key": "kept.zip", "MFA": "x 123"}),
        ("delete_objects", {"Delete": {"Objects": [{"Key": "kept.zip"}]}, "MFA": "x 123"}),
        ("copy_object", {"Key": "b.zip", "CopySource": "BUCKET/kept.zip", "SSECustomerKey": "k"}),
        ("list_objects_v2", {"ExpectedBucketOwner": "123456789012"}),
    ],
)
def test_unimplemented_arguments_are_refused_and_change_nothing(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
    method: str,
    arguments: dict[str, Any],
) -> None:
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="kept.zip", Body=V1)
    before = sorted(physical(client, bucket))
    if "CopySource" in arguments:
        arguments = {**arguments, "CopySource": f"{bucket}/kept.zip"}
    with pytest.raises(ClientError) as caught:
        getattr(client, method)(Bucket=bucket, **arguments)
    error = caught.value.response
    assert error["Error"]["Code"] == "NotImplemented"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    refused = [name for name in arguments if name not in ("Key", "Body", "Delete", "CopySource")]
    assert refused[0] in error["Error"]["Message"]
    assert sorted(physical(client, bucket)) == before
    assert client.get_object(Bucket=bucket, Key="kept.zip")["Body"].read() == V1


def test_defaults_are_accepted_where_nothing_else_is_possible(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="s.zip", Body=V1, StorageClass="STANDARD")
    got = client.get_object(Bucket=bucket, Key="s.zip", ChecksumMode="ENABLED")
    assert got["Body"].read() == V1


def test_a_local_store_refuses_encryption_naming_itself(tmp_path: Any) -> None:
    from deltaglider import create_client

    client = create_client(endpoint_url=(tmp_path / "store").as_uri())
    client.create_bucket(Bucket="local")
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket="local", Key="a.zip", Body=V1, ServerSideEncryption="aws:kms")
    message = caught.value.response["Error"]["Message"]
    assert "ServerSideEncryption" in message
    assert "local directory" in message
    assert "Contents" not in client.list_objects_v2(Bucket="local")


@pytest.fixture
def aws_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeltaGliderClient]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        raw = boto3.client("s3", region_name="us-east-1")
        storage = S3Storage(raw)
        storage.create_bucket("enc-bucket")
        yield DeltaGliderClient(make_service(storage), raw_client=raw)


def test_encryption_and_storage_class_reach_every_object_on_s3(
    aws_client: DeltaGliderClient,
) -> None:
    """SSE-KMS asked for is what every object holding the file's bytes
    gets: the reference this put creates and the delta."""
    client = aws_client
    extra = {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/releases",
        "StorageClass": "STANDARD_IA",
    }
    put = client.put_object(Bucket="enc-bucket", Key="r/a.zip", Body=V1, **extra)
    assert put["ServerSideEncryption"] == "aws:kms"
    client.upload_fileobj(iter_bytes(V2), "enc-bucket", "r/b.zip", ExtraArgs=extra)
    raw: Any = client._boto3
    for key in ("r/reference.bin", "r/a.zip.delta", "r/b.zip.delta"):
        head = raw.head_object(Bucket="enc-bucket", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"].endswith("alias/releases"), key
        assert head["StorageClass"] == "STANDARD_IA", key
    head = client.head_object(Bucket="enc-bucket", Key="r/b.zip")
    assert (head["ServerSideEncryption"], head["StorageClass"]) == ("aws:kms", "STANDARD_IA")
    sent = head["ResponseMetadata"]["HTTPHeaders"]
    assert sent["x-amz-server-side-encryption"] == "aws:kms"
    # Copies the engine makes hold the file's bytes too: a presigned GET's
    # rebuilt copy, and a retired reference.
    temp = client.rehydrate_for_download("enc-bucket", "r/b.zip")
    client.service.storage.copy("enc-bucket", "r/reference.bin", "retired-copy")
    for key in (temp, "retired-copy"):
        head = raw.head_object(Bucket="enc-bucket", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"].endswith("alias/releases"), key


def test_copies_keep_or_replace_fields_and_tags(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(
        Bucket=bucket, Key="c/a.zip", Body=V1, CacheControl="max-age=1", Tagging="team=x"
    )
    client.copy_object(Bucket=bucket, Key="c/kept.zip", CopySource=f"{bucket}/c/a.zip")
    kept = client.head_object(Bucket=bucket, Key="c/kept.zip")
    assert kept["CacheControl"] == "max-age=1"
    tags = client.get_object_tagging(Bucket=bucket, Key="c/kept.zip")["TagSet"]
    assert tags == [{"Key": "team", "Value": "x"}]
    client.copy_object(
        Bucket=bucket,
        Key="c/new.zip",
        CopySource={"Bucket": bucket, "Key": "c/a.zip"},
        MetadataDirective="REPLACE",
        CacheControl="no-cache",
        TaggingDirective="REPLACE",
        Tagging="team=y",
    )
    assert client.head_object(Bucket=bucket, Key="c/new.zip")["CacheControl"] == "no-cache"
    tags = client.get_object_tagging(Bucket=bucket, Key="c/new.zip")["TagSet"]
    assert tags == [{"Key": "team", "Value": "y"}]
    with pytest.raises(ClientError) as caught:
        client.copy_object(
            Bucket=bucket,
            Key="c/never.zip",
            CopySource=f"{bucket}/c/a.zip",
            CopySourceIfMatch='"0000"',
        )
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError):
        client.head_object(Bucket=bucket, Key="c/never.zip")


def test_deletes_say_what_they_removed(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="d/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="d/b.zip", Body=V2)
    client.put_object(Bucket=bucket, Key="d/notes.txt", Body=b"n")
    client.put_object(Bucket=bucket, Key="e/only.zip", Body=V1)
    one = client.delete_object(Bucket=bucket, Key="e/only.zip")
    assert one["DeltaGliderInfo"] == {"Type": "delta", "Deleted": True, "ReferenceDeleted": True}
    gone = client.delete_object(Bucket=bucket, Key="e/only.zip")
    assert gone["DeltaGliderInfo"]["Deleted"] is False
    everything = client.delete_objects_recursive(Bucket=bucket, Prefix="d/")
    assert everything["DeletedCount"] == 3
    assert everything["FailedCount"] == 0
    assert everything["DeltaGliderInfo"] == {
        "DeltasDeleted": 2,
        "ReferencesDeleted": 1,
        "DirectDeleted": 1,
        "OtherDeleted": 0,
    }
    assert physical(client, bucket) == {} or all(
        k.startswith(".deltaglider/") for k in physical(client, bucket)
    )
    with pytest.raises(ParamValidationError):
        client.delete_objects_recursive(Bucket=bucket, Prefix="d/", Colour="red")


def test_create_only_puts_on_both_forms(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    """IfNoneMatch="*" refuses a key held in either form, and the refused
    put leaves the stored file as it was."""
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="k/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="k/b.bin", Body=V1)
    for key in ("k/a.zip", "k/b.bin"):
        for delta in (True, False):
            with pytest.raises(ClientError) as caught:
                client.put_object(Bucket=bucket, Key=key, Body=V2, IfNoneMatch="*", delta=delta)
            assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == V1
    made = client.put_object(Bucket=bucket, Key="k/c.zip", Body=V2, IfNoneMatch="*")
    assert made["DeltaGlider"]["IsDelta"]
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=bucket, Key="k/d.zip", Body=V2, IfNoneMatch='"abc"')
    assert caught.value.response["Error"]["Code"] == "NotImplemented"


def test_a_local_store_takes_a_region_but_no_other_bucket_setting(tmp_path: Any) -> None:
    from deltaglider import create_client

    client = create_client(endpoint_url=(tmp_path / "store").as_uri())
    client.create_bucket(
        Bucket="regional", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.head_bucket(Bucket="regional")
    for extra in ({"ObjectLockEnabledForBucket": True}, {"ACL": "public-read"}):
        with pytest.raises(ClientError) as caught:
            client.create_bucket(Bucket="refused", **extra)
        assert caught.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(ClientError):
        client.head_bucket(Bucket="refused")
