"""Archive-aware (contents) deltas through the SDK, on a local directory and
on SeaweedFS: wheels and tarballs stored as deltas of what they contain,
read back byte for byte; the setting that turns them off; damage refused;
and deltaglider 6.2.0 failing safe on one."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from archives import release, tarball
from botocore.exceptions import ClientError
from client_backends import backend, seaweed_client  # noqa: F401 - fixture
from dg62 import OldTool
from seaweed import fresh_bucket

from deltaglider import DeltaGliderClient, archive, create_client
from deltaglider.client.factory import create_client as factory_create
from deltaglider.core.errors import IntegrityError, UnsupportedObjectError

WHEELS = [release(v) for v in range(1, 5)]
TARBALLS = [gzip.compress(tarball(v), compresslevel=9, mtime=v) for v in range(1, 4)]


def physical(client: DeltaGliderClient, bucket: str, key: str) -> dict[str, str]:
    """The metadata of the object a key is stored as."""
    stored = client.service.reader.locate(bucket, key)
    assert stored is not None
    head = client.service.storage.head(bucket, stored.physical_key)
    assert head is not None
    return head.metadata


def test_wheels_and_tarballs_are_stored_as_contents_deltas(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for i, data in enumerate(WHEELS):
        client.put_object(Bucket=bucket, Key=f"wheels/pkg-1.{i}-py3-none-any.whl", Body=data)
    for i, data in enumerate(TARBALLS):
        client.put_object(Bucket=bucket, Key=f"sdists/pkg-1.{i}.tar.gz", Body=data)
    for prefix, series, name in (
        ("wheels", WHEELS, "pkg-1.{}-py3-none-any.whl"),
        ("sdists", TARBALLS, "pkg-1.{}.tar.gz"),
    ):
        for i, data in enumerate(series):
            key = f"{prefix}/{name.format(i)}"
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
            meta = physical(client, bucket, key)
            if i:  # the first became the reference
                assert meta["dg-delta-format"] == archive.FORMAT
                assert meta["dg-deflate"] == archive.IMPLEMENTATION
                assert int(meta["dg-delta-size"]) < len(data) // 10
    stored = {
        o["Key"]: o["Size"]
        for o in client.list_objects(Bucket=bucket, Prefix="wheels/")["Contents"]
    }
    assert stored == {f"wheels/pkg-1.{i}-py3-none-any.whl": len(d) for i, d in enumerate(WHEELS)}


def test_a_zip_under_any_name_is_a_candidate(backend: tuple[DeltaGliderClient, str]) -> None:  # noqa: F811
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="x/app-1.nupkg", Body=WHEELS[0])
    client.put_object(Bucket=bucket, Key="x/app-2.nupkg", Body=WHEELS[1])
    assert physical(client, bucket, "x/app-2.nupkg")["dg-delta-format"] == archive.FORMAT
    assert client.get_object(Bucket=bucket, Key="x/app-2.nupkg")["Body"].read() == WHEELS[1]


def test_turned_off_the_deltas_are_the_ones_62_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for how in ("argument", "environment"):
        store = tmp_path / how
        if how == "argument":
            client = create_client(endpoint_url=store.as_uri(), archive_deltas="off")
        else:
            monkeypatch.setenv("DG_ARCHIVE_DELTAS", "off")
            client = create_client(endpoint_url=store.as_uri())
            monkeypatch.delenv("DG_ARCHIVE_DELTAS")
        client.create_bucket(Bucket="off-bucket")
        for i, data in enumerate(WHEELS[:2]):
            client.put_object(Bucket="off-bucket", Key=f"r/app-{i}.zip", Body=data)
        client.put_object(Bucket="off-bucket", Key="r/app.whl", Body=WHEELS[2])
        meta = physical(client, "off-bucket", "r/app-1.zip")
        assert "dg-delta-format" not in meta
        assert meta["dg-delta-cmd"].startswith("xdelta3 -e -9")
        assert not client.service.reader.locate("off-bucket", "r/app.whl").is_delta  # type: ignore[union-attr]
        # Written with the setting off, read by a client with it on.
        on = create_client(endpoint_url=store.as_uri())
        assert on.get_object(Bucket="off-bucket", Key="r/app-1.zip")["Body"].read() == WHEELS[1]
    with pytest.raises(ValueError, match="archive_deltas"):
        factory_create(endpoint_url=(tmp_path / "x").as_uri(), archive_deltas="sometimes")


def test_zip_only_leaves_gzip_to_the_plain_delta(tmp_path: Path) -> None:
    client = create_client(endpoint_url=(tmp_path / "s").as_uri(), archive_deltas="zip")
    client.create_bucket(Bucket="zip-only")
    for i, data in enumerate(TARBALLS[:2]):
        client.put_object(Bucket="zip-only", Key=f"s/p-{i}.tar.gz", Body=data)
    for i, data in enumerate(WHEELS[:2]):
        client.put_object(Bucket="zip-only", Key=f"w/p-{i}.whl", Body=data)
    assert "dg-delta-format" not in physical(client, "zip-only", "s/p-1.tar.gz")
    assert physical(client, "zip-only", "w/p-1.whl")["dg-delta-format"] == archive.FORMAT


def test_damage_and_unknown_deflate_are_refused(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    for i, data in enumerate(WHEELS[:2]):
        client.put_object(Bucket=bucket, Key=f"d/p-{i}.whl", Body=data)
    storage = client.service.storage
    head = storage.head(bucket, "d/p-1.whl.delta")
    assert head is not None
    _, body = storage.open(bucket, "d/p-1.whl.delta")
    with body:
        payload = bytearray(body.read())
    payload[-20] ^= 0xFF
    storage.put(bucket, "d/p-1.whl.delta", bytes(payload), head.metadata)
    with pytest.raises(ClientError, match="DeltaGliderIntegrityError"):
        client.get_object(Bucket=bucket, Key="d/p-1.whl")
    with pytest.raises(IntegrityError, match="the delta is damaged"):
        client.service.get_bytes(bucket, "d/p-1.whl")
    client.put_object(Bucket=bucket, Key="d/p-1.whl", Body=WHEELS[1])
    head = storage.head(bucket, "d/p-1.whl.delta")
    assert head is not None
    _, body = storage.open(bucket, "d/p-1.whl.delta")
    with body:
        payload = bytearray(body.read())
    storage.put(
        bucket, "d/p-1.whl.delta", bytes(payload), {**head.metadata, "dg-deflate": "zlib-ng-2.2"}
    )
    with pytest.raises(UnsupportedObjectError, match=r"zlib-ng-2\.2"):
        client.service.get_bytes(bucket, "d/p-1.whl")


@pytest.mark.interop
def test_62_fails_safe_on_a_contents_delta(
    seaweed_endpoint: str, xdelta3_cli: str, dg62_python: Path, tmp_path: Path
) -> None:
    bucket = "contents-62"
    with fresh_bucket(seaweed_endpoint, bucket):
        ours = seaweed_client(seaweed_endpoint)
        for i, data in enumerate(WHEELS[:2]):
            ours.put_object(Bucket=bucket, Key=f"rel/app-{i}.zip", Body=data)
        assert physical(ours, bucket, "rel/app-1.zip")["dg-delta-format"] == archive.FORMAT
        old = OldTool(dg62_python, seaweed_endpoint)
        out = tmp_path / "out.zip"
        with pytest.raises(RuntimeError):
            old.download(f"s3://{bucket}/rel/app-1.zip", out)
        assert not out.exists(), "6.2.0 handed out a file"
        old.download(f"s3://{bucket}/rel/app-0.zip", out)  # its reference it reads
        assert out.read_bytes() == WHEELS[0]


def test_an_estimate_is_what_the_put_stores(tmp_path: Path) -> None:
    client = create_client(endpoint_url=(tmp_path / "s").as_uri())
    client.create_bucket(Bucket="estimates")
    client.put_object(Bucket="estimates", Key="w/p-1.whl", Body=WHEELS[0])
    wheel = tmp_path / "p-2.whl"
    wheel.write_bytes(WHEELS[1])
    estimate = client.estimate_compression(wheel, "estimates", "w")
    client.upload(wheel, "s3://estimates/w/")
    stored = client.service.reader.locate("estimates", "w/p-2.whl")
    assert stored is not None
    assert stored.delta_format == archive.FORMAT
    assert estimate["stored_as"] == "delta"
    assert estimate["estimated_stored_size"] == stored.stored_size


def test_a_slow_rebuild_is_kept_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltaglider.core import reader

    client = create_client(endpoint_url=(tmp_path / "s").as_uri())
    client.create_bucket(Bucket="kept")
    for i, data in enumerate(TARBALLS[:2]):
        client.put_object(Bucket="kept", Key=f"s/p-{i}.tar.gz", Body=data)
    codec = client.service.reader.diff
    rebuilds: list[int] = []
    original = codec.decode_contents

    def counted(*args: object, **kwargs: object) -> bytearray:
        rebuilds.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(codec, "decode_contents", counted)
    client.clear_cache()
    monkeypatch.setattr(reader, "_KEEP_REBUILT_AFTER", 3600.0)  # never slow enough
    for _ in range(2):
        assert client.get_object(Bucket="kept", Key="s/p-1.tar.gz")["Body"].read() == TARBALLS[1]
    assert len(rebuilds) == 2
    monkeypatch.setattr(reader, "_KEEP_REBUILT_AFTER", 0.0)  # every rebuild is slow
    for _ in range(3):
        assert client.get_object(Bucket="kept", Key="s/p-1.tar.gz")["Body"].read() == TARBALLS[1]
    assert len(rebuilds) == 3  # rebuilt once more, then read from the cache
