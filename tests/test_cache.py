"""Reference caches: encrypted at rest, verified on every read, bounded."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import pytest

from deltaglider.adapters.cache import (
    EncryptedFileCache,
    LayeredCache,
    MemoryCache,
    cache_from_env,
)

DATA = os.urandom(100_000)
SHA = hashlib.sha256(DATA).hexdigest()


def test_files_are_encrypted_and_verified(tmp_path: Path) -> None:
    cache = EncryptedFileCache(tmp_path, os.urandom(32), remove_at_exit=False)
    cache.put(SHA, DATA)
    blob = (tmp_path / SHA).read_bytes()
    assert DATA[:64] not in blob
    assert cache.get(SHA) == DATA
    tampered = bytearray(blob)
    tampered[len(blob) // 2] ^= 1
    (tmp_path / SHA).write_bytes(bytes(tampered))
    assert cache.get(SHA) is None
    assert not (tmp_path / SHA).exists()


def test_another_key_cannot_read_and_entries_cannot_be_swapped(tmp_path: Path) -> None:
    EncryptedFileCache(tmp_path, b"k" * 32, remove_at_exit=False).put(SHA, DATA)
    assert EncryptedFileCache(tmp_path, b"x" * 32, remove_at_exit=False).get(SHA) is None
    cache = EncryptedFileCache(tmp_path, b"k" * 32, remove_at_exit=False)
    cache.put(SHA, DATA)
    other = hashlib.sha256(b"other").hexdigest()
    (tmp_path / other).write_bytes((tmp_path / SHA).read_bytes())
    assert cache.get(other) is None


def test_put_refuses_mismatched_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        EncryptedFileCache(tmp_path, b"k" * 32, remove_at_exit=False).put(SHA, b"other")
    with pytest.raises(ValueError, match="SHA-256"):
        MemoryCache(1 << 20).put(SHA, b"other")


def test_memory_lru_is_bounded() -> None:
    cache = MemoryCache(250_000)
    blobs = [os.urandom(100_000) for _ in range(3)]
    shas = [hashlib.sha256(b).hexdigest() for b in blobs]
    for sha, blob in zip(shas, blobs, strict=True):
        cache.put(sha, blob)
    assert cache.get(shas[0]) is None
    assert cache.get(shas[2]) == blobs[2]
    cache.put(hashlib.sha256(b"x" * 300_000).hexdigest(), b"x" * 300_000)  # too big: skipped
    assert cache.get(shas[2]) == blobs[2]


def test_layered_cache_promotes_file_hits(tmp_path: Path) -> None:
    files = EncryptedFileCache(tmp_path, b"k" * 32, remove_at_exit=False)
    files.put(SHA, DATA)
    layered = LayeredCache(MemoryCache(1 << 20), files)
    assert layered.get(SHA) == DATA
    (tmp_path / SHA).unlink()
    assert layered.get(SHA) == DATA  # now from memory
    layered.evict(SHA)
    assert layered.get(SHA) is None


def test_environment_settings() -> None:
    memory_only = cache_from_env({"DG_CACHE_BACKEND": "memory", "DG_CACHE_MEMORY_SIZE_MB": "8"})
    assert memory_only.files is None
    assert memory_only.memory.max_bytes == 8 << 20
    key = base64.b64encode(os.urandom(32)).decode()
    first, second = (
        cache_from_env({"DG_CACHE_ENCRYPTION_KEY": key}),
        cache_from_env({"DG_CACHE_ENCRYPTION_KEY": key}),
    )
    assert first.files is not None
    first.put(SHA, DATA)
    second.memory.clear()
    assert second.get(SHA) == DATA  # shared through the key's folder
    first.clear()
    for bad, message in [
        ({"DG_CACHE_BACKEND": "redis"}, "DG_CACHE_BACKEND"),
        ({"DG_CACHE_MEMORY_SIZE_MB": "lots"}, "DG_CACHE_MEMORY_SIZE_MB"),
        ({"DG_CACHE_ENCRYPTION_KEY": "***"}, "base64"),
        ({"DG_CACHE_ENCRYPTION_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
    ]:
        with pytest.raises(ValueError, match=message):
            cache_from_env(bad)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_ephemeral_cache_is_private() -> None:
    cache = EncryptedFileCache.ephemeral()
    assert oct(cache.folder.stat().st_mode & 0o777) == "0o700"
