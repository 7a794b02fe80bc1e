"""Removals: of logical objects, of references no delta needs, of expired
temporary copies and retired references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deltaglider.core import keys, size_markers
from deltaglider.core.errors import InvalidKeyError, PreconditionFailedError
from deltaglider.core.models import StoredObject
from deltaglider.core.reader import Reader, physical_forms
from deltaglider.core.references import References
from deltaglider.core.room import EnginePorts, Room
from deltaglider.metering import Meter
from deltaglider.ports.storage import ListedObject

EXPIRES_AT = "dg-expires-at"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
STALE_UPLOAD = timedelta(days=1)
_INCOMPLETE = " (incomplete upload)"
"""A multipart upload begun this long ago and never finished was abandoned
(a process killed, a server gone mid-upload): ``purge`` aborts it."""


class Housekeeping(Room):
    """Deletes what users and time no longer need."""

    def __init__(self, ports: EnginePorts, references: References, reader: Reader) -> None:
        super().__init__(ports)
        self.references = references
        self.reader = reader

    def delete(self, bucket: str, key: str) -> list[str]:
        """Remove the object under ``key`` in every form it is stored in
        (each only in the version seen: a write racing with this one wins);
        returns the physical keys removed, the space's reference too when
        no delta is left in the space (checked when a delta candidate was
        removed: other files live in spaces without references)."""
        problem = keys.key_problem(key)
        if problem is not None and not key.endswith(keys.DELTA_SUFFIX):
            raise InvalidKeyError(problem)
        removed = []
        for physical in physical_forms(key):
            head = self.storage.head(bucket, physical)
            if head is None or self.reader.describe(bucket, head).key != key:
                continue
            try:
                self.storage.delete(bucket, physical, if_match=head.etag)
            except PreconditionFailedError:
                continue  # rewritten since its HEAD: the newer write stands
            removed.append(physical)
            if physical.endswith(keys.DELTA_SUFFIX):
                size_markers.remove(self.storage, self.logger, bucket, physical, head.etag)
        # Another tool's ``x.delta`` counted as a delta for the reference's
        # retirement: its removal may leave the reference unused too.
        name = keys.split_key(key)[1]
        if removed and (keys.is_delta_candidate(name) or name.endswith(keys.DELTA_SUFFIX)):
            removed += self.references.retire_if_unused(bucket, keys.split_key(key)[0])
        self.metrics.increment("deltaglider.delete", len(removed))
        return removed

    # -- temporary copies ---------------------------------------------------

    def temp_copy(self, stored: StoredObject, expires: datetime) -> str:
        """Write a verified copy of a stored file under ``.deltaglider/tmp/``
        (recording when it expires) and return its key."""
        name = keys.split_key(stored.key)[1]
        identity = (stored.sha256 or stored.etag.strip('"'))[:16]
        temp_key = f"{keys.TEMP_PREFIX}{int(expires.timestamp())}-{identity}/{name}"
        found, body = self.reader.open(stored.bucket, stored.key)
        with self.reader.spooled(found, body, Meter(None, found.size)) as stream:
            self.storage.put(
                stored.bucket,
                temp_key,
                stream,
                {EXPIRES_AT: expires.strftime(_STAMP)},
                content_type=found.content_type,
                # as the file's own objects are: encrypted alike
                fields={k: v for k, v in found.fields.items() if k != "StorageClass"},
            )
        return temp_key

    @staticmethod
    def purged_kind(key: str) -> str:
        """What a key :meth:`purge` returned was, in words."""
        if key.endswith(_INCOMPLETE):
            return "abandoned upload"
        if key.startswith(keys.TEMP_PREFIX):
            return "expired temporary copy"
        if key.startswith(size_markers.MARKER_PREFIX):
            return "orphaned size marker"
        if key.startswith(keys.CONTROL_PREFIX):
            return "retired reference"
        return "unused reference"

    def purge(self, bucket: str, now: datetime, *, dry_run: bool) -> list[str]:
        """Remove the temporary copies expired at ``now`` (one with no
        readable expiry lasts a week), the references of spaces without
        deltas, retired references no delta names and orphaned size
        markers, and abort multipart
        uploads abandoned for a day; returns their keys (an upload as
        ``<key> (incomplete upload)``): :meth:`purged_kind` says which is
        which."""
        expired = []
        for obj in self.storage.iter_objects(bucket, keys.TEMP_PREFIX):
            head = self.storage.head(bucket, obj.key)
            stamp = head.metadata.get(EXPIRES_AT) if head is not None else None
            try:
                when = datetime.strptime(stamp or "", _STAMP).replace(tzinfo=UTC)
            except ValueError:
                when = obj.last_modified + timedelta(days=7)
            if when <= now:
                expired.append(obj.key)
        if not dry_run:
            for key in expired:
                self.storage.delete(bucket, key)
        everything = list(self.storage.iter_objects(bucket))
        unused = self._unused_references(bucket, everything, dry_run=dry_run)
        orphans = self._orphaned_markers(bucket, everything, dry_run=dry_run)
        retired = self.references.purge_retired(bucket, dry_run=dry_run)
        aborted = self._abort_abandoned_uploads(bucket, now, dry_run=dry_run)
        return expired + unused + orphans + retired + aborted

    def _orphaned_markers(
        self, bucket: str, everything: list[ListedObject], *, dry_run: bool
    ) -> list[str]:
        """Remove size markers whose delta is gone or was rewritten (the
        writer of a delta that lost a race, or was replaced by a file
        stored as is, leaves its marker for this)."""
        deltas = {
            (obj.key, obj.etag.strip('"'))
            for obj in everything
            if obj.key.endswith(keys.DELTA_SUFFIX) and not obj.key.startswith(keys.CONTROL_PREFIX)
        }
        orphans = []
        for obj in everything:
            parsed = size_markers.parse(obj.key)
            if parsed is not None and (parsed[0], parsed[1]) not in deltas:
                orphans.append(obj.key)
        if not dry_run:
            for key in orphans:
                self.storage.delete(bucket, key)
        return orphans

    def _unused_references(
        self, bucket: str, everything: list[ListedObject], *, dry_run: bool
    ) -> list[str]:
        """Retire the references of spaces holding no delta (a put that
        replaced a space's last delta with a file stored as is leaves its
        reference for this)."""
        with_reference, with_deltas = set(), set()
        for obj in everything:
            if obj.key.startswith(keys.CONTROL_PREFIX):
                continue
            prefix, name = keys.split_key(obj.key)
            if name == keys.REFERENCE_NAME:
                with_reference.add(prefix)
            elif name.endswith(keys.DELTA_SUFFIX):
                with_deltas.add(prefix)
        unused = sorted(with_reference - with_deltas)
        if dry_run:
            return [keys.reference_key(prefix) for prefix in unused]
        return [
            key for prefix in unused for key in self.references.retire_if_unused(bucket, prefix)
        ]

    def _abort_abandoned_uploads(self, bucket: str, now: datetime, *, dry_run: bool) -> list[str]:
        stale = [
            u for u in self.storage.pending_uploads(bucket) if now - u.initiated >= STALE_UPLOAD
        ]
        if not dry_run:
            for upload in stale:
                self.storage.abort_upload(bucket, upload)
        return [upload.key + _INCOMPLETE for upload in stale]
