"""The one writer: bytes and files in, a delta or the file as is out.

Every put follows the write protocol of docs/storage-format.md:

1. (a delta) have the space's reference, creating it if absent; encode;
2. HEAD both of the key's forms and take a write stamp later than theirs;
3. PUT the new form with its stamp, only over the version seen (If-Match,
   or If-None-Match where there was none; another write in between: 2);
4. (a delta) check the reference is still the one encoded against, else
   start again;
5. settle the forms: the other form is removed if its stamp is older (only
   the version seen, ``If-Match``), or ours if the other is newer.

Steps 2, 3 and 5 (one form written, the two settled, create-only puts
among them) are :mod:`deltaglider.core.forms`.

A put never removes a reference, even when it replaces a space's last delta
with a file stored as is: a writer putting a delta into the space at the
same time would have to start again each time (writers of one key in both
forms would starve each other).  Deletes and ``purge`` retire unused
references.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Literal, cast, overload

from deltaglider.core import checksums, keys, metadata, size_markers
from deltaglider.core.errors import (
    ChecksumMismatchError,
    DeltaGliderError,
    DeltaTooLargeError,
    InvalidKeyError,
    MissingReferenceError,
    SpaceChangedError,
)
from deltaglider.core.forms import Body, Forms
from deltaglider.core.memory_policy import MemoryPolicy
from deltaglider.core.models import PutOptions, PutSummary
from deltaglider.core.references import References
from deltaglider.core.room import EnginePorts, Room
from deltaglider.core.sinks import CHUNK, Discard, HashingWriter
from deltaglider.metering import Meter, MeteredReader, counted
from deltaglider.ports.codec import DiffPort
from deltaglider.ports.support import HashPort

_PUT_ATTEMPTS = 4
_SPOOL = 64 << 20  # deltas up to this size stay in memory when streaming


@dataclass(frozen=True)
class _Put:
    """One put, as the writer carries it from step to step."""

    bucket: str
    key: str
    body: Body
    size: int
    sha: str
    ratio: float
    options: PutOptions
    """As the caller gave them, with the body's CRC32."""
    meter: Meter

    @property
    def prefix(self) -> str:
        return keys.split_key(self.key)[0]

    @property
    def name(self) -> str:
        return keys.split_key(self.key)[1]


@dataclass(frozen=True)
class _Against:
    """The reference a delta is encoded against: the space's, or the put's
    own file if the put ``created`` it."""

    key: str
    sha: str
    created: bool


@dataclass(frozen=True)
class _DeltaFacts:
    """What a delta's metadata records beside the put's own facts."""

    delta_size: int
    delta_sha: str
    contents: tuple[str, str] | None = None  # a contents delta: format, deflate


ARCHIVE_MODES = {"all": frozenset({"zip", "gzip"}), "zip": frozenset({"zip"}), "off": frozenset()}
"""``archive_deltas`` settings: which archives are stored as deltas of their
contents (``zip``: zip-family only, so gets never re-deflate a large gzip
stream; ``off``: only deltas deltaglider 6.2.0 can read)."""

_CONTENTS_WITHOUT_PLAIN = 0.5
"""A contents delta at most this share of the file is kept without also
encoding the plain delta.  What a contents delta does not copy or
re-deflate it carries as the plain delta would (the same bytes, encoded
against the same reference bytes), so the plain one is only worth its
encode (as long again) where the contents delta achieved little."""
_CONTENTS_MARGIN = 0.9
"""Otherwise the contents delta is kept only if at most this share of the
plain delta's size."""


def checked_ratio(ratio: float) -> float:
    """``ratio`` if it is a valid ``max_ratio`` (0 to 1)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"max_ratio must be between 0 and 1, got {ratio}")
    return ratio


class Writer(Room):
    """Stores files under logical keys."""

    def __init__(
        self,
        ports: EnginePorts,
        references: References,
        diff: DiffPort,
        memory: MemoryPolicy,
        archive_kinds: frozenset[str] = ARCHIVE_MODES["all"],
    ) -> None:
        super().__init__(ports)
        self.references = references
        self.diff = diff
        self.memory = memory
        self.archive_kinds = archive_kinds
        self.forms = Forms(ports)

    def check_key(self, key: str) -> None:
        """Refuse a key before anything is written: reserved names, and
        names the store cannot hold in any form the put may write."""
        problem = keys.key_problem(key)
        if problem is not None:
            raise InvalidKeyError(problem)
        for physical in (key, keys.delta_key(key)):
            self.storage.check_key(physical)

    def put(
        self,
        bucket: str,
        key: str,
        body: Body,
        *,
        size: int,
        ratio: float,
        options: PutOptions,
        meter: Meter,
    ) -> PutSummary:
        """Store ``body`` (``size`` bytes) under ``key`` as ``options`` say:
        as a delta when it is a candidate and pays within ``ratio``, else
        as is.  The key is checked before the body is hashed or anything is
        written.  A delta candidate given as a path is read into memory or
        encoded from disk as the memory policy says."""
        self.check_key(key)
        if options.create_only:
            self.forms.require_free(bucket, key)
        if isinstance(body, Path):
            sha, crc = file_digests(self.hasher, body)
        else:
            sha, crc = self.hasher.sha256(body), checksums.crc32(body)
        if options.crc32 is not None and options.crc32 != checksums.crc32_text(crc):
            raise ChecksumMismatchError(
                f"s3://{bucket}/{key}: the CRC32 given ({options.crc32}) is not the body's "
                f"({checksums.crc32_text(crc)}); nothing was written"
            )
        options = replace(options, crc32=checksums.crc32_text(crc))
        put = _Put(bucket, key, body, size, sha, ratio, options, meter)
        if not (options.delta and size > 0 and self.is_candidate(key, body)):
            return self._put_direct(put)
        streamed = not self.memory.encodes_in_memory(size, archive=self._takes_contents(body))
        if not streamed and isinstance(body, Path):
            put = replace(put, body=body.read_bytes())
        for attempt in range(1, _PUT_ATTEMPTS + 1):
            try:
                return self._put_delta(put, streamed)
            except SpaceChangedError as exc:
                if attempt == _PUT_ATTEMPTS:
                    raise DeltaGliderError(
                        f"s3://{bucket}/{key}: the space kept changing during the put ({exc})"
                    ) from exc
                self.logger.info("space changed during put; retrying", key=key, attempt=attempt)
        raise AssertionError("unreachable")

    def is_candidate(self, key: str, body: Body) -> bool:
        """Whether a file is worth a delta: its name says a format that
        deltas well, or its first bytes say it is an archive handled by
        contents deltas, whatever its name."""
        return keys.is_delta_candidate(keys.split_key(key)[1]) or self._takes_contents(body)

    def _takes_contents(self, body: Body) -> bool:
        """Whether the file is an archive handled by contents deltas."""
        if not self.archive_kinds:
            return False
        if isinstance(body, Path):  # its first bytes (a stub is not looked past)
            with open(body, "rb") as handle:
                return self.diff.archive_kind(handle.read(4)) in self.archive_kinds
        return self.diff.archive_kind(body) in self.archive_kinds

    # -- as is ----------------------------------------------------------------

    def _put_direct(self, put: _Put) -> PutSummary:
        meta = metadata.direct_metadata(
            tool=self.tool_version,
            original_name=put.name,
            sha256=put.sha,
            size=put.size,
            created_at=self.clock.now(),
        )
        etag, stamp = self.forms.store(
            put.bucket, put.key, put.key, put.body, meta, put.options, put.meter
        )
        create_only = put.options.create_only
        self.forms.settle(put.bucket, put.key, etag, stamp, keys.delta_key(put.key), create_only)
        self.metrics.increment("deltaglider.put.direct")
        self.logger.debug("stored directly", key=put.key, size=put.size)
        return PutSummary(
            "PUT", put.bucket, put.key, put.size, put.sha, etag=etag, crc32=put.options.crc32
        )

    # -- as a delta -----------------------------------------------------------

    def _put_delta(self, put: _Put, streamed: bool) -> PutSummary:
        ref_key = keys.reference_key(put.prefix)

        def create(meta: Mapping[str, str]) -> None:
            self._create_reference(put, ref_key, meta)

        existing = self.references.for_put(put.bucket, ref_key, put.name, put.sha, create)
        created = existing is None
        ref = _Against(ref_key, put.sha if existing is None else existing, created)
        limit = None if created else math.floor(put.ratio * put.size)
        try:
            if streamed:
                return self._encode_streamed(put, ref, limit)
            body = put.body
            assert not isinstance(body, Path)  # read into memory by put()
            contents = None
            if created:
                self.references.cache.put(put.sha, body)
                delta = self.diff.encode(body, body, max_size=None)
            else:
                reference = self._reference(put.bucket, ref)
                delta, contents = self._encode(put.key, reference, body, limit, put.meter)
        except DeltaTooLargeError:
            self.logger.debug("delta over max_ratio; storing directly", key=put.key)
            self.metrics.increment("deltaglider.put.ratio_exceeded")
            return self._put_direct(put)
        put.meter.add(put.size)  # encoded in one step: all of it consumed
        facts = _DeltaFacts(len(delta), self.hasher.sha256(delta), contents)
        return self._store_delta(put, ref, delta, facts)

    def _encode(
        self, key: str, reference: bytes, body: bytes, limit: int | None, meter: Meter | None
    ) -> tuple[bytes, tuple[str, str] | None]:
        """The smaller of the two deltas an archive can have: of its contents
        (verified to rebuild it) or of its bytes.  The plain one is not
        encoded when the contents delta is tiny; the contents one is kept
        only if clearly smaller.  DeltaTooLargeError if neither fits.
        ``meter`` counts the archive's bytes as they are taken apart."""
        contents = None
        if self.diff.archive_kind(body) in self.archive_kinds:
            try:
                contents = self.diff.encode_contents(
                    reference, body, kinds=self.archive_kinds, max_size=limit,
                    progress=None if meter is None else meter.add,
                )  # fmt: skip
            except DeltaTooLargeError:
                contents = None
        if contents is None:
            return self.diff.encode(reference, body, max_size=limit), None
        marker = (self.diff.contents_format, self.diff.contents_deflate(contents))
        if len(contents) <= _CONTENTS_WITHOUT_PLAIN * len(body):
            return contents, marker
        try:
            cap = math.floor(len(contents) / _CONTENTS_MARGIN)
            cap = cap if limit is None else min(cap, limit)
            plain = self.diff.encode(reference, body, max_size=cap)
        except DeltaTooLargeError:
            return contents, marker
        self.logger.debug("contents delta not clearly smaller; plain delta kept", key=key)
        return plain, None

    @overload
    def _reference(self, bucket: str, ref: _Against) -> bytes: ...

    @overload
    def _reference(self, bucket: str, ref: _Against, *, stream: Literal[True]) -> BinaryIO: ...

    def _reference(self, bucket: str, ref: _Against, *, stream: bool = False) -> bytes | BinaryIO:
        """The reference to encode against; one removed since the put saw
        it means the space changed: the put starts again."""
        try:
            if stream:
                return self.references.open(bucket, ref.key, ref.sha)
            return self.references.load(bucket, ref.key, ref.sha)
        except MissingReferenceError as exc:
            raise SpaceChangedError(str(exc)) from exc

    def _create_reference(self, put: _Put, ref_key: str, meta: Mapping[str, str]) -> None:
        """Upload the space's first file as its reference (with the put's
        object fields, none of its metadata), counted as it is sent."""
        fields = put.options.fields
        if isinstance(put.body, Path):
            with open(put.body, "rb") as handle:
                sent = cast(BinaryIO, MeteredReader(cast(BinaryIO, handle), put.meter))
                self.storage.put(put.bucket, ref_key, sent, meta, if_none_match=True, fields=fields)
        else:
            held = counted(put.body, put.meter)
            self.storage.put(put.bucket, ref_key, held, meta, if_none_match=True, fields=fields)

    def _encode_streamed(self, put: _Put, ref: _Against, limit: int | None) -> PutSummary:
        """A large file's delta, streamed: the file is read from disk (or
        from the bytes given, uncopied), the reference from its encrypted
        cache file a window at a time, and the delta spooled (in memory up
        to 64 MiB, then to a private temporary file)."""
        if ref.created:
            with _opened(put.body) as handle:
                self.references.cache.put_stream(put.sha, handle, put.size)
        with (
            self._reference(put.bucket, ref, stream=True) as reference,
            _opened(put.body) as target,
            tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool,
        ):
            delta = HashingWriter(spool, self.hasher.running())
            metered = cast(BinaryIO, MeteredReader(target, put.meter))
            delta_size = self.diff.encode_stream(reference, metered, delta, max_size=limit)
            spool.seek(0)
            facts = _DeltaFacts(delta_size, delta.hexdigest())
            return self._store_delta(put, ref, cast(BinaryIO, spool), facts)

    def _store_delta(
        self, put: _Put, ref: _Against, delta: bytes | BinaryIO, facts: _DeltaFacts
    ) -> PutSummary:
        """Write a delta, check its reference is still the space's, settle."""
        meta = metadata.delta_metadata(
            tool=self.tool_version,
            original_name=put.name,
            sha256=put.sha,
            size=put.size,
            created_at=self.clock.now(),
            ref_key=ref.key,
            ref_sha256=ref.sha,
            delta_size=facts.delta_size,
            note=metadata.NOTE_ZERO_DIFF if ref.created else None,
            contents=facts.contents,
        )
        bucket, delta_key = put.bucket, keys.delta_key(put.key)
        etag, stamp = self.forms.store(bucket, put.key, delta_key, delta, meta, put.options, None)
        self.references.check_unchanged(bucket, ref.key, ref.sha)
        self.forms.settle(bucket, delta_key, etag, stamp, put.key, put.options.create_only)
        size_markers.record(self.storage, self.logger, bucket, delta_key, etag, put.size)
        self.metrics.increment("deltaglider.put.delta")
        self.logger.debug("stored as delta", key=put.key, size=put.size, delta=facts.delta_size)
        return PutSummary(
            "PUT_DELTA",
            bucket,
            put.key,
            put.size,
            put.sha,
            delta_size=facts.delta_size,
            delta_hash=facts.delta_sha,
            delta_ratio=facts.delta_size / put.size,
            reference_hash=ref.sha,
            reference_created=ref.created,
            etag=etag,
            crc32=put.options.crc32,
        )

    # -- estimates --------------------------------------------------------------

    def estimate(self, bucket: str, key: str, file: Path, ratio: float) -> tuple[str, int]:
        """How ``file`` would be stored under ``key`` now, writing nothing:
        ``("direct" | "reference" | "delta", stored bytes)``.  A delta is
        really encoded against the space's reference (stopping at the cap),
        as the put would: in memory (an archive as a contents delta, where
        that is smaller) or streamed, as the memory policy says."""
        self.check_key(key)
        size = file.stat().st_size
        if size == 0 or not self.is_candidate(key, file):
            return "direct", size
        ref_key = keys.reference_key(keys.split_key(key)[0])
        head = self.storage.head(bucket, ref_key)
        if head is None:
            return "reference", size
        ref_sha = metadata.parse_reference(head.metadata, ref_key).sha256
        limit = math.floor(ratio * size)
        try:
            if self.memory.encodes_in_memory(size, archive=self._takes_contents(file)):
                loaded = self.references.load(bucket, ref_key, ref_sha)
                delta, _ = self._encode(key, loaded, file.read_bytes(), limit, None)
                return "delta", len(delta)
            with (
                self.references.open(bucket, ref_key, ref_sha) as reference,
                open(file, "rb") as target,
            ):
                delta_size = self.diff.encode_stream(reference, target, Discard(), max_size=limit)
        except DeltaTooLargeError:
            return "direct", size
        return "delta", delta_size


def _opened(body: Body) -> BinaryIO:
    """A readable stream of the body: the file opened, or the bytes viewed
    (``BytesIO`` shares an immutable bytes object's buffer)."""
    return open(body, "rb") if isinstance(body, Path) else io.BytesIO(body)


def file_digests(hasher: HashPort, file: Path) -> tuple[str, int]:
    """The SHA-256 and CRC32 of a file, read once in chunks."""
    crc = 0

    def chunks(handle: BinaryIO) -> Iterator[bytes]:
        nonlocal crc
        while chunk := handle.read(CHUNK):
            crc = checksums.crc32(chunk, crc)
            yield chunk

    with open(file, "rb") as handle:
        sha = hasher.sha256_chunks(chunks(cast(BinaryIO, handle)))
    return sha, crc
