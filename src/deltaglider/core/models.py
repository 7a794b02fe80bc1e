"""Models of the API reference: spaces, keys and operation summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from deltaglider.core.keys import reference_key, split_key


@dataclass(frozen=True)
class DeltaSpace:
    """A compression space: the objects sharing one prefix and one reference."""

    bucket: str
    prefix: str

    @classmethod
    def of(cls, bucket: str, key: str) -> DeltaSpace:
        """The space a logical key belongs to."""
        return cls(bucket, split_key(key)[0])

    def reference_key(self) -> str:
        """Key of this space's ``reference.bin``."""
        return reference_key(self.prefix)


@dataclass(frozen=True)
class ObjectKey:
    """An object's location."""

    bucket: str
    key: str

    @property
    def full_key(self) -> str:
        """``bucket/key``."""
        return f"{self.bucket}/{self.key}"


@dataclass(frozen=True)
class PutOptions:
    """How one put stores its file, as its caller asks: made once (the SDK
    makes it from a call's arguments) and handed down as it is to the
    writer, which records every field on the object it writes."""

    max_ratio: float | None = None
    """A delta is kept only up to this share of the file's size (None: the
    service's ``max_ratio``)."""
    delta: bool = True
    """False: store the file as is, whatever its name."""
    user_metadata: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    """S3 object fields (``CacheControl``, ``ServerSideEncryption``...), on
    every object the put writes: the file's form and a reference it creates."""
    create_only: bool = False
    """Write only if the key holds nothing (S3's ``If-None-Match: *``):
    else PreconditionFailedError; two racing create-only puts never both
    succeed."""
    crc32: str | None = None
    """The file's CRC32 (base64, as S3 writes it): checked against the body
    before anything is written (ChecksumMismatchError); the put records the
    one it computes."""

    def __post_init__(self) -> None:
        # A copy of the caller's dicts (they may change after); None is none.
        for name in ("user_metadata", "tags", "fields"):
            object.__setattr__(self, name, dict(getattr(self, name) or {}))


@dataclass
class PutSummary:
    """What a put stored."""

    operation: str  # "PUT" or "PUT_DELTA"
    bucket: str
    key: str
    file_size: int
    file_hash: str
    delta_size: int | None = None
    delta_hash: str | None = None
    delta_ratio: float | None = None
    reference_hash: str | None = None
    reference_created: bool = False
    """This put made the space's reference (the file is stored in full)."""
    etag: str | None = None
    """The stored object's ETag."""
    crc32: str | None = None
    """The file's CRC32 (base64, as S3 writes it)."""


@dataclass
class GetSummary:
    """What a get handed over."""

    operation: str  # "GET" or "GET_DELTA"
    bucket: str
    key: str
    size: int
    hash: str
    reconstructed: bool


@dataclass
class VerifyResult:
    """The outcome of rebuilding an object and checking its SHA-256."""

    valid: bool
    operation: str  # "VERIFY" or "VERIFY_DELTA"
    expected_hash: str
    actual_hash: str | None = None
    details: str | None = None


@dataclass(frozen=True)
class StoredObject:
    """A logical object as the store holds it."""

    bucket: str
    key: str
    """The user's key (never ends in ``.delta``)."""
    physical_key: str
    kind: str
    """``"delta"``, ``"direct"`` (stored as is by a deltaglider tool),
    ``"plain"`` (an object no deltaglider tool wrote) or ``"damaged"`` (its
    deltaglider metadata is unreadable: listed, never rebuilt)."""
    size: int
    """The file's size, whatever the stored form."""
    stored_size: int
    sha256: str | None
    etag: str
    last_modified: datetime
    user_metadata: dict[str, str]
    content_type: str | None = None
    reference_key: str | None = None
    reference_sha256: str | None = None
    problem: str | None = None
    """Why a damaged object cannot be rebuilt."""
    delta_format: str | None = None
    """A delta of what an archive contains (``contents-1``), or None for an
    xdelta3 delta of the file's bytes."""
    deflate: str | None = None
    """What re-deflates a contents delta (``zlib-1.3.1``)."""
    fields: dict[str, str] = field(default_factory=dict)
    """The S3 object fields it was stored with (``CacheControl``...)."""
    crc32: str | None = None
    """The file's CRC32 as S3 gives it (base64), where a put recorded it."""

    @property
    def is_delta(self) -> bool:
        """Stored as a delta against its space's reference."""
        return self.kind == "delta"


@dataclass(frozen=True)
class BucketStats:
    """What a bucket holds, logically and as stored."""

    bucket: str
    object_count: int
    total_size: int
    """Logical bytes: the files' own sizes."""
    compressed_size: int
    """Stored bytes: deltas, references and files stored as is."""
    space_saved: int
    average_compression_ratio: float
    """Fraction of the logical bytes saved (0.0-1.0)."""
    delta_objects: int
    direct_objects: int
    detailed: bool = False
    """Every delta's size was read from its metadata (none estimated)."""
    mode: str = "quick"
    """How the deltas' sizes were found: ``quick``, ``sampled`` or
    ``detailed`` (see :mod:`deltaglider.core.stats`)."""
    estimated_objects: int = 0
    """Deltas whose size was estimated rather than read."""
