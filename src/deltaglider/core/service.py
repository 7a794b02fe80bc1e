"""DeltaService: logical files in, references and deltas in the store, the
exact bytes back out.

Rules (see shared/spec/storage-format.md):

- A file that is not a delta candidate, or is empty, is stored as is.
- The first candidate of a space becomes ``reference.bin`` (created only if
  absent, so one of several racing writers wins) plus a zero-diff delta, so
  deltaglider 6.2.0 can read it back; a writer that loses the race encodes
  against the winner.
- Any later candidate is stored as a delta, unless the delta would be larger
  than ``max_ratio`` times the file: then it is stored as is, and the
  encoder stops as soon as that is certain.
- After a delta is written, the reference is checked to be the one it was
  made against; if the space changed meanwhile, the put is done again.
- Nothing is handed over unverified: references are checked against their
  SHA-256 before use and every rebuilt file against ``dg-file-sha256``.
- Removing a space's last delta removes its reference; a reference that
  deltas still need is never removed.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from deltaglider.core import keys, metadata
from deltaglider.core.errors import (
    DeltaGliderError,
    IntegrityError,
    InvalidKeyError,
    ObjectNotFoundError,
    UnsupportedObjectError,
)
from deltaglider.core.listing import LogicalEntry, LogicalListing, list_logical
from deltaglider.core.models import (
    BucketStats,
    DeltaSpace,
    GetSummary,
    ObjectKey,
    PutSummary,
    StoredObject,
    VerifyResult,
)
from deltaglider.core.size_cache import DeltaSizeCache
from deltaglider.core.stats import StatsMode, bucket_stats
from deltaglider.fsutil import RandomAccessReader, atomic_writer
from deltaglider.metering import Meter, MeteredReader, MeteredWriter, ProgressCallback
from deltaglider.ports.cache import CachePort
from deltaglider.ports.codec import DeltaTooLargeError, DiffPort, Sink
from deltaglider.ports.storage import (
    BucketInfo,
    BucketNotFoundError,
    ListedObject,
    ObjectHead,
    PreconditionFailedError,
    StoragePort,
)
from deltaglider.ports.support import ClockPort, HashPort, LoggerPort, MetricsPort, RunningHash

_PUT_ATTEMPTS = 4
_CHUNK = 1 << 20
_SPOOL = 64 << 20  # deltas up to this size stay in memory when streaming
_HEADER_PEEK = 64 << 10
_EXPIRES_AT = "dg-expires-at"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"

STREAM_THRESHOLD = 256 << 20
"""Delta candidates larger than this are encoded and rebuilt by the
streaming codec, with the reference read from the encrypted cache file:
memory stays bounded whatever the file size."""


class SpaceChangedError(DeltaGliderError):
    """The space's reference changed while a put was using it."""


@dataclass(frozen=True)
class _DeltaFacts:
    """What a delta's metadata records."""

    file_size: int
    file_sha: str
    ref_key: str
    ref_sha: str
    delta_size: int
    delta_sha: str


@dataclass(frozen=True)
class _Extras:
    """What the caller stores beside the bytes."""

    user: dict[str, str]
    content_type: str | None
    tags: dict[str, str]


class _HashingWriter:
    """Passes writes on to ``out`` and hashes them on the way."""

    def __init__(self, out: Sink, running: RunningHash) -> None:
        self._out = out
        self._hash = running

    def write(self, data: bytes | bytearray | memoryview) -> object:
        self._hash.update(data)
        return self._out.write(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _BufferReader(RandomAccessReader):
    """A seekable stream over bytes already in memory, without copying them
    (``io.BytesIO`` would copy a rebuilt bytearray)."""

    def __init__(self, data: bytes | bytearray) -> None:
        super().__init__(len(data))
        self._view = memoryview(data)

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self.position : self.position + len(buffer)]
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


class _Discard:
    """A sink for output that is only hashed."""

    def write(self, data: bytes | bytearray | memoryview) -> object:
        return len(data)


class DeltaService:
    """The storage engine.  Keys given to it are logical keys."""

    def __init__(
        self,
        storage: StoragePort,
        diff: DiffPort,
        hasher: HashPort,
        cache: CachePort,
        clock: ClockPort,
        logger: LoggerPort,
        metrics: MetricsPort,
        tool_version: str = "deltaglider/0.1.0",
        max_ratio: float = 0.5,
        stream_threshold: int = STREAM_THRESHOLD,
    ) -> None:
        self.storage = storage
        self.diff = diff
        self.hasher = hasher
        self.cache = cache
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.tool_version = tool_version
        self.max_ratio = self._checked_ratio(max_ratio)
        if stream_threshold < 0:
            raise ValueError(f"stream_threshold must not be negative, got {stream_threshold}")
        self.stream_threshold = stream_threshold

    # -- the API reference's methods --------------------------------------

    def put(
        self, file: Path, delta_space: DeltaSpace, max_ratio: float | None = None
    ) -> PutSummary:
        """Store a local file in ``delta_space`` under its own name."""
        key = keys.join_key(delta_space.prefix, file.name)
        return self.put_file(delta_space.bucket, key, file, max_ratio=max_ratio)

    def put_file(
        self,
        bucket: str,
        key: str,
        file: Path,
        *,
        max_ratio: float | None = None,
        user_metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        delta: bool = True,
        progress: ProgressCallback | None = None,
    ) -> PutSummary:
        """Store a local file under logical ``key``; ``progress`` is called
        with the bytes of the file consumed since its last call.

        A file that is not a delta candidate (or with ``delta=False``) is
        streamed from disk as is (any size); a candidate is read into
        memory to be encoded, unless it is larger than ``stream_threshold``:
        then it is streamed through the codec against the reference's
        encrypted cache file."""
        size = file.stat().st_size
        candidate = delta and keys.is_delta_candidate(keys.split_key(key)[1])
        extras = _Extras(dict(user_metadata or {}), content_type, dict(tags or {}))
        meter = Meter(progress, size)
        if candidate and 0 < size <= self.stream_threshold:
            summary = self.put_bytes(
                bucket,
                key,
                file.read_bytes(),
                max_ratio=max_ratio,
                user_metadata=extras.user,
                content_type=content_type,
                tags=extras.tags,
            )
        else:
            self._check_key(key)
            if not candidate or size == 0:
                summary = self._put_direct_file(bucket, key, file, extras, meter=meter)
            else:
                ratio = self.max_ratio if max_ratio is None else self._checked_ratio(max_ratio)
                with open(file, "rb") as handle:
                    sha = self.hasher.sha256_chunks(iter(lambda: handle.read(_CHUNK), b""))
                summary = self._with_retries(
                    bucket,
                    key,
                    lambda: self._put_delta_file(
                        bucket, key, file, size, sha, ratio, extras, meter
                    ),
                )
        meter.finish()
        return summary

    def _put_direct_file(
        self,
        bucket: str,
        key: str,
        file: Path,
        extras: _Extras,
        sha: str | None = None,
        *,
        meter: Meter,
    ) -> PutSummary:
        """Stream a file into the store as is (``sha``: its SHA-256, when
        already known); ``meter`` counts the bytes sent."""
        with open(file, "rb") as handle:
            if sha is None:
                sha = self.hasher.sha256_chunks(iter(lambda: handle.read(_CHUNK), b""))
                handle.seek(0)
            size = os.fstat(handle.fileno()).st_size
            body = cast(BinaryIO, MeteredReader(handle, meter))
            return self._store_direct(bucket, key, body, size, sha, extras)

    def get(
        self,
        object_key: ObjectKey,
        output_path: Path,
        progress: ProgressCallback | None = None,
    ) -> GetSummary:
        """Rebuild an object into ``output_path`` (written only once verified).

        An object stored as is is streamed to the file and checked as it
        goes; a delta is rebuilt in memory, or streamed when the file is
        larger than ``stream_threshold``.  ``progress`` is called with the
        bytes written since its last call."""
        bucket, key = object_key.bucket, object_key.key
        stored = self.head(bucket, key)
        if stored is None:
            raise self._not_found(bucket, key)
        meter = Meter(progress, stored.size)
        if stored.is_delta and stored.size > self.stream_threshold:
            with atomic_writer(output_path) as out:
                sha = self._rebuild_streaming(stored, MeteredWriter(out, meter))
            size = stored.size
        elif stored.is_delta:
            data = self._fetch(stored)
            with atomic_writer(output_path) as out:
                out.write(data)
            size, sha = len(data), stored.sha256 or self.hasher.sha256(data)
        else:
            with atomic_writer(output_path) as out:
                size, sha = self._copy_direct(stored, MeteredWriter(out, meter))
        meter.finish()
        return GetSummary(
            operation="GET_DELTA" if stored.is_delta else "GET",
            bucket=stored.bucket,
            key=stored.key,
            size=size,
            hash=sha,
            reconstructed=stored.is_delta,
        )

    def _copy_direct(self, stored: StoredObject, out: Sink) -> tuple[int, str]:
        """Copy an object stored as is into ``out``; raises IntegrityError
        (after the bytes, so the caller discards them) unless they match the
        recorded SHA-256."""
        size = 0
        _, stream = self.storage.open(stored.bucket, stored.physical_key)
        with stream:

            def chunks() -> Iterator[bytes]:
                nonlocal size
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    out.write(chunk)
                    yield chunk

            actual = self.hasher.sha256_chunks(chunks())
        if stored.sha256 is not None and actual != stored.sha256:
            self.metrics.increment("deltaglider.get.integrity_failure")
            raise IntegrityError(
                f"s3://{stored.bucket}/{stored.key}: SHA-256 {actual} does not match the "
                f"recorded {stored.sha256}; nothing was written"
            )
        return size, actual

    def open_verified(
        self, bucket: str, key: str, progress: ProgressCallback | None = None
    ) -> tuple[BinaryIO, StoredObject]:
        """A readable, seekable stream of the object's bytes, verified
        against its SHA-256 before it is returned: in memory up to
        ``stream_threshold``, else in a private temporary file (unlinked).
        ``progress`` is called with the bytes rebuilt since its last call."""
        stored = self.head(bucket, key)
        if stored is None:
            raise self._not_found(bucket, key)
        meter = Meter(progress, stored.size)
        if stored.size <= self.stream_threshold:
            reader = _BufferReader(self._fetch(stored))
            meter.finish()
            return cast(BinaryIO, reader), stored
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        try:
            if stored.is_delta:
                self._rebuild_streaming(stored, MeteredWriter(spool, meter))
            else:
                self._copy_direct(stored, MeteredWriter(spool, meter))
            spool.seek(0)
            meter.finish()
        except BaseException:
            spool.close()
            raise
        return cast(BinaryIO, spool), stored

    def verify(self, object_key: ObjectKey) -> VerifyResult:
        """Rebuild an object and check it against its recorded SHA-256."""
        stored = self.head(object_key.bucket, object_key.key)
        if stored is None:
            raise self._not_found(object_key.bucket, object_key.key)
        operation = "VERIFY_DELTA" if stored.is_delta else "VERIFY"
        if stored.sha256 is None:
            return VerifyResult(
                False, operation, "", None, "no dg-file-sha256: not written by deltaglider"
            )
        try:  # each raises unless the bytes match stored.sha256
            if stored.is_delta and stored.size > self.stream_threshold:
                self._rebuild_streaming(stored, _Discard())
            else:
                self._fetch(stored)
        except (IntegrityError, UnsupportedObjectError) as exc:
            return VerifyResult(False, operation, stored.sha256, None, str(exc))
        return VerifyResult(True, operation, stored.sha256, stored.sha256)

    # -- put --------------------------------------------------------------

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        max_ratio: float | None = None,
        user_metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        delta: bool = True,
    ) -> PutSummary:
        """Store ``data`` under logical ``key``: as a delta when it pays
        (``delta=False`` stores it as is, whatever its name).  User
        metadata, content type and tags go on the stored file (its delta,
        or itself), never on the space's reference."""
        self._check_key(key)
        ratio = self.max_ratio if max_ratio is None else self._checked_ratio(max_ratio)
        sha = self.hasher.sha256(data)
        name = keys.split_key(key)[1]
        extras = _Extras(dict(user_metadata or {}), content_type, dict(tags or {}))
        if not data or not delta or not keys.is_delta_candidate(name):
            return self._put_direct(bucket, key, data, sha, extras)
        return self._with_retries(
            bucket, key, lambda: self._put_delta(bucket, key, data, sha, ratio, extras)
        )

    def _with_retries(self, bucket: str, key: str, put: Callable[[], PutSummary]) -> PutSummary:
        """Run a delta put again while racing writers change the space."""
        for attempt in range(1, _PUT_ATTEMPTS + 1):
            try:
                return put()
            except SpaceChangedError as exc:
                if attempt == _PUT_ATTEMPTS:
                    raise DeltaGliderError(
                        f"s3://{bucket}/{key}: the space kept changing during the put ({exc})"
                    ) from exc
                self.logger.warning("space changed during put; retrying", key=key, attempt=attempt)
        raise AssertionError("unreachable")

    def _put_direct(
        self, bucket: str, key: str, data: bytes, sha: str, extras: _Extras
    ) -> PutSummary:
        return self._store_direct(bucket, key, data, len(data), sha, extras)

    def _store_direct(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        size: int,
        sha: str,
        extras: _Extras,
    ) -> PutSummary:
        """Write a file as is, with its metadata, and drop any delta of it
        (and the space's reference, once no delta needs it)."""
        meta = metadata.direct_metadata(
            tool=self.tool_version,
            original_name=keys.split_key(key)[1],
            sha256=sha,
            size=size,
            created_at=self.clock.now(),
        )
        etag = self.storage.put(
            bucket,
            key,
            body,
            metadata.with_user_metadata(meta, extras.user),
            content_type=extras.content_type,
            tags=extras.tags,
        )
        self._remove_delta(bucket, key)
        self.metrics.increment("deltaglider.put.direct")
        self.logger.debug("stored directly", key=key, size=size)
        return PutSummary("PUT", bucket, key, size, sha, etag=etag)

    def _put_delta(
        self,
        bucket: str,
        key: str,
        data: bytes,
        sha: str,
        ratio: float,
        extras: _Extras,
    ) -> PutSummary:
        prefix, name = keys.split_key(key)
        ref_key = keys.reference_key(prefix)
        reference, ref_sha, created = self._reference_for_put(bucket, ref_key, name, data, sha)
        note = None
        if created:
            delta = self.diff.encode(data, data, max_size=None)
            note = metadata.NOTE_ZERO_DIFF
        else:
            try:
                delta = self.diff.encode(reference, data, max_size=math.floor(ratio * len(data)))
            except DeltaTooLargeError:
                self.logger.debug("delta over max_ratio; storing directly", key=key, ratio=ratio)
                self.metrics.increment("deltaglider.put.ratio_exceeded")
                return self._put_direct(bucket, key, data, sha, extras)
        return self._store_delta(
            bucket,
            key,
            delta,
            _DeltaFacts(len(data), sha, ref_key, ref_sha, len(delta), self.hasher.sha256(delta)),
            note,
            extras,
        )

    def _store_delta(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        facts: _DeltaFacts,
        note: str | None,
        extras: _Extras,
    ) -> PutSummary:
        """Write a delta, check its reference is still the space's, and drop
        any copy of the file stored as is."""
        meta = metadata.delta_metadata(
            tool=self.tool_version,
            original_name=keys.split_key(key)[1],
            sha256=facts.file_sha,
            size=facts.file_size,
            created_at=self.clock.now(),
            ref_key=facts.ref_key,
            ref_sha256=facts.ref_sha,
            delta_size=facts.delta_size,
            note=note,
        )
        etag = self.storage.put(
            bucket,
            keys.delta_key(key),
            body,
            metadata.with_user_metadata(meta, extras.user),
            content_type=extras.content_type,
            tags=extras.tags,
        )
        self._check_reference_unchanged(bucket, facts.ref_key, facts.ref_sha)
        self._remove_if_present(bucket, key)
        self.metrics.increment("deltaglider.put.delta")
        self.logger.debug("stored as delta", key=key, size=facts.file_size, delta=facts.delta_size)
        return PutSummary(
            "PUT_DELTA",
            bucket,
            key,
            facts.file_size,
            facts.file_sha,
            delta_size=facts.delta_size,
            delta_hash=facts.delta_sha,
            delta_ratio=facts.delta_size / facts.file_size,
            reference_hash=facts.ref_sha,
            reference_created=note == metadata.NOTE_ZERO_DIFF,
            etag=etag,
        )

    def _put_delta_file(
        self,
        bucket: str,
        key: str,
        file: Path,
        size: int,
        sha: str,
        ratio: float,
        extras: _Extras,
        meter: Meter,
    ) -> PutSummary:
        """``_put_delta`` for a large file, streamed: the reference is read
        from its encrypted cache file and the delta spooled (in memory up
        to 64 MiB, then to a private temporary file)."""
        prefix, name = keys.split_key(key)
        ref_key = keys.reference_key(prefix)
        ref_sha, created = self._reference_file_for_put(bucket, ref_key, name, file, size, sha)
        with (
            self._open_reference(bucket, ref_key, ref_sha) as reference,
            open(file, "rb") as target,
            tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool,
        ):
            limit = None if created else math.floor(ratio * size)
            delta = _HashingWriter(spool, self.hasher.running())
            metered = cast(BinaryIO, MeteredReader(target, meter))
            try:
                delta_size = self.diff.encode_stream(reference, metered, delta, max_size=limit)
            except DeltaTooLargeError:
                self.logger.debug("delta over max_ratio; storing directly", key=key, ratio=ratio)
                self.metrics.increment("deltaglider.put.ratio_exceeded")
                return self._put_direct_file(bucket, key, file, extras, sha, meter=meter)
            spool.seek(0)
            facts = _DeltaFacts(size, sha, ref_key, ref_sha, delta_size, delta.hexdigest())
            note = metadata.NOTE_ZERO_DIFF if created else None
            return self._store_delta(bucket, key, cast(BinaryIO, spool), facts, note, extras)

    def _reference_file_for_put(
        self, bucket: str, ref_key: str, name: str, file: Path, size: int, sha: str
    ) -> tuple[str, bool]:
        """``_reference_for_put`` for a large file: the reference's SHA-256
        and whether we created it (then it is also in the cache)."""

        def create(meta: Mapping[str, str]) -> None:
            with open(file, "rb") as body:
                self.storage.put(bucket, ref_key, body, meta, if_none_match=True)

        existing = self._create_reference_unless_present(bucket, ref_key, name, sha, create)
        if existing is not None:
            return existing, False
        with open(file, "rb") as body:
            self.cache.put_stream(sha, body, size)
        return sha, True

    def _reference_for_put(
        self, bucket: str, ref_key: str, name: str, data: bytes, sha: str
    ) -> tuple[bytes, str, bool]:
        """The space's reference (bytes, SHA-256) and whether we created it."""

        def create(meta: Mapping[str, str]) -> None:
            self.storage.put(bucket, ref_key, data, meta, if_none_match=True)

        existing = self._create_reference_unless_present(bucket, ref_key, name, sha, create)
        if existing is not None:
            return self._load_reference(bucket, ref_key, existing), existing, False
        self.cache.put(sha, data)
        return data, sha, True

    def _create_reference_unless_present(
        self,
        bucket: str,
        ref_key: str,
        name: str,
        sha: str,
        create: Callable[[Mapping[str, str]], None],
    ) -> str | None:
        """The SHA-256 of the space's reference; None when there was none
        and ``create`` (a conditional write given the metadata) made ours.
        Of several racing writers one creates it; the others get its SHA-256."""
        head = self.storage.head(bucket, ref_key)
        if head is None:
            meta = metadata.reference_metadata(
                tool=self.tool_version, source_name=name, sha256=sha, created_at=self.clock.now()
            )
            try:
                create(meta)
            except PreconditionFailedError:
                head = self.storage.head(bucket, ref_key)
                if head is None:
                    raise SpaceChangedError(f"{ref_key} appeared and vanished") from None
            else:
                self.metrics.increment("deltaglider.reference.created")
                return None
        return metadata.parse_reference(head.metadata, ref_key).sha256

    def _check_reference_unchanged(self, bucket: str, ref_key: str, ref_sha: str) -> None:
        head = self.storage.head(bucket, ref_key)
        recorded = metadata.read(head.metadata, "file_sha256") if head is not None else None
        if recorded is None or recorded.lower() != ref_sha:
            raise SpaceChangedError(f"{ref_key} changed while a delta against it was written")

    def estimate_put(
        self, bucket: str, key: str, file: Path, max_ratio: float | None = None
    ) -> tuple[str, int]:
        """How ``file`` would be stored under ``key`` now, writing nothing:
        ``("direct" | "reference" | "delta", stored bytes)``.  A delta is
        really encoded against the space's reference (stopping at the cap)."""
        self._check_key(key)
        size = file.stat().st_size
        if size == 0 or not keys.is_delta_candidate(keys.split_key(key)[1]):
            return "direct", size
        ref_key = keys.reference_key(keys.split_key(key)[0])
        head = self.storage.head(bucket, ref_key)
        if head is None:
            return "reference", size
        ref_sha = metadata.parse_reference(head.metadata, ref_key).sha256
        ratio = self.max_ratio if max_ratio is None else self._checked_ratio(max_ratio)
        limit = math.floor(ratio * size)
        try:
            with (
                self._open_reference(bucket, ref_key, ref_sha) as reference,
                open(file, "rb") as target,
            ):
                delta_size = self.diff.encode_stream(reference, target, _Discard(), max_size=limit)
        except DeltaTooLargeError:
            return "direct", size
        return "delta", delta_size

    # -- get --------------------------------------------------------------

    def head(self, bucket: str, key: str) -> StoredObject | None:
        """The logical object under ``key``, or None."""
        self._check_key(key)
        direct = self.storage.head(bucket, key)
        if direct is not None:
            return self._stored_direct(bucket, direct)
        delta_head = self.storage.head(bucket, keys.delta_key(key))
        if delta_head is None:
            return None
        return self._stored_delta(bucket, key, delta_head)

    def _stored_direct(self, bucket: str, head: ObjectHead) -> StoredObject:
        info = metadata.parse_direct(head.metadata, head.key)
        return StoredObject(
            bucket=bucket,
            key=head.key,
            physical_key=head.key,
            kind="plain" if info is None else "direct",
            size=head.size,
            stored_size=head.size,
            sha256=None if info is None else info.sha256,
            etag=head.etag,
            last_modified=head.last_modified,
            user_metadata=metadata.user_metadata(head.metadata),
            content_type=head.content_type,
        )

    def _stored_delta(self, bucket: str, key: str, head: ObjectHead) -> StoredObject:
        info = metadata.parse_delta(head.metadata, head.key)
        return StoredObject(
            bucket=bucket,
            key=key,
            physical_key=head.key,
            kind="delta",
            size=info.size,
            stored_size=head.size,
            sha256=info.sha256,
            etag=head.etag,
            last_modified=head.last_modified,
            user_metadata=metadata.user_metadata(head.metadata),
            content_type=head.content_type,
            reference_key=info.ref_key,
            reference_sha256=info.ref_sha256,
        )

    def get_bytes(self, bucket: str, key: str) -> tuple[bytes | bytearray, StoredObject]:
        """The object's exact bytes, verified against its SHA-256 (a rebuilt
        delta comes back as the bytearray it was decoded into, uncopied)."""
        stored = self.head(bucket, key)
        if stored is None:
            raise self._not_found(bucket, key)
        return self._fetch(stored), stored

    def _fetch(self, stored: StoredObject) -> bytes | bytearray:
        """The bytes of an object already headed, verified against its SHA-256."""
        raw = self._read(stored.bucket, stored.physical_key)
        data = self._rebuild(stored.bucket, stored, raw) if stored.is_delta else raw
        if stored.sha256 is not None:
            actual = self.hasher.sha256(data)
            if actual != stored.sha256:
                self.metrics.increment("deltaglider.get.integrity_failure")
                raise IntegrityError(
                    f"s3://{stored.bucket}/{stored.key}: SHA-256 {actual} does not match the "
                    f"recorded {stored.sha256}; nothing was returned"
                )
        self.metrics.increment(
            "deltaglider.get.delta" if stored.is_delta else "deltaglider.get.direct"
        )
        return data

    def _refuse_external_compression(self, stored: StoredObject, delta_start: bytes) -> None:
        """Refuse a delta the xdelta3 CLI made between decompressed streams
        (its app header says so): it cannot rebuild the stored file."""
        try:
            markers = self.diff.external_compression(delta_start)
        except Exception as exc:
            raise IntegrityError(
                f"s3://{stored.bucket}/{stored.physical_key}: not a valid delta ({exc})"
            ) from exc
        if markers is not None:
            raise UnsupportedObjectError(
                f"s3://{stored.bucket}/{stored.key}: its delta was made by the xdelta3 CLI "
                f"between the decompressed contents (app header markers {markers}); "
                "rebuilding it would not give the stored file byte for byte"
            )

    def _rebuild(self, bucket: str, stored: StoredObject, delta: bytes) -> bytearray:
        if stored.reference_key is None or stored.reference_sha256 is None:
            raise IntegrityError(f"s3://{bucket}/{stored.physical_key}: no reference recorded")
        self._refuse_external_compression(stored, delta[:_HEADER_PEEK])
        reference = self._load_reference(bucket, stored.reference_key, stored.reference_sha256)
        try:
            return self.diff.decode(reference, delta, size=stored.size)
        except Exception as exc:
            raise IntegrityError(
                f"s3://{bucket}/{stored.physical_key}: does not decode against "
                f"{stored.reference_key} ({exc})"
            ) from exc

    def _rebuild_streaming(self, stored: StoredObject, out: Sink) -> str:
        """Stream a large delta's rebuilt bytes into ``out``; raises
        IntegrityError (after the bytes, so the caller discards them) unless
        they match the recorded SHA-256, which is returned."""
        bucket = stored.bucket
        if stored.reference_key is None or stored.reference_sha256 is None:
            raise IntegrityError(f"s3://{bucket}/{stored.physical_key}: no reference recorded")
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as delta:
            _, body = self.storage.open(bucket, stored.physical_key)
            with body:
                while chunk := body.read(_CHUNK):
                    delta.write(chunk)
            delta.seek(0)
            self._refuse_external_compression(stored, delta.read(_HEADER_PEEK))
            delta.seek(0)
            output = _HashingWriter(out, self.hasher.running())
            with self._open_reference(bucket, stored.reference_key, stored.reference_sha256) as ref:
                try:
                    self.diff.decode_stream(ref, cast(BinaryIO, delta), output, size=stored.size)
                except IntegrityError:
                    self.cache.evict(stored.reference_sha256)
                    raise
                except Exception as exc:
                    raise IntegrityError(
                        f"s3://{bucket}/{stored.physical_key}: does not decode against "
                        f"{stored.reference_key} ({exc})"
                    ) from exc
        actual = output.hexdigest()
        if stored.sha256 is not None and actual != stored.sha256:
            self.metrics.increment("deltaglider.get.integrity_failure")
            raise IntegrityError(
                f"s3://{bucket}/{stored.key}: SHA-256 {actual} does not match the "
                f"recorded {stored.sha256}; nothing was returned"
            )
        self.metrics.increment("deltaglider.get.delta")
        return actual

    def _open_reference(self, bucket: str, ref_key: str, sha: str) -> BinaryIO:
        """A seekable stream of the reference with SHA-256 ``sha``, from the
        cache; a reference not yet cached is streamed into it and checked."""
        stream = self.cache.open(sha)
        if stream is not None:
            self.metrics.increment("deltaglider.reference.cache_hit")
            return stream
        head, body = self.storage.open(bucket, ref_key)
        with body:
            actual = self.cache.put_stream(sha, body, head.size)
        if actual != sha:
            raise IntegrityError(
                f"s3://{bucket}/{ref_key}: SHA-256 {actual} is not the {sha} its deltas need"
            )
        self.metrics.increment("deltaglider.reference.fetched")
        stream = self.cache.open(sha)
        if stream is None:
            raise IntegrityError(f"s3://{bucket}/{ref_key}: its cache entry vanished")
        return stream

    def _load_reference(self, bucket: str, ref_key: str, sha: str) -> bytes:
        """Reference bytes with SHA-256 ``sha``: from the cache, else the store."""
        cached = self.cache.get(sha)
        if cached is not None:
            self.metrics.increment("deltaglider.reference.cache_hit")
            return cached
        data = self._read(bucket, ref_key)
        actual = self.hasher.sha256(data)
        if actual != sha:
            raise IntegrityError(
                f"s3://{bucket}/{ref_key}: SHA-256 {actual} is not the {sha} its deltas need"
            )
        self.cache.put(sha, data)
        self.metrics.increment("deltaglider.reference.fetched")
        return data

    def _read(self, bucket: str, physical_key: str) -> bytes:
        _, stream = self.storage.open(bucket, physical_key)
        with stream:
            return stream.read()

    # -- tags -------------------------------------------------------------

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        """The tags of the logical object under ``key``."""
        stored = self.head(bucket, key)
        if stored is None:
            raise self._not_found(bucket, key)
        return self.storage.get_tags(bucket, stored.physical_key)

    def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace the tags of the logical object under ``key``."""
        stored = self.head(bucket, key)
        if stored is None:
            raise self._not_found(bucket, key)
        self.storage.put_tags(bucket, stored.physical_key, tags)

    # -- temporary copies ---------------------------------------------------

    def temp_copy(self, stored: StoredObject, expires: datetime) -> str:
        """Write a verified copy of a stored file under ``.deltaglider/tmp/``
        (recording when it expires) and return its key."""
        name = keys.split_key(stored.key)[1]
        identity = (stored.sha256 or stored.etag.strip('"'))[:16]
        temp_key = f"{keys.TEMP_PREFIX}{int(expires.timestamp())}-{identity}/{name}"
        stream, _ = self.open_verified(stored.bucket, stored.key)
        with stream:
            self.storage.put(
                stored.bucket,
                temp_key,
                stream,
                {_EXPIRES_AT: expires.strftime(_STAMP)},
                content_type=stored.content_type,
            )
        return temp_key

    def purge_temp_copies(self, bucket: str, now: datetime, *, dry_run: bool) -> list[str]:
        """Remove the temporary copies expired at ``now`` (one with no
        readable expiry lasts a week); returns their keys."""
        expired = []
        for obj in self.storage.iter_objects(bucket, keys.TEMP_PREFIX):
            head = self.storage.head(bucket, obj.key)
            stamp = head.metadata.get(_EXPIRES_AT) if head is not None else None
            try:
                when = datetime.strptime(stamp or "", _STAMP).replace(tzinfo=UTC)
            except ValueError:
                when = obj.last_modified + timedelta(days=7)
            if when <= now:
                expired.append(obj.key)
        if not dry_run:
            for key in expired:
                self.storage.delete(bucket, key)
        return expired

    # -- list -------------------------------------------------------------

    def list_logical(self, bucket: str, prefix: str = "", delimiter: str = "") -> LogicalListing:
        """The logical objects under ``prefix``, sorted (see core.listing)."""
        return list_logical(self.storage, bucket, prefix, delimiter)

    def describe(self, bucket: str, entry: LogicalEntry) -> StoredObject | None:
        """A listed object with its metadata (one HEAD of its stored form);
        None if it vanished since the listing."""
        head = self.storage.head(bucket, entry.physical_key)
        if head is None:
            return None
        if entry.is_delta:
            return self._stored_delta(bucket, entry.key, head)
        return self._stored_direct(bucket, head)

    def delta_size_cache(self, bucket: str) -> DeltaSizeCache:
        """The bucket's record of its deltas' file sizes, read (see
        :mod:`deltaglider.core.size_cache`)."""
        cache = DeltaSizeCache(self.storage, self.logger, bucket)
        cache.load()
        return cache

    def bucket_stats(
        self,
        bucket: str,
        *,
        detailed: bool = False,
        mode: StatsMode | None = None,
        use_cache: bool = True,
    ) -> BucketStats:
        """Object counts and logical against stored bytes.

        ``mode`` (``quick``/``sampled``/``detailed``; ``detailed=True`` means
        ``detailed``) sets how many deltas' sizes are read rather than
        estimated.  Sizes read are kept in the bucket's size cache, so a
        later run reads only new deltas; ``use_cache=False`` neither reads
        nor writes it."""
        chosen: StatsMode = mode or ("detailed" if detailed else "quick")
        everything = self.storage.iter_objects(bucket)
        listed = [o for o in everything if not o.key.startswith(keys.CONTROL_PREFIX)]
        cache = DeltaSizeCache(self.storage, self.logger, bucket)
        if use_cache and chosen != "quick":
            cache.load()

        def read_size(obj: ListedObject) -> int | None:
            key = obj.key[: -len(keys.DELTA_SUFFIX)]
            entry = LogicalEntry(key, obj.key, obj.size, obj.etag, obj.last_modified)
            stored = self.describe(bucket, entry)
            if stored is None:
                return None
            cache.record(obj.key, obj.etag, stored.size)
            return stored.size

        stats = bucket_stats(
            listed, bucket, chosen, lambda obj: cache.known(obj.key, obj.etag), read_size
        )
        if use_cache and chosen != "quick":
            cache.save(o for o in listed if o.key.endswith(keys.DELTA_SUFFIX))
        return stats

    # -- buckets ----------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (an existing one is left as is)."""
        self.storage.create_bucket(bucket)

    def delete_bucket(self, bucket: str) -> None:
        """Delete a bucket holding no files (a missing one is not an
        error); its control objects (size cache, temporary copies) go
        with it."""
        if self.storage.bucket_exists(bucket):
            listed = list(self.storage.iter_objects(bucket))
            if all(obj.key.startswith(keys.CONTROL_PREFIX) for obj in listed):
                for obj in listed:
                    self.storage.delete(bucket, obj.key)
        self.storage.delete_bucket(bucket)

    def list_buckets(self) -> list[BucketInfo]:
        """Every bucket, by name."""
        return self.storage.list_buckets()

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists."""
        return self.storage.bucket_exists(bucket)

    # -- delete -----------------------------------------------------------

    def delete(self, bucket: str, key: str) -> list[str]:
        """Remove the object under ``key``; returns the physical keys removed
        (its reference too, when it was the space's last delta)."""
        self._check_key(key)
        removed = [key] if self._remove_if_present(bucket, key) else []
        removed += self._remove_delta(bucket, key)
        self.metrics.increment("deltaglider.delete", len(removed))
        return removed

    def _remove_delta(self, bucket: str, key: str) -> list[str]:
        """Remove ``key``'s delta, and the reference if no delta needs it now.

        A put racing with this finds the reference gone in its post-write
        check and starts again, so no delta is left without its reference."""
        delta = keys.delta_key(key)
        if not self._remove_if_present(bucket, delta):
            return []
        prefix = keys.split_key(key)[0]
        if self._space_has_deltas(bucket, prefix):
            return [delta]
        ref_key = keys.reference_key(prefix)
        self.evict_reference(bucket, ref_key)
        self.storage.delete(bucket, ref_key)
        return [delta, ref_key]

    def _space_has_deltas(self, bucket: str, prefix: str) -> bool:
        folder = f"{prefix}/" if prefix else ""
        token = None
        while True:
            page = self.storage.list_objects(bucket, folder, delimiter="/", token=token)
            if any(o.key.endswith(keys.DELTA_SUFFIX) for o in page.objects):
                return True
            if page.next_token is None:
                return False
            token = page.next_token

    def evict_reference(self, bucket: str, ref_key: str) -> None:
        """Drop a space's reference from the cache (by its recorded SHA-256)."""
        head = self.storage.head(bucket, ref_key)
        sha = metadata.read(head.metadata, "file_sha256") if head is not None else None
        if sha:
            self.cache.evict(sha.lower())

    def _remove_if_present(self, bucket: str, physical_key: str) -> bool:
        if self.storage.head(bucket, physical_key) is None:
            return False
        self.storage.delete(bucket, physical_key)
        return True

    # -- checks -----------------------------------------------------------

    def _not_found(self, bucket: str, key: str) -> Exception:
        """The error for a missing object: its bucket may be what is missing
        (an S3 HEAD does not say which)."""
        if not self.storage.bucket_exists(bucket):
            return BucketNotFoundError(f"bucket {bucket!r} does not exist")
        return ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")

    @staticmethod
    def _check_key(key: str) -> None:
        problem = keys.key_problem(key)
        if problem is not None:
            raise InvalidKeyError(problem)

    @staticmethod
    def _checked_ratio(ratio: float) -> float:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"max_ratio must be between 0 and 1, got {ratio}")
        return ratio
