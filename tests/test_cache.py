"""Reference caches: encrypted at rest, verified on every read, bounded."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
from pathlib import Path

import pytest

from deltaglider.adapters.cache import (
    CacheCorruptError,
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


BIG = os.urandom((3 << 20) + 12345)  # three full 1 MiB chunks and a partial one
BIG_SHA = hashlib.sha256(BIG).hexdigest()


def test_large_entries_are_read_at_any_offset(tmp_path: Path) -> None:
    cache = EncryptedFileCache(tmp_path, os.urandom(32), remove_at_exit=False)
    assert cache.put_stream(BIG_SHA, io.BytesIO(BIG), len(BIG)) == BIG_SHA
    stream = cache.open(BIG_SHA)
    assert stream is not None
    with stream:
        for offset, length in [(0, 10), ((1 << 20) - 5, 10), (3 << 20, 12345), (len(BIG) - 3, 99)]:
            stream.seek(offset)
            assert stream.read(length) == BIG[offset : offset + length]
        assert stream.seek(0, io.SEEK_END) == len(BIG)
        stream.seek(0)
        assert stream.read() == BIG
    assert cache.get(BIG_SHA) == BIG


def test_a_damaged_chunk_is_never_read(tmp_path: Path) -> None:
    cache = EncryptedFileCache(tmp_path, os.urandom(32), remove_at_exit=False)
    cache.put_stream(BIG_SHA, io.BytesIO(BIG), len(BIG))
    blob = bytearray((tmp_path / BIG_SHA).read_bytes())
    blob[len(blob) - 100] ^= 1  # inside the last chunk
    (tmp_path / BIG_SHA).write_bytes(bytes(blob))
    stream = cache.open(BIG_SHA)
    assert stream is not None
    with stream:
        assert stream.read(1 << 20) == BIG[: 1 << 20]  # intact chunks still read
        stream.seek(3 << 20)
        with pytest.raises(CacheCorruptError):
            stream.read(10)
    assert cache.get(BIG_SHA) is None  # a whole read evicts the entry
    assert not (tmp_path / BIG_SHA).exists()


def test_chunks_cannot_be_swapped_or_dropped(tmp_path: Path) -> None:
    cache = EncryptedFileCache(tmp_path, os.urandom(32), remove_at_exit=False)
    cache.put_stream(BIG_SHA, io.BytesIO(BIG), len(BIG))
    blob = (tmp_path / BIG_SHA).read_bytes()
    record = (1 << 20) + 28
    header, first, second = blob[:16], blob[16 : 16 + record], blob[16 + record : 16 + 2 * record]
    swapped = header + second + first + blob[16 + 2 * record :]
    (tmp_path / BIG_SHA).write_bytes(swapped)
    assert cache.get(BIG_SHA) is None
    cache.put_stream(BIG_SHA, io.BytesIO(BIG), len(BIG))
    (tmp_path / BIG_SHA).write_bytes(blob[: 16 + record])  # truncated to one chunk
    assert cache.open(BIG_SHA) is None
    assert not (tmp_path / BIG_SHA).exists()


def test_put_stream_keeps_only_the_bytes_it_was_promised(tmp_path: Path) -> None:
    cache = EncryptedFileCache(tmp_path, os.urandom(32), remove_at_exit=False)
    other = BIG[:-1] + b"?"
    assert cache.put_stream(BIG_SHA, io.BytesIO(other), len(other)) != BIG_SHA
    assert cache.put_stream(BIG_SHA, io.BytesIO(BIG[:-10]), len(BIG)) != BIG_SHA  # short
    assert cache.put_stream(BIG_SHA, io.BytesIO(BIG + b"x"), len(BIG)) != BIG_SHA  # long
    assert list(tmp_path.iterdir()) == []


def test_memory_backend_streams_large_references_through_a_private_file() -> None:
    cache = cache_from_env({"DG_CACHE_BACKEND": "memory", "DG_CACHE_MEMORY_SIZE_MB": "1"})
    assert cache.put_stream(BIG_SHA, io.BytesIO(BIG), len(BIG)) == BIG_SHA
    assert cache.memory.get(BIG_SHA) is None  # too large for memory
    stream = cache.open(BIG_SHA)
    assert stream is not None
    with stream:
        assert stream.read() == BIG
    cache.evict(BIG_SHA)
    assert cache.open(BIG_SHA) is None
