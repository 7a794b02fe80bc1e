"""The same calls through ``boto3.client("s3")`` and ``create_client()``
against one SeaweedFS answer alike: conditional requests, object fields,
HTTP headers and request ids, listings' edge cases and errors.

Each scenario runs once per client, each in a bucket of its own, and
returns a list of outcomes: the fields a caller would read from each
response, or the error's code and status.  The two lists must be equal.
Objects are ``.zip`` files stored twice, so this client holds the second
as a delta: what boto3 reads of a plain object, ours reads of a rebuilt one.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import itertools
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from client_backends import empty_and_delete, seaweed_client
from helpers import mutate
from seaweed import s3_client

from deltaglider import create_client

V1 = bytes(range(256)) * 400
V2 = mutate(V1, seed=3, edits=8)
KEY = "rel/app.zip"
_NAMES = itertools.count()

Outcome = tuple[Any, ...]


def attempt(call: Callable[[], dict[str, Any]], *fields: str) -> Outcome:
    """A call's outcome: ``("ok", status, field values...)`` or
    ``("error", code, status)``."""
    try:
        response = call()
    except ClientError as error:
        return (
            "error",
            error.response["Error"]["Code"],
            error.response["ResponseMetadata"]["HTTPStatusCode"],
        )
    except ParamValidationError:
        return ("invalid",)
    values = []
    for name in fields:
        value = response.get(name)
        if name == "Body" and value is not None:
            value = value.read()
        values.append(value)
    return ("ok", response["ResponseMetadata"]["HTTPStatusCode"], *values)


def store_versions(client: Any, bucket: str, key: str = KEY, **fields: Any) -> str:
    """Store V1 then V2 under ``key``; returns the ETag a HEAD gives."""
    client.put_object(Bucket=bucket, Key=key, Body=V1)
    client.put_object(Bucket=bucket, Key=key, Body=V2, **fields)
    return str(client.head_object(Bucket=bucket, Key=key)["ETag"])


def conditional_reads(client: Any, bucket: str) -> list[Outcome]:
    etag = store_versions(client, bucket)
    modified = client.head_object(Bucket=bucket, Key=KEY)["LastModified"]
    past, future = modified - timedelta(days=1), modified + timedelta(days=1)
    conditions: list[dict[str, Any]] = [
        {"IfMatch": etag},
        {"IfMatch": '"0123456789abcdef0123456789abcdef"'},
        {"IfNoneMatch": etag},
        {"IfNoneMatch": '"0123456789abcdef0123456789abcdef"'},
        {"IfModifiedSince": future},
        {"IfModifiedSince": past},
        {"IfUnmodifiedSince": past},
        {"IfUnmodifiedSince": future},
        {"IfMatch": etag, "IfUnmodifiedSince": past},
        {"IfNoneMatch": '"0123456789abcdef0123456789abcdef"', "IfModifiedSince": future},
    ]
    outcomes = []
    for condition in conditions:
        outcomes.append(
            attempt(lambda c=condition: client.get_object(Bucket=bucket, Key=KEY, **c), "Body")
        )
        outcomes.append(
            attempt(
                lambda c=condition: client.head_object(Bucket=bucket, Key=KEY, **c),
                "ContentLength",
            )
        )
    return outcomes


def create_only_puts(client: Any, bucket: str) -> list[Outcome]:
    store_versions(client, bucket)
    return [
        attempt(lambda: client.put_object(Bucket=bucket, Key=KEY, Body=V1, IfNoneMatch="*")),
        attempt(lambda: client.get_object(Bucket=bucket, Key=KEY), "Body"),
        attempt(
            lambda: client.put_object(Bucket=bucket, Key="rel/new.zip", Body=V1, IfNoneMatch="*")
        ),
        attempt(lambda: client.get_object(Bucket=bucket, Key="rel/new.zip"), "Body"),
    ]


FIELDS = {
    "CacheControl": "max-age=60",
    "ContentDisposition": 'attachment; filename="app.zip"',
    "ContentLanguage": "en-GB",
    "ContentType": "application/zip",
}


def object_fields(client: Any, bucket: str) -> list[Outcome]:
    store_versions(client, bucket, **FIELDS)
    names = [*FIELDS, "Metadata"]
    return [
        attempt(lambda: client.get_object(Bucket=bucket, Key=KEY), *names),
        attempt(lambda: client.head_object(Bucket=bucket, Key=KEY), *names),
        attempt(
            lambda: client.get_object(
                Bucket=bucket,
                Key=KEY,
                ResponseContentType="text/plain",
                ResponseCacheControl="no-cache",
                ResponseContentDisposition="inline",
            ),
            "ContentType",
            "CacheControl",
            "ContentDisposition",
        ),
    ]


def http_headers(client: Any, bucket: str) -> list[Outcome]:
    store_versions(client, bucket, Metadata={"build": "42"})

    def headers(call: Callable[[], dict[str, Any]], *names: str) -> Outcome:
        response = call()
        sent = response["ResponseMetadata"]["HTTPHeaders"]
        return (
            bool(response["ResponseMetadata"].get("RequestId")),
            *(sent.get(name) for name in names),
        )

    ranged = headers(
        lambda: client.get_object(Bucket=bucket, Key=KEY, Range="bytes=10-19"),
        "content-range",
        "content-length",
        "x-amz-meta-build",
    )
    whole = headers(lambda: client.head_object(Bucket=bucket, Key=KEY), "x-amz-meta-build")
    try:
        client.get_object(Bucket=bucket, Key="rel/missing.zip")
    except ClientError as error:
        missing = (bool(error.response["ResponseMetadata"].get("RequestId")),)
    return [ranged, whole, missing]


def listings(client: Any, bucket: str) -> list[Outcome]:
    for name in ("a.zip", "b.zip", "c.txt"):
        client.put_object(Bucket=bucket, Key=f"l/{name}", Body=V1)
    keys = ("KeyCount", "IsTruncated", "MaxKeys")
    owned = client.list_objects_v2(Bucket=bucket, Prefix="l/", FetchOwner=True)
    plain = client.list_objects_v2(Bucket=bucket, Prefix="l/")
    return [
        attempt(lambda: client.list_objects_v2(Bucket=bucket, Prefix="l/", MaxKeys=0), *keys),
        attempt(lambda: client.list_objects_v2(Bucket=bucket, Prefix="l/", MaxKeys=2), *keys),
        attempt(lambda: client.list_objects_v2(Bucket=bucket, Prefix="l/", MaxKeys=-1), *keys),
        attempt(
            lambda: client.list_objects_v2(Bucket=bucket, Prefix="l/", ContinuationToken=""), *keys
        ),
        ("owner", all("Owner" in item for item in owned["Contents"])),
        ("no owner", any("Owner" in item for item in plain["Contents"])),
        attempt(lambda: client.list_objects_v2(Bucket=bucket, Prefix="l/", Unordered=True)),
    ]


def errors(client: Any, bucket: str) -> list[Outcome]:
    objects = [{"Key": f"k{i}"} for i in range(1001)]
    too_many = attempt(lambda: client.delete_objects(Bucket=bucket, Delete={"Objects": objects}))
    return [
        attempt(lambda: client.delete_bucket(Bucket=f"{bucket}-missing")),
        # SeaweedFS says InvalidArgument, S3 MalformedXML: both a 400
        ("error", too_many[2]) if too_many[0] == "error" else too_many,
        attempt(lambda: client.get_object(Bucket=bucket, Key="nothing.zip")),
        attempt(lambda: client.head_object(Bucket=bucket, Key="nothing.zip")),
        attempt(lambda: client.get_object(Bucket=bucket, Key="x", Range="bytes=5-1")),
    ]


def checksums(client: Any, bucket: str) -> list[Outcome]:
    store_versions(client, bucket)
    crc = zlib.crc32(V2).to_bytes(4, "big")
    wrong = base64.b64encode(b"abcd").decode()
    return [
        attempt(lambda: client.get_object(Bucket=bucket, Key=KEY), "ChecksumCRC32"),
        attempt(lambda: client.head_object(Bucket=bucket, Key=KEY), "ChecksumCRC32"),
        attempt(
            lambda: client.head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED"),
            "ChecksumCRC32",
        ),
        ("crc32", base64.b64encode(crc).decode()),
        attempt(
            lambda: client.put_object(Bucket=bucket, Key="rel/b.zip", Body=V1, ChecksumCRC32=wrong)
        ),
        attempt(lambda: client.head_object(Bucket=bucket, Key="rel/b.zip")),
    ]


def downloads_of_missing_keys(client: Any, bucket: str) -> list[Outcome]:
    """boto3's transfer manager HEADs first: ``Code == "404"``, the idiom
    ``except ClientError as e: if e.response["Error"]["Code"] == "404"``."""

    def outcome(call: Callable[[], object]) -> Outcome:
        try:
            call()
        except ClientError as error:
            return (error.response["Error"]["Code"], error.operation_name)
        return ("no error",)

    sink = io.BytesIO()
    return [
        outcome(lambda: client.download_file(bucket, "rel/missing.zip", "/nonexistent/x")),
        outcome(lambda: client.download_fileobj(bucket, "rel/missing.zip", sink)),
        outcome(lambda: client.download_fileobj(f"{bucket}-missing", "rel/a.zip", sink)),
    ]


def url_encoded_listings(client: Any, bucket: str) -> list[Outcome]:
    for key in ("enc/asdf+b.zip", "enc/a b/c.txt", "enc/ü.zip", "enc/x=y&z.zip"):
        client.put_object(Bucket=bucket, Key=key, Body=V1)
    encoded = client.list_objects_v2(Bucket=bucket, Prefix="enc/", EncodingType="url")
    grouped = client.list_objects_v2(
        Bucket=bucket, Prefix="enc/", Delimiter="/", EncodingType="url"
    )
    v1 = client.list_objects(Bucket=bucket, Prefix="enc/", EncodingType="url")
    return [
        ("keys", sorted(item["Key"] for item in encoded["Contents"])),
        ("prefix", encoded.get("Prefix"), encoded.get("EncodingType")),
        ("grouped", [p["Prefix"] for p in grouped.get("CommonPrefixes", [])]),
        ("v1", sorted(item["Key"] for item in v1["Contents"])),
    ]


def not_modified_headers(client: Any, bucket: str) -> list[Outcome]:
    etag = store_versions(client, bucket)
    try:
        client.get_object(Bucket=bucket, Key=KEY, IfNoneMatch=etag)
    except ClientError as error:
        sent = error.response["ResponseMetadata"]["HTTPHeaders"]
        # the ETag is the object's (a delta's is its own): S3 sends
        # last-modified too, SeaweedFS not (see the test below)
        return [("304", sent.get("etag") == etag)]
    return [("no error",)]


SCENARIOS = [
    downloads_of_missing_keys,
    url_encoded_listings,
    not_modified_headers,
    checksums,
    conditional_reads,
    create_only_puts,
    object_fields,
    http_headers,
    listings,
    errors,
]


@pytest.fixture(scope="module")
def clients(seaweed_endpoint: str) -> tuple[Any, Any]:
    return s3_client(seaweed_endpoint), seaweed_client(seaweed_endpoint)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_boto3_and_deltaglider_answer_alike(
    scenario: Callable[[Any, str], list[Outcome]],
    clients: tuple[Any, Any],
    seaweed_endpoint: str,
) -> None:
    raw, ours = clients
    number = next(_NAMES)
    answers = []
    for name, client in (("raw", raw), ("dg", ours)):
        bucket = f"diff-{name}-{number}"
        raw.create_bucket(Bucket=bucket)
        try:
            answers.append(scenario(client, bucket))
        finally:
            empty_and_delete(raw, bucket)
    boto3_answers, our_answers = answers
    assert our_answers == boto3_answers


def test_an_acknowledged_datetime_is_compared_to_the_second(clients: tuple[Any, Any]) -> None:
    """If-Modified-Since equal to Last-Modified (whose header has whole
    seconds) is not modified, whatever the store's finer clock says."""
    _, ours = clients
    bucket = f"diff-dg-{next(_NAMES)}"
    ours.create_bucket(Bucket=bucket)
    try:
        ours.put_object(Bucket=bucket, Key=KEY, Body=V1)
        modified = ours.head_object(Bucket=bucket, Key=KEY)["LastModified"]
        same_second = modified.replace(microsecond=0).astimezone(UTC)
        with pytest.raises(ClientError) as caught:
            ours.get_object(Bucket=bucket, Key=KEY, IfModifiedSince=same_second)
        assert caught.value.response["Error"]["Code"] == "304"
        assert datetime.now(UTC) > same_second
    finally:
        ours.delete_objects_recursive(Bucket=bucket, Prefix="")
        ours.delete_bucket(Bucket=bucket)


def test_a_304_carries_the_validators(clients: tuple[Any, Any]) -> None:
    """ETag and Last-Modified, as S3 sends them with a 304."""
    _, ours = clients
    bucket = f"diff-dg-{next(_NAMES)}"
    ours.create_bucket(Bucket=bucket)
    try:
        etag = store_versions(ours, bucket)
        with pytest.raises(ClientError) as caught:
            ours.get_object(Bucket=bucket, Key=KEY, IfNoneMatch=etag)
        sent = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert sent["etag"] == etag
        modified = ours.head_object(Bucket=bucket, Key=KEY)["LastModified"]
        assert sent["last-modified"] == format_datetime(modified.astimezone(UTC), usegmt=True)
    finally:
        ours.delete_objects_recursive(Bucket=bucket, Prefix="")
        ours.delete_bucket(Bucket=bucket)


def test_errors_carry_the_servers_request_id(clients: tuple[Any, Any]) -> None:
    """Not one the package made up: the id of the server's answer the
    error came from (what a support ticket needs)."""
    _, ours = clients
    bucket = f"diff-dg-{next(_NAMES)}"
    ours.create_bucket(Bucket=bucket)
    seen: list[str] = []

    def record(http_response: Any, **_: Any) -> None:
        seen.append(http_response.headers.get("x-amz-request-id", ""))

    ours.meta.events.register("after-call.s3.GetObject", record)
    try:
        with pytest.raises(ClientError) as caught:
            ours.get_object(Bucket=bucket, Key="rel/missing.zip")
        request_id = caught.value.response["ResponseMetadata"]["RequestId"]
        assert request_id in seen
        assert caught.value.response["Error"]["RequestId"] == request_id
    finally:
        ours.meta.events.unregister("after-call.s3.GetObject", record)
        ours.delete_bucket(Bucket=bucket)


def test_a_listings_owner_is_the_objects(clients: tuple[Any, Any], tmp_path: Any) -> None:
    """Each object's owner as the store lists it (SeaweedFS gives one), not
    the account's from ListBuckets; a store that says none gives the
    account's."""
    raw, ours = clients
    bucket = f"diff-dg-{next(_NAMES)}"
    ours.create_bucket(Bucket=bucket)
    try:
        ours.put_object(Bucket=bucket, Key="o/a.zip", Body=V1)
        listed = ours.service.storage.list_objects(bucket, "o/").objects
        assert listed[0].owner is not None
        expected = raw.list_objects_v2(Bucket=bucket, Prefix="o/", FetchOwner=True)
        ours_listed = ours.list_objects_v2(Bucket=bucket, Prefix="o/", FetchOwner=True)
        assert ours_listed["Contents"][0]["Owner"] == expected["Contents"][0]["Owner"]
    finally:
        ours.delete_objects_recursive(Bucket=bucket, Prefix="")
        ours.delete_bucket(Bucket=bucket)
    local = create_client(endpoint_url=(tmp_path / "store").as_uri())
    local.create_bucket(Bucket="owned")
    local.put_object(Bucket="owned", Key="o/a.zip", Body=V1)
    storage = local.service.storage
    plain = storage.list_objects

    def with_owner(*args: Any, **kwargs: Any) -> Any:
        page = plain(*args, **kwargs)
        others = [dataclasses.replace(o, owner=("other-id", "Other")) for o in page.objects]
        return dataclasses.replace(page, objects=others)

    storage.list_objects = with_owner
    item = local.list_objects_v2(Bucket="owned", FetchOwner=True)["Contents"][0]
    assert item["Owner"] == {"DisplayName": "Other", "ID": "other-id"}


def test_a_hook_that_breaks_the_packages_requests_still_raises_client_error(
    clients: tuple[Any, Any],
) -> None:
    """A handler adding If-Match to every PutObject made the package's own
    conditional writes fail until it gave up with a DeltaGliderError, not a
    botocore ClientError (README, "Event hooks")."""
    _, ours = clients
    bucket = f"diff-dg-{next(_NAMES)}"
    ours.create_bucket(Bucket=bucket)

    def if_match(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["If-Match"] = '"0123456789abcdef0123456789abcdef"'

    ours.meta.events.register("before-call.s3.PutObject", if_match)
    try:
        for key in ("h/a.zip", "h/notes.txt"):
            with pytest.raises(ClientError) as caught:
                ours.put_object(Bucket=bucket, Key=key, Body=V1)
            assert caught.value.response["Error"]["Code"]
    finally:
        ours.meta.events.unregister("before-call.s3.PutObject", if_match)
        ours.delete_objects_recursive(Bucket=bucket, Prefix="")
        ours.delete_bucket(Bucket=bucket)
