"""Reference caches: a bounded in-memory LRU in front of an encrypted,
content-addressed file cache.

Files are AES-256-GCM encrypted under a key made for this process (so no
other process can read them) and removed at exit.  With
``DG_CACHE_ENCRYPTION_KEY`` (base64 of 32 bytes) processes sharing the key
share one cache folder, which then outlives them.  Every file is
authenticated (GCM, with its SHA-256 as associated data) and its plaintext
checked against that SHA-256 on every read; a failing entry is deleted and
the caller fetches the reference again.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
MiB = 1 << 20


def _check(sha256: str, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"cache put: data does not match SHA-256 {sha256}")


class MemoryCache:
    """An LRU of reference bytes, bounded in total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, sha256: str) -> bytes | None:
        """The bytes, or None (entries are immutable bytes, checked on entry)."""
        with self._lock:
            data = self._entries.get(sha256)
            if data is not None:
                self._entries.move_to_end(sha256)
            return data

    def put(self, sha256: str, data: bytes) -> None:
        """Keep ``data`` (its SHA-256 must be ``sha256``) if it fits."""
        if len(data) <= self.max_bytes:
            _check(sha256, data)
            self.store_checked(sha256, data)

    def store_checked(self, sha256: str, data: bytes) -> None:
        """``put`` for bytes whose SHA-256 the caller has just checked."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if sha256 in self._entries:
                self._entries.move_to_end(sha256)
                return
            self._entries[sha256] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def evict(self, sha256: str) -> None:
        """Forget one entry."""
        with self._lock:
            data = self._entries.pop(sha256, None)
            if data is not None:
                self._size -= len(data)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._size = 0


class EncryptedFileCache:
    """Reference bytes in files named by their SHA-256, AES-256-GCM encrypted."""

    def __init__(self, folder: Path, key: bytes, *, remove_at_exit: bool) -> None:
        if len(key) != 32:
            raise ValueError("the cache key must be 32 bytes (AES-256)")
        self.folder = folder
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._aead = AESGCM(key)
        if remove_at_exit:
            atexit.register(shutil.rmtree, self.folder, True)

    @classmethod
    def ephemeral(cls) -> EncryptedFileCache:
        """A private cache: a new folder and a new key, gone at exit."""
        folder = Path(tempfile.mkdtemp(prefix="deltaglider-"))
        return cls(folder, AESGCM.generate_key(bit_length=256), remove_at_exit=True)

    @classmethod
    def shared(cls, key: bytes) -> EncryptedFileCache:
        """The cache of every process holding ``key``."""
        tag = hashlib.sha256(key).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"deltaglider-shared-{tag}"
        return cls(folder, key, remove_at_exit=False)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.folder / sha256

    def get(self, sha256: str) -> bytes | None:
        """Decrypted, verified bytes, or None (a bad entry is deleted)."""
        path = self._path(sha256)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], sha256.encode())
        except (InvalidTag, ValueError):
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != sha256:
            self.evict(sha256)
            return None
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Encrypt and store ``data`` (its SHA-256 must be ``sha256``)."""
        _check(sha256, data)
        self.store_checked(sha256, data)

    def store_checked(self, sha256: str, data: bytes) -> None:
        """``put`` for bytes whose SHA-256 the caller has just checked."""
        path = self._path(sha256)
        nonce = os.urandom(_NONCE)
        blob = nonce + self._aead.encrypt(nonce, data, sha256.encode())
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def evict(self, sha256: str) -> None:
        """Delete one entry."""
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256).unlink()

    def clear(self) -> None:
        """Delete every entry."""
        for path in self.folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class LayeredCache:
    """The memory LRU first, then the file cache; hits are promoted."""

    def __init__(self, memory: MemoryCache, files: EncryptedFileCache | None) -> None:
        self.memory = memory
        self.files = files

    def get(self, sha256: str) -> bytes | None:
        """From memory, else from files (then kept in memory)."""
        data = self.memory.get(sha256)
        if data is None and self.files is not None:
            data = self.files.get(sha256)  # checked on read
            if data is not None:
                self.memory.store_checked(sha256, data)
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Into both layers, checking the SHA-256 once."""
        _check(sha256, data)
        self.memory.store_checked(sha256, data)
        if self.files is not None:
            self.files.store_checked(sha256, data)

    def evict(self, sha256: str) -> None:
        """From both layers."""
        self.memory.evict(sha256)
        if self.files is not None:
            self.files.evict(sha256)

    def clear(self) -> None:
        """Both layers."""
        self.memory.clear()
        if self.files is not None:
            self.files.clear()


def cache_from_env(environ: dict[str, str] | None = None) -> LayeredCache:
    """The cache the environment asks for.

    ``DG_CACHE_BACKEND``: ``filesystem`` (default) or ``memory``;
    ``DG_CACHE_MEMORY_SIZE_MB``: size of the in-memory LRU (default 512);
    ``DG_CACHE_ENCRYPTION_KEY``: base64 of a 32-byte key to share the file
    cache across processes.
    """
    env = os.environ if environ is None else environ
    backend = env.get("DG_CACHE_BACKEND", "filesystem").strip().lower()
    if backend not in ("filesystem", "memory"):
        raise ValueError(f"DG_CACHE_BACKEND must be 'filesystem' or 'memory', got {backend!r}")
    try:
        memory_mb = int(env.get("DG_CACHE_MEMORY_SIZE_MB", "512"))
    except ValueError as exc:
        raise ValueError("DG_CACHE_MEMORY_SIZE_MB must be a whole number of MiB") from exc
    if memory_mb < 0:
        raise ValueError("DG_CACHE_MEMORY_SIZE_MB must not be negative")
    files: EncryptedFileCache | None = None
    if backend == "filesystem":
        encoded = env.get("DG_CACHE_ENCRYPTION_KEY")
        if encoded:
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise ValueError("DG_CACHE_ENCRYPTION_KEY is not valid base64") from exc
            files = EncryptedFileCache.shared(key)
        else:
            files = EncryptedFileCache.ephemeral()
    return LayeredCache(MemoryCache(memory_mb * MiB), files)
