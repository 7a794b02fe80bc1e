"""The rest of deltaglider 6.2.0's SDK surface, on both backends:
``upload_chunked``, ``find_similar_files``, rehydrated presigned URLs,
``CompressionEstimate`` and ``ObjectInfo``."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from client_backends import backend  # noqa: F401 - the fixture
from helpers import mutate

from deltaglider import CompressionEstimate, DeltaGliderClient, ObjectInfo

V1 = os.urandom(300_000)
V2 = mutate(V1, seed=2, edits=12)


def test_upload_chunked_reports_each_chunk(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    client, bucket = backend
    calls: list[tuple[int, int, int, int]] = []
    for name, data in (("app-1.0.zip", V1), ("app-1.1.zip", V2)):
        path = tmp_path / name
        path.write_bytes(data)
        calls.clear()
        summary = client.upload_chunked(
            path,
            f"s3://{bucket}/rel/",
            chunk_size=100_000,
            progress_callback=lambda *a: calls.append(a),
        )
        assert summary.key == f"rel/{name}"
        size = len(data)
        assert calls == [(1, 3, 100_000, size), (2, 3, 200_000, size), (3, 3, size, size)]
    assert summary.is_delta
    assert summary.stored_size < 10_000
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    calls.clear()
    client.upload_chunked(empty, f"s3://{bucket}/e/", progress_callback=lambda *a: calls.append(a))
    assert calls == [(1, 1, 0, 0)]
    with pytest.raises(ValueError, match="chunk_size"):
        client.upload_chunked(empty, f"s3://{bucket}/e/", chunk_size=0)


def test_find_similar_files_ranks_versions_of_a_name(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for key, body in (
        ("rel/app-1.0.zip", V1),
        ("rel/app-1.1.zip", V2),
        ("rel/app-docs-1.1.zip", V1[:1000]),
        ("rel/app-1.1.tar.gz", V1[:1000]),
        ("rel/other.zip", V1[:500]),
    ):
        client.put_object(Bucket=bucket, Key=key, Body=body)
    found = client.find_similar_files(bucket, "rel/", "app-1.2.zip")
    assert [f["Key"] for f in found[:2]] == ["rel/app-1.0.zip", "rel/app-1.1.zip"]
    assert found[0]["Similarity"] == 1.0
    assert found[1]["Size"] == len(V2)  # the file's size, not its delta's
    assert "rel/app-1.1.tar.gz" not in [f["Key"] for f in found]
    assert len(client.find_similar_files(bucket, "rel/", "app-1.2.zip", limit=1)) == 1


def test_estimates_and_object_info_are_typed_and_read_as_dicts(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="e/app-1.zip", Body=V1)
    second = tmp_path / "app-2.zip"
    second.write_bytes(V2)
    estimate = client.estimate_compression(second, bucket, "e/", 1024)
    assert isinstance(estimate, CompressionEstimate)
    assert estimate.should_use_delta
    assert estimate.recommended_reference == "e/reference.bin"
    assert estimate["stored_as"] == "delta"
    assert estimate["estimated_stored_size"] < 10_000
    assert estimate.estimated_ratio == 1 - estimate.estimated_compressed_size / len(V2)
    assert estimate.savings_percent == 100 * estimate.estimated_ratio
    client.upload(second, f"s3://{bucket}/e/")
    info = client.get_object_info(f"s3://{bucket}/e/app-2.zip")
    assert isinstance(info, ObjectInfo)
    assert (info.size, info.original_size, info.is_delta) == (len(V2), len(V2), True)
    assert info["compressed_size"] == info.stored_size < 10_000
    assert info.delta_chain_length == 1
    assert info["reference_key"] == "e/reference.bin"
    assert "stored_key" in dict((k, info[k]) for k in info)
    with pytest.raises(KeyError):
        info["nothing"]


def test_rehydrated_presigned_urls(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="p/app-1.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="p/app-2.zip", Body=V2)
    client.put_object(Bucket=bucket, Key="p/notes.txt", Body=b"notes")
    assert client.rehydrate_for_download(bucket, "p/notes.txt") is None
    assert client.rehydrate_for_download(bucket, "p/missing.zip") is None
    temp = client.rehydrate_for_download(bucket, "p/app-2.zip", ExpiresIn=600)
    assert temp is not None
    assert temp.startswith(".deltaglider/tmp/")
    if client.endpoint_url is None or client.endpoint_url.startswith("file:"):
        return  # presigning needs an S3 endpoint
    url = client.generate_presigned_url_with_rehydration(bucket, "p/app-2.zip", ExpiresIn=600)
    path, _, query = url.partition("?")
    assert "/.deltaglider/tmp/" in path
    assert path.endswith("/app-2.zip")
    assert "response-content-disposition=attachment%3B%20filename%3D%22app-2.zip%22" in query
    # SeaweedFS refuses a signed response-content-disposition holding quotes
    # (plain boto3's URLs too): the rebuilt copy is fetched without it.
    temp_key = path.split(f"/{bucket}/", 1)[1]
    plain = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": temp_key}, ExpiresIn=600
    )
    with urllib.request.urlopen(plain) as answer:
        assert answer.read() == V2
    missing = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p/never.zip"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(missing)
    assert caught.value.code == 404
