"""Write stamps: which of a key's two stored forms is the newer.

A logical key ``k`` may be stored as is (``k``) or as a delta
(``k.delta``).  Writers of the two forms race without a lock, so each write
records a stamp, ``dg-write-stamp``, and afterwards removes the other form
only if that form's stamp is older, or its own form if the other is newer
(see docs/storage-format.md, "The protocol").  A stamp is later than the
writer's clock and than the stamps of both forms as the writer saw them
before writing, so a write that starts after another has finished always
carries the higher stamp, whatever the machines' clocks say.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from deltaglider.ports.storage import ObjectHead

STAMP_FIELD = "dg-write-stamp"
_NANOS_DIGITS = 20


@dataclass(frozen=True, order=True)
class Stamp:
    """Nanoseconds since the epoch, then a random tie-breaker."""

    nanos: int
    nonce: str

    def __str__(self) -> str:
        return f"{self.nanos:0{_NANOS_DIGITS}d}-{self.nonce}"


def _nanos(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000) * 1000


def stamp_of(head: ObjectHead) -> Stamp:
    """The stamp an object was written with; one written by another tool
    (or damaged) counts as written at its last-modified time."""
    nanos, _, nonce = head.metadata.get(STAMP_FIELD, "").partition("-")
    if nanos.isdigit() and nonce:
        return Stamp(int(nanos), nonce)
    return Stamp(_nanos(head.last_modified), "")


def next_stamp(now: datetime, *seen: ObjectHead | None) -> Stamp:
    """A stamp later than ``now`` and than every version ``seen``."""
    floor = max((stamp_of(head).nanos + 1 for head in seen if head is not None), default=0)
    return Stamp(max(_nanos(now), floor), secrets.token_hex(8))
