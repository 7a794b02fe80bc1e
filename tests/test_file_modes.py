"""Files this package writes (downloads, rebuilt deltas, a local store's
objects) get the mode a plain ``open()`` gives them under the user's
umask, not a temporary file's private 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from archives import release

from deltaglider import create_client
from deltaglider.fsutil import atomic_writer


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_written_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    expected = 0o666 & ~umask
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    assert mode(plain) == expected  # what open() gives, for comparison
    with atomic_writer(tmp_path / "atomic") as out:
        out.write(b"x")
    assert mode(tmp_path / "atomic") == expected
    store = tmp_path / "store"
    client = create_client(endpoint_url=store.as_uri())
    client.create_bucket(Bucket="modes")
    for version in (1, 2):
        client.put_object(Bucket="modes", Key=f"r/p-{version}.whl", Body=release(version))
    stored = [p for p in (store / "modes").rglob("*") if p.is_file()]
    assert stored
    assert {mode(p) for p in stored} == {expected}
    out = tmp_path / "out.whl"
    client.download_file("modes", "r/p-2.whl", str(out))
    assert out.read_bytes() == release(2)
    assert mode(out) == expected
