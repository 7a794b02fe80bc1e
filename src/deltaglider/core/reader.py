"""The one reader: finds a logical object's stored form and rebuilds its
exact bytes into any sink, verified against the recorded SHA-256.

A delta the memory policy holds (:mod:`deltaglider.core.memory_policy`)
is decoded in memory against the reference's bytes; a larger one is
streamed through the codec against the reference's cache file; an object
stored as is is copied through.  Every path checks the SHA-256 before
it returns; a sink is written before the check, so callers write to
something they discard on error (a temporary file, a spool, a buffer).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from deltaglider.core import keys, metadata
from deltaglider.core.checksums import CRC32_FIELD
from deltaglider.core.errors import (
    CacheCorruptError,
    CorruptDeltaError,
    IntegrityError,
    MetadataError,
    ObjectNotFoundError,
    UnsupportedDeltaError,
    UnsupportedObjectError,
)
from deltaglider.core.memory_policy import MemoryPolicy
from deltaglider.core.models import StoredObject
from deltaglider.core.references import References
from deltaglider.core.room import EnginePorts, Room
from deltaglider.core.sinks import CHUNK, BufferReader, Collector, HashingWriter
from deltaglider.core.stamps import current_form
from deltaglider.metering import Meter, MeteredWriter
from deltaglider.metering import ProgressCallback as Progress
from deltaglider.ports.codec import DiffPort, Sink
from deltaglider.ports.storage import ObjectHead

_SPOOL = 64 << 20  # deltas up to this size stay in memory when streaming
_HEADER_PEEK = 64 << 10
_LISTED_ATTEMPTS = 4
_KEEP_REBUILT_AFTER = 1.0  # seconds: a contents delta this slow to rebuild is cached


def physical_forms(key: str) -> tuple[str, ...]:
    """The physical keys a logical key may be stored under, likeliest first:
    a delta candidate is usually a delta.  A key ending in ``.delta`` names
    an object some other tool stored under that name, never one of ours."""
    if key.endswith(keys.DELTA_SUFFIX):
        return (key,)
    delta = keys.delta_key(key)
    return (delta, key) if keys.is_delta_candidate(keys.split_key(key)[1]) else (key, delta)


class Reader(Room):
    """Locates and rebuilds logical objects."""

    def __init__(
        self, ports: EnginePorts, references: References, diff: DiffPort, memory: MemoryPolicy
    ) -> None:
        super().__init__(ports)
        self.references = references
        self.diff = diff
        self.memory = memory

    # -- finding ------------------------------------------------------------

    def locate(self, bucket: str, key: str) -> StoredObject | None:
        """The logical object under ``key`` (HEAD only), or None."""
        forms = physical_forms(key)
        for physical in forms:
            head = self.storage.head(bucket, physical)
            if head is not None and self.describe(bucket, head).key == key:
                if physical != key and physical == forms[0]:  # see open()
                    head = self._current(bucket, key, head)
                return self.describe(bucket, head)
        return None

    def open(self, bucket: str, key: str) -> tuple[StoredObject, BinaryIO]:
        """The logical object under ``key`` and a stream of its stored
        bytes, from one GET of its stored form (two when the likelier form
        is absent): what is described is what is read.

        A delta found is checked against the form stored as is (one HEAD):
        a writer that knows nothing of deltas may have written that since,
        and the newer of the two is the key's contents (:func:`current_form`).

        Puts switching the key between its two forms could make each GET
        miss the form the other one just left; so when both miss, one LIST
        (a snapshot of both names at once) says which form is there, if
        any, before the key is called absent."""
        forms = physical_forms(key)
        misses: list[ObjectNotFoundError] = []  # the store's answers, kept as the cause
        for physical in forms:
            opened = self._open_form(bucket, key, physical, misses)
            if opened is not None:
                # a key read as is first was just found absent as is
                return self._open_current(bucket, key, opened, check=physical == forms[0])
        for _ in range(_LISTED_ATTEMPTS):
            page = self.storage.list_objects(bucket, key)
            listed = [o.key for o in page.objects if o.key in forms]
            if not listed:
                break
            for physical in listed:
                opened = self._open_form(bucket, key, physical, misses)
                if opened is not None:
                    return self._open_current(bucket, key, opened, check=True)
        cause = misses[-1] if misses else None
        raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist") from cause

    def _current(self, bucket: str, key: str, delta: ObjectHead) -> ObjectHead:
        """The head of the key's current form, given its delta's: the form
        stored as is if that is present and newer (see :func:`current_form`)."""
        plain = self.storage.head(bucket, key)
        return delta if plain is None else current_form(plain, delta)

    def _open_current(
        self, bucket: str, key: str, opened: tuple[ObjectHead, BinaryIO], *, check: bool
    ) -> tuple[StoredObject, BinaryIO]:
        head, body = opened
        if check and head.key != key and self._current(bucket, key, head) is not head:
            body.close()
            replaced = self._open_form(bucket, key, key, [])
            if replaced is None:  # removed since its HEAD: look again
                return self.open(bucket, key)
            head, body = replaced
        return self.describe(bucket, head), body

    def _open_form(
        self, bucket: str, key: str, physical: str, misses: list[ObjectNotFoundError]
    ) -> tuple[ObjectHead, BinaryIO] | None:
        try:
            head, body = self.storage.open(bucket, physical)
        except ObjectNotFoundError as missing:
            misses.append(missing)
            return None
        if self.describe(bucket, head).key == key:
            return head, body
        body.close()  # another tool's object of that name, not this key's form
        return None

    def describe(self, bucket: str, head: ObjectHead) -> StoredObject:
        """What a stored object is: a delta (``k.delta`` with our metadata,
        shown as ``k``), an object stored as is, a plain object (another
        tool's, shown under its own name even if it ends in ``.delta``), or
        a damaged delta (its metadata unreadable: listed, never rebuilt)."""
        key, kind, problem = head.key, "plain", None
        user = metadata.user_metadata(head.metadata)
        fields: dict[str, Any] = {}
        if head.key.endswith(keys.DELTA_SUFFIX) and metadata.is_deltaglider_object(head.metadata):
            key = keys.logical_key(head.key)
            try:
                info = metadata.parse_delta(head.metadata, head.key)
            except MetadataError as exc:
                kind, problem = "damaged", f"its metadata is damaged ({exc})"
            else:
                kind = "delta"
                fields = {
                    "size": info.size,
                    "sha256": info.sha256,
                    "reference_key": info.ref_key,
                    "reference_sha256": info.ref_sha256,
                    "delta_format": info.delta_format,
                    "deflate": info.deflate,
                }
        else:
            try:
                direct = metadata.parse_direct(head.metadata, head.key)
            except MetadataError as exc:
                kind, problem = "damaged", f"its metadata is damaged ({exc})"
            else:
                if direct is not None:
                    kind, fields = "direct", {"sha256": direct.sha256}
        return StoredObject(
            bucket=bucket,
            key=key,
            physical_key=head.key,
            kind=kind,
            size=fields.pop("size", head.size),
            stored_size=head.size,
            etag=head.etag,
            last_modified=head.last_modified,
            user_metadata=user,
            content_type=head.content_type,
            fields=dict(head.fields),
            crc32=head.metadata.get(CRC32_FIELD),
            problem=problem,
            **{"sha256": None, **fields},
        )

    # -- rebuilding ---------------------------------------------------------

    def in_memory(self, stored: StoredObject) -> bool:
        """Whether the object is rebuilt in memory rather than streamed."""
        if not stored.is_delta:
            return self.memory.holds(stored.size)
        return self.memory.decodes_in_memory(stored.size, contents=stored.delta_format is not None)

    def rebuild(
        self, stored: StoredObject, body: BinaryIO, sink: Sink, progress: Progress | None = None
    ) -> str:
        """Write the object's bytes into ``sink``; returns their SHA-256,
        checked.  Closes ``body``.  ``progress`` is told the bytes rebuilt
        while a contents delta is (the sink's writes say the rest)."""
        with body:
            self._refuse_damaged(stored)
            if not stored.is_delta:
                return self._copy(stored, body, sink)
            if self.in_memory(stored):
                data = self._decode(stored, body.read(), progress)
                sink.write(data)
                return self._checked(stored, self.hasher.sha256(data))
            return self._decode_streaming(stored, body, sink)

    def rebuild_bytes(self, stored: StoredObject, body: BinaryIO) -> bytes | bytearray:
        """The object's bytes, checked (a rebuilt delta comes back as the
        bytearray it was decoded into, uncopied).  Closes ``body``."""
        if stored.is_delta and self.in_memory(stored):
            with body:
                self._refuse_damaged(stored)
                data = self._decode(stored, body.read())
            self._checked(stored, self.hasher.sha256(data))
            return data
        collected = Collector()
        self.rebuild(stored, body, collected)
        return b"".join(collected.parts)

    def spooled(self, stored: StoredObject, body: BinaryIO, meter: Meter) -> BinaryIO:
        """A readable, seekable stream of the checked bytes: in memory when
        the object is small, else a private temporary file (unlinked);
        ``meter`` counts the bytes rebuilt."""
        if self.in_memory(stored):
            return cast(BinaryIO, BufferReader(self.rebuild_bytes(stored, body)))
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        try:
            self.rebuild(stored, body, MeteredWriter(spool, meter))
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return cast(BinaryIO, spool)

    def _refuse_damaged(self, stored: StoredObject) -> None:
        if stored.kind == "damaged":
            raise IntegrityError(f"{stored.problem}; it cannot be rebuilt")

    def _checked(self, stored: StoredObject, actual: str) -> str:
        """``actual``, unless the object records another SHA-256."""
        if stored.sha256 is not None and actual != stored.sha256:
            self.metrics.increment("deltaglider.get.integrity_failure")
            raise IntegrityError(
                f"s3://{stored.bucket}/{stored.key}: SHA-256 {actual} does not match the "
                f"recorded {stored.sha256}; nothing was handed over"
            )
        self.metrics.increment(
            "deltaglider.get.delta" if stored.is_delta else "deltaglider.get.direct"
        )
        return actual

    def _copy(self, stored: StoredObject, body: BinaryIO, sink: Sink) -> str:
        def chunks() -> Iterator[bytes]:
            while chunk := body.read(CHUNK):
                sink.write(chunk)
                yield chunk

        return self._checked(stored, self.hasher.sha256_chunks(chunks()))

    def _refuse_external_compression(self, stored: StoredObject, delta_start: bytes) -> None:
        """Refuse a delta the xdelta3 CLI made between decompressed streams
        (its app header says so): it cannot rebuild the stored file."""
        try:
            markers = self.diff.external_compression(delta_start)
        except CorruptDeltaError as exc:
            raise IntegrityError(
                f"s3://{stored.bucket}/{stored.physical_key}: not a valid delta ({exc})"
            ) from exc
        if markers is not None:
            raise UnsupportedObjectError(
                f"s3://{stored.bucket}/{stored.key}: its delta was made by the xdelta3 CLI "
                f"between the decompressed contents (app header markers {markers}); "
                "rebuilding it would not give the stored file byte for byte"
            )

    def _reference(self, stored: StoredObject) -> tuple[str, str]:
        if stored.reference_key is None or stored.reference_sha256 is None:
            raise IntegrityError(f"s3://{stored.bucket}/{stored.physical_key}: no reference")
        return stored.reference_key, stored.reference_sha256

    def _decode_failed(
        self, stored: StoredObject, ref_key: str, exc: CorruptDeltaError
    ) -> IntegrityError:
        return IntegrityError(
            f"s3://{stored.bucket}/{stored.physical_key}: the delta does not decode against "
            f"{ref_key}, whose SHA-256 is the one recorded: the delta is damaged ({exc})"
        )

    def _decode(
        self, stored: StoredObject, delta: bytes, progress: Progress | None = None
    ) -> bytes | bytearray:
        ref_key, ref_sha = self._reference(stored)
        if stored.delta_format is not None:
            return self._decode_contents(stored, delta, ref_key, ref_sha, progress)
        self._refuse_external_compression(stored, delta[:_HEADER_PEEK])
        reference = self.references.load(stored.bucket, ref_key, ref_sha)
        try:
            return self.diff.decode(reference, delta, size=stored.size)
        except CorruptDeltaError as exc:
            raise self._decode_failed(stored, ref_key, exc) from exc

    def _decode_contents(
        self,
        stored: StoredObject,
        delta: bytes,
        ref_key: str,
        ref_sha: str,
        progress: Progress | None = None,
    ) -> bytes | bytearray:
        """Rebuild a contents delta.  One that took long (a large gzip
        stream re-deflated) is kept in the reference cache under its own
        SHA-256, once checked, and read from there the next time."""
        where = f"s3://{stored.bucket}/{stored.key}"
        if stored.delta_format != self.diff.contents_format or stored.deflate is None:
            raise UnsupportedObjectError(
                f"{where}: stored as a {stored.delta_format} delta (deflate "
                f"{stored.deflate}); this version reads {self.diff.contents_format} only"
            )
        kept = self.references.cache.get(stored.sha256) if stored.sha256 else None
        if kept is not None:
            return kept
        reference = self.references.load(stored.bucket, ref_key, ref_sha)
        started = self.clock.now()
        try:
            data = self.diff.decode_contents(
                reference, delta, size=stored.size, deflate=stored.deflate, progress=progress
            )
        except UnsupportedDeltaError as exc:
            raise UnsupportedObjectError(f"{where}: {exc}") from exc
        except CorruptDeltaError as exc:
            raise self._decode_failed(stored, ref_key, exc) from exc
        slow = (self.clock.now() - started).total_seconds() >= _KEEP_REBUILT_AFTER
        if slow and stored.sha256 and self.hasher.sha256(data) == stored.sha256:
            self.references.cache.put(stored.sha256, bytes(data))
        return data

    def _decode_streaming(self, stored: StoredObject, body: BinaryIO, sink: Sink) -> str:
        ref_key, ref_sha = self._reference(stored)
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as delta:
            while chunk := body.read(CHUNK):
                delta.write(chunk)
            delta.seek(0)
            self._refuse_external_compression(stored, delta.read(_HEADER_PEEK))
            delta.seek(0)
            output = HashingWriter(sink, self.hasher.running())
            with self.references.open(stored.bucket, ref_key, ref_sha) as reference:
                try:
                    self.diff.decode_stream(
                        reference, cast(BinaryIO, delta), output, size=stored.size
                    )
                except CacheCorruptError:  # evicted: the caller reads again
                    self.references.cache.evict(ref_sha)
                    raise
                except CorruptDeltaError as exc:  # the sink's own errors are not the delta's
                    raise self._decode_failed(stored, ref_key, exc) from exc
        return self._checked(stored, output.hexdigest())
