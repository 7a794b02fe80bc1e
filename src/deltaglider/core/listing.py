"""Logical listings: what a bucket holds as the user sees it.

A delta ``k.delta`` is listed as ``k``; ``reference.bin`` files and the
``.deltaglider/`` folder are hidden; a key stored in both forms (a put
switching forms, or another tool's write over a delta) is listed once, as
the form reads take (:func:`deltaglider.core.stamps.current_form`).
Listings are sorted by key in UTF-8 byte order, as S3 defines it,
whatever order the store returned them in (SeaweedFS, for one, lists
folder by folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from deltaglider.core import keys, size_markers
from deltaglider.core.stamps import current_form, modified_second
from deltaglider.ports.storage import ListedObject, StoragePort


@dataclass(frozen=True)
class LogicalEntry:
    """One logical object of a listing (sizes as stored: a delta's logical
    size needs its metadata, see :meth:`DeltaService.head`)."""

    key: str
    physical_key: str
    stored_size: int
    etag: str
    last_modified: datetime
    file_size: int | None = None
    """A delta's file size, where its size marker gave it (see
    :mod:`deltaglider.core.size_markers`); None when unknown."""
    owner: tuple[str, str] | None = None
    """The stored object's owner (ID, display name), where the store says."""

    @property
    def is_delta(self) -> bool:
        """Stored as a delta."""
        return self.physical_key != self.key


@dataclass(frozen=True)
class LogicalListing:
    """A sorted listing of objects and, with a delimiter, common prefixes."""

    objects: list[LogicalEntry]
    common_prefixes: list[str]
    lone_references: list[str] = field(default_factory=list)
    """Hidden ``reference.bin`` keys of folders where the listing saw no
    delta: perhaps another tool's file of that name (see
    :meth:`DeltaService.foreign_references`)."""


def logical_key(physical_key: str) -> str | None:
    """The logical key a physical key shows as, or None if hidden."""
    if physical_key.startswith(keys.CONTROL_PREFIX):
        return None
    if keys.split_key(physical_key)[1] == keys.REFERENCE_NAME:
        return None
    if physical_key.endswith(keys.DELTA_SUFFIX):
        return physical_key[: -len(keys.DELTA_SUFFIX)]
    return physical_key


def _sort_key(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def list_logical(
    storage: StoragePort, bucket: str, prefix: str = "", delimiter: str = ""
) -> LogicalListing:
    """Every logical object under ``prefix``, grouped by ``delimiter``.

    With ``/`` the store groups (one level is read); any other delimiter is
    applied here, after ``.delta`` suffixes are removed, so it groups the
    logical keys."""
    server_delimiter = "/" if delimiter == "/" else ""
    objects: dict[str, LogicalEntry] = {}
    doubles: dict[str, LogicalEntry] = {}  # the other form of keys stored in both
    prefixes: set[str] = set()
    references: list[str] = []
    delta_folders: set[str] = set()
    control: list[str] = []  # the bucket's control objects, when listed with the rest
    token = None
    while True:
        page = storage.list_objects(bucket, prefix, delimiter=server_delimiter, token=token)
        _collect(page.objects, prefix, delimiter, objects, doubles, prefixes)
        for obj in page.objects:
            folder, name = keys.split_key(obj.key)
            if obj.key.startswith(keys.CONTROL_PREFIX):
                control.append(obj.key)
                continue
            if name == keys.REFERENCE_NAME:
                references.append(obj.key)
            elif name.endswith(keys.DELTA_SUFFIX):
                delta_folders.add(folder)
        prefixes.update(p for p in page.common_prefixes if not p.startswith(keys.CONTROL_PREFIX))
        if page.next_token is None:
            break
        token = page.next_token
    for key, other in doubles.items():
        objects[key] = _current(storage, bucket, objects[key], other)
    if any(entry.is_delta for entry in objects.values()):
        known = (
            size_markers.known_sizes(control)
            if not prefix and not server_delimiter  # the whole bucket: markers listed too
            else size_markers.read(storage, bucket, prefix, server_delimiter)
        )
        for key, entry in objects.items():
            size = size_markers.size_of(known, entry.physical_key, entry.etag)
            if entry.is_delta and size is not None:
                objects[key] = replace(entry, file_size=size)
    return LogicalListing(
        sorted(objects.values(), key=lambda e: _sort_key(e.key)),
        sorted(prefixes, key=_sort_key),
        sorted(k for k in references if keys.split_key(k)[0] not in delta_folders),
    )


def _collect(
    listed: Iterable[ListedObject],
    prefix: str,
    delimiter: str,
    objects: dict[str, LogicalEntry],
    doubles: dict[str, LogicalEntry],
    prefixes: set[str],
) -> None:
    for obj in listed:
        key = logical_key(obj.key)
        if key is None or not key.startswith(prefix):
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                prefixes.add(key[: cut + len(delimiter)])
                continue
        entry = LogicalEntry(key, obj.key, obj.size, obj.etag, obj.last_modified, owner=obj.owner)
        if key in objects:
            doubles[key] = entry
        else:
            objects[key] = entry


def _current(
    storage: StoragePort, bucket: str, one: LogicalEntry, other: LogicalEntry
) -> LogicalEntry:
    """Of a key's two listed forms, the one reads take: by last-modified
    second where they differ, else by their heads' stamps.  A key whose
    name is not a delta candidate is read as is first (see
    :func:`deltaglider.core.reader.physical_forms`): that form."""
    plain, delta = (other, one) if one.is_delta else (one, other)
    if not keys.is_delta_candidate(keys.split_key(plain.key)[1]):
        return plain
    if modified_second(plain.last_modified) != modified_second(delta.last_modified):
        return max(plain, delta, key=lambda e: modified_second(e.last_modified))
    plain_head = storage.head(bucket, plain.physical_key)
    delta_head = storage.head(bucket, delta.physical_key)
    if plain_head is None or delta_head is None:  # one was removed meanwhile
        return delta if plain_head is None else plain
    return plain if current_form(plain_head, delta_head) is plain_head else delta
