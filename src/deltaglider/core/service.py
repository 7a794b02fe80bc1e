"""DeltaService: logical files in, references and deltas in the store, the
exact bytes back out.

The engine's rooms: :mod:`~deltaglider.core.writer` (every put),
:mod:`~deltaglider.core.reader` (every read, verified),
:mod:`~deltaglider.core.references` (creation, loading and retirement of
each space's reference) and :mod:`~deltaglider.core.housekeeping`
(removals).  This class wires them and keeps the API reference's methods.
The write and delete protocol, and why no interleaving of two operations
loses an acknowledged write, is in docs/storage-format.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from deltaglider.core import keys, metadata, size_markers
from deltaglider.core.errors import (
    BucketNotFoundError,
    CacheCorruptError,
    IntegrityError,
    InvalidKeyError,
    MissingReferenceError,
    ObjectNotFoundError,
    UnsupportedObjectError,
)
from deltaglider.core.housekeeping import Housekeeping
from deltaglider.core.listing import LogicalEntry, LogicalListing, list_logical
from deltaglider.core.memory_policy import MemoryPolicy
from deltaglider.core.models import (
    BucketStats,
    DeltaSpace,
    GetSummary,
    ObjectKey,
    PutOptions,
    PutSummary,
    StoredObject,
    VerifyResult,
)
from deltaglider.core.reader import Reader
from deltaglider.core.references import References
from deltaglider.core.room import EnginePorts
from deltaglider.core.sinks import Discard
from deltaglider.core.size_cache import DeltaSizeCache
from deltaglider.core.stats import StatsMode, bucket_stats
from deltaglider.core.writer import ARCHIVE_MODES, Writer, checked_ratio
from deltaglider.fsutil import atomic_writer
from deltaglider.metering import Meter, MeteredWriter, ProgressCallback
from deltaglider.ports.cache import CachePort
from deltaglider.ports.codec import DiffPort
from deltaglider.ports.storage import BucketInfo, ListedObject, StoragePort
from deltaglider.ports.support import ClockPort, HashPort, LoggerPort, MetricsPort

_T = TypeVar("_T")
_READ_ATTEMPTS = 3

STREAM_THRESHOLD = 256 << 20
"""Delta candidates larger than this are encoded and rebuilt by the
streaming codec, with the reference read from the encrypted cache file:
memory stays bounded whatever the file size.  (Files that take no contents
delta are encoded streamed from 64 MiB: see :class:`MemoryPolicy`.)"""


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
        archive_deltas: str = "all",
    ) -> None:
        self.memory = MemoryPolicy(stream_threshold)
        self.storage = storage
        self.diff = diff
        self.hasher = hasher
        self.cache = cache
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.tool_version = tool_version
        self.max_ratio = checked_ratio(max_ratio)
        ports = EnginePorts(storage, hasher, clock, logger, metrics, tool_version)
        self.references = References(ports, cache)
        self.reader = Reader(ports, self.references, diff, self.memory)
        if archive_deltas not in ARCHIVE_MODES:
            raise ValueError(
                f"archive_deltas must be one of {', '.join(ARCHIVE_MODES)}, got {archive_deltas!r}"
            )
        self.writer = Writer(
            ports, self.references, diff, self.memory, ARCHIVE_MODES[archive_deltas]
        )
        self.housekeeping = Housekeeping(ports, self.references, self.reader)

    @property
    def stream_threshold(self) -> int:
        """Objects larger than this are streamed, not held in memory."""
        return self.memory.stream_threshold

    @stream_threshold.setter
    def stream_threshold(self, value: int) -> None:
        self.memory.stream_threshold = value

    # -- put ------------------------------------------------------------------

    def put(
        self, file: Path, delta_space: DeltaSpace, max_ratio: float | None = None
    ) -> PutSummary:
        """Store a local file in ``delta_space`` under its own name."""
        key = keys.join_key(delta_space.prefix, file.name)
        return self.put_file(delta_space.bucket, key, file, PutOptions(max_ratio=max_ratio))

    def put_file(
        self,
        bucket: str,
        key: str,
        file: Path,
        options: PutOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> PutSummary:
        """Store a local file under logical ``key`` as ``options`` say (see
        :class:`PutOptions`: the defaults store a delta where it pays,
        without metadata); ``progress`` is called with the bytes of the file
        consumed since its last call.

        A file that is not a delta candidate (or with ``delta=False``) is
        streamed from disk as is (any size).  A candidate is read into
        memory to be encoded if it is an archive taking a contents delta
        no larger than ``stream_threshold``, or any file up to 64 MiB;
        else it is streamed through the codec against the reference's
        encrypted cache file, a window at a time (:class:`MemoryPolicy`)."""
        size = file.stat().st_size
        meter = Meter(progress, size)
        options = options or PutOptions()
        summary = self.writer.put(
            bucket, key, file, size=size, ratio=self._ratio(options.max_ratio), options=options,
            meter=meter,
        )  # fmt: skip
        meter.finish()
        return summary

    def put_bytes(
        self, bucket: str, key: str, data: bytes, options: PutOptions | None = None
    ) -> PutSummary:
        """Store ``data`` under logical ``key`` as ``options`` say: as a
        delta when it pays (``delta=False`` stores it as is, whatever its
        name).  User metadata, content type and tags go on the stored file
        (its delta, or itself), never on the space's reference."""
        options = options or PutOptions()
        return self.writer.put(
            bucket, key, data, size=len(data), ratio=self._ratio(options.max_ratio),
            options=options, meter=Meter(None, len(data)),
        )  # fmt: skip

    def estimate_put(
        self, bucket: str, key: str, file: Path, max_ratio: float | None = None
    ) -> tuple[str, int]:
        """How ``file`` would be stored under ``key`` now, writing nothing:
        ``("direct" | "reference" | "delta", stored bytes)``."""
        return self.writer.estimate(bucket, key, file, self._ratio(max_ratio))

    def _ratio(self, max_ratio: float | None) -> float:
        return self.max_ratio if max_ratio is None else checked_ratio(max_ratio)

    # -- get ------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> StoredObject | None:
        """The logical object under ``key``, or None."""
        self._check_read_key(key)
        return self.reader.locate(bucket, key)

    def _open(self, bucket: str, key: str) -> tuple[StoredObject, BinaryIO]:
        self._check_read_key(key)
        try:
            return self.reader.open(bucket, key)
        except ObjectNotFoundError:
            raise self._not_found(bucket, key) from None

    def _read(self, bucket: str, key: str, action: Callable[[StoredObject, BinaryIO], _T]) -> _T:
        """Open the object and run ``action`` on what was opened.  A delta
        whose reference went missing because the delta itself was removed
        or replaced meanwhile (a read racing a delete or a put) is read
        again: the read then sees the newer state, as a GET on S3 would.
        So is one whose cached reference proved damaged halfway through a
        streamed rebuild (the entry was evicted: it is fetched again)."""
        for attempt in range(1, _READ_ATTEMPTS + 1):
            stored, body = self._open(bucket, key)
            try:
                return action(stored, body)
            except CacheCorruptError:
                if attempt == _READ_ATTEMPTS:
                    raise
            except MissingReferenceError:
                current = self.storage.head(bucket, stored.physical_key)
                if attempt == _READ_ATTEMPTS or (current and current.etag == stored.etag):
                    raise  # the delta is still there: its reference is really gone
        raise AssertionError("unreachable")

    def get(
        self,
        object_key: ObjectKey,
        output_path: Path,
        progress: ProgressCallback | None = None,
    ) -> GetSummary:
        """Rebuild an object into ``output_path`` (written only once verified).

        ``progress`` is called with the bytes written since its last call."""

        def write(stored: StoredObject, body: BinaryIO) -> GetSummary:
            meter = Meter(progress, stored.size)
            with atomic_writer(output_path) as out:
                sha = self.reader.rebuild(stored, body, MeteredWriter(out, meter), meter.add)
            meter.finish()
            return GetSummary(
                operation="GET_DELTA" if stored.is_delta else "GET",
                bucket=stored.bucket,
                key=stored.key,
                size=stored.size,
                hash=sha,
                reconstructed=stored.is_delta,
            )

        return self._read(object_key.bucket, object_key.key, write)

    def get_bytes(self, bucket: str, key: str) -> tuple[bytes | bytearray, StoredObject]:
        """The object's exact bytes, verified against its SHA-256 (a rebuilt
        delta comes back as the bytearray it was decoded into, uncopied)."""
        return self._read(
            bucket, key, lambda stored, body: (self.reader.rebuild_bytes(stored, body), stored)
        )

    def open_verified(
        self, bucket: str, key: str, progress: ProgressCallback | None = None
    ) -> tuple[BinaryIO, StoredObject]:
        """A readable, seekable stream of the object's bytes, verified
        against its SHA-256 before it is returned: in memory up to
        ``stream_threshold``, else in a private temporary file (unlinked).
        ``progress`` is called with the bytes rebuilt since its last call."""

        def spool(stored: StoredObject, body: BinaryIO) -> tuple[BinaryIO, StoredObject]:
            meter = Meter(progress, stored.size)
            stream = self.reader.spooled(stored, body, meter)
            meter.finish()
            return stream, stored

        return self._read(bucket, key, spool)

    def verify(self, object_key: ObjectKey) -> VerifyResult:
        """Rebuild an object and check it against its recorded SHA-256; a
        damaged object gives a failed result naming what is wrong."""

        def check(stored: StoredObject, body: BinaryIO) -> VerifyResult:
            operation = "VERIFY_DELTA" if stored.is_delta else "VERIFY"
            expected = stored.sha256 or ""
            if stored.kind == "plain":
                body.close()
                return VerifyResult(
                    False, operation, "", None, "no dg-file-sha256: not written by deltaglider"
                )
            try:
                actual = self.reader.rebuild(stored, body, Discard())
            except (MissingReferenceError, CacheCorruptError):
                raise  # a racing delete, or a damaged cache entry: _read decides
            except (IntegrityError, UnsupportedObjectError) as exc:
                return VerifyResult(False, operation, expected, None, str(exc))
            return VerifyResult(True, operation, expected, actual)

        try:
            return self._read(object_key.bucket, object_key.key, check)
        except MissingReferenceError as exc:
            return VerifyResult(False, "VERIFY_DELTA", "", None, str(exc))

    # -- tags -----------------------------------------------------------------

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

    # -- removals -------------------------------------------------------------

    def delete(self, bucket: str, key: str) -> list[str]:
        """Remove the object under ``key``; returns the physical keys removed
        (its reference too, when it was the space's last delta)."""
        return self.housekeeping.delete(bucket, key)

    def evict_reference(self, bucket: str, ref_key: str) -> None:
        """Drop a space's reference from the cache (by its recorded SHA-256)."""
        self.references.evict(bucket, ref_key)

    def temp_copy(self, stored: StoredObject, expires: datetime) -> str:
        """Write a verified copy of a stored file under ``.deltaglider/tmp/``
        (recording when it expires) and return its key."""
        return self.housekeeping.temp_copy(stored, expires)

    def purge_temp_copies(self, bucket: str, now: datetime, *, dry_run: bool) -> list[str]:
        """Remove expired temporary copies, unused and retired references,
        orphaned size markers and abandoned uploads; returns their keys."""
        return self.housekeeping.purge(bucket, now, dry_run=dry_run)

    # -- list -------------------------------------------------------------

    def list_logical(self, bucket: str, prefix: str = "", delimiter: str = "") -> LogicalListing:
        """The logical objects under ``prefix``, sorted (see core.listing)."""
        return list_logical(self.storage, bucket, prefix, delimiter)

    def describe(self, bucket: str, entry: LogicalEntry) -> StoredObject | None:
        """A listed object with its metadata (one HEAD of its stored form);
        None if it vanished since the listing.  Its ``key`` may differ from
        the entry's: ``notes.delta`` written by another tool is listed as
        ``notes`` until its metadata shows it is a plain object."""
        head = self.storage.head(bucket, entry.physical_key)
        if head is None:
            return None
        return self.reader.describe(bucket, head)

    def foreign_references(self, bucket: str, listing: LogicalListing) -> list[str]:
        """The ``reference.bin`` objects a listing hid that no deltaglider
        tool wrote (no recorded SHA-256): another tool's files of that
        name, which listings cannot show and reads refuse (one HEAD each,
        only for folders where the listing saw no delta)."""
        foreign = []
        for key in listing.lone_references:
            head = self.storage.head(bucket, key)
            if head is not None and metadata.read(head.metadata, "file_sha256") is None:
                foreign.append(key)
        return foreign

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
        refresh: bool = False,
    ) -> BucketStats:
        """Object counts and logical against stored bytes.

        ``mode`` (``quick``/``sampled``/``detailed``; ``detailed=True`` means
        ``detailed``) sets how many deltas' sizes are read rather than
        estimated.  Sizes read are kept in the bucket's size cache, so a
        later run reads only new deltas; ``use_cache=False`` neither reads
        nor writes it; ``refresh`` reads every size again and rewrites it."""
        chosen: StatsMode = mode or ("detailed" if detailed else "quick")
        everything = list(self.storage.iter_objects(bucket))
        listed = [o for o in everything if not o.key.startswith(keys.CONTROL_PREFIX)]
        marked = size_markers.known_sizes(o.key for o in everything)
        cache = DeltaSizeCache(self.storage, self.logger, bucket)
        if use_cache and not refresh and chosen != "quick":
            cache.load()

        def read_size(obj: ListedObject) -> int | None:
            key = obj.key[: -len(keys.DELTA_SUFFIX)]
            entry = LogicalEntry(key, obj.key, obj.size, obj.etag, obj.last_modified)
            stored = self.describe(bucket, entry)
            if stored is None:
                return None
            cache.record(obj.key, obj.etag, stored.size)
            return stored.size

        def known(obj: ListedObject) -> int | None:
            size = size_markers.size_of(marked, obj.key, obj.etag)
            return size if size is not None else cache.known(obj.key, obj.etag)

        stats = bucket_stats(listed, bucket, chosen, known, read_size)
        if use_cache and chosen != "quick":
            cache.save(o for o in listed if o.key.endswith(keys.DELTA_SUFFIX))
        return stats

    # -- buckets ----------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (an existing one is left as is)."""
        self.storage.create_bucket(bucket)

    def delete_bucket(self, bucket: str) -> None:
        """Delete a bucket holding no files; its control objects (size
        cache, temporary copies) go with it.

        Raises:
            BucketNotFoundError: there is no such bucket (as S3 answers).
        """
        if not self.storage.bucket_exists(bucket):
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist")
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

    # -- checks -------------------------------------------------------------

    def _not_found(self, bucket: str, key: str) -> Exception:
        """The error for a missing object: its bucket may be what is missing
        (an S3 HEAD does not say which)."""
        if not self.storage.bucket_exists(bucket):
            return BucketNotFoundError(f"bucket {bucket!r} does not exist")
        return ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")

    @staticmethod
    def _check_read_key(key: str) -> None:
        """Reads take every key a writer could have stored, ours or another
        tool's (``notes.delta`` included)."""
        problem = keys.key_problem(key)
        if problem is not None and not key.endswith(keys.DELTA_SUFFIX):
            raise InvalidKeyError(problem)
