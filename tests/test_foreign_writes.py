"""Writes that bypass the package onto a key it stored as a delta.

A plain boto3 ``put_object``, a multipart upload or a presigned PUT through
the package's own client, a plain ``copy_object``, another tool writing
the file: each writes the key as is and never removes its ``.delta``.
Reads, heads, listings, copies, downloads and deletes must then all take
the newer write (docs/storage-format.md, "Both forms present").
"""

from __future__ import annotations

import http.client
import io
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from client_backends import empty_and_delete, seaweed_client
from helpers import mutate
from seaweed import s3_client

from deltaglider import DeltaGliderClient, create_client
from deltaglider.core.stamps import STAMP_FIELD, Stamp, current_form, has_stamp, next_stamp
from deltaglider.ports.storage import ObjectHead

OLD = os.urandom(200_000)
STORED = mutate(OLD, seed=1, edits=20)
FOREIGN = mutate(OLD, seed=2, edits=20)
KEY = "rel/app.zip"
STAMPED_SOURCE = "elsewhere/notes.txt"


def _multipart(client: DeltaGliderClient, raw: Any, bucket: str, body: bytes) -> None:
    upload = client.create_multipart_upload(Bucket=bucket, Key=KEY)
    part = client.upload_part(
        Bucket=bucket, Key=KEY, UploadId=upload["UploadId"], PartNumber=1, Body=body
    )
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=KEY,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )


def _presigned_put(client: DeltaGliderClient, raw: Any, bucket: str, body: bytes) -> None:
    url = urlsplit(
        client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": KEY})
    )
    # http.client sends no Content-Type (urllib adds one, which the signature covers)
    connection = http.client.HTTPConnection(url.netloc, timeout=30)
    connection.request("PUT", f"{url.path}?{url.query}", body=body)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    connection.close()


def _plain_put(client: DeltaGliderClient, raw: Any, bucket: str, body: bytes) -> None:
    raw.put_object(Bucket=bucket, Key=KEY, Body=body)


def _plain_copy(client: DeltaGliderClient, raw: Any, bucket: str, body: bytes) -> None:
    raw.put_object(Bucket=bucket, Key="elsewhere/source.bin", Body=body)
    raw.copy_object(
        Bucket=bucket, Key=KEY, CopySource={"Bucket": bucket, "Key": "elsewhere/source.bin"}
    )


def _copy_of_a_stamped_object(
    client: DeltaGliderClient, raw: Any, bucket: str, body: bytes
) -> None:
    """The source was stored by the package before the delta (its stamp is
    older); a plain copy keeps its metadata, stamp included, but that
    stamp names the source's key, not this one."""
    assert STAMP_FIELD in raw.head_object(Bucket=bucket, Key=STAMPED_SOURCE)["Metadata"]
    raw.copy_object(Bucket=bucket, Key=KEY, CopySource={"Bucket": bucket, "Key": STAMPED_SOURCE})


FOREIGN_WRITES: dict[str, Callable[[DeltaGliderClient, Any, str, bytes], None]] = {
    "plain put_object": _plain_put,
    "multipart upload through the package": _multipart,
    "presigned PUT the package signed": _presigned_put,
    "plain copy_object": _plain_copy,
    "plain copy_object of a stamped object": _copy_of_a_stamped_object,
}


@pytest.fixture
def seaweed(
    seaweed_endpoint: str, request: pytest.FixtureRequest
) -> Iterator[tuple[DeltaGliderClient, Any, str]]:
    bucket = "foreign-" + str(abs(hash(request.node.name)) % 10**8)
    client, raw = seaweed_client(seaweed_endpoint), s3_client(seaweed_endpoint)
    client.create_bucket(Bucket=bucket)
    yield client, raw, bucket
    empty_and_delete(raw, bucket)


def _store_as_delta(client: DeltaGliderClient, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key=STAMPED_SOURCE, Body=FOREIGN)
    client.put_object(Bucket=bucket, Key="rel/base.zip", Body=OLD)
    client.put_object(Bucket=bucket, Key=KEY, Body=STORED)
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="rel/")["Contents"]]
    assert KEY in listed


def _assert_everything_reads(
    client: DeltaGliderClient, bucket: str, expected: bytes, tmp_path: Path
) -> None:
    got = client.get_object(Bucket=bucket, Key=KEY)
    assert got["Body"].read() == expected
    assert got["ContentLength"] == len(expected)
    assert client.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == len(expected)
    listed = {o["Key"]: o for o in client.list_objects_v2(Bucket=bucket, Prefix="rel/")["Contents"]}
    assert listed[KEY]["Size"] == len(expected)
    assert listed[KEY]["ETag"] == got["ETag"]
    target = tmp_path / "downloaded.zip"
    client.download_file(bucket, KEY, str(target))
    assert target.read_bytes() == expected
    sink = io.BytesIO()
    client.download_fileobj(bucket, KEY, sink)
    assert sink.getvalue() == expected
    client.copy_object(Bucket=bucket, Key="rel/copy.zip", CopySource={"Bucket": bucket, "Key": KEY})
    assert client.get_object(Bucket=bucket, Key="rel/copy.zip")["Body"].read() == expected


@pytest.mark.parametrize("write", list(FOREIGN_WRITES), ids=list(FOREIGN_WRITES))
def test_a_foreign_write_over_a_delta_is_what_every_read_returns(
    seaweed: tuple[DeltaGliderClient, Any, str], write: str, tmp_path: Path
) -> None:
    client, raw, bucket = seaweed
    _store_as_delta(client, bucket)
    assert "rel/app.zip.delta" in {o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]}
    FOREIGN_WRITES[write](client, raw, bucket, FOREIGN)
    _assert_everything_reads(client, bucket, FOREIGN, tmp_path)
    # a delete removes the key in both forms: nothing of it reads back
    client.delete_object(Bucket=bucket, Key=KEY)
    physical = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert not {KEY, KEY + ".delta"} & physical
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object(Bucket=bucket, Key=KEY)


def test_a_delta_written_after_a_foreign_write_wins(
    seaweed: tuple[DeltaGliderClient, Any, str], tmp_path: Path
) -> None:
    """The package's own put after a foreign one settles: the foreign form
    goes, the delta is the key."""
    client, raw, bucket = seaweed
    _store_as_delta(client, bucket)
    raw.put_object(Bucket=bucket, Key=KEY, Body=FOREIGN)
    newest = mutate(OLD, seed=3, edits=20)
    client.put_object(Bucket=bucket, Key=KEY, Body=newest)
    physical = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]}
    assert KEY + ".delta" in physical
    assert KEY not in physical
    _assert_everything_reads(client, bucket, newest, tmp_path)


def test_another_tool_writing_the_file_after_a_delta_on_the_local_store(tmp_path: Path) -> None:
    """On a local store the foreign writer writes the file itself (no
    stamp), a second or more after the delta, or within the same second."""
    client = create_client(endpoint_url=(tmp_path / "store").as_uri())
    client.create_bucket(Bucket="local-bucket")
    _store_as_delta(client, "local-bucket")
    storage = client.service.storage  # the store itself, as another writer
    storage.put("local-bucket", KEY, FOREIGN, {})
    _assert_everything_reads(client, "local-bucket", FOREIGN, tmp_path)
    client.delete_object(Bucket="local-bucket", Key=KEY)
    assert not {KEY, KEY + ".delta"} & {o.key for o in storage.iter_objects("local-bucket")}


# -- the rule itself ---------------------------------------------------------

T = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def _head(key: str, moment: datetime, stamp: Stamp | str | None = None) -> ObjectHead:
    meta = {} if stamp is None else {STAMP_FIELD: str(stamp)}
    return ObjectHead(key, 10, f'"{key}"', moment, meta)


def test_the_later_second_wins_whatever_the_stamps_say() -> None:
    late_stamp = next_stamp(T + timedelta(hours=1), "a.zip")
    plain = _head("a.zip", T + timedelta(seconds=1))
    delta = _head("a.zip.delta", T, late_stamp)
    assert current_form(plain, delta) is plain
    plain = _head("a.zip", T, late_stamp)
    delta = _head("a.zip.delta", T + timedelta(seconds=1))
    assert current_form(plain, delta) is delta


def test_within_one_second_stamps_then_the_unstamped_then_the_file_as_is() -> None:
    first, second = next_stamp(T, "a.zip"), next_stamp(T + timedelta(milliseconds=5), "a.zip")
    within = T + timedelta(milliseconds=900)
    plain, delta = _head("a.zip", T, first), _head("a.zip.delta", within, second)
    assert current_form(plain, delta) is delta  # both stamped: the higher stamp
    plain, delta = _head("a.zip", T), _head("a.zip.delta", within, second)
    assert current_form(plain, delta) is plain  # another tool's write, unstamped
    plain, delta = _head("a.zip", T, second), _head("a.zip.delta", within)
    assert current_form(plain, delta) is delta
    plain, delta = _head("a.zip", T), _head("a.zip.delta", within)
    assert current_form(plain, delta) is plain  # neither stamped


def test_a_stamp_copied_from_another_key_counts_as_none() -> None:
    copied = next_stamp(T, "elsewhere/notes.txt")
    mine = next_stamp(T - timedelta(seconds=5), "a.zip")
    assert has_stamp(_head("elsewhere/notes.txt", T, copied))
    assert not has_stamp(_head("a.zip", T, copied))
    assert has_stamp(_head("a.zip.delta", T, mine))
    assert has_stamp(_head("a.zip", T, f"{10**18:020d}-0123456789abcdef"))  # older writers'
    plain, delta = _head("a.zip", T, copied), _head("a.zip.delta", T, mine)
    assert current_form(plain, delta) is plain
