"""The reference cache is an optimisation: a removed, unwritable or full
cache folder, or an entry replaced by a folder, never fails a put or get."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

import pytest
from helpers import mutate

from deltaglider import create_client
from deltaglider.adapters.cache import EncryptedFileCache, LayeredCache

V1 = os.urandom(300_000)
V2 = mutate(V1, seed=5, edits=12)
V3 = mutate(V2, seed=6, edits=12)


@pytest.fixture(autouse=True)
def _no_memory_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_CACHE_MEMORY_SIZE_MB", "0")  # every reference goes to disk


def client_with_disk_cache(tmp_path: Path, threshold: int | None = None):  # type: ignore[no-untyped-def]
    client = create_client(endpoint_url=(tmp_path / "store").as_uri())
    client.create_bucket(Bucket="faults")
    if threshold is not None:
        client.service.stream_threshold = threshold
    return client


def files_of(client) -> EncryptedFileCache:  # type: ignore[no-untyped-def]
    cache = client.service.cache
    assert isinstance(cache, LayeredCache)
    assert cache.files is not None
    return cache.files


@pytest.mark.parametrize("threshold", [None, 1000], ids=["in-memory", "streaming"])
def test_a_removed_cache_folder_is_made_again(tmp_path: Path, threshold: int | None) -> None:
    client = client_with_disk_cache(tmp_path, threshold)
    client.put_object(Bucket="faults", Key="a/v1.zip", Body=V1)
    shutil.rmtree(files_of(client).folder)  # a tmp cleaner
    client.put_object(Bucket="faults", Key="a/v2.zip", Body=V2)
    assert client.get_object(Bucket="faults", Key="a/v2.zip")["Body"].read() == V2
    shutil.rmtree(files_of(client).folder)
    # the first put into a new folder: no orphan reference left behind
    client.put_object(Bucket="faults", Key="b/v1.zip", Body=V1)
    assert client.get_object(Bucket="faults", Key="b/v1.zip")["Body"].read() == V1
    assert files_of(client).folder.is_dir()


@pytest.mark.parametrize("threshold", [None, 1000], ids=["in-memory", "streaming"])
def test_a_full_cache_disk_is_given_up_with_one_warning(
    tmp_path: Path,
    threshold: int | None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_with_disk_cache(tmp_path, threshold)
    client.put_object(Bucket="faults", Key="a/v1.zip", Body=V1)
    client.service.cache.clear()

    def full(self: EncryptedFileCache) -> tuple[int, str]:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(EncryptedFileCache, "_temp_file", full)
    with caplog.at_level(logging.WARNING, logger="deltaglider"):
        client.put_object(Bucket="faults", Key="a/v2.zip", Body=V2)
        client.put_object(Bucket="faults", Key="a/v3.zip", Body=V3)
        for key, data in (("a/v1.zip", V1), ("a/v2.zip", V2), ("a/v3.zip", V3)):
            assert client.get_object(Bucket="faults", Key=key)["Body"].read() == data
    warnings = [
        r.getMessage() for r in caplog.records if "without the disk cache" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings
    assert str(files_of(client).folder) in warnings[0]


@pytest.mark.parametrize("threshold", [None, 1000], ids=["in-memory", "streaming"])
def test_no_cache_folder_at_all_leaves_memory_alone(
    tmp_path: Path,
    threshold: int | None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unwritable(cls: type[EncryptedFileCache]) -> EncryptedFileCache:
        raise OSError(errno.EROFS, "Read-only file system", "/tmp/deltaglider-x")

    monkeypatch.setattr(EncryptedFileCache, "ephemeral", classmethod(unwritable))
    with caplog.at_level(logging.WARNING, logger="deltaglider"):
        client = create_client(endpoint_url=(tmp_path / "store").as_uri())
        assert client.service.cache.files is None
        client.create_bucket(Bucket="faults")
        if threshold is not None:
            client.service.stream_threshold = threshold
        for key, data in (("a/v1.zip", V1), ("a/v2.zip", V2)):
            client.put_object(Bucket="faults", Key=key, Body=data)
        for key, data in (("a/v1.zip", V1), ("a/v2.zip", V2)):
            assert client.get_object(Bucket="faults", Key=key)["Body"].read() == data
    assert "Read-only file system" in caplog.text


@pytest.mark.parametrize("threshold", [None, 1000], ids=["in-memory", "streaming"])
def test_an_entry_replaced_by_a_folder_is_a_miss(tmp_path: Path, threshold: int | None) -> None:
    client = client_with_disk_cache(tmp_path, threshold)
    client.put_object(Bucket="faults", Key="a/v1.zip", Body=V1)
    client.put_object(Bucket="faults", Key="a/v2.zip", Body=V2)
    folder = files_of(client).folder
    client.service.cache.memory.clear()
    for entry in [p for p in folder.iterdir() if len(p.name) == 64]:
        entry.unlink()
        (entry / "inside").mkdir(parents=True)
    for _ in range(2):
        assert client.get_object(Bucket="faults", Key="a/v2.zip")["Body"].read() == V2
        client.service.cache.memory.clear()


@pytest.mark.parametrize("threshold", [None, 1000], ids=["in-memory", "streaming"])
def test_a_damaged_entry_is_fetched_again_within_the_same_call(
    tmp_path: Path, threshold: int | None
) -> None:
    client = client_with_disk_cache(tmp_path, threshold)
    client.put_object(Bucket="faults", Key="a/v1.zip", Body=V1)
    client.put_object(Bucket="faults", Key="a/v2.zip", Body=V2)
    client.service.cache.memory.clear()
    (entry,) = [p for p in files_of(client).folder.iterdir() if len(p.name) == 64]
    damaged = bytearray(entry.read_bytes())
    damaged[len(damaged) * 3 // 4] ^= 0x40  # a chunk late in the file: found mid-rebuild
    entry.write_bytes(bytes(damaged))
    assert client.get_object(Bucket="faults", Key="a/v2.zip")["Body"].read() == V2
    out = tmp_path / "v2.zip"
    entry.write_bytes(bytes(damaged))
    client.service.cache.memory.clear()
    client.download_file("faults", "a/v2.zip", str(out))
    assert out.read_bytes() == V2
