"""Switching tools on one bucket: deltaglider 6.2.0 and this package read
each other's files byte for byte (on a real S3 server, SeaweedFS).

6.2.0 calls the stock xdelta3 binary, so these tests need it too."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from dg62 import OldTool
from helpers import make_service, mutate
from seaweed import fresh_bucket

from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.core.service import DeltaService

pytestmark = pytest.mark.interop

BUCKET = "compat-bucket"
rng = random.Random(62)
BASE = rng.randbytes(600_000)
VERSIONS = [BASE] + [mutate(BASE, seed=620 + i, edits=40) for i in range(4)]


@pytest.fixture
def storage(seaweed_endpoint: str) -> Iterator[S3Storage]:
    with fresh_bucket(seaweed_endpoint, BUCKET) as store:
        yield store


@pytest.fixture
def ours(storage: S3Storage) -> DeltaService:
    return make_service(storage, tool_version="deltaglider/0.1.0")  # type: ignore[no-any-return]


@pytest.fixture
def old(seaweed_endpoint: str, xdelta3_cli: str, dg62_python: Path) -> OldTool:
    return OldTool(dg62_python, seaweed_endpoint)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_we_read_everything_62_writes(
    old: OldTool, ours: DeltaService, storage: S3Storage, tmp_path: Path
) -> None:
    for i, data in enumerate(VERSIONS):
        old.upload(write(tmp_path, f"app-1.{i}.zip", data), f"s3://{BUCKET}/releases/")
    notes = os.urandom(5000)
    old.upload(write(tmp_path, "notes.txt", notes), f"s3://{BUCKET}/releases/")
    old.upload(write(tmp_path, "root.tar.gz", VERSIONS[1]), f"s3://{BUCKET}/")
    keys = {o.key for o in storage.iter_objects(BUCKET)}
    assert "releases/reference.bin" in keys
    assert "releases/app-1.3.zip.delta" in keys
    for i, data in enumerate(VERSIONS):
        got, stored = ours.get_bytes(BUCKET, f"releases/app-1.{i}.zip")
        assert got == data
        assert stored.is_delta
    assert ours.get_bytes(BUCKET, "releases/notes.txt")[0] == notes
    assert ours.get_bytes(BUCKET, "root.tar.gz")[0] == VERSIONS[1]


def test_62_reads_everything_we_write(old: OldTool, ours: DeltaService, tmp_path: Path) -> None:
    for i, data in enumerate(VERSIONS):
        ours.put_bytes(BUCKET, f"ours/app-2.{i}.zip", data)
    ours.put_bytes(BUCKET, "ours/readme.txt", b"plain text")
    ours.put_bytes(BUCKET, "ours/empty.zip", b"")
    ours.put_bytes(BUCKET, "top.jar", VERSIONS[2])
    for i, data in enumerate(VERSIONS):
        out = tmp_path / f"out-{i}"
        old.download(f"s3://{BUCKET}/ours/app-2.{i}.zip", out)
        assert out.read_bytes() == data
    for key, expected in [
        ("ours/readme.txt", b"plain text"),
        ("ours/empty.zip", b""),
        ("top.jar", VERSIONS[2]),
    ]:
        out = tmp_path / "out"
        old.download(f"s3://{BUCKET}/{key}", out)
        assert out.read_bytes() == expected


def test_both_tools_share_one_space(old: OldTool, ours: DeltaService, tmp_path: Path) -> None:
    old.upload(write(tmp_path, "v0.zip", VERSIONS[0]), f"s3://{BUCKET}/shared/")
    ours.put_bytes(BUCKET, "shared/v1.zip", VERSIONS[1])
    old.upload(write(tmp_path, "v2.zip", VERSIONS[2]), f"s3://{BUCKET}/shared/")
    ours.put_bytes(BUCKET, "shared/v3.zip", VERSIONS[3])
    for i in range(4):
        assert ours.get_bytes(BUCKET, f"shared/v{i}.zip")[0] == VERSIONS[i]
        out = tmp_path / f"o{i}"
        old.download(f"s3://{BUCKET}/shared/v{i}.zip", out)
        assert out.read_bytes() == VERSIONS[i]
