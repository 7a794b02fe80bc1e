"""The boto3-compatible SDK on the local directory and on SeaweedFS."""

from __future__ import annotations

import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from client_backends import backend  # noqa: F401 - the fixture
from helpers import drop_size_markers, mutate

from deltaglider import DeltaGliderClient, create_client

V1 = os.urandom(300_000)
V2 = mutate(V1, seed=3, edits=20)
V3 = mutate(V1, seed=4, edits=20)

Backend = tuple[DeltaGliderClient, str]


def boto3_script(s3: Any, bucket: str, work: Path) -> None:
    """A plain boto3 workflow: it must run unchanged against boto3 itself
    and against create_client()."""
    s3.put_object(Bucket=bucket, Key="releases/app-1.0.zip", Body=V1, Metadata={"build": "1"})
    (work / "app-1.1.zip").write_bytes(V2)
    s3.upload_file(str(work / "app-1.1.zip"), bucket, "releases/app-1.1.zip")
    s3.upload_fileobj(io.BytesIO(b"notes"), bucket, "releases/NOTES.txt")

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="releases/")
    assert [o["Key"] for o in listed["Contents"]] == [
        "releases/NOTES.txt",
        "releases/app-1.0.zip",
        "releases/app-1.1.zip",
    ]
    assert [o["Size"] for o in listed["Contents"]] == [5, len(V1), len(V2)]
    assert listed["KeyCount"] == 3
    assert listed["IsTruncated"] is False

    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 2}
    ):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == [o["Key"] for o in listed["Contents"]]
    folders = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert folders["CommonPrefixes"] == [{"Prefix": "releases/"}]

    head = s3.head_object(Bucket=bucket, Key="releases/app-1.0.zip")
    assert head["ContentLength"] == len(V1)
    assert head["Metadata"] == {"build": "1"}
    assert isinstance(head["LastModified"], datetime)
    assert head["LastModified"].tzinfo is not None

    got = s3.get_object(Bucket=bucket, Key="releases/app-1.1.zip")
    with got["Body"] as body:
        assert body.read() == V2
    part = s3.get_object(Bucket=bucket, Key="releases/app-1.1.zip", Range="bytes=10-19")
    assert part["Body"].read() == V2[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(V2)}"
    s3.download_file(bucket, "releases/app-1.0.zip", str(work / "down.zip"))
    assert (work / "down.zip").read_bytes() == V1
    sink = io.BytesIO()
    s3.download_fileobj(bucket, "releases/NOTES.txt", sink)
    assert sink.getvalue() == b"notes"

    s3.copy_object(
        Bucket=bucket,
        Key="archive/app-1.0.zip",
        CopySource={"Bucket": bucket, "Key": "releases/app-1.0.zip"},
    )
    copied = s3.get_object(Bucket=bucket, Key="archive/app-1.0.zip")
    assert copied["Body"].read() == V1
    assert copied["Metadata"] == {"build": "1"}

    s3.delete_object(Bucket=bucket, Key="releases/NOTES.txt")
    deleted = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "releases/app-1.0.zip"}, {"Key": "archive/app-1.0.zip"}]},
    )
    assert sorted(d["Key"] for d in deleted["Deleted"]) == [
        "archive/app-1.0.zip",
        "releases/app-1.0.zip",
    ]
    remaining = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in remaining["Contents"]] == ["releases/app-1.1.zip"]
    too_many = {"Objects": [{"Key": f"k{i}"} for i in range(1001)]}  # S3 takes 1,000
    with pytest.raises(ClientError) as refused:
        s3.delete_objects(Bucket=bucket, Delete=too_many)
    # AWS answers MalformedXML, SeaweedFS InvalidArgument; ours is AWS's.
    assert refused.value.response["Error"]["Code"] in ("MalformedXML", "InvalidArgument")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "releases/app-1.1.zip"
    ]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="releases/NOTES.txt")
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="releases/NOTES.txt")
    assert missing.value.response["Error"]["Code"] == "404"


def test_a_boto3_script_runs_unchanged(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    boto3_script(client, bucket, tmp_path)
    # Stored as one reference and small deltas.
    physical = [o.key for o in client.service.storage.iter_objects(bucket)]
    assert sorted(k for k in physical if not k.startswith(".deltaglider/")) == [
        "releases/app-1.1.zip.delta",
        "releases/reference.bin",
    ]


def test_the_script_is_plain_boto3(seaweed_endpoint: str, tmp_path: Path) -> None:
    from client_backends import empty_and_delete
    from seaweed import s3_client

    raw = s3_client(seaweed_endpoint)
    raw.create_bucket(Bucket="plain-boto3")
    try:
        boto3_script(raw, "plain-boto3", tmp_path)
    finally:
        empty_and_delete(raw, "plain-boto3")


def _shape(value: Any) -> Any:
    """Keys and types of a response, recursively (values dropped)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_responses_have_boto3s_keys_and_types(seaweed_endpoint: str) -> None:
    from client_backends import empty_and_delete, seaweed_client
    from seaweed import s3_client

    raw, ours = s3_client(seaweed_endpoint), seaweed_client(seaweed_endpoint)
    raw.create_bucket(Bucket="shape-raw")
    ours.create_bucket(Bucket="shape-dg")
    shapes: dict[str, list[Any]] = {}
    try:
        for s3, bucket in ((raw, "shape-raw"), (ours, "shape-dg")):
            s3.put_object(Bucket=bucket, Key="d/a.zip", Body=V1, Metadata={"k": "v"})
            put = s3.put_object(Bucket=bucket, Key="d/b.zip", Body=V2)
            s3.put_object(Bucket=bucket, Key="d/c.txt", Body=b"text", ContentType="text/plain")
            listed = s3.list_objects_v2(Bucket=bucket, Prefix="d/", MaxKeys=2)
            later = s3.list_objects_v2(
                Bucket=bucket, Prefix="d/", ContinuationToken=listed["NextContinuationToken"]
            )
            head = s3.head_object(Bucket=bucket, Key="d/a.zip")
            got = s3.get_object(Bucket=bucket, Key="d/b.zip")
            body = got.pop("Body")
            assert body.read() == V2
            pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
            deleted = s3.delete_object(Bucket=bucket, Key="d/c.txt")
            shapes[bucket] = [put, listed, later, head, got, pages[0], deleted]
            assert isinstance(body, StreamingBody)
        differences = []
        for theirs, mine in zip(shapes["shape-raw"], shapes["shape-dg"], strict=True):
            expected, actual = _shape(theirs), _shape(mine)
            for key, kind in expected.items():
                if key in ("ServerSideEncryption", "ChecksumCRC32", "ChecksumType", "VersionId"):
                    continue  # server features this gateway adds, not S3's core fields
                if actual.get(key) != kind:
                    differences.append((key, kind, actual.get(key)))
        assert differences == []
    finally:
        empty_and_delete(raw, "shape-raw")
        empty_and_delete(raw, "shape-dg")


def test_pagination_is_in_logical_order_with_each_key_once(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    storage = client.service.storage
    # A real delta and its reference, then 2,500 logical objects: deltas
    # (stored as NAME.delta) mixed with files stored as is, named so that
    # raw and logical order differ (a.zip-1.txt < a.zip.delta, but
    # a.zip < a.zip-1.txt).
    client.put_object(Bucket=bucket, Key="pkg/seed.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="pkg/seed-2.zip", Body=V2)
    delta_head = storage.head(bucket, "pkg/seed-2.zip.delta")
    assert delta_head is not None
    _, stream = storage.open(bucket, "pkg/seed-2.zip.delta")
    with stream:
        delta = stream.read()
    jobs: list[tuple[str, bytes, dict[str, str]]] = []
    for i in range(1249):
        jobs.append((f"pkg/a{i:04d}.zip.delta", delta, delta_head.metadata))
        jobs.append((f"pkg/a{i:04d}.zip-1.txt", b"x" * (i % 7), {}))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda job: storage.put(bucket, *job), jobs))
    expected = sorted(
        ["pkg/seed.zip", "pkg/seed-2.zip"]
        + [f"pkg/a{i:04d}.zip" for i in range(1249)]
        + [f"pkg/a{i:04d}.zip-1.txt" for i in range(1249)]
    )
    assert len(expected) == 2500
    pages = list(
        client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="pkg/", PaginationConfig={"PageSize": 1000}
        )
    )
    assert [p["KeyCount"] for p in pages] == [1000, 1000, 500]
    listed = [o for p in pages for o in p["Contents"]]
    assert [o["Key"] for o in listed] == expected
    sizes = {o["Key"]: o["Size"] for o in listed}
    assert sizes["pkg/a0007.zip"] == len(V2)  # the logical size, not the delta's
    assert sizes["pkg/a0007.zip-1.txt"] == 0
    # Continuation tokens continue exactly, by hand as well.
    first = client.list_objects(Bucket=bucket, Prefix="pkg/", MaxKeys=1000)
    second = client.list_objects(
        Bucket=bucket,
        Prefix="pkg/",
        MaxKeys=1000,
        ContinuationToken=first["NextContinuationToken"],
    )
    assert second["Contents"][0]["Key"] == expected[1000]
    after = client.list_objects_v2(Bucket=bucket, Prefix="pkg/", StartAfter=expected[2497])
    assert [o["Key"] for o in after["Contents"]] == expected[2498:]
    assert "reference.bin" not in " ".join(expected)


def test_listing_hides_internal_objects_and_groups_logically(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="a/v1.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="a/v2.zip", Body=V2)
    client.put_object(Bucket=bucket, Key="top.txt", Body=b"t")
    client.service.storage.put(bucket, ".deltaglider/tmp/x", b"internal", {})
    top = client.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["top.txt"]
    assert top["CommonPrefixes"] == [{"Prefix": "a/"}]
    everything = client.list_objects_v2(Bucket=bucket, FetchMetadata=True)
    assert [o["Key"] for o in everything["Contents"]] == ["a/v1.zip", "a/v2.zip", "top.txt"]
    meta = everything["Contents"][1]["Metadata"]
    assert meta["deltaglider-is-delta"] == "true"
    assert float(meta["deltaglider-compression-ratio"]) < 0.1
    assert everything["Contents"][2]["Metadata"] == {"deltaglider-is-delta": "false"}
    grouped = client.list_objects(Bucket=bucket, Prefix="a/v", Delimiter=".")
    assert grouped["CommonPrefixes"] == [{"Prefix": "a/v1."}, {"Prefix": "a/v2."}]
    empty = client.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    assert "Contents" not in empty
    assert empty["KeyCount"] == 0


def test_errors_are_boto3s(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="e/a.zip", Body=V1)
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object(Bucket=bucket, Key="e/missing.zip")
    with pytest.raises(client.exceptions.NoSuchBucket):
        client.get_object(Bucket="no-such-bucket-here", Key="x")
    with pytest.raises(client.exceptions.NoSuchBucket):
        client.list_objects_v2(Bucket="no-such-bucket-here")
    with pytest.raises(ClientError) as error:
        client.get_object(Bucket=bucket, Key="e/a.zip", Range=f"bytes={len(V1)}-")
    assert error.value.response["Error"]["Code"] == "InvalidRange"
    with pytest.raises(ClientError) as error:
        client.put_object(Bucket=bucket, Key="e/reference.bin", Body=b"x")
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as error:
        client.list_objects_v2(Bucket=bucket, ContinuationToken="garbage!")
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(client.exceptions.ClientError) as error:
        client.delete_bucket(Bucket=bucket)
    assert error.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_ranges(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="r/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="r/b.zip", Body=V2)
    for header, expected in [
        ("bytes=0-0", V2[:1]),
        ("bytes=100-", V2[100:]),
        ("bytes=-50", V2[-50:]),
        (f"bytes=5-{len(V2) * 2}", V2[5:]),
    ]:
        response = client.get_object(Bucket=bucket, Key="r/b.zip", Range=header)
        assert response["Body"].read() == expected, header
        assert response["ContentLength"] == len(expected)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_ranges_in_other_digits_are_refused(backend: Backend) -> None:  # noqa: F811
    """``bytes=\u0661-\u0662`` (Arabic-Indic digits): S3 refuses it, so does the SDK."""
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="r/a.zip", Body=V1)
    for header in ("bytes=\u0661-\u0662", "bytes=\uff11-\uff12", "bytes=1_0-2_0"):
        with pytest.raises(ClientError) as error:
            client.get_object(Bucket=bucket, Key="r/a.zip", Range=header)
        assert error.value.response["Error"]["Code"] in {"InvalidArgument", "InvalidRange"}


def test_bodies_of_every_kind(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    path = tmp_path / "from-path.zip"
    path.write_bytes(V3)
    bodies: dict[str, Any] = {
        "b/bytes.zip": V1,
        "b/str.txt": "héllo",
        "b/path.zip": path,
        "b/file.zip": io.BytesIO(V2),
        "b/none.txt": None,
    }
    for key, body in bodies.items():
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-test")
    expected = {
        "b/bytes.zip": V1,
        "b/str.txt": "héllo".encode(),
        "b/path.zip": V3,
        "b/file.zip": V2,
        "b/none.txt": b"",
    }
    for key, data in expected.items():
        got = client.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data
        assert got["ContentLength"] == len(data)
        assert got["ContentType"] == "application/x-test"
        chunks = client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1000)
        assert b"".join(chunks) == data


def test_a_large_body_streams_through_a_file(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    client.service.stream_threshold = 100_000
    client.put_object(Bucket=bucket, Key="big/v1.zip", Body=io.BytesIO(V1))
    client.put_object(Bucket=bucket, Key="big/v2.zip", Body=io.BytesIO(V2))
    head = client.service.storage.head(bucket, "big/v2.zip.delta")
    assert head is not None
    assert head.size < len(V2) // 10
    assert client.get_object(Bucket=bucket, Key="big/v2.zip")["Body"].read() == V2


def test_the_simple_api(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    for name, data in (("app-1.zip", V1), ("app-2.zip", V2)):
        (tmp_path / name).write_bytes(data)
    first = client.upload(tmp_path / "app-1.zip", f"s3://{bucket}/v/")
    second = client.upload(str(tmp_path / "app-2.zip"), f"s3://{bucket}/v/", max_ratio=0.3)
    assert (first.key, first.is_delta) == ("v/app-1.zip", True)
    assert first.stored_size > first.original_size  # the reference is stored in full
    assert second.is_delta
    assert second.stored_size < second.original_size // 10
    assert second.savings_percent > 90
    assert second.original_size_mb == pytest.approx(len(V2) / 2**20)
    renamed = client.upload(tmp_path / "app-2.zip", f"s3://{bucket}/v/renamed.zip")
    assert renamed.key == "v/renamed.zip"
    client.download(f"s3://{bucket}/v/app-2.zip", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == V2
    assert client.verify(f"s3://{bucket}/v/app-2.zip") is True
    with pytest.raises(FileNotFoundError):
        client.upload(tmp_path / "missing.zip", f"s3://{bucket}/v/")
    with pytest.raises(FileNotFoundError):
        client.download(f"s3://{bucket}/v/missing.zip", tmp_path / "x")
    with pytest.raises(FileNotFoundError):
        client.verify(f"s3://{bucket}/v/missing.zip")
    for bad in ("http://x/y", "s3://", f"s3://{bucket}"):
        with pytest.raises(ValueError, match="S3 URL"):
            client.download(bad, tmp_path / "x")
    client.evict_cache(f"s3://{bucket}/v/reference.bin")
    assert client.verify(f"s3://{bucket}/v/app-2.zip") is True
    client.clear_cache()
    assert client.verify(f"s3://{bucket}/v/app-1.zip") is True


def test_bucket_stats_are_cached_until_the_bucket_changes(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="s/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="s/b.zip", Body=V2)
    client.put_object(Bucket=bucket, Key="s/readme.txt", Body=b"hello")
    marked = client.get_bucket_stats(bucket)
    assert marked.total_size == len(V1) + len(V2) + 5  # from the deltas' size markers
    drop_size_markers(client.service.storage, bucket)  # as if 6.2.0 had written them
    quick = client.get_bucket_stats(bucket, refresh_cache=True)
    assert (quick.object_count, quick.delta_objects, quick.direct_objects) == (3, 2, 1)
    assert quick.total_size == 2 * len(V1) + 5  # deltas estimated at their reference's size
    detailed = client.get_bucket_stats(bucket, detailed_stats=True)
    assert detailed.total_size == len(V1) + len(V2) + 5
    assert detailed.compressed_size < len(V1) + len(V2) // 5
    assert detailed.space_saved == detailed.total_size - detailed.compressed_size
    assert 0.3 < detailed.average_compression_ratio < 0.5
    assert client.get_bucket_stats(bucket) is detailed  # detailed serves quick
    listed = {b["Name"]: b for b in client.list_buckets()["Buckets"]}
    assert listed[bucket]["DeltaGliderStats"]["Detailed"] is True
    assert listed[bucket]["DeltaGliderStats"]["ObjectCount"] == 3
    client.delete_object(Bucket=bucket, Key="s/readme.txt")
    assert client.get_bucket_stats(bucket).object_count == 2
    assert "DeltaGliderStats" in {b["Name"]: b for b in client.list_buckets()["Buckets"]}[bucket]
    client.clear_cache()
    assert (
        "DeltaGliderStats" not in {b["Name"]: b for b in client.list_buckets()["Buckets"]}[bucket]
    )


def test_buckets_are_created_and_deleted(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    other = bucket + "-x"
    assert client.create_bucket(Bucket=other)["Location"] == f"/{other}"
    client.create_bucket(Bucket=other)  # again: fine
    assert other in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.delete_bucket(Bucket=other)
    assert other not in [b["Name"] for b in client.list_buckets()["Buckets"]]
    with pytest.raises(client.exceptions.NoSuchBucket):  # gone already: as boto3 says
        client.delete_bucket(Bucket=other)


def test_one_client_is_safe_for_concurrent_writes(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    versions = {f"c{space}/v{i}.zip": mutate(V1, seed=100 + i, edits=5) for space in range(3)
                for i in range(6)}  # fmt: skip
    barrier = threading.Barrier(6)

    def put(item: tuple[str, bytes]) -> None:
        key, data = item
        if key.endswith("v0.zip") or key.endswith("v1.zip"):
            barrier.wait(timeout=30)  # first uploads of a space race each other
        client.put_object(Bucket=bucket, Key=key, Body=data)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(put, versions.items()))
    for key, data in versions.items():
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        assert client.verify(f"s3://{bucket}/{key}")
    refs = [o.key for o in client.service.storage.iter_objects(bucket) if "reference" in o.key]
    assert sorted(refs) == ["c0/reference.bin", "c1/reference.bin", "c2/reference.bin"]


def test_create_client_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = tmp_path.as_uri()
    monkeypatch.setenv("DG_MAX_RATIO", "0.25")
    monkeypatch.setenv("DG_LOG_LEVEL", "warning")
    client = create_client(endpoint_url=url)
    assert client.service.max_ratio == 0.25
    assert logging.getLogger("deltaglider").level == logging.WARNING
    assert create_client(endpoint_url=url, max_ratio=0.4).service.max_ratio == 0.4
    monkeypatch.setenv("DG_STREAM_THRESHOLD_MB", "8")
    assert create_client(endpoint_url=url).service.stream_threshold == 8 << 20
    with pytest.warns(DeprecationWarning, match="cache_dir"):
        create_client(endpoint_url=url, cache_dir="/tmp/old")
    with pytest.raises(ValueError, match="unknown arguments"):
        create_client(endpoint_url=url, colour="blue")
    with pytest.raises(ValueError, match="log_level"):
        create_client(endpoint_url=url, log_level="LOUD")
    monkeypatch.setenv("DG_MAX_RATIO", "half")
    with pytest.raises(ValueError, match="DG_MAX_RATIO"):
        create_client(endpoint_url=url)
    monkeypatch.delenv("DG_MAX_RATIO")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    assert type(create_client().service.storage).__name__ == "LocalStorage"
    with pytest.raises(AttributeError, match="local-directory backend"):
        client.put_bucket_versioning  # noqa: B018 - the attribute access is the test


def test_other_methods_pass_through_to_boto3(seaweed_endpoint: str) -> None:
    from client_backends import seaweed_client

    client = seaweed_client(seaweed_endpoint)
    client.create_bucket(Bucket="passthrough")
    try:
        client.put_bucket_tagging(
            Bucket="passthrough", Tagging={"TagSet": [{"Key": "team", "Value": "ops"}]}
        )
        tags = client.get_bucket_tagging(Bucket="passthrough")["TagSet"]
        assert tags == [{"Key": "team", "Value": "ops"}]
    finally:
        client.delete_bucket(Bucket="passthrough")


def test_debug_logging_shows_decisions_and_s3_calls(
    seaweed_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    from client_backends import empty_and_delete, seaweed_client
    from seaweed import s3_client

    client = seaweed_client(seaweed_endpoint, log_level="DEBUG")
    client.create_bucket(Bucket="debug-log")
    try:
        with caplog.at_level(logging.DEBUG, logger="deltaglider"):
            client.put_object(Bucket="debug-log", Key="d/a.zip", Body=V1)
            client.put_object(Bucket="debug-log", Key="d/b.zip", Body=V2)
        text = caplog.text
        assert "stored as delta" in text
        assert "s3 PutObject" in text
        assert "s3 HeadObject" in text
    finally:
        logging.getLogger("deltaglider").setLevel(logging.INFO)
        empty_and_delete(s3_client(seaweed_endpoint), "debug-log")


def test_batches_object_info_and_recursive_delete(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    files = []
    for i in range(5):
        files.append(tmp_path / f"build-{i}.zip")
        files[-1].write_bytes(mutate(V1, seed=200 + i, edits=5))
    progress: list[tuple[str, int, int]] = []
    summaries = client.upload_batch(
        files, f"s3://{bucket}/builds/", progress_callback=lambda *a: progress.append(a)
    )
    assert [s.key for s in summaries] == [f"builds/build-{i}.zip" for i in range(5)]
    assert sorted(p[1] for p in progress) == [1, 2, 3, 4, 5]
    assert all(p[2] == 5 for p in progress)
    assert sum(s.stored_size for s in summaries) < len(V1) * 2
    paths = client.download_batch(
        [f"s3://{bucket}/builds/build-{i}.zip" for i in range(5)], tmp_path / "down"
    )
    assert [p.read_bytes() for p in paths] == [f.read_bytes() for f in files]
    info = client.get_object_info(f"s3://{bucket}/builds/build-3.zip")
    assert info["is_delta"] is True
    assert info["stored_key"] == "builds/build-3.zip.delta"
    assert info["size"] == files[3].stat().st_size
    assert info["compression_ratio"] > 0.9
    assert info["reference_key"] == "builds/reference.bin"
    with pytest.raises(FileNotFoundError):
        client.get_object_info(f"s3://{bucket}/builds/none.zip")
    with pytest.raises(ValueError, match="folder URL"):
        client.upload_batch(files, f"s3://{bucket}/builds")
    client.put_object(Bucket=bucket, Key="keep/me.txt", Body=b"k")
    deleted = client.delete_objects_recursive(Bucket=bucket, Prefix="builds/")
    assert len(deleted["Deleted"]) == 5
    left = [o.key for o in client.service.storage.iter_objects(bucket)]
    assert left == ["keep/me.txt"]  # deltas and the unused reference are gone


def test_presigned_get_of_a_delta_returns_the_real_file(seaweed_endpoint: str) -> None:
    import time
    import urllib.request

    from client_backends import empty_and_delete, seaweed_client
    from seaweed import s3_client

    client = seaweed_client(seaweed_endpoint)
    client.create_bucket(Bucket="presigned")
    try:
        client.put_object(Bucket="presigned", Key="p/a.zip", Body=V1)
        client.put_object(Bucket="presigned", Key="p/b.zip", Body=V2)
        client.put_object(Bucket="presigned", Key="p/notes.txt", Body=b"plain")
        for key, data in (("p/b.zip", V2), ("p/notes.txt", b"plain")):
            url = client.generate_presigned_url(
                "get_object", Params={"Bucket": "presigned", "Key": key}, ExpiresIn=1
            )
            with urllib.request.urlopen(url) as response:
                assert response.read() == data
        temp = [o["Key"] for o in s3_client(seaweed_endpoint).list_objects_v2(
            Bucket="presigned", Prefix=".deltaglider/tmp/")["Contents"]]  # fmt: skip
        assert len(temp) == 1
        assert temp[0].endswith("/b.zip")
        listed = client.list_objects_v2(Bucket="presigned")
        assert [o["Key"] for o in listed["Contents"]] == ["p/a.zip", "p/b.zip", "p/notes.txt"]
        assert client.purge_temp_files("presigned", dry_run=True) in ([], temp)
        time.sleep(2)
        assert client.purge_temp_files("presigned", dry_run=True) == temp
        assert client.purge_temp_files("presigned") == temp
        assert client.purge_temp_files("presigned") == []
        # As boto3: a key that does not exist is signed as it is (and 404s).
        missing = client.generate_presigned_url(
            "get_object", Params={"Bucket": "presigned", "Key": "p/none.zip"}
        )
        assert "/presigned/p/none.zip?" in missing
    finally:
        empty_and_delete(s3_client(seaweed_endpoint), "presigned")


def test_presigned_urls_need_s3(tmp_path: Path) -> None:
    client = create_client(endpoint_url=tmp_path.as_uri())
    with pytest.raises(ClientError) as error:
        client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert error.value.response["Error"]["Code"] == "NotImplemented"


def test_estimate_compression_writes_nothing(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    first, second, other, text = (tmp_path / n for n in ("a.zip", "b.zip", "c.zip", "d.txt"))
    first.write_bytes(V1)
    second.write_bytes(V2)
    other.write_bytes(os.urandom(len(V1)))
    text.write_bytes(b"text")
    assert client.estimate_compression(first, bucket, "est/")["stored_as"] == "reference"
    client.upload(first, f"s3://{bucket}/est/")
    before = sorted(o.key for o in client.service.storage.iter_objects(bucket))
    estimate = client.estimate_compression(second, bucket, "est")
    assert estimate["key"] == "est/b.zip"
    assert estimate["stored_as"] == "delta"
    actual = client.upload(second, f"s3://{bucket}/est/other-name.zip")
    after_upload = client.service.storage.head(bucket, "est/other-name.zip.delta")
    assert after_upload is not None
    assert estimate["estimated_stored_size"] == after_upload.size == actual.stored_size
    assert client.estimate_compression(other, bucket, "est")["stored_as"] == "direct"
    assert client.estimate_compression(text, bucket, "est")["stored_as"] == "direct"
    assert "est/b.zip.delta" not in before
    assert client.service.storage.head(bucket, "est/b.zip.delta") is None


def test_tags_go_on_the_stored_file_never_the_reference(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="t/a.zip", Body=V1, Tagging="team=ops&tier=gold")
    (tmp_path / "b.zip").write_bytes(V2)
    client.upload_file(str(tmp_path / "b.zip"), bucket, "t/b.zip", ExtraArgs={"Tagging": "x=1"})
    client.upload(tmp_path / "b.zip", f"s3://{bucket}/t/c.zip", tags={"y": "2"})
    tag_sets = {
        key: client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        for key in ("t/a.zip", "t/b.zip", "t/c.zip")
    }
    assert tag_sets == {
        "t/a.zip": [{"Key": "team", "Value": "ops"}, {"Key": "tier", "Value": "gold"}],
        "t/b.zip": [{"Key": "x", "Value": "1"}],
        "t/c.zip": [{"Key": "y", "Value": "2"}],
    }
    assert client.service.storage.get_tags(bucket, "t/reference.bin") == {}
    assert client.service.storage.get_tags(bucket, "t/a.zip.delta") == {
        "team": "ops",
        "tier": "gold",
    }
    client.put_object_tagging(
        Bucket=bucket, Key="t/b.zip", Tagging={"TagSet": [{"Key": "new", "Value": "yes"}]}
    )
    assert client.get_object_tagging(Bucket=bucket, Key="t/b.zip")["TagSet"] == [
        {"Key": "new", "Value": "yes"}
    ]
    client.copy_object(Bucket=bucket, Key="u/a.zip", CopySource=f"{bucket}/t/a.zip")
    assert client.get_object_tagging(Bucket=bucket, Key="u/a.zip")["TagSet"] == tag_sets["t/a.zip"]
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object_tagging(Bucket=bucket, Key="t/none.zip")


def test_transfer_callbacks_report_bytes_as_they_move(
    backend: Backend,  # noqa: F811
    tmp_path: Path,
) -> None:
    client, bucket = backend
    big = os.urandom(3 * (1 << 20) + 7)
    (tmp_path / "disk.bin").write_bytes(big)
    sent: list[int] = []
    client.upload_file(str(tmp_path / "disk.bin"), bucket, "cb/disk.bin", Callback=sent.append)
    assert sum(sent) == len(big)
    assert len(sent) >= 3  # as the file is sent, not once at the end
    got: list[int] = []
    client.download_file(bucket, "cb/disk.bin", str(tmp_path / "back.bin"), Callback=got.append)
    assert sum(got) == len(big)
    assert (tmp_path / "back.bin").read_bytes() == big
    small: list[int] = []
    client.upload_fileobj(io.BytesIO(V1), bucket, "cb/a.zip", Callback=small.append)
    assert small == [len(V1)]


def test_downloads_of_missing_keys_raise_404_as_boto3s_transfers_do(
    backend: Backend,  # noqa: F811
    tmp_path: Path,
) -> None:
    client, bucket = backend
    target = tmp_path / "out.zip"
    for call in (
        lambda: client.download_file(bucket, "d/missing.zip", str(target)),
        lambda: client.download_fileobj(bucket, "d/missing.zip", io.BytesIO()),
        lambda: client.download_file(f"{bucket}-none", "d/a.zip", str(target)),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "404"
        assert error.value.operation_name == "HeadObject"
    assert not target.exists()


def test_url_encoded_listings(backend: Backend) -> None:  # noqa: F811
    client, bucket = backend
    for key in ("enc/asdf+b.zip", "enc/a b/c.txt", "enc/\u00fc.zip"):
        client.put_object(Bucket=bucket, Key=key, Body=V1)
    encoded = client.list_objects_v2(Bucket=bucket, Prefix="enc/", EncodingType="url")
    assert [o["Key"] for o in encoded["Contents"]] == [
        "enc/a%20b/c.txt",
        "enc/asdf%2Bb.zip",
        "enc/%C3%BC.zip",
    ]
    plain = client.list_objects_v2(Bucket=bucket, Prefix="enc/", Delimiter="/")
    assert [o["Key"] for o in plain["Contents"]] == ["enc/asdf+b.zip", "enc/\u00fc.zip"]
    grouped = client.list_objects(Bucket=bucket, Prefix="enc/", Delimiter="/", EncodingType="url")
    assert grouped["CommonPrefixes"] == [{"Prefix": "enc/a%20b/"}]
    with pytest.raises(ClientError) as error:
        client.list_objects_v2(Bucket=bucket, EncodingType="base64")
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
