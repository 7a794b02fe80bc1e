"""Each space's ``reference.bin``: race-safe creation, verified loading,
and removal once no delta needs it.

Creation is conditional (``If-None-Match``): of several writers racing into
an empty space one creates the reference and the others use it.

Removal ("retirement") is the one step that could strand a delta: a put
may write a delta against the reference and check that the reference is
still there just before a removal lists the space and deletes it.  So a
reference is first copied under ``.deltaglider/retired/<sha256>/<key>.<stamp>``,
then deleted (only the version seen), then the space is listed again: if no
delta appeared, the copy goes too; if one did, the copy stays, and a reader
that does not find the reference a delta names (missing, or replaced by
another) reads the retired copy of that SHA-256 instead.  ``purge`` removes
retired copies no delta names any more.  docs/storage-format.md gives the
argument in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO

from deltaglider.core import keys, metadata
from deltaglider.core.errors import (
    CacheUnavailableError,
    IntegrityError,
    MetadataError,
    MissingReferenceError,
    ObjectNotFoundError,
    PreconditionFailedError,
    SpaceChangedError,
)
from deltaglider.core.room import EnginePorts, Room
from deltaglider.core.stamps import next_stamp
from deltaglider.ports.cache import CachePort
from deltaglider.ports.storage import ObjectHead

RETIRED_PREFIX = keys.CONTROL_PREFIX + "retired/"


def retired_prefix(ref_key: str, sha256: str) -> str:
    """Where retired copies of the reference ``ref_key`` with ``sha256`` live."""
    return f"{RETIRED_PREFIX}{sha256}/{ref_key}."


class References(Room):
    """The spaces' references, through the cache."""

    def __init__(self, ports: EnginePorts, cache: CachePort) -> None:
        super().__init__(ports)
        self.cache = cache

    # -- creation -----------------------------------------------------------

    def for_put(
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

    def check_unchanged(self, bucket: str, ref_key: str, ref_sha: str) -> None:
        """Raise SpaceChangedError unless the space's reference is still
        the one with ``ref_sha`` (checked after a delta against it is written)."""
        head = self.storage.head(bucket, ref_key)
        recorded = metadata.read(head.metadata, "file_sha256") if head is not None else None
        if recorded is None or recorded.lower() != ref_sha:
            raise SpaceChangedError(f"{ref_key} changed while a delta against it was written")

    # -- reading ------------------------------------------------------------

    def load(self, bucket: str, ref_key: str, sha: str) -> bytes:
        """The reference's bytes, checked against ``sha``."""
        cached = self.cache.get(sha)
        if cached is not None:
            self.metrics.increment("deltaglider.reference.cache_hit")
            return cached
        for key, _, body in self._sources(bucket, ref_key, sha):
            with body:
                data = body.read()
            self._check(bucket, key, sha, self.hasher.sha256(data))
            self.cache.put(sha, data)
            self.metrics.increment("deltaglider.reference.fetched")
            return data
        raise self._missing(bucket, ref_key, sha)

    def open(self, bucket: str, ref_key: str, sha: str) -> BinaryIO:
        """A seekable stream of the reference, from the cache; one not yet
        cached is streamed into it and checked first."""
        stream = self.cache.open(sha)
        if stream is not None:
            self.metrics.increment("deltaglider.reference.cache_hit")
            return stream
        try:
            return self._stream_into_cache(bucket, ref_key, sha)
        except CacheUnavailableError:  # the cache gave up its disk: once more, into memory
            return self._stream_into_cache(bucket, ref_key, sha)

    def _stream_into_cache(self, bucket: str, ref_key: str, sha: str) -> BinaryIO:
        for key, head, body in self._sources(bucket, ref_key, sha):
            with body:
                actual = self.cache.put_stream(sha, body, head.size)
            self._check(bucket, key, sha, actual)
            self.metrics.increment("deltaglider.reference.fetched")
            stream = self.cache.open(sha)
            if stream is None:
                raise IntegrityError(f"s3://{bucket}/{key}: its cache entry vanished")
            return stream
        raise self._missing(bucket, ref_key, sha)

    def _sources(
        self, bucket: str, ref_key: str, sha: str
    ) -> Iterator[tuple[str, ObjectHead, BinaryIO]]:
        """The stored copy of the reference with ``sha`` (one GET): the
        space's own when it records that SHA-256, else a retired copy."""
        opened = self._open(bucket, ref_key)
        if opened is not None:
            if self._recorded(opened[0]) == sha:
                yield ref_key, *opened
                return
            opened[1].close()  # the space has another reference now
        for obj in self.storage.iter_objects(bucket, retired_prefix(ref_key, sha)):
            opened = self._open(bucket, obj.key)
            if opened is not None:
                self.metrics.increment("deltaglider.reference.retired_read")
                yield obj.key, *opened
                return

    def _open(self, bucket: str, key: str) -> tuple[ObjectHead, BinaryIO] | None:
        try:
            return self.storage.open(bucket, key)
        except ObjectNotFoundError:
            return None

    @staticmethod
    def _recorded(head: ObjectHead) -> str | None:
        value = metadata.read(head.metadata, "file_sha256")
        return value.lower() if value else None

    def _check(self, bucket: str, key: str, sha: str, actual: str) -> None:
        if actual != sha:
            self.cache.evict(sha)
            raise IntegrityError(
                f"s3://{bucket}/{key}: SHA-256 {actual} is not the {sha} its deltas need"
            )

    @staticmethod
    def _missing(bucket: str, ref_key: str, sha: str) -> MissingReferenceError:
        return MissingReferenceError(
            f"s3://{bucket}/{ref_key}: the reference with SHA-256 {sha} that the delta "
            "needs is missing (removed or replaced by another tool); the file cannot be rebuilt"
        )

    def evict(self, bucket: str, ref_key: str) -> None:
        """Drop a space's reference from the cache (by its recorded SHA-256)."""
        head = self.storage.head(bucket, ref_key)
        sha = self._recorded(head) if head is not None else None
        if sha:
            self.cache.evict(sha)

    # -- retirement -----------------------------------------------------------

    def space_has_deltas(self, bucket: str, prefix: str) -> bool:
        """Whether any delta is stored directly in the space ``prefix``."""
        folder = f"{prefix}/" if prefix else ""
        token = None
        while True:
            page = self.storage.list_objects(bucket, folder, delimiter="/", token=token)
            if any(o.key.endswith(keys.DELTA_SUFFIX) for o in page.objects):
                return True
            if page.next_token is None:
                return False
            token = page.next_token

    def retire_if_unused(self, bucket: str, prefix: str) -> list[str]:
        """Remove the space's reference if no delta is left in the space;
        returns the keys removed."""
        if self.space_has_deltas(bucket, prefix):
            return []
        ref_key = keys.reference_key(prefix)
        head = self.storage.head(bucket, ref_key)
        if head is None:
            return []
        sha = self._recorded(head)
        if sha is None:
            raise MetadataError(f"s3://{bucket}/{ref_key}: no dg-file-sha256; left in place")
        retired = retired_prefix(ref_key, sha) + str(next_stamp(self.clock.now(), ref_key))
        try:
            self.storage.copy(bucket, ref_key, retired)
        except ObjectNotFoundError:  # another removal got there first
            return []
        try:
            self.storage.delete(bucket, ref_key, if_match=head.etag)
        except PreconditionFailedError:  # replaced meanwhile: that one is not ours to remove
            self.storage.delete(bucket, retired)
            return []
        self.cache.evict(sha)
        if self.space_has_deltas(bucket, prefix):
            self.logger.info("a delta arrived as the reference was removed; kept", key=retired)
        else:
            self.storage.delete(bucket, retired)
        self.metrics.increment("deltaglider.reference.retired")
        return [ref_key]

    def purge_retired(self, bucket: str, *, dry_run: bool) -> list[str]:
        """Remove retired copies that no delta of their space names; returns
        their keys."""
        needed: dict[str, set[str]] = {}
        removable = []
        for obj in self.storage.iter_objects(bucket, RETIRED_PREFIX):
            sha, _, rest = obj.key[len(RETIRED_PREFIX) :].partition("/")
            ref_key = rest.rpartition(".")[0]
            prefix = keys.split_key(ref_key)[0]
            if prefix not in needed:
                needed[prefix] = self._shas_needed(bucket, prefix)
            if sha not in needed[prefix]:
                removable.append(obj.key)
        if not dry_run:
            for key in removable:
                self.storage.delete(bucket, key)
        return removable

    def _shas_needed(self, bucket: str, prefix: str) -> set[str]:
        """The reference SHA-256s the deltas of a space name."""
        folder = f"{prefix}/" if prefix else ""
        shas = set()
        for obj in self.storage.iter_objects(bucket, folder):
            if keys.split_key(obj.key)[0] != prefix or not obj.key.endswith(keys.DELTA_SUFFIX):
                continue
            head = self.storage.head(bucket, obj.key)
            value = metadata.read(head.metadata, "ref_sha256") if head is not None else None
            if value:
                shas.add(value.lower())
        return shas
