"""Size markers: each delta's file size where a listing reads it.

A listing gives a delta's stored size; the size of the file it rebuilds is
in its metadata, one HEAD each.  So every delta put also writes a zero-byte
object ``.deltaglider/sizes/<delta key>!<ETag>!<file size>``, and a listing
reads a folder's markers with one LIST per 1,000, beside the folder's own.

A delta's bytes fix the size of what it rebuilds (a VCDIFF records each
window's length, a contents recipe its output's), and an ETag names those
bytes, so a marker is true of every delta with its ETag: it can be orphaned
(its delta removed or rewritten) but never wrong.  Writers therefore need no
lock and no read-modify-write: a listing uses the markers whose ETag is the
listed delta's, and HEADs the deltas it finds none for (written by another
tool, or by a writer stopped between its two PUTs).  Deletes remove their
deltas' markers; ``purge`` removes orphans.  See docs/storage-format.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from deltaglider.core import keys
from deltaglider.ports.storage import StoragePort
from deltaglider.ports.support import LoggerPort

MARKER_PREFIX = keys.CONTROL_PREFIX + "sizes/"
_SEPARATOR = "!"

Known = dict[tuple[str, str], int]
"""(delta key, ETag without quotes) -> the size of the file it rebuilds."""


def marker_key(delta_key: str, etag: str, size: int) -> str:
    """The marker of the delta ``delta_key`` (version ``etag``)."""
    return f"{MARKER_PREFIX}{delta_key}{_SEPARATOR}{etag.strip(chr(34))}{_SEPARATOR}{size}"


def parse(key: str) -> tuple[str, str, int] | None:
    """``(delta key, ETag, file size)`` of a marker's key, or None."""
    if not key.startswith(MARKER_PREFIX):
        return None
    delta, sep1, rest = key[len(MARKER_PREFIX) :].rpartition(_SEPARATOR)
    delta, sep2, etag = delta.rpartition(_SEPARATOR)
    if not (
        sep1 and sep2 and rest.isascii() and rest.isdigit() and delta.endswith(keys.DELTA_SUFFIX)
    ):
        return None
    return delta, etag, int(rest)


def known_sizes(marker_keys: Iterable[str]) -> Known:
    """What a set of marker keys (among any others) says."""
    known: Known = {}
    for key in marker_keys:
        parsed = parse(key)
        if parsed is not None:
            known[(parsed[0], parsed[1])] = parsed[2]
    return known


def size_of(known: Known, delta_key: str, etag: str) -> int | None:
    """The file size a marker gives for this version of a delta."""
    return known.get((delta_key, etag.strip('"')))


def read(storage: StoragePort, bucket: str, prefix: str, delimiter: str) -> Known:
    """The markers of the deltas a listing of ``prefix`` (one level with
    ``/``) holds."""
    found: list[str] = []
    token = None
    while True:
        page = storage.list_objects(
            bucket, MARKER_PREFIX + prefix, delimiter=delimiter, token=token
        )
        found += [obj.key for obj in page.objects]
        if page.next_token is None:
            return known_sizes(found)
        token = page.next_token


def record(
    storage: StoragePort, logger: LoggerPort, bucket: str, delta_key: str, etag: str, size: int
) -> None:
    """Write a delta's marker.  Best effort: the delta is stored already,
    and a listing HEADs a delta it finds no marker for."""
    key = marker_key(delta_key, etag, size)
    try:
        storage.check_key(key)  # a name too long for the store: no marker
        storage.put(bucket, key, b"", {})
    except Exception as exc:
        logger.info("no size marker written", key=delta_key, error=str(exc))


def remove(
    storage: StoragePort, logger: LoggerPort, bucket: str, delta_key: str, etag: str
) -> None:
    """Remove the markers of one version of a delta (one LIST).  Best
    effort: the delta is removed already, and ``purge`` removes orphans."""
    stem = f"{MARKER_PREFIX}{delta_key}{_SEPARATOR}{etag.strip(chr(34))}{_SEPARATOR}"
    try:
        for obj in list(storage.iter_objects(bucket, stem)):
            storage.delete(bucket, obj.key)
    except Exception as exc:
        logger.info("size marker left for purge", key=delta_key, error=str(exc))
