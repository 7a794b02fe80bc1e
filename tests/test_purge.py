"""``purge``: abandoned multipart uploads are aborted, retired references
go once no delta names them (and stay while one does)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import make_service, mutate
from seaweed import fresh_bucket

from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.references import RETIRED_PREFIX, retired_prefix
from deltaglider.core.service import DeltaService

BUCKET = "purge-bucket"
V1 = os.urandom(100_000)
V2 = mutate(V1, seed=2, edits=8)


@pytest.fixture
def seaweed_service(seaweed_endpoint: str) -> Iterator[DeltaService]:
    with fresh_bucket(seaweed_endpoint, BUCKET) as store:
        yield make_service(store)  # type: ignore[misc]


def test_abandoned_multipart_uploads_are_aborted(seaweed_service: DeltaService) -> None:
    raw = seaweed_service.storage.client  # type: ignore[attr-defined]
    upload = raw.create_multipart_upload(Bucket=BUCKET, Key="big/a.iso")["UploadId"]
    raw.upload_part(Bucket=BUCKET, Key="big/a.iso", UploadId=upload, PartNumber=1, Body=b"x" * 100)
    now = datetime.now(UTC)
    assert seaweed_service.purge_temp_copies(BUCKET, now, dry_run=False) == []  # a fresh one stays
    later = now + timedelta(days=2)
    listed = seaweed_service.purge_temp_copies(BUCKET, later, dry_run=True)
    assert listed == ["big/a.iso (incomplete upload)"]
    assert len(seaweed_service.storage.pending_uploads(BUCKET)) == 1
    assert seaweed_service.purge_temp_copies(BUCKET, later, dry_run=False) == listed
    assert seaweed_service.storage.pending_uploads(BUCKET) == []


def test_retired_references_stay_while_a_delta_names_them(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    storage.create_bucket(BUCKET)
    service = make_service(storage)
    service.put_bytes(BUCKET, "r/a.zip", V1)
    service.put_bytes(BUCKET, "r/b.zip", V2)
    head = storage.head(BUCKET, "r/reference.bin")
    assert head is not None
    sha = head.metadata["dg-file-sha256"]
    # As after a retirement that a put raced: the copy kept, the reference gone.
    storage.copy(BUCKET, "r/reference.bin", retired_prefix("r/reference.bin", sha) + "1-x")
    storage.delete(BUCKET, "r/reference.bin")
    service.cache.clear()
    assert service.get_bytes(BUCKET, "r/b.zip")[0] == V2  # read from the retired copy
    now = datetime.now(UTC)
    assert service.purge_temp_copies(BUCKET, now, dry_run=False) == []  # still needed
    service.delete(BUCKET, "r/a.zip")
    service.delete(BUCKET, "r/b.zip")
    removed = service.purge_temp_copies(BUCKET, now, dry_run=False)
    assert [key.startswith(RETIRED_PREFIX) for key in removed] == [True]
    assert list(storage.iter_objects(BUCKET)) == []
