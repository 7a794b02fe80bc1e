"""The engine's behaviour suite on the local-directory store."""

from __future__ import annotations

import os
import subprocess
import sys
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


STREAM_PEAK = """
import resource, sys
from pathlib import Path
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
sys.path.insert(0, sys.argv[3])
from helpers import make_service
store = LocalStorage(sys.argv[1])
store.create_bucket("peak-bucket")
service = make_service(store)
source = Path(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
service.put(source, DeltaSpace("peak-bucket", "big"))
service.get(ObjectKey("peak-bucket", "big/" + source.name), source.with_suffix(".out"))
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_files_stored_as_is_move_with_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "backup.img"
    with open(source, "wb") as out:
        for _ in range(160):
            out.write(os.urandom(1 << 20))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            STREAM_PEAK,
            str(tmp_path / "store"),
            str(source),
            str(Path(__file__).parent),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    unit = 1 if sys.platform == "darwin" else 1024
    before, after = (int(v) * unit for v in result.stdout.split())
    assert source.with_suffix(".out").read_bytes() == source.read_bytes()
    assert after - before < 64 << 20, after - before
