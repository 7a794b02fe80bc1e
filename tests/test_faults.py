"""A store that fails at any step of a put or delete: the space stays
consistent and every earlier file stays readable."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers import mutate

from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import LayeredCache, MemoryCache
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core import keys
from deltaglider.core.service import DeltaService
from deltaglider.core.size_markers import MARKER_PREFIX

BUCKET = "fault-bucket"
V = [os.urandom(300_000)]
V += [mutate(V[0], seed=i, edits=25) for i in range(1, 4)]


class InjectedFailureError(OSError):
    pass


class FaultyStorage(LocalStorage):
    """Fails the n-th call of any operation (1-based); 0 never fails."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.fail_at = 0
        self.calls = 0
        self.failed = ""

    def _step(self, what: str) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            self.failed = what
            raise InjectedFailureError(f"injected failure at call {self.calls} ({what})")

    def head(self, bucket: str, key: str):  # type: ignore[no-untyped-def]
        self._step(f"head {key}")
        return super().head(bucket, key)

    def open(self, bucket: str, key: str, **kwargs: object):  # type: ignore[no-untyped-def]
        self._step(f"open {key}")
        return super().open(bucket, key, **kwargs)  # type: ignore[arg-type]

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        metadata: Mapping[str, str],
        **kwargs: object,
    ) -> str:
        self._step(f"put {key}")
        return super().put(bucket, key, body, metadata, **kwargs)  # type: ignore[arg-type]

    def delete(self, bucket: str, key: str, **kwargs: object) -> None:
        self._step(f"delete {key}")
        super().delete(bucket, key, **kwargs)  # type: ignore[arg-type]

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        self._step(f"copy {source_key} {key}")
        return super().copy(bucket, source_key, key)

    def list_objects(self, bucket: str, prefix: str = "", **kwargs: object):  # type: ignore[no-untyped-def]
        self._step(f"list {prefix}")
        return super().list_objects(bucket, prefix, **kwargs)  # type: ignore[arg-type]


def make(tmp_path: Path) -> tuple[DeltaService, FaultyStorage]:
    store = FaultyStorage(tmp_path / "store")
    store.create_bucket(BUCKET)
    service = DeltaService(
        store,
        XDeltaCodec(),
        Sha256Hasher(),
        LayeredCache(MemoryCache(0), None),
        UtcClock(),
        StdLogger(),
        NoopMetrics(),
    )
    return service, store


def assert_consistent(
    service: DeltaService, store: FaultyStorage, expected: dict[str, bytes]
) -> None:
    store.fail_at = 0
    for key, data in expected.items():
        assert service.get_bytes(BUCKET, key)[0] == data, key
    physical = [o.key for o in store.iter_objects(BUCKET)]
    for key in physical:
        if key.endswith(keys.DELTA_SUFFIX):
            reference = keys.reference_key(keys.split_key(key)[0])
            assert reference in physical, f"{key} has no reference"


def count_calls(tmp_path: Path, action: str) -> int:
    service, store = make(tmp_path / "count")
    service.put_bytes(BUCKET, "s/a.zip", V[0])
    service.put_bytes(BUCKET, "s/b.zip", V[1])
    store.calls = 0
    act(service, action)
    return store.calls


def act(service: DeltaService, action: str) -> None:
    if action == "put":
        service.put_bytes(BUCKET, "s/c.zip", V[2])
    elif action == "overwrite":
        service.put_bytes(BUCKET, "s/b.zip", V[3])
    else:
        service.delete(BUCKET, "s/a.zip")


@pytest.mark.parametrize("action", ["put", "overwrite", "delete"])
def test_failure_at_every_step_keeps_earlier_files(tmp_path: Path, action: str) -> None:
    steps = count_calls(tmp_path, action)
    assert steps >= 3
    for fail_at in range(1, steps + 1):
        service, store = make(tmp_path / f"{action}-{fail_at}")
        service.put_bytes(BUCKET, "s/a.zip", V[0])
        service.put_bytes(BUCKET, "s/b.zip", V[1])
        store.calls, store.fail_at = 0, fail_at
        expected = {"s/a.zip": V[0], "s/b.zip": V[1]}
        try:
            act(service, action)
        except InjectedFailureError:
            pass
        else:  # only a size marker's failure is absorbed: the operation was done
            assert MARKER_PREFIX in store.failed, f"a failure at {store.failed!r} was lost"
        store.fail_at = 0
        if action == "delete":
            # a.zip is either still whole or gone; b.zip must be intact.
            if service.head(BUCKET, "s/a.zip") is None:
                del expected["s/a.zip"]
        elif action == "overwrite":
            # The old or the new version, never a broken one.
            got = service.get_bytes(BUCKET, "s/b.zip")[0]
            assert got in (V[1], V[3])
            expected["s/b.zip"] = got
        elif service.head(BUCKET, "s/c.zip") is not None:
            expected["s/c.zip"] = V[2]
        assert_consistent(service, store, expected)
        # The space still works after the failure.
        service.put_bytes(BUCKET, "s/d.zip", V[3])
        assert service.get_bytes(BUCKET, "s/d.zip")[0] == V[3]


def test_failure_during_the_first_put_of_a_space(tmp_path: Path) -> None:
    steps = count_calls(tmp_path, "put")
    for fail_at in range(1, steps + 1):
        service, store = make(tmp_path / f"first-{fail_at}")
        store.calls, store.fail_at = 0, fail_at
        with contextlib.suppress(InjectedFailureError):
            service.put_bytes(BUCKET, "n/a.zip", V[0])
        store.fail_at = 0
        if service.head(BUCKET, "n/a.zip") is not None:
            assert service.get_bytes(BUCKET, "n/a.zip")[0] == V[0]
        service.put_bytes(BUCKET, "n/b.zip", V[1])
        assert service.get_bytes(BUCKET, "n/b.zip")[0] == V[1]
        assert_consistent(service, store, {"n/b.zip": V[1]})
