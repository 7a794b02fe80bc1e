"""The engine's behaviour suite on the local-directory store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers import make_service, peak_rss_growth
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
    growth = peak_rss_growth(
        STREAM_PEAK, str(tmp_path / "store"), str(source), str(Path(__file__).parent)
    )
    assert source.with_suffix(".out").read_bytes() == source.read_bytes()
    assert growth < 64 << 20, growth


DELTA_GET_PEAK = """
import resource, sys
from pathlib import Path
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.models import ObjectKey
sys.path.insert(0, sys.argv[2])
from helpers import make_service
service = make_service(LocalStorage(sys.argv[1]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
service.get(ObjectKey("peak-bucket", "rel/b.zip"), Path(sys.argv[3]))
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_delta_get_holds_reference_file_and_delta_once(tmp_path: Path) -> None:
    size = 24 << 20
    store = LocalStorage(tmp_path / "store")
    store.create_bucket("peak-bucket")
    writer = make_service(store)
    reference = os.urandom(size)
    target = reference[:1000] + b"changed" + reference[1000:]
    writer.put_bytes("peak-bucket", "rel/a.zip", reference)
    writer.put_bytes("peak-bucket", "rel/b.zip", target)
    out = tmp_path / "b.zip"
    growth = peak_rss_growth(
        DELTA_GET_PEAK, str(tmp_path / "store"), str(Path(__file__).parent), str(out)
    )
    assert out.read_bytes() == target
    # The reference and the rebuilt file once each (48 MiB), not a copy more.
    assert growth < size * 5 // 2, growth


LARGE_DELTA_PEAK = """
import resource, sys
from pathlib import Path
from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import cache_from_env
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
store = LocalStorage(sys.argv[1])
store.create_bucket("peak-bucket")
service = DeltaService(
    store, XDeltaCodec(memory_budget=32 << 20), Sha256Hasher(), cache_from_env({}),
    UtcClock(), StdLogger(), NoopMetrics(), stream_threshold=8 << 20,
)
first, second = Path(sys.argv[2]), Path(sys.argv[3])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
service.put(first, DeltaSpace("peak-bucket", "rel"))
summary = service.put(second, DeltaSpace("peak-bucket", "rel"))
assert summary.operation == "PUT_DELTA" and summary.delta_size < 1 << 20, summary
service.cache.clear()
service.get(ObjectKey("peak-bucket", "rel/" + second.name), second.with_suffix(".out"))
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_large_delta_candidates_stream_with_bounded_memory(tmp_path: Path) -> None:
    # 128 MiB versions: the in-memory path holds the reference and the file
    # (256 MiB and more).  Streaming holds the codec's budget (32 MiB here)
    # plus its fixed buffers (a few 8 MiB target windows), whatever the size.
    first, second = tmp_path / "image-1.iso", tmp_path / "image-2.iso"
    with open(first, "wb") as a, open(second, "wb") as b:
        for i in range(128):
            block = os.urandom(1 << 20)
            a.write(block)
            b.write(block if i % 10 else block[:1000] + b"changed" + block[1007:])
    growth = peak_rss_growth(LARGE_DELTA_PEAK, str(tmp_path / "store"), str(first), str(second))
    assert second.with_suffix(".out").read_bytes() == second.read_bytes()
    assert growth < 128 << 20, growth
