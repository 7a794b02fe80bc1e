"""Write stamps: which of a key's two stored forms is the newer.

A logical key ``k`` may be stored as is (``k``) or as a delta
(``k.delta``).  Writers of the two forms race without a lock, so each write
records a stamp, ``dg-write-stamp``, and afterwards removes the other form
only if that form's stamp is older, or its own form if the other is newer
(see docs/storage-format.md, "The protocol").  A stamp is later than the
writer's clock and than the stamps of both forms as the writer saw them
before writing, so a write that starts after another has finished always
carries the higher stamp, whatever the machines' clocks say.

Writers that know nothing of stamps (a plain boto3 ``put_object``, a
multipart upload, a presigned PUT, ``copy_object``, 6.2.0, ``aws s3 cp``)
write one form and never settle, so both forms can stay.  Every read of
such a key takes the same one, :func:`current_form`: the most recent write
by the store's clock, stamps breaking ties within a second.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime

from deltaglider.core import keys
from deltaglider.ports.storage import ObjectHead

STAMP_FIELD = "dg-write-stamp"
_NANOS_DIGITS = 20


@dataclass(frozen=True, order=True)
class Stamp:
    """Nanoseconds since the epoch, then a tie-breaker: 16 random hex
    digits and 8 naming the key (:func:`key_mark`)."""

    nanos: int
    nonce: str

    def __str__(self) -> str:
        return f"{self.nanos:0{_NANOS_DIGITS}d}-{self.nonce}"


def _nanos(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000) * 1000


def stamp_of(head: ObjectHead) -> Stamp:
    """The stamp an object was written with; one written by another tool
    (or damaged) counts as written at its last-modified time."""
    if has_stamp(head):
        nanos, _, nonce = head.metadata[STAMP_FIELD].partition("-")
        return Stamp(int(nanos), nonce)
    return Stamp(_nanos(head.last_modified), "")


def next_stamp(now: datetime, key: str, *seen: ObjectHead | None) -> Stamp:
    """A stamp of logical ``key`` later than ``now`` and than every
    version ``seen``."""
    floor = max((stamp_of(head).nanos + 1 for head in seen if head is not None), default=0)
    return Stamp(max(_nanos(now), floor), secrets.token_hex(8) + key_mark(key))


def key_mark(key: str) -> str:
    """8 hex digits of the CRC32 of a logical key, ending its stamps' nonce:
    a stamped object copied to another key (a plain ``copy_object`` keeps
    the metadata) then carries no stamp of that key."""
    return f"{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}"


def has_stamp(head: ObjectHead) -> bool:
    """Whether a deltaglider writer stamped this version for this key (a
    16-digit nonce is an older writer's, which named no key)."""
    nanos, _, nonce = head.metadata.get(STAMP_FIELD, "").partition("-")
    if not (nanos.isascii() and nanos.isdigit()) or not nonce:
        return False
    return len(nonce) == 16 or nonce[16:] == key_mark(keys.logical_key(head.key))


def modified_second(moment: datetime) -> int:
    """A last-modified time as whole seconds: HEAD gives no finer time (an
    HTTP date), so listings, whose times may be finer, compare the same."""
    return int(moment.timestamp())


def current_form(plain: ObjectHead, delta: ObjectHead) -> ObjectHead:
    """Of a key's two stored forms, both present, the one that holds its
    current contents (docs/storage-format.md, "Both forms present"):

    1. the later last-modified second (the store's clock orders every
       writer's requests, ours and other tools');
    2. within one second, the higher stamp if both are stamped; else the
       unstamped one (another tool wrote it, and a write of ours that came
       after it would have removed it when settling); if neither is
       stamped, the form stored as is.
    """
    plain_second = modified_second(plain.last_modified)
    delta_second = modified_second(delta.last_modified)
    if plain_second != delta_second:
        return plain if plain_second > delta_second else delta
    plain_stamped, delta_stamped = has_stamp(plain), has_stamp(delta)
    if plain_stamped and delta_stamped:
        return plain if stamp_of(plain) > stamp_of(delta) else delta
    return delta if plain_stamped else plain
