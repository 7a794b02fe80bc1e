"""An S3-shaped object store in a local directory, for hosts with no cloud.

Layout: ``<root>/<bucket>/<key>``, a key's ``/`` making folders, so the tree
is browsable.  An object's metadata, ETag and content type are a JSON record
in the extended attribute ``user.dg.metadata`` (as deltaglider_proxy keeps
them), set on the temporary file before it is renamed into place: data and
metadata appear together or not at all.  Where extended attributes are not
available (Windows, macOS, some file systems) the record is a sidecar file
``<key>.dgmeta`` written just after the data.

Writes go to a temporary file in the destination folder, are fsynced and
renamed; a conditional create links the temporary file to its final name,
which fails atomically if the name is taken.  Every change of a name (the
rename, the link, a removal) happens under the bucket's lock file
``.dg-lock-<bucket>`` (beside the bucket folders), held across processes,
so a conditional removal (``if_match``) checks and removes one version,
never a newer one.  Names that could collide
with these files (``*.dgmeta``, ``.dg-*``) are refused as keys.

The store never leaves its root: keys and prefixes with ``..`` name nothing,
and a symbolic link at or below a bucket folder is refused for every
operation (listings skip links), so a link planted in the store cannot lead
a read, write or removal outside it.  Names longer than the file system
holds are refused before anything is written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

from deltaglider.core.errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from deltaglider.fsutil import atomic_writer, create_temp, file_lock
from deltaglider.ports.storage import (
    BucketInfo,
    ListedObject,
    ListPage,
    ObjectHead,
    PendingUpload,
    iter_listing,
)

XATTR = "user.dg.metadata"
SIDECAR_SUFFIX = ".dgmeta"
INTERNAL_PREFIX = ".dg-"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CHUNK = 1 << 20
_LOCK_NAME = f"{INTERNAL_PREFIX}lock"
# A name and its sidecar (``<name>.dgmeta``) must both fit NAME_MAX (255 bytes).
MAX_NAME_BYTES = 255 - len(SIDECAR_SUFFIX)
_FOLDER_ATTEMPTS = 8


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class LocalStorage:
    """A folder of buckets; implements :class:`deltaglider.ports.storage.StoragePort`."""

    object_fields = frozenset(
        {
            "CacheControl",
            "ContentDisposition",
            "ContentEncoding",
            "ContentLanguage",
            "Expires",
            "WebsiteRedirectLocation",
        }
    )
    """The fields a directory can keep: headers recorded with the object.
    Storage classes, encryption and ACLs need a server (the files' own
    permissions and the disk's encryption stand for them here)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """A store in the folder ``root``.  Only :meth:`create_bucket` makes
        that folder: a mistyped path is reported, never made by a read."""
        self.root = Path(root)

    @classmethod
    def from_url(cls, url: str) -> LocalStorage:
        """A store for a ``file:///path`` endpoint URL."""
        parsed = urlparse(url)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            raise ValueError(f"not a local file URL: {url!r} (expected file:///path)")
        return cls(url2pathname(parsed.path))

    # -- names -----------------------------------------------------------

    def _bucket_dir(self, bucket: str, *, must_exist: bool = True) -> Path:
        if not _BUCKET_NAME.match(bucket) or ".." in bucket:
            raise ValueError(
                f"invalid bucket name {bucket!r}: 3-63 lowercase letters, digits, '.' or '-'"
            )
        path = self.root / bucket
        if path.is_symlink():
            raise InvalidKeyError(f"bucket {bucket!r} is a symbolic link; the store follows none")
        if must_exist and not path.is_dir():
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist in {self.root}")
        return path

    def check_key(self, key: str) -> None:
        """Refuse keys a directory cannot hold as files of their own."""
        for segment in key.split("/"):
            if segment in ("", ".", "..") or "\\" in segment or "\0" in segment:
                raise InvalidKeyError(f"key {key!r} cannot be stored in a directory")
            if segment.startswith(INTERNAL_PREFIX) or segment.endswith(SIDECAR_SUFFIX):
                raise InvalidKeyError(
                    f"key {key!r}: names starting {INTERNAL_PREFIX!r} or ending "
                    f"{SIDECAR_SUFFIX!r} are reserved by the local store"
                )
            size = len(segment.encode("utf-8", "surrogateescape"))
            if size > MAX_NAME_BYTES:
                raise InvalidKeyError(
                    f"key {key[:60]!r}...: the name {segment[:40]!r}... is {size} bytes; "
                    f"a local store holds names of at most {MAX_NAME_BYTES}"
                )

    def _path(self, bucket: str, key: str) -> Path:
        """The file of ``key``; refused if any folder on the way, or the
        file itself, is a symbolic link."""
        self.check_key(key)
        path = self._bucket_dir(bucket)
        for segment in key.split("/"):
            path = path / segment
            if path.is_symlink():
                raise InvalidKeyError(
                    f"key {key!r}: {path.relative_to(self.root)} is a symbolic link; "
                    "the local store never follows links"
                )
        return path

    def _lock(
        self, bucket: str, *, shared: bool = False
    ) -> contextlib.AbstractContextManager[None]:
        """The bucket's lock: exclusive for a change of a name, shared for
        a listing, so a listing is a snapshot (a directory read while names
        are renamed over may miss one)."""
        self._bucket_dir(bucket)
        return file_lock(self.root / f"{_LOCK_NAME}-{bucket}", shared=shared)

    # -- metadata records --------------------------------------------------

    @staticmethod
    def _read_record(path: Path, fd: int | None = None) -> dict[str, object]:
        raw: bytes | None = None
        if hasattr(os, "getxattr"):
            try:
                raw = os.getxattr(path if fd is None else fd, XATTR)
            except FileNotFoundError:
                raise  # the file went: the caller treats it as absent
            except OSError:
                raw = None  # no record attached: look for a sidecar
        if raw is None:
            with contextlib.suppress(FileNotFoundError):
                raw = path.with_name(path.name + SIDECAR_SUFFIX).read_bytes()
        if not raw:
            return {}
        record = json.loads(raw)
        return record if isinstance(record, dict) else {}

    @staticmethod
    def _attach_record(temp: Path, record: bytes) -> bool:
        """Put the record on the temporary file; False if xattrs are unavailable."""
        if not hasattr(os, "setxattr"):
            return False
        try:
            os.setxattr(temp, XATTR, record)
        except OSError:
            return False
        return True

    def _head_of(self, key: str, path: Path, fd: int | None = None) -> ObjectHead:
        """The head of the file at ``path`` (of the open file ``fd``, when
        given: the version being read, even if a newer one replaced it)."""
        stat = path.stat() if fd is None else os.fstat(fd)
        record = self._read_record(path, fd)
        metadata = record.get("metadata")
        content_type = record.get("content_type")
        fields = record.get("fields")
        return ObjectHead(
            key=key,
            size=stat.st_size,
            etag=str(record.get("etag") or f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'),
            last_modified=_utc(stat.st_mtime),
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            content_type=content_type if isinstance(content_type, str) else None,
            fields={str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {},
        )

    # -- objects -----------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's head, or None when it does not exist."""
        path = self._path(bucket, key)
        if not path.is_file():
            return None
        try:
            return self._head_of(key, path)
        except FileNotFoundError:  # removed since: absent, as on S3
            return None

    def open(
        self, bucket: str, key: str, *, if_match: str | None = None
    ) -> tuple[ObjectHead, BinaryIO]:
        """A readable stream of the object (of the version ``if_match``
        names, when given); the caller closes it."""
        path = self._path(bucket, key)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist") from exc
        try:
            head = self._head_of(key, path, handle.fileno())
            if if_match is not None and head.etag != if_match:
                raise PreconditionFailedError(f"s3://{bucket}/{key} is not version {if_match}")
            return head, handle
        except BaseException:
            handle.close()
            raise

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
        """Store an object whole and return its ETag (quoted MD5, as S3)."""
        unsupported = set(fields or {}) - self.object_fields
        if unsupported:
            raise ValueError(f"a local store cannot keep {sorted(unsupported)}")
        path = self._path(bucket, key)
        if path.is_dir():
            raise InvalidKeyError(f"key {key!r} is a folder of other objects here")
        fd, temp = self._temp_file(key, path)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out:
                if isinstance(body, (bytes, bytearray, memoryview)):
                    digest.update(body)
                    out.write(body)
                else:
                    while chunk := body.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            etag = f'"{digest.hexdigest()}"'
            record = json.dumps(
                {
                    "metadata": {k.lower(): v for k, v in metadata.items()},
                    "etag": etag,
                    "content_type": content_type,
                    "tags": dict(tags or {}),
                    "fields": dict(fields or {}),
                }
            ).encode()
            attached = self._attach_record(temp, record)
            with self._lock(bucket):
                if if_none_match:
                    try:
                        os.link(temp, path)
                    except FileExistsError as exc:
                        raise PreconditionFailedError(
                            f"s3://{bucket}/{key} already exists"
                        ) from exc
                    temp.unlink()
                else:
                    if if_match is not None:
                        self._require_version(bucket, key, path, if_match)
                    os.replace(temp, path)
                sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
                if attached:
                    with contextlib.suppress(FileNotFoundError):
                        sidecar.unlink()
                else:
                    self._write_sidecar(sidecar, record)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return etag

    @staticmethod
    def _temp_file(key: str, path: Path) -> tuple[int, Path]:
        """A temporary file beside ``path``, its folders made.  A removal
        racing with this may take an empty folder away between the two
        steps: then both are done again."""
        for _ in range(_FOLDER_ATTEMPTS):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                if any(folder.is_file() for folder in path.parents):
                    raise InvalidKeyError(
                        f"key {key!r}: a folder on its path is an object; a directory "
                        "cannot hold both 'a' and 'a/b'"
                    ) from exc
                continue  # made and removed again by others meanwhile
            try:
                fd, name = create_temp(path.parent, f"{INTERNAL_PREFIX}tmp-")
            except FileNotFoundError:
                continue
            return fd, Path(name)
        raise OSError(f"{path.parent}: removed again each time it was made")

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        """An object's tags (kept in its metadata record)."""
        path = self._existing(bucket, key)
        tags = self._read_record(path).get("tags")
        return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

    def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace an object's tags: its record is rewritten whole."""
        path = self._existing(bucket, key)
        record = self._read_record(path)
        record["tags"] = dict(tags)
        raw = json.dumps(record).encode()
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if self._attach_record(path, raw):
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
        else:
            self._write_sidecar(sidecar, raw)

    def _existing(self, bucket: str, key: str) -> Path:
        path = self._path(bucket, key)
        if not path.is_file():
            raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")
        return path

    @staticmethod
    def _write_sidecar(sidecar: Path, record: bytes) -> None:
        with atomic_writer(sidecar, temp_prefix=f"{INTERNAL_PREFIX}tmp-") as out:
            out.write(record)

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """Remove an object (only the version ``if_match`` names, when
        given) and the folders it leaves empty."""
        path = self._path(bucket, key)
        bucket_dir = self._bucket_dir(bucket)
        with self._lock(bucket):
            if if_match is not None and path.is_file():
                self._require_version(bucket, key, path, if_match)
            for victim in (path, path.with_name(path.name + SIDECAR_SUFFIX)):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    victim.unlink()
            parent = path.parent
            while parent != bucket_dir:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

    def _require_version(self, bucket: str, key: str, path: Path, etag: str) -> None:
        """Under the lock: raise unless the object is version ``etag``."""
        current = self._head_of(key, path).etag if path.is_file() else None
        if current != etag:
            raise PreconditionFailedError(f"s3://{bucket}/{key} is {current}, not version {etag}")

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        """Copy an object, its metadata record and tags included."""
        head, stream = self.open(bucket, source_key)
        with stream:
            tags = self._read_record(self._path(bucket, source_key), stream.fileno()).get("tags")
            return self.put(
                bucket,
                key,
                stream,
                head.metadata,
                content_type=head.content_type,
                tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else None,
                fields=head.fields,
            )

    # -- listing -----------------------------------------------------------

    def _keys(self, bucket_dir: Path, prefix: str) -> list[str]:
        """Every key under ``prefix``, in S3 order (UTF-8 bytes)."""
        folders = prefix.split("/")[:-1]
        if any(part in ("", ".", "..") or "\\" in part for part in folders):
            return []  # no stored key has such a folder: nothing to walk outside the bucket
        start = bucket_dir
        for part in folders:
            start = start / part
            if start.is_symlink():
                return []
        found = []
        for folder, dirs, files in os.walk(start):  # never into linked folders
            dirs[:] = [
                d
                for d in dirs
                if not d.startswith(INTERNAL_PREFIX) and not os.path.islink(os.path.join(folder, d))
            ]
            relative = Path(folder).relative_to(bucket_dir).as_posix()
            base = "" if relative == "." else relative + "/"
            for name in files:
                if name.startswith(INTERNAL_PREFIX) or name.endswith(SIDECAR_SUFFIX):
                    continue
                if os.path.islink(os.path.join(folder, name)):
                    continue
                key = base + name
                if key.startswith(prefix):
                    found.append(key)
        found.sort(key=lambda k: k.encode("utf-8", "surrogateescape"))
        return found

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
        """One page of keys under ``prefix`` (S3 ListObjectsV2 semantics)."""
        bucket_dir = self._bucket_dir(bucket)
        with self._lock(bucket, shared=True):
            return self._list_page(bucket_dir, prefix, delimiter, start_after, token, max_keys)

    def _list_page(
        self,
        bucket_dir: Path,
        prefix: str,
        delimiter: str,
        start_after: str | None,
        token: str | None,
        max_keys: int,
    ) -> ListPage:
        after = _decode_token(token) if token else start_after
        after_bytes = after.encode("utf-8", "surrogateescape") if after else None
        objects: list[ListedObject] = []
        prefixes: list[str] = []
        last = None
        for key in self._keys(bucket_dir, prefix):
            if after_bytes is not None and key.encode("utf-8", "surrogateescape") <= after_bytes:
                continue
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if prefixes and prefixes[-1] == common:
                        continue
                    if len(objects) + len(prefixes) >= max_keys:
                        return ListPage(objects, prefixes, _encode_token(last))
                    prefixes.append(common)
                    # Skip the rest of this prefix: resume after its last key.
                    last = common + "\U0010ffff"
                    after_bytes = last.encode("utf-8", "surrogateescape")
                    continue
            if len(objects) + len(prefixes) >= max_keys:
                return ListPage(objects, prefixes, _encode_token(last))
            path = bucket_dir.joinpath(*key.split("/"))
            try:
                stat = path.stat()
                record = self._read_record(path)
            except FileNotFoundError:
                continue  # removed since the walk saw it: not listed, as on S3
            etag = str(record.get("etag") or f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"')
            objects.append(ListedObject(key, stat.st_size, etag, _utc(stat.st_mtime)))
            last = key
        return ListPage(objects, prefixes, None)

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ListedObject]:
        """Every object under ``prefix``."""
        return iter_listing(self.list_objects, bucket, prefix)

    def pending_uploads(self, bucket: str, prefix: str = "") -> list[PendingUpload]:
        """None: a local write is one file renamed into place, never in parts."""
        self._bucket_dir(bucket)
        return []

    def abort_upload(self, bucket: str, upload: PendingUpload) -> None:
        """Nothing is ever pending here."""
        raise ObjectNotFoundError(f"s3://{bucket}/{upload.key}: no upload {upload.upload_id}")

    # -- buckets -----------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket folder (and the store's, the first time); an
        existing one is left as is."""
        self._bucket_dir(bucket, must_exist=False).mkdir(parents=True, exist_ok=True)

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket; a missing one is not an error."""
        path = self._bucket_dir(bucket, must_exist=False)
        if not path.is_dir():
            return
        if any(True for _ in self.iter_objects(bucket)):
            raise BucketNotEmptyError(f"bucket {bucket!r} is not empty")
        for folder, _, files in os.walk(path, topdown=False):
            for name in files:  # leftover temporary or sidecar files only
                os.unlink(os.path.join(folder, name))
            os.rmdir(folder)

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket folder exists."""
        return self._bucket_dir(bucket, must_exist=False).is_dir()

    def list_buckets(self) -> list[BucketInfo]:
        """All bucket folders, by name.

        Raises:
            FileNotFoundError: the store's folder does not exist (a bucket
                made in it would make it).
        """
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"the store folder {self.root} does not exist (mb creates it with a first bucket)"
            )
        return [
            BucketInfo(entry.name, _utc(entry.stat().st_mtime))
            for entry in sorted(self.root.iterdir(), key=lambda e: e.name)
            if entry.is_dir() and _BUCKET_NAME.match(entry.name)
        ]


def _encode_token(key: str | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogateescape")).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8", "surrogateescape")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid continuation token {token!r}") from exc
