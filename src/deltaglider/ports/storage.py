"""The storage port: an S3-shaped object store (S3 itself, or a directory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ObjectHead:
    """An object's size, identity and metadata, as HEAD returns them."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    """The S3 object fields among :data:`OBJECT_FIELDS` it was stored with
    (boto3's names: ``{"CacheControl": "no-cache"}``)."""


OBJECT_FIELDS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
    "WebsiteRedirectLocation",
    "StorageClass",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "BucketKeyEnabled",
)
"""S3 object fields a put may set and a HEAD returns, by boto3's names.
Values are strings (``Expires`` an HTTP date, ``BucketKeyEnabled``
``"true"``/``"false"``)."""

WRITE_ONLY_FIELDS = (
    "ACL",
    "GrantFullControl",
    "GrantRead",
    "GrantReadACP",
    "GrantWriteACP",
    "SSEKMSEncryptionContext",
)
"""S3 fields a put may set that a HEAD does not return."""


@dataclass(frozen=True)
class ListedObject:
    """One entry of a listing (listings carry no metadata)."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    owner: tuple[str, str] | None = None
    """The object's owner (ID, display name), where the store says."""


@dataclass(frozen=True)
class ListPage:
    """One page of a listing, in the store's key order."""

    objects: list[ListedObject]
    common_prefixes: list[str]
    next_token: str | None


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload begun and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


@dataclass(frozen=True)
class BucketInfo:
    """A bucket and when it was made."""

    name: str
    created: datetime


class StoragePort(Protocol):
    """What the engine needs from an object store.  Keys are physical keys."""

    object_fields: frozenset[str]
    """Which of :data:`OBJECT_FIELDS` and :data:`WRITE_ONLY_FIELDS` its
    ``put`` honours (a caller refuses the others before writing)."""

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's head, or None when it does not exist."""
        ...

    def open(
        self, bucket: str, key: str, *, if_match: str | None = None
    ) -> tuple[ObjectHead, BinaryIO]:
        """A readable stream of the object; the caller closes it.

        With ``if_match`` (an ETag) only that version is read: another one
        raises PreconditionFailedError.  Raises ObjectNotFoundError or
        BucketNotFoundError."""
        ...

    def check_key(self, key: str) -> None:
        """Raise InvalidKeyError unless the store can hold ``key``; asks
        nothing of the store, so a writer checks every name it will write
        before it writes the first."""
        ...

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        metadata: Mapping[str, str],
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        tags: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """Store an object whole (never half-written) and return its ETag.

        With ``if_none_match`` the write happens only if the key is free,
        with ``if_match`` (an ETag) only if that version is there; else
        PreconditionFailedError.  ``tags`` become its object tags,
        ``fields`` (among ``object_fields``) its S3 object fields."""
        ...

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        """An object's tags.  Raises ObjectNotFoundError."""
        ...

    def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace an object's tags.  Raises ObjectNotFoundError."""
        ...

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """Remove an object; removing a missing object is not an error.

        With ``if_match`` (an ETag) only that version is removed: if another
        version is there, PreconditionFailedError and nothing is removed."""
        ...

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        """Copy an object within the bucket, metadata and all, in the store
        (no bytes through this process); returns the copy's ETag."""
        ...

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str = "",
        start_after: str | None = None,
        token: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of keys under ``prefix``, after ``start_after`` or from
        ``token`` (a previous page's ``next_token``)."""
        ...

    def pending_uploads(self, bucket: str, prefix: str = "") -> list[PendingUpload]:
        """Multipart uploads under ``prefix`` never completed nor aborted
        (a store without multipart uploads has none)."""
        ...

    def abort_upload(self, bucket: str, upload: PendingUpload) -> None:
        """Abort a pending multipart upload, freeing its parts."""
        ...

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ListedObject]:
        """Every object under ``prefix``, page after page."""
        ...

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket; an existing one is left as is."""
        ...

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket; a missing one is not an error."""
        ...

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists."""
        ...

    def list_buckets(self) -> list[BucketInfo]:
        """All buckets, by name."""
        ...


def iter_listing(
    list_objects: Callable[..., ListPage], bucket: str, prefix: str = ""
) -> Iterator[ListedObject]:
    """Every object a store's ``list_objects`` returns under ``prefix``,
    following continuation tokens page after page."""
    token = None
    while True:
        page = list_objects(bucket, prefix, token=token)
        yield from page.objects
        if page.next_token is None:
            return
        token = page.next_token
