"""Reference caches: a bounded in-memory LRU in front of an encrypted,
content-addressed file cache.

Files are AES-256-GCM encrypted under a key made for this process (so no
other process can read them) and removed at exit.  With
``DG_CACHE_ENCRYPTION_KEY`` (base64 of 32 bytes) processes sharing the key
share one cache folder, which then outlives them.  Every chunk of a file
is authenticated (GCM, bound to the entry's SHA-256, size and the chunk's
place) before its bytes are used; whole reads are also checked against the
SHA-256.  A failing entry is deleted and the caller fetches the reference
again.  Large references are only ever streamed from these files, never
held in memory while the disk cache works.

The disk cache is an optimisation, never a requirement: a cache folder
removed while in use (a tmp cleaner) is made again; one that cannot be
written (a full or read-only ``$TMPDIR``) is given up with one warning
naming it, and the process goes on with memory alone.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import io
import logging
import os
import shutil
import struct
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from deltaglider.core.errors import CacheCorruptError, CacheUnavailableError
from deltaglider.fsutil import RandomAccessReader

_NONCE = 12
_OVERHEAD = _NONCE + 16  # nonce + GCM tag per chunk
_MAGIC = b"DGC1"
_HEADER = struct.Struct(">4sIQ")  # magic, chunk size, plaintext size
_CHUNK = 1 << 20
MiB = 1 << 20
_log = logging.getLogger("deltaglider")


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

    def open(self, sha256: str) -> BinaryIO | None:
        """The entry as a stream (sharing the bytes, not copying them)."""
        data = self.get(sha256)
        return None if data is None else io.BytesIO(data)

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


class _EncryptedReader(RandomAccessReader):
    """A seekable, read-only view of one cache file, decrypting a chunk at a
    time; every chunk read is authenticated (GCM) before its bytes are used."""

    def __init__(self, handle: BinaryIO, aead: AESGCM, sha256: str, header: bytes) -> None:
        self._chunk, size = _HEADER.unpack(header)[1:]
        super().__init__(size)
        self._handle = handle
        self._aead = aead
        self._sha256 = sha256.encode()
        self._header = header
        self._current: tuple[int, bytes] | None = None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self.position < self.size:
            index, within = divmod(self.position, self._chunk)
            plain = self._plain_chunk(index)
            n = min(len(view) - filled, len(plain) - within)
            view[filled : filled + n] = plain[within : within + n]
            filled += n
            self.position += n
        return filled

    def _plain_chunk(self, index: int) -> bytes:
        if self._current is not None and self._current[0] == index:
            return self._current[1]
        length = min(self._chunk, self.size - index * self._chunk)
        self._handle.seek(_HEADER.size + index * (self._chunk + _OVERHEAD))
        record = self._handle.read(length + _OVERHEAD)
        try:
            plain = self._aead.decrypt(
                record[:_NONCE], record[_NONCE:], _aad(self._sha256, self._header, index)
            )
        except (InvalidTag, ValueError) as exc:
            raise CacheCorruptError(
                f"reference cache entry {self._sha256.decode()} is damaged"
            ) from exc
        self._current = (index, plain)
        return plain

    def close(self) -> None:
        self._handle.close()
        super().close()


def _aad(sha256: bytes, header: bytes, index: int) -> bytes:
    # Binds each chunk to its entry, its place and the entry's total size:
    # chunks cannot be swapped, reordered, dropped or moved between entries.
    return sha256 + header + index.to_bytes(8, "big")


class EncryptedFileCache:
    """Reference bytes in files named by their SHA-256, AES-256-GCM encrypted.

    A file is a header (magic, chunk size, total size) and the plaintext in
    1 MiB chunks, each sealed with its own nonce, so a large reference can
    be read at any offset without decrypting the rest (:meth:`open`)."""

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

    def open(self, sha256: str) -> BinaryIO | None:
        """A seekable stream of the entry, or None.  Chunks are authenticated
        as they are read; a damaged chunk raises CacheCorruptError."""
        path = self._path(sha256)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - the reader owns it
        except FileNotFoundError:
            return None
        except OSError:  # a folder or an unreadable file in its place: a miss
            self.evict(sha256)
            return None
        header = handle.read(_HEADER.size)
        valid = len(header) == _HEADER.size and _HEADER.unpack(header)[0] == _MAGIC
        if valid:
            chunk, size = _HEADER.unpack(header)[1:]
            valid = chunk > 0 and os.fstat(handle.fileno()).st_size == _file_length(chunk, size)
        if not valid:
            handle.close()
            self.evict(sha256)
            return None
        return cast(
            BinaryIO, io.BufferedReader(_EncryptedReader(handle, self._aead, sha256, header))
        )

    def get(self, sha256: str) -> bytes | None:
        """Decrypted, verified bytes, or None (a bad entry is deleted)."""
        stream = self.open(sha256)
        if stream is None:
            return None
        try:
            with stream:
                data = stream.read()
        except CacheCorruptError:
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
        self.put_stream(sha256, io.BytesIO(data), len(data))

    def put_stream(self, sha256: str, stream: BinaryIO, size: int) -> str:
        """Encrypt ``size`` bytes read from ``stream`` into the entry for
        ``sha256``; returns the SHA-256 of what was read.  The entry appears
        only if that matches ``sha256`` and exactly ``size`` bytes came."""
        path = self._path(sha256)
        header = _HEADER.pack(_MAGIC, _CHUNK, size)
        hasher = hashlib.sha256()
        fd, temp = self._temp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                index = 0
                while index * _CHUNK < size:
                    plain = stream.read(min(_CHUNK, size - index * _CHUNK))
                    if not plain:
                        break
                    hasher.update(plain)
                    nonce = os.urandom(_NONCE)
                    aad = _aad(sha256.encode(), header, index)
                    out.write(nonce + self._aead.encrypt(nonce, plain, aad))
                    index += 1
                complete = out.tell() == _file_length(_CHUNK, size) and not stream.read(1)
            actual = hasher.hexdigest() if complete else "incomplete"
            if actual == sha256:
                os.replace(temp, path)
                return actual
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        os.unlink(temp)
        return actual

    def _temp_file(self) -> tuple[int, str]:
        """A temporary file in the folder, made again if it was removed."""
        try:
            return tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        except FileNotFoundError:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            return tempfile.mkstemp(dir=self.folder, prefix=".tmp-")

    def evict(self, sha256: str) -> None:
        """Delete one entry (whatever took its place)."""
        path = self._path(sha256)
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def clear(self) -> None:
        """Delete every entry."""
        with contextlib.suppress(FileNotFoundError):
            for path in self.folder.iterdir():
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    path.unlink()


def _file_length(chunk: int, size: int) -> int:
    chunks = -(-size // chunk)
    return _HEADER.size + size + chunks * _OVERHEAD


class LayeredCache:
    """The memory LRU first, then the file cache; hits are promoted.

    Without a file cache (``DG_CACHE_BACKEND=memory``), references too large
    for memory still go to a private encrypted file cache, made when first
    needed.  A file cache that fails to write is given up (one warning); a
    large reference is then held in memory, one at a time."""

    def __init__(self, memory: MemoryCache, files: EncryptedFileCache | None) -> None:
        self.memory = memory
        self.files = files
        self._spill: EncryptedFileCache | None = None
        self._disk_failed = False
        self._held: tuple[str, bytes] | None = None  # a large entry, disk given up
        self._lock = threading.Lock()

    def get(self, sha256: str) -> bytes | None:
        """From memory, else from files (then kept in memory)."""
        data = self.memory.get(sha256)
        if data is None:
            data = self._held_bytes(sha256)
        files = self._disk()
        if data is None and files is not None:
            try:
                data = files.get(sha256)  # checked on read
            except OSError as exc:
                self._give_up_disk(files, exc)
            if data is not None:
                self.memory.store_checked(sha256, data)
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Into both layers, checking the SHA-256 once."""
        _check(sha256, data)
        self.memory.store_checked(sha256, data)
        files = self._disk()
        if files is not None:
            try:
                files.store_checked(sha256, data)
            except OSError as exc:
                self._give_up_disk(files, exc)

    def open(self, sha256: str) -> BinaryIO | None:
        """A seekable stream of the entry: from memory, else from a file."""
        stream = self.memory.open(sha256)
        held = self._held_bytes(sha256)
        if stream is None and held is not None:
            stream = io.BytesIO(held)
        for files in (self.files, self._spill):
            if stream is None and files is not None and not self._disk_failed:
                try:
                    stream = files.open(sha256)
                except OSError as exc:
                    self._give_up_disk(files, exc)
        return stream

    def put_stream(self, sha256: str, stream: BinaryIO, size: int) -> str:
        """Encrypt a large entry to a file straight from ``stream`` (never
        into memory); returns the SHA-256 of what was read, and keeps the
        entry only if it is ``sha256``.  With the disk given up, the entry
        is read into memory instead."""
        start = stream.tell() if stream.seekable() else None
        files = self._stream_files()
        if files is not None:
            try:
                return files.put_stream(sha256, stream, size)
            except OSError as exc:
                self._give_up_disk(files, exc)
                if start is None:
                    raise CacheUnavailableError(
                        f"the reference cache failed while storing {sha256} ({exc})"
                    ) from exc
                stream.seek(start)
        data = stream.read(size)
        actual = hashlib.sha256(data).hexdigest() if len(data) == size else "incomplete"
        if actual == sha256:
            with self._lock:
                self._held = (sha256, data)
        return actual

    def _held_bytes(self, sha256: str) -> bytes | None:
        with self._lock:
            held = self._held
        return held[1] if held is not None and held[0] == sha256 else None

    def _disk(self) -> EncryptedFileCache | None:
        return None if self._disk_failed else self.files

    def _stream_files(self) -> EncryptedFileCache | None:
        if self._disk_failed:
            return None
        if self.files is not None:
            return self.files
        with self._lock:
            if self._spill is None:
                try:
                    self._spill = EncryptedFileCache.ephemeral()
                except OSError as exc:
                    self._disk_failed = True
                    _log.warning(
                        "cannot make a reference cache folder in %s (%s); "
                        "going on without the disk cache",
                        tempfile.gettempdir(),
                        exc,
                    )
                    return None
            return self._spill

    def _give_up_disk(self, files: EncryptedFileCache, exc: OSError) -> None:
        with self._lock:
            first = not self._disk_failed
            self._disk_failed = True
        if first:
            _log.warning(
                "the reference cache folder %s cannot be used (%s); "
                "going on without the disk cache",
                files.folder,
                exc,
            )

    def evict(self, sha256: str) -> None:
        """From every layer."""
        self.memory.evict(sha256)
        with self._lock:
            if self._held is not None and self._held[0] == sha256:
                self._held = None
        for files in (self.files, self._spill):
            if files is not None:
                with contextlib.suppress(OSError):
                    files.evict(sha256)

    def clear(self) -> None:
        """Every layer."""
        self.memory.clear()
        with self._lock:
            self._held = None
        for files in (self.files, self._spill):
            if files is not None:
                with contextlib.suppress(OSError):
                    files.clear()


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
        key = None
        if encoded:
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise ValueError("DG_CACHE_ENCRYPTION_KEY is not valid base64") from exc
        try:
            files = (
                EncryptedFileCache.ephemeral() if key is None else EncryptedFileCache.shared(key)
            )
        except OSError as exc:
            _log.warning(
                "cannot make a reference cache folder in %s (%s); going on without the disk cache",
                tempfile.gettempdir(),
                exc,
            )
    return LayeredCache(MemoryCache(memory_mb * MiB), files)
