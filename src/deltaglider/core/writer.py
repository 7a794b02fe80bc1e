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
    InvalidKeyError,
    MissingReferenceError,
)
from deltaglider.core.forms import Body, Extras, Forms
from deltaglider.core.models import PutSummary
from deltaglider.core.reader import CHUNK, Discard, HashingWriter
from deltaglider.core.references import References, SpaceChangedError
from deltaglider.core.room import EnginePorts, Room
from deltaglider.metering import Meter, MeteredReader, counted
from deltaglider.ports.codec import DeltaTooLargeError, DiffPort
from deltaglider.ports.support import HashPort

_PUT_ATTEMPTS = 4
_SPOOL = 64 << 20  # deltas up to this size stay in memory when streaming
_OPAQUE_IN_MEMORY = 64 << 20
"""A file that takes no contents delta and is larger than this is encoded
streamed even under the stream threshold: beyond the codec's streaming
window (64 MiB) the streamed delta is as small or smaller, and neither the
file nor the whole reference is held (docs/benchmarks.md)."""


@dataclass(frozen=True)
class _DeltaFacts:
    """What a delta's metadata records."""

    file_size: int
    file_sha: str
    ref_key: str
    ref_sha: str
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
        archive_kinds: frozenset[str] = ARCHIVE_MODES["all"],
    ) -> None:
        super().__init__(ports)
        self.references = references
        self.diff = diff
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
        extras: Extras,
        delta: bool,
        in_memory: bool,
        meter: Meter,
    ) -> PutSummary:
        """Store ``body`` (``size`` bytes) under ``key``: as a delta when it
        is a candidate and pays, else as is.  The key is checked before the
        body is hashed or anything is written.  A delta candidate given as a
        path is encoded from disk unless ``in_memory``."""
        self.check_key(key)
        if extras.create_only:
            self.forms.require_free(bucket, key)
        if isinstance(body, Path):
            sha, crc = file_digests(self.hasher, body)
        else:
            sha, crc = self.hasher.sha256(body), checksums.crc32(body)
        if extras.crc32 is not None and extras.crc32 != checksums.crc32_text(crc):
            raise ChecksumMismatchError(
                f"s3://{bucket}/{key}: the CRC32 given ({extras.crc32}) is not the body's "
                f"({checksums.crc32_text(crc)}); nothing was written"
            )
        extras = replace(extras, crc32=checksums.crc32_text(crc))
        candidate = delta and size > 0 and self.is_candidate(key, body)
        if not candidate:
            return self._put_direct(bucket, key, body, size, sha, extras, meter)
        streamed = not self.in_memory(body, size, in_memory)
        if not streamed and isinstance(body, Path):
            body = body.read_bytes()
        for attempt in range(1, _PUT_ATTEMPTS + 1):
            try:
                return self._put_delta(bucket, key, body, size, sha, ratio, extras, meter, streamed)
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

    def in_memory(self, body: Body, size: int, allowed: bool) -> bool:
        """Whether a delta candidate is encoded in memory: if ``allowed``
        (within the stream threshold), and, unless it takes a contents
        delta, no larger than :data:`_OPAQUE_IN_MEMORY`."""
        return allowed and (size <= _OPAQUE_IN_MEMORY or self._takes_contents(body))

    def _takes_contents(self, body: Body) -> bool:
        """Whether the file is an archive handled by contents deltas."""
        if not self.archive_kinds:
            return False
        if isinstance(body, Path):  # its first bytes (a stub is not looked past)
            with open(body, "rb") as handle:
                return self.diff.archive_kind(handle.read(4)) in self.archive_kinds
        return self.diff.archive_kind(body) in self.archive_kinds

    # -- as is ----------------------------------------------------------------

    def _put_direct(
        self,
        bucket: str,
        key: str,
        body: Body,
        size: int,
        sha: str,
        extras: Extras,
        meter: Meter,
    ) -> PutSummary:
        meta = metadata.direct_metadata(
            tool=self.tool_version,
            original_name=keys.split_key(key)[1],
            sha256=sha,
            size=size,
            created_at=self.clock.now(),
        )
        etag, stamp = self.forms.store(bucket, key, key, body, meta, extras, meter)
        self.forms.settle(bucket, key, etag, stamp, keys.delta_key(key), extras.create_only)
        self.metrics.increment("deltaglider.put.direct")
        self.logger.debug("stored directly", key=key, size=size)
        return PutSummary("PUT", bucket, key, size, sha, etag=etag, crc32=extras.crc32)

    # -- as a delta -----------------------------------------------------------

    def _put_delta(
        self,
        bucket: str,
        key: str,
        body: Body,
        size: int,
        sha: str,
        ratio: float,
        extras: Extras,
        meter: Meter,
        streamed: bool,
    ) -> PutSummary:
        prefix, name = keys.split_key(key)
        ref_key = keys.reference_key(prefix)

        def create(meta: Mapping[str, str]) -> None:
            self._create_reference(bucket, ref_key, body, meta, extras.fields, meter)

        existing = self.references.for_put(bucket, ref_key, name, sha, create)
        created = existing is None
        ref_sha = sha if existing is None else existing
        limit = None if created else math.floor(ratio * size)
        try:
            if streamed:
                return self._encode_streamed(
                    bucket, key, body, size, sha, ref_key, ref_sha, created, limit, extras, meter,
                )  # fmt: skip
            assert not isinstance(body, Path)  # read into memory by put()
            contents = None
            if created:
                self.references.cache.put(sha, body)
                delta = self.diff.encode(body, body, max_size=None)
            else:
                reference = self._reference(bucket, ref_key, ref_sha)
                delta, contents = self._encode(key, reference, body, limit, meter)
        except DeltaTooLargeError:
            self.logger.debug("delta over max_ratio; storing directly", key=key, ratio=ratio)
            self.metrics.increment("deltaglider.put.ratio_exceeded")
            return self._put_direct(bucket, key, body, size, sha, extras, meter)
        meter.add(size)  # encoded in one step: all of it consumed
        facts = _DeltaFacts(
            size, sha, ref_key, ref_sha, len(delta), self.hasher.sha256(delta), contents
        )
        return self._store_delta(bucket, key, delta, facts, created, extras)

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
    def _reference(self, bucket: str, ref_key: str, sha: str) -> bytes: ...

    @overload
    def _reference(
        self, bucket: str, ref_key: str, sha: str, *, stream: Literal[True]
    ) -> BinaryIO: ...

    def _reference(
        self, bucket: str, ref_key: str, sha: str, *, stream: bool = False
    ) -> bytes | BinaryIO:
        """The reference to encode against; one removed since the put saw
        it means the space changed: the put starts again."""
        try:
            if stream:
                return self.references.open(bucket, ref_key, sha)
            return self.references.load(bucket, ref_key, sha)
        except MissingReferenceError as exc:
            raise SpaceChangedError(str(exc)) from exc

    def _create_reference(
        self,
        bucket: str,
        ref_key: str,
        body: Body,
        meta: Mapping[str, str],
        fields: Mapping[str, str],
        meter: Meter,
    ) -> None:
        """Upload the space's first file as its reference, counted by
        ``meter`` as it is sent."""
        if isinstance(body, Path):
            with open(body, "rb") as handle:
                metered = cast(BinaryIO, MeteredReader(cast(BinaryIO, handle), meter))
                self.storage.put(bucket, ref_key, metered, meta, if_none_match=True, fields=fields)
        else:
            sent = counted(body, meter)
            self.storage.put(bucket, ref_key, sent, meta, if_none_match=True, fields=fields)

    def _encode_streamed(
        self,
        bucket: str,
        key: str,
        body: Body,
        size: int,
        sha: str,
        ref_key: str,
        ref_sha: str,
        created: bool,
        limit: int | None,
        extras: Extras,
        meter: Meter,
    ) -> PutSummary:
        """A large file's delta, streamed: the file is read from disk (or
        from the bytes given, uncopied), the reference from its encrypted
        cache file a window at a time, and the delta spooled (in memory up
        to 64 MiB, then to a private temporary file)."""
        if created:
            with _opened(body) as handle:
                self.references.cache.put_stream(sha, handle, size)
        with (
            self._reference(bucket, ref_key, ref_sha, stream=True) as reference,
            _opened(body) as target,
            tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool,
        ):
            delta = HashingWriter(spool, self.hasher.running())
            metered = cast(BinaryIO, MeteredReader(target, meter))
            delta_size = self.diff.encode_stream(reference, metered, delta, max_size=limit)
            spool.seek(0)
            facts = _DeltaFacts(size, sha, ref_key, ref_sha, delta_size, delta.hexdigest())
            return self._store_delta(bucket, key, cast(BinaryIO, spool), facts, created, extras)

    def _store_delta(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        facts: _DeltaFacts,
        created: bool,
        extras: Extras,
    ) -> PutSummary:
        """Write a delta, check its reference is still the space's, settle."""
        note = metadata.NOTE_ZERO_DIFF if created else None
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
            contents=facts.contents,
        )
        delta_key = keys.delta_key(key)
        etag, stamp = self.forms.store(bucket, key, delta_key, body, meta, extras, None)
        self.references.check_unchanged(bucket, facts.ref_key, facts.ref_sha)
        self.forms.settle(bucket, delta_key, etag, stamp, key, extras.create_only)
        size_markers.record(self.storage, self.logger, bucket, delta_key, etag, facts.file_size)
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
            reference_created=created,
            etag=etag,
            crc32=extras.crc32,
        )

    # -- estimates --------------------------------------------------------------

    def estimate(
        self, bucket: str, key: str, file: Path, ratio: float, *, in_memory: bool
    ) -> tuple[str, int]:
        """How ``file`` would be stored under ``key`` now, writing nothing:
        ``("direct" | "reference" | "delta", stored bytes)``.  A delta is
        really encoded against the space's reference (stopping at the cap),
        as the put would: in memory (an archive as a contents delta, where
        that is smaller) if ``in_memory``, else streamed."""
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
            if self.in_memory(file, size, in_memory):
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
