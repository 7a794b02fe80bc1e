"""Processes racing on one folder and one key, bounded in time: no
acknowledged write is lost and no read fails or returns other bytes.  (The
interleaving tests prove each pair of operations; these run the real thing,
with processes, caches and the servers' own timing.)"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

SECONDS = 5.0
BASE = random.Random(7).randbytes(120_000)  # the same in every process


def version(tag: str, n: int) -> bytes:
    """A small, distinct variation of BASE (a good delta against it) that
    names itself at offset 5000."""
    edit = f"{tag}-{n:06d}".encode().ljust(32, b".") * 8
    return BASE[:5000] + edit + BASE[5000 + len(edit) :]


def named(data: bytes) -> str | None:
    """Which version ``data`` is, if it is one exactly."""
    tag, _, n = data[5000:5032].rstrip(b".").decode("ascii", "replace").partition("-")
    if n.isdigit() and data == version(tag, int(n)):
        return f"{tag}-{int(n)}"
    return None


def _client(endpoint: str) -> Any:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from client_backends import seaweed_client

    from deltaglider import create_client

    if endpoint.startswith("file:"):
        return create_client(endpoint_url=endpoint)
    return seaweed_client(endpoint)


def _folder_deleter(endpoint: str, bucket: str, deadline: float) -> list[str]:
    """Put and delete the folder's only other file, again and again."""
    client, problems, n = _client(endpoint), [], 0
    while time.monotonic() < deadline:
        n += 1
        client.put_object(Bucket=bucket, Key="f/a.zip", Body=version("a", n))
        client.delete_object(Bucket=bucket, Key="f/a.zip")
    return problems


def _folder_putter(endpoint: str, bucket: str, deadline: float) -> list[str]:
    """Put f/b.zip, read it back with a fresh client, delete it."""
    client, problems, n = _client(endpoint), [], 0
    while time.monotonic() < deadline:
        n += 1
        data = version("b", n)
        client.put_object(Bucket=bucket, Key="f/b.zip", Body=data)
        try:
            got = _client(endpoint).get_object(Bucket=bucket, Key="f/b.zip")["Body"].read()
        except Exception as exc:  # a lost write: the put was acknowledged
            problems.append(f"put {n} unreadable: {exc!r}")
        else:
            if got != data:
                problems.append(f"put {n} read back other bytes")
        client.delete_object(Bucket=bucket, Key="f/b.zip")
    return problems


def _form_writer(endpoint: str, bucket: str, deadline: float, delta: bool) -> list[str]:
    """Overwrite k.zip, as a delta or as is; returns the values written, last last."""
    client, n, written = _client(endpoint), 0, []
    while time.monotonic() < deadline:
        n += 1
        tag = "delta" if delta else "direct"
        client.put_object(Bucket=bucket, Key="k/k.zip", Body=version(tag, n), delta=delta)
        written.append(f"{tag}-{n}")
    return written


def _reader(endpoint: str, bucket: str, deadline: float) -> list[str]:
    """Read k.zip over and over: every read must give one version written."""
    client, problems = _client(endpoint), []
    while time.monotonic() < deadline:
        try:
            got = client.get_object(Bucket=bucket, Key="k/k.zip")["Body"].read()
        except Exception as exc:
            problems.append(f"read failed: {exc!r}")
            continue
        if named(got) is None:
            problems.append("read returned bytes nobody wrote")
    return problems


def _run(*jobs: tuple[Any, tuple[Any, ...]]) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(jobs)) as pool:
        pending = [pool.apply_async(function, args) for function, args in jobs]
        return [p.get(timeout=SECONDS + 120) for p in pending]


@pytest.fixture(params=["local", "seaweedfs"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from client_backends import empty_and_delete, seaweed_client
    from seaweed import s3_client

    bucket = f"stress-{request.param}-{os.getpid()}"
    if request.param == "local":
        endpoint = (tmp_path / "store").as_uri()
        (tmp_path / "store").mkdir()
        client = _client(endpoint)
    else:
        endpoint = request.getfixturevalue("seaweed_endpoint")
        client = seaweed_client(endpoint)
    client.create_bucket(Bucket=bucket)
    yield endpoint, bucket, client
    if request.param != "local":
        empty_and_delete(s3_client(endpoint), bucket)


def test_delete_of_a_folders_last_file_racing_puts(place: Any) -> None:
    endpoint, bucket, _ = place
    deadline = time.monotonic() + SECONDS + 3  # children start in about a second
    deleter, putter = _run(
        (_folder_deleter, (endpoint, bucket, deadline)),
        (_folder_putter, (endpoint, bucket, deadline)),
    )
    assert deleter == []
    assert putter == []


def test_one_key_written_in_both_forms_and_read_meanwhile(place: Any) -> None:
    endpoint, bucket, client = place
    client.put_object(Bucket=bucket, Key="k/k.zip", Body=version("delta", 0))
    deadline = time.monotonic() + SECONDS + 3
    deltas, directs, reads = _run(
        (_form_writer, (endpoint, bucket, deadline, True)),
        (_form_writer, (endpoint, bucket, deadline, False)),
        (_reader, (endpoint, bucket, deadline)),
    )
    assert reads == [], reads[:5]
    assert deltas
    assert directs
    final = client.get_object(Bucket=bucket, Key="k/k.zip")["Body"].read()
    # The two writers ran at once to the end: the last of one of them stands.
    last = {version("delta", len(deltas)), version("direct", len(directs))}
    assert final in last
    stored = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="k/")["Contents"]]
    assert stored == ["k/k.zip"]
