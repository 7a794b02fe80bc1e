"""The API reference's examples (shared/seeds/000_*.txt), run as written but
for bucket names and local files, on the local directory and on SeaweedFS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from client_backends import backend  # noqa: F401 - the fixture
from helpers import mutate

from deltaglider import DeltaGliderClient, create_client

Backend = tuple[DeltaGliderClient, str]
V1 = os.urandom(200_000)


def test_client_creation_examples() -> None:
    # No request is made until a method is called.
    for client in (
        create_client(),
        create_client(endpoint_url="http://localhost:9000"),
        create_client(log_level="DEBUG"),
        create_client(max_ratio=0.3),
    ):
        assert isinstance(client, DeltaGliderClient)
    assert create_client(max_ratio=0.3).service.max_ratio == 0.3
    create_client(log_level="INFO")


def test_object_and_listing_examples(
    backend: Backend,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, releases = backend
    for i in range(3):
        client.put_object(Bucket=releases, Key=f"v1.0.0/app-{i}.zip", Body=mutate(V1, i, 10))

    # Fast listing for UI display (no metadata fetching)
    response = client.list_objects(Bucket=releases)
    for obj in response["Contents"]:
        print(f"{obj['Key']}: {obj['Size']} bytes")

    # Paginated listing for large buckets
    response = client.list_objects(Bucket=releases, MaxKeys=1)
    pages = 1
    while response.get("IsTruncated"):
        for obj in response["Contents"]:
            print(obj["Key"])
        response = client.list_objects(
            Bucket=releases, MaxKeys=1, ContinuationToken=response.get("NextContinuationToken")
        )
        pages += 1
    assert pages == 3

    # Get detailed compression stats (slower, only for analytics)
    response = client.list_objects(Bucket=releases, FetchMetadata=True)
    compressed = 0
    for obj in response["Contents"]:
        metadata = obj.get("Metadata", {})
        if metadata.get("deltaglider-is-delta") == "true":
            compression = metadata.get("deltaglider-compression-ratio", "unknown")
            print(f"{obj['Key']}: {compression} compression")
            compressed += 1
    assert compressed == 3
    out = capsys.readouterr().out
    assert f"v1.0.0/app-1.zip: {len(mutate(V1, 1, 10))} bytes" in out
    assert "compression" in out


def test_stats_and_bucket_examples(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="a/app-1.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="a/app-2.zip", Body=mutate(V1, 5, 10))

    # Quick stats for dashboard display (cached after first call)
    stats = client.get_bucket_stats(bucket)
    print(f"Objects: {stats.object_count}, Size: {stats.total_size}")
    # Second call hits cache (instant response)
    assert client.get_bucket_stats(bucket) is stats
    # Detailed stats for analytics (slower but accurate, also cached)
    stats = client.get_bucket_stats(bucket, detailed_stats=True)
    print(f"Compression ratio: {stats.average_compression_ratio:.1%}")
    # Quick call after detailed call reuses detailed cache (more accurate)
    assert client.get_bucket_stats(bucket) is stats
    # Clear cache to force refresh
    client.clear_cache()
    assert client.get_bucket_stats(bucket) is not stats

    # Create bucket in default region; in a specific region
    client.create_bucket(Bucket=bucket + "-releases")
    client.create_bucket(
        Bucket=bucket + "-backups", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
    )
    # List all buckets, with cached stats where fetched
    client.get_bucket_stats(bucket, detailed_stats=True)
    response = client.list_buckets()
    names = []
    for entry in response["Buckets"]:
        names.append(entry["Name"])
        print(f"{entry['Name']} - Created: {entry['CreationDate']}")
        if "DeltaGliderStats" in entry:
            cached = entry["DeltaGliderStats"]
            print(
                f"  Cached stats: {cached['ObjectCount']} objects, "
                f"{cached['AverageCompressionRatio']:.1%} compression"
            )
    assert {bucket, bucket + "-releases", bucket + "-backups"} <= set(names)
    # Delete empty bucket
    client.delete_bucket(Bucket=bucket + "-releases")
    client.delete_bucket(Bucket=bucket + "-backups")


def test_simple_api_examples(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    client, bucket = backend
    os.chdir(tmp_path)
    Path("app.zip").write_bytes(V1)
    Path("large-file.tar.gz").write_bytes(mutate(V1, 9, 10))

    # Simple upload
    summary = client.upload("app.zip", f"s3://{bucket}/v1.0.0/")
    # With custom compression threshold
    summary = client.upload("large-file.tar.gz", f"s3://{bucket}/v1.0.0/", max_ratio=0.3)
    # Check results
    if summary.is_delta:
        print(f"Stored as delta: {summary.stored_size_mb:.1f} MB")
    else:
        print(f"Stored as full file: {summary.original_size_mb:.1f} MB")
    assert summary.is_delta

    print(f"Operation: {summary.operation}")
    print(f"Location: s3://{summary.bucket}/{summary.key}")
    print(f"Saved: {summary.savings_percent:.0f}%")
    if summary.is_delta:
        print(f"Delta ratio: {summary.delta_ratio:.2%}")

    # Download a file (the .delta form is found by itself)
    client.download(f"s3://{bucket}/v1.0.0/app.zip", "downloaded.zip")
    assert Path("downloaded.zip").read_bytes() == V1
    # Download to specific directory
    output = tmp_path / "downloads" / "app.zip"
    output.parent.mkdir(parents=True, exist_ok=True)
    client.download(f"s3://{bucket}/v1.0.0/app.zip", output)
    assert output.read_bytes() == V1

    # Verify file integrity
    assert client.verify(f"s3://{bucket}/v1.0.0/app.zip")

    # Evict specific reference after update; next upload fetches it again
    client.evict_cache(f"s3://{bucket}/v1.0.0/reference.bin")
    client.upload("app.zip", f"s3://{bucket}/v1.0.0/")
    for space in ["v1.0.0", "v1.1.0"]:
        client.evict_cache(f"s3://{bucket}/{space}/reference.bin")

    # Exception handling example
    caught = None
    try:
        client.upload("missing.zip", f"s3://{bucket}/path/")
    except FileNotFoundError as e:
        caught = e
    assert caught is not None
    try:
        client.upload("app.zip", "not-a-url")
    except ValueError as e:
        caught = e
    assert isinstance(caught, ValueError)
