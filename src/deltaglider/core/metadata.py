"""Object metadata: read every spelling the existing tools wrote, write the
key set both deltaglider 6.2.0 and deltaglider_proxy read.

Reading: for each field the first non-empty value among ``dg-<field>``,
``dg_<field>``, ``<field>`` (underscores) and ``<field>`` (dashes) wins; the
reference pointer is ``dg-ref-key`` (bucket-relative) or the proxy's
``dg-ref-path`` (relative to the object's space).  Writing: 6.2.0's keys,
plus ``dg-ref-path`` on deltas and ``dg-compression: none`` on direct
objects.  User metadata is stored as ``user-<name>``, as the proxy does, so
it can never collide with ``dg-*`` keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from deltaglider.core.errors import MetadataError
from deltaglider.core.keys import REFERENCE_NAME, join_key, split_key

USER_PREFIX = "user-"
NOTE_REFERENCE = "reference"
NOTE_ZERO_DIFF = "zero-diff (reference identical)"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# S3 sends metadata as HTTP headers: names must be header tokens.
_HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")


def aliases(field: str) -> tuple[str, ...]:
    """Every key a field was written under, in order of preference."""
    dashed, underscored = field.replace("_", "-"), field.replace("-", "_")
    names = [f"dg-{dashed}", f"dg_{underscored}", underscored, dashed]
    return tuple(dict.fromkeys(names))


def read(meta: Mapping[str, str], field: str) -> str | None:
    """The field's value under any of its aliases (first non-empty wins)."""
    for key in aliases(field):
        value = meta.get(key)
        if value:
            return value
    return None


def is_deltaglider_object(meta: Mapping[str, str]) -> bool:
    """Whether a deltaglider tool wrote this object (it records a SHA-256)."""
    return read(meta, "file_sha256") is not None


def format_time(moment: datetime) -> str:
    """UTC time as 6.2.0 writes it: naive ISO-8601 plus ``Z``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_time(text: str) -> datetime:
    """Parse a ``dg-created-at`` value (with or without ``Z``) as UTC."""
    try:
        moment = datetime.fromisoformat(text.removesuffix("Z"))
    except ValueError as exc:
        raise MetadataError(f"invalid dg-created-at {text!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sha256(meta: Mapping[str, str], field: str, where: str) -> str:
    value = read(meta, field)
    if value is None:
        raise MetadataError(f"{where}: no {aliases(field)[0]} metadata")
    value = value.lower()
    if not _SHA256.match(value):
        raise MetadataError(f"{where}: {aliases(field)[0]} is not a SHA-256: {value!r}")
    return value


def _size(meta: Mapping[str, str], field: str, where: str) -> int:
    value = read(meta, field)
    if value is None:
        raise MetadataError(f"{where}: no {aliases(field)[0]} metadata")
    digits = value.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):  # int() takes other scripts, " 5", "1_0"
        raise MetadataError(f"{where}: {aliases(field)[0]} is not a size: {value!r}")
    if digits != value:
        raise MetadataError(f"{where}: {aliases(field)[0]} is negative: {value}")
    return int(value)


@dataclass(frozen=True)
class ReferenceInfo:
    """Metadata of a space's ``reference.bin``."""

    sha256: str
    source_name: str | None
    tool: str | None


@dataclass(frozen=True)
class DeltaInfo:
    """Metadata of a ``<key>.delta`` object."""

    sha256: str
    size: int
    ref_key: str
    """Bucket-relative key of the reference the delta was made against."""
    ref_sha256: str
    original_name: str | None
    delta_size: int | None
    tool: str | None
    note: str | None
    delta_format: str | None = None
    """None for an xdelta3 delta of the file's bytes; else the format of a
    delta of what the file contains (``contents-1``)."""
    deflate: str | None = None
    """What re-deflates a contents delta's members (``zlib-1.3.1``)."""


@dataclass(frozen=True)
class DirectInfo:
    """Metadata of an object stored as is by a deltaglider tool."""

    sha256: str
    size: int | None
    original_name: str | None
    tool: str | None


def parse_reference(meta: Mapping[str, str], key: str) -> ReferenceInfo:
    """Read a reference's metadata; ``key`` names it in errors."""
    return ReferenceInfo(
        sha256=_sha256(meta, "file_sha256", key),
        source_name=read(meta, "source_name"),
        tool=read(meta, "tool"),
    )


def parse_delta(meta: Mapping[str, str], key: str) -> DeltaInfo:
    """Read a delta's metadata; ``key`` is its physical key."""
    ref_key = read(meta, "ref_key")
    if ref_key is None:
        ref_path = read(meta, "ref_path")
        if ref_path is None:
            raise MetadataError(f"{key}: neither dg-ref-key nor dg-ref-path metadata")
        ref_key = join_key(split_key(key)[0], ref_path)
    if not ref_key or ref_key.startswith("/") or {".", ".."} & set(ref_key.split("/")):
        raise MetadataError(f"{key}: its reference key {ref_key!r} is not a key of the bucket")
    delta_size = read(meta, "delta_size")
    return DeltaInfo(
        sha256=_sha256(meta, "file_sha256", key),
        size=_size(meta, "file_size", key),
        ref_key=ref_key,
        ref_sha256=_sha256(meta, "ref_sha256", key),
        original_name=read(meta, "original_name"),
        delta_size=int(delta_size)
        if delta_size and delta_size.isascii() and delta_size.isdigit()
        else None,
        tool=read(meta, "tool"),
        note=read(meta, "note"),
        delta_format=read(meta, "delta_format"),
        deflate=read(meta, "deflate"),
    )


def parse_direct(meta: Mapping[str, str], key: str) -> DirectInfo | None:
    """Read a direct object's metadata; None for an object no deltaglider
    tool wrote (a plain S3 object, returned as is)."""
    if not is_deltaglider_object(meta):
        return None
    size = read(meta, "file_size")
    return DirectInfo(
        sha256=_sha256(meta, "file_sha256", key),
        size=_size(meta, "file_size", key) if size is not None else None,
        original_name=read(meta, "original_name"),
        tool=read(meta, "tool"),
    )


def reference_metadata(
    *, tool: str, source_name: str, sha256: str, created_at: datetime
) -> dict[str, str]:
    """Metadata written on a new ``reference.bin``."""
    return {
        "dg-tool": tool,
        "dg-source-name": source_name,
        "dg-file-sha256": sha256,
        "dg-created-at": format_time(created_at),
        "dg-note": NOTE_REFERENCE,
    }


def delta_metadata(
    *,
    tool: str,
    original_name: str,
    sha256: str,
    size: int,
    created_at: datetime,
    ref_key: str,
    ref_sha256: str,
    delta_size: int,
    note: str | None = None,
    contents: tuple[str, str] | None = None,
) -> dict[str, str]:
    """Metadata written on a ``<key>.delta``: 6.2.0's keys and the proxy's
    ``dg-ref-path``; for a contents delta, ``contents`` = (format, deflate)
    and a ``dg-delta-cmd`` that says no xdelta3 command rebuilds it."""
    meta = {
        "dg-tool": tool,
        "dg-original-name": original_name,
        "dg-file-sha256": sha256,
        "dg-file-size": str(size),
        "dg-created-at": format_time(created_at),
        "dg-ref-key": ref_key,
        "dg-ref-path": split_key(ref_key)[1] or REFERENCE_NAME,
        "dg-ref-sha256": ref_sha256,
        "dg-delta-size": str(delta_size),
        "dg-delta-cmd": (
            f"xdelta3 -e -9 -s {REFERENCE_NAME} {original_name} {original_name}.delta"
        ),
    }
    if contents is not None:
        meta["dg-delta-format"], meta["dg-deflate"] = contents
        meta["dg-delta-cmd"] = (
            f"deltaglider {contents[0]} (archive contents; members re-deflated with "
            f"{contents[1]}): not an xdelta3 delta of {original_name}"
        )
    if note:
        meta["dg-note"] = note
    return meta


def direct_metadata(
    *, tool: str, original_name: str, sha256: str, size: int, created_at: datetime
) -> dict[str, str]:
    """Metadata written on an object stored as is."""
    return {
        "dg-tool": tool,
        "dg-original-name": original_name,
        "dg-file-sha256": sha256,
        "dg-file-size": str(size),
        "dg-created-at": format_time(created_at),
        "dg-compression": "none",
    }


def with_user_metadata(meta: Mapping[str, str], user: Mapping[str, str]) -> dict[str, str]:
    """``meta`` plus the caller's metadata under ``user-<name>`` keys.

    Raises:
        ValueError: a name is not a valid header token, or values are not
            strings.
    """
    out = dict(meta)
    for name, value in user.items():
        lowered = name.lower()
        if not _HEADER_TOKEN.match(lowered):
            raise ValueError(f"metadata name {name!r} is not a valid HTTP header name")
        if not isinstance(value, str):
            raise ValueError(f"metadata {name!r}: values must be strings, got {type(value)}")
        out[USER_PREFIX + lowered] = value
    return out


def user_metadata(meta: Mapping[str, str]) -> dict[str, str]:
    """The caller's own metadata: ``user-*`` keys of a deltaglider object
    (prefix removed), or everything on a plain object."""
    if not is_deltaglider_object(meta):
        return dict(meta)
    return {k[len(USER_PREFIX) :]: v for k, v in meta.items() if k.startswith(USER_PREFIX)}
