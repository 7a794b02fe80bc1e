"""The engine's behaviour suite on the local-directory store."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_service
from service_behaviour import BUCKET, ServiceBehaviour

from deltaglider.adapters.cache import EncryptedFileCache, LayeredCache, MemoryCache
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
    return make_service(storage, cache)  # type: ignore[no-any-return]


class TestServiceOnLocalStorage(ServiceBehaviour):
    pass
