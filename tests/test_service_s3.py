"""The engine's behaviour suite on a real S3 server (SeaweedFS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import make_service
from seaweed import fresh_bucket
from service_behaviour import BUCKET, ServiceBehaviour

from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.core.service import DeltaService


@pytest.fixture
def storage(seaweed_endpoint: str) -> Iterator[S3Storage]:
    with fresh_bucket(seaweed_endpoint, BUCKET) as store:
        yield store


@pytest.fixture
def service(storage: S3Storage) -> DeltaService:
    return make_service(storage)  # type: ignore[no-any-return]


class TestServiceOnSeaweedFS(ServiceBehaviour):
    pass
