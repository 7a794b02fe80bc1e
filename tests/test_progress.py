"""Progress callbacks: the bytes a put or get moves, reported as they move
(boto3's Callback convention: bytes since the last call), never more than
the file's size in all."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest
from archives import edited, long_content, make_zip, text
from helpers import make_service, mutate

from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.errors import IntegrityError
from deltaglider.core.models import ObjectKey
from deltaglider.metering import Meter

BUCKET = "progress"
MIB = 1 << 20


class Calls(list[int]):
    def __call__(self, count: int) -> None:
        self.append(count)


@pytest.fixture
def service(tmp_path: Path) -> Any:
    service = make_service(LocalStorage(tmp_path / "store"))
    service.stream_threshold = MIB  # large files take the streaming paths
    service.create_bucket(BUCKET)
    return service


def test_a_file_stored_as_is_reports_as_it_is_sent(service: Any, tmp_path: Path) -> None:
    file = tmp_path / "disk.bin"
    file.write_bytes(os.urandom(3 * MIB + 5))
    calls = Calls()
    service.put_file(BUCKET, "d/disk.bin", file, progress=calls)
    assert sum(calls) == file.stat().st_size
    assert len(calls) >= 3  # chunk by chunk, not once at the end
    back = Calls()
    service.get(ObjectKey(BUCKET, "d/disk.bin"), tmp_path / "out.bin", progress=back)
    assert sum(back) == file.stat().st_size
    assert len(back) >= 3


def test_a_streamed_delta_reports_while_encoding_and_rebuilding(
    service: Any, tmp_path: Path
) -> None:
    first = os.urandom(10 * MIB)  # the encoder reads 8 MiB target windows
    second = mutate(first, seed=3, edits=20)
    (tmp_path / "v1.zip").write_bytes(first)
    (tmp_path / "v2.zip").write_bytes(second)
    service.put_file(BUCKET, "r/v1.zip", tmp_path / "v1.zip")
    calls = Calls()
    summary = service.put_file(BUCKET, "r/v2.zip", tmp_path / "v2.zip", progress=calls)
    assert summary.operation == "PUT_DELTA"
    assert sum(calls) == len(second)
    assert len(calls) >= 2
    back = Calls()
    service.get(ObjectKey(BUCKET, "r/v2.zip"), tmp_path / "v2.out", progress=back)
    assert (tmp_path / "v2.out").read_bytes() == second
    assert sum(back) == len(second)
    assert len(back) >= 2


def test_a_contents_delta_reports_while_it_is_rebuilt(tmp_path: Path) -> None:
    """A tarball's stream rebuilt in chunks on every core: a report per
    chunk as it is done, not one when the file is whole."""
    service = make_service(LocalStorage(tmp_path / "store"))
    service.create_bucket(BUCKET)
    content = long_content()
    changed = content[: len(content) // 2] + b"new line\n" + content[len(content) // 2 + 4 :]
    for name, data in (("v1.tar.gz", content), ("v2.tar.gz", changed)):
        (tmp_path / name).write_bytes(gzip.compress(data, 9, mtime=1))
        service.put_file(BUCKET, f"t/{name}", tmp_path / name)
    assert service.head(BUCKET, "t/v2.tar.gz").delta_format is not None
    calls = Calls()
    service.get(ObjectKey(BUCKET, "t/v2.tar.gz"), tmp_path / "out.tar.gz", progress=calls)
    size = (tmp_path / "v2.tar.gz").stat().st_size
    assert (tmp_path / "out.tar.gz").read_bytes() == (tmp_path / "v2.tar.gz").read_bytes()
    assert sum(calls) == size
    assert len(calls) >= 4
    assert max(calls) < size // 2


def test_a_contents_delta_put_reports_while_the_archive_is_taken_apart(
    tmp_path: Path,
) -> None:
    """A tarball's stream checked in chunks at put (the slow part of a
    contents-delta put): a report per chunk, the first space's reference
    as it is sent, not one report when the put is done."""
    service = make_service(LocalStorage(tmp_path / "store"))
    service.create_bucket(BUCKET)
    content = long_content()
    changed = content[: len(content) // 2] + b"new line\n" + content[len(content) // 2 + 4 :]
    reports = []
    for name, data in (("v1.tar.gz", content), ("v2.tar.gz", changed)):
        (tmp_path / name).write_bytes(gzip.compress(data, 9, mtime=1))
        calls = Calls()
        service.put_file(BUCKET, f"t/{name}", tmp_path / name, progress=calls)
        assert sum(calls) == (tmp_path / name).stat().st_size
        reports.append(calls)
    assert service.head(BUCKET, "t/v2.tar.gz").delta_format is not None
    sent, encoded = reports
    assert len(sent) >= 2  # the reference, a MiB at a time
    assert len(encoded) >= 3
    assert max(encoded) < sum(encoded) // 2


def test_a_zip_put_reports_member_by_member(tmp_path: Path) -> None:
    service = make_service(LocalStorage(tmp_path / "store"))
    service.create_bucket(BUCKET)
    members = [(f"pkg/m{i}.py", text(i, 400)) for i in range(300)]
    (tmp_path / "v1.whl").write_bytes(make_zip(members))
    changed = [(name, edited(data, i)) for i, (name, data) in enumerate(members)]
    (tmp_path / "v2.whl").write_bytes(make_zip(changed))
    service.put_file(BUCKET, "w/v1.whl", tmp_path / "v1.whl")
    calls = Calls()
    summary = service.put_file(BUCKET, "w/v2.whl", tmp_path / "v2.whl", progress=calls)
    assert summary.operation == "PUT_DELTA"
    assert service.head(BUCKET, "w/v2.whl").delta_format is not None
    assert sum(calls) == (tmp_path / "v2.whl").stat().st_size
    assert len(calls) >= 3
    assert max(calls) < sum(calls) // 2


def test_small_files_report_once_when_done(service: Any, tmp_path: Path) -> None:
    service.stream_threshold = 64 * MIB
    (tmp_path / "a.zip").write_bytes(b"a" * 1000)
    calls = Calls()
    service.put_file(BUCKET, "s/a.zip", tmp_path / "a.zip", progress=calls)
    assert calls == [1000]
    back = Calls()
    stream, _ = service.open_verified(BUCKET, "s/a.zip", progress=back)
    assert stream.read() == b"a" * 1000
    assert back == [1000]


def test_a_failed_rebuild_writes_nothing_whatever_was_reported(
    service: Any, tmp_path: Path
) -> None:
    file = tmp_path / "disk.bin"
    file.write_bytes(os.urandom(2 * MIB))
    service.put_file(BUCKET, "f/disk.bin", file)
    storage = service.storage
    head = storage.head(BUCKET, "f/disk.bin")
    damaged = bytearray(file.read_bytes())
    damaged[0] ^= 1
    storage.put(BUCKET, "f/disk.bin", bytes(damaged), head.metadata)
    with pytest.raises(IntegrityError):
        service.get(ObjectKey(BUCKET, "f/disk.bin"), tmp_path / "out.bin", progress=Calls())
    assert not (tmp_path / "out.bin").exists()


def test_a_meter_never_reports_more_than_the_total() -> None:
    calls = Calls()
    meter = Meter(calls, 10)
    meter.add(6)
    meter.add(6)  # a second pass over the same bytes
    meter.add(3)
    meter.finish()
    assert calls == [6, 4]
    quiet = Meter(None, 10)
    quiet.add(5)  # no callback: nothing to do
    assert quiet.reported == 0
