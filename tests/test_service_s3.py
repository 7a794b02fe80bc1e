"""The engine's behaviour suite on a real S3 server (SeaweedFS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seaweed import s3_client
from service_behaviour import BUCKET, ServiceBehaviour

from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import LayeredCache, MemoryCache
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.core.service import DeltaService


@pytest.fixture
def storage(seaweed_endpoint: str) -> Iterator[S3Storage]:
    store = S3Storage(s3_client(seaweed_endpoint))
    store.create_bucket(BUCKET)
    yield store
    for obj in list(store.iter_objects(BUCKET)):
        store.delete(BUCKET, obj.key)
    store.delete_bucket(BUCKET)


@pytest.fixture
def service(storage: S3Storage) -> DeltaService:
    return DeltaService(
        storage,
        XDeltaCodec(),
        Sha256Hasher(),
        LayeredCache(MemoryCache(64 << 20), None),
        UtcClock(),
        StdLogger(),
        NoopMetrics(),
        tool_version="deltaglider/test",
    )


class TestServiceOnSeaweedFS(ServiceBehaviour):
    pass
