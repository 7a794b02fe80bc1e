"""Writing one stored form of a key, and settling the two forms: steps 2,
3 and 5 of the write protocol (docs/storage-format.md, "The protocol").

A logical key ``k`` is stored as is (``k``) or as a delta (``k.delta``).
:meth:`Forms.store` writes one form over the version it saw, with a write
stamp above both forms' (see :mod:`deltaglider.core.stamps`);
:meth:`Forms.settle` then removes whichever form loses.  A create-only put
(S3's ``If-None-Match: *``) writes only where neither form exists and loses
to any other form at its settle, so two never both succeed.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO, cast

from deltaglider.core import checksums, keys, metadata
from deltaglider.core.errors import DeltaGliderError, PreconditionFailedError
from deltaglider.core.models import PutOptions
from deltaglider.core.room import Room
from deltaglider.core.stamps import STAMP_FIELD, Stamp, next_stamp, stamp_of
from deltaglider.metering import Meter, MeteredReader, counted
from deltaglider.ports.storage import ObjectHead

CREATE_ONLY_FIELD = "dg-create-only"
"""Metadata of an object a create-only put wrote (settling ranks it lower)."""
_SETTLE_ATTEMPTS = 8

Body = bytes | Path
"""A file's bytes in memory, or the path of a file streamed from disk."""


class Forms(Room):
    """Writes one form of a key and settles the two."""

    def require_free(self, bucket: str, key: str) -> None:
        """A create-only put's first check: neither form of the key exists."""
        for physical in (key, keys.delta_key(key)):
            if self.storage.head(bucket, physical) is not None:
                raise PreconditionFailedError(f"s3://{bucket}/{key} already exists")

    def store(
        self,
        bucket: str,
        key: str,
        physical_key: str,
        body: Body | BinaryIO,
        meta: dict[str, str],
        options: PutOptions,
        meter: Meter | None,
    ) -> tuple[str, Stamp]:
        """PUT one form of ``key`` with a stamp above both forms' current
        versions, and only over the version of that form the stamp was
        taken from (``If-Match``, or ``If-None-Match`` where there was
        none): a form's versions follow each other in stamp order.  Another
        write in between means taking a new stamp and trying again.
        Returns the ETag written and its stamp."""
        other_key = keys.delta_key(key) if physical_key == key else key
        if options.crc32 is not None:
            meta = {**meta, checksums.CRC32_FIELD: options.crc32}
        if options.create_only:
            meta = {**meta, CREATE_ONLY_FIELD: "true"}
        for _ in range(_SETTLE_ATTEMPTS):
            here = self.storage.head(bucket, physical_key)
            other = self.storage.head(bucket, other_key)
            if options.create_only and (here is not None or other is not None):
                raise PreconditionFailedError(f"s3://{bucket}/{key} already exists")
            stamp = next_stamp(self.clock.now(), key, here, other)
            full = metadata.with_user_metadata(
                {**meta, STAMP_FIELD: str(stamp)}, options.user_metadata
            )
            try:
                etag = self._put_body(
                    bucket, physical_key, body, full, options, meter, here.etag if here else None
                )
            except PreconditionFailedError:
                continue
            return etag, stamp
        raise DeltaGliderError(f"s3://{bucket}/{key}: other writes kept replacing it")

    def _put_body(
        self,
        bucket: str,
        physical_key: str,
        body: Body | BinaryIO,
        meta: dict[str, str],
        options: PutOptions,
        meter: Meter | None,
        current: str | None,
    ) -> str:
        def put(payload: bytes | BinaryIO) -> str:
            return self.storage.put(
                bucket,
                physical_key,
                payload,
                meta,
                content_type=options.content_type,
                tags=options.tags,
                fields=options.fields,
                if_match=current,
                if_none_match=current is None,
            )

        if isinstance(body, Path):
            with open(body, "rb") as handle:
                reader = handle if meter is None else MeteredReader(handle, meter)
                return put(cast(BinaryIO, reader))
        if not isinstance(body, (bytes, bytearray, memoryview)):
            body.seek(0)  # a spooled delta: from its start on each attempt
            return put(body)
        return put(counted(body, meter))  # a file read into memory: counted as it is sent

    def settle(
        self, bucket: str, mine: str, etag: str, stamp: Stamp, other: str, create_only: bool
    ) -> None:
        """After writing ``mine`` (version ``etag``, ``stamp``), remove
        whichever of the two forms loses; only versions seen are removed.

        Between two plain writes the newer stamp wins; a create-only write
        loses to any other (see :func:`_wins`): its writer withdraws its
        object and fails.  One that finds the other form absent has won.
        See docs/storage-format.md, "Create-only puts"."""
        for _ in range(_SETTLE_ATTEMPTS):
            head = self.storage.head(bucket, other)
            if head is None:
                return
            if not _wins(stamp, create_only, head):
                with contextlib.suppress(PreconditionFailedError):  # already replaced
                    self.storage.delete(bucket, mine, if_match=etag)
                if create_only:
                    raise PreconditionFailedError(f"s3://{bucket}/{other} was written meanwhile")
                return
            try:
                self.storage.delete(bucket, other, if_match=head.etag)
            except PreconditionFailedError:
                continue  # a newer version of the other form: compare again
            return


def _wins(stamp: Stamp, create_only: bool, other: ObjectHead) -> bool:
    """Whether a write (``stamp``, ``create_only``) outranks the other form's.

    A create-only write never does: the other form may be an acknowledged
    write, create-only or not.  A plain write outranks a create-only one
    (which either withdraws, or was acknowledged before this one and is
    replaced by it) and an older plain one."""
    if create_only:
        return False
    if other.metadata.get(CREATE_ONLY_FIELD) == "true":
        return True
    return stamp_of(other) < stamp
