"""The engine's behaviour suite on the local-directory store."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_behaviour import BUCKET, ServiceBehaviour

from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import EncryptedFileCache, LayeredCache, MemoryCache
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.service import DeltaService


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    store = LocalStorage(tmp_path / "store")
    store.create_bucket(BUCKET)
    return store


@pytest.fixture
def service(storage: LocalStorage, tmp_path: Path) -> DeltaService:
    cache = LayeredCache(
        MemoryCache(64 << 20),
        EncryptedFileCache(tmp_path / "cache", bytes(range(32)), remove_at_exit=False),
    )
    return DeltaService(
        storage,
        XDeltaCodec(),
        Sha256Hasher(),
        cache,
        UtcClock(),
        StdLogger(),
        NoopMetrics(),
        tool_version="deltaglider/test",
    )


class TestServiceOnLocalStorage(ServiceBehaviour):
    pass
