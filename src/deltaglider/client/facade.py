"""DeltaGliderClient: boto3's S3 client surface over the delta engine.

Keys are logical keys: ``app.zip`` whether it is stored as is or as
``app.zip.delta``; sizes are the files' own sizes; ``reference.bin`` and
``.deltaglider/`` never show.  boto3-style methods take boto3's arguments,
return boto3's response shapes and raise botocore ``ClientError`` with S3's
codes; the simple API (``upload``, ``download``, ``verify``) raises standard
exceptions.  Any other S3 client method is passed to the underlying boto3
client (S3 backend only).

One client may be used from many threads, for reads and writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

from deltaglider.client import lifecycle
from deltaglider.client.body import parse_range, streaming_body
from deltaglider.client.described import DeltaDescriptions
from deltaglider.client.errors import as_client_errors, client_error, s3_exceptions
from deltaglider.client.listing import Lister, decode_token, encode_token
from deltaglider.client.models import BucketStats, UploadSummary
from deltaglider.client.paginator import ListPaginator
from deltaglider.client.urls import parse_s3_url
from deltaglider.core import keys
from deltaglider.core.errors import ObjectNotFoundError
from deltaglider.core.listing import LogicalEntry
from deltaglider.core.models import ObjectKey, PutSummary, StoredObject
from deltaglider.core.service import DeltaService
from deltaglider.core.stats import StatsMode
from deltaglider.fsutil import atomic_writer
from deltaglider.metering import ProgressCallback
from deltaglider.ports.storage import BucketNotFoundError

log = logging.getLogger("deltaglider.client")

_CHUNK = 1 << 20
_EXTRA_ARGS = {"Metadata", "ContentType", "Tagging"}
_STATS_RANK = {"quick": 0, "sampled": 1, "detailed": 2}


def _metadata(status: int = 200) -> dict[str, Any]:
    return {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}


def _quoted(etag: str | None) -> str:
    etag = etag or ""
    return etag if etag.startswith('"') else f'"{etag}"'


class DeltaGliderClient:
    """The SDK client; make one with :func:`deltaglider.create_client`."""

    def __init__(self, service: DeltaService, endpoint_url: str | None = None) -> None:
        self.service = service
        self.endpoint_url = endpoint_url
        self._boto3 = getattr(service.storage, "client", None)
        self._lister = Lister(service)
        self._stats: dict[str, BucketStats] = {}
        self._descriptions = DeltaDescriptions(service)
        self._lifecycle = lifecycle.ManagedPrefixes(self._boto3)
        self._lock = threading.Lock()

    @property
    def exceptions(self) -> Any:
        """botocore's modeled S3 exceptions (``client.exceptions.NoSuchKey``)."""
        return self._boto3.exceptions if self._boto3 is not None else s3_exceptions()

    def __getattr__(self, name: str) -> Any:
        """Any other S3 client method, from the underlying boto3 client."""
        raw = self.__dict__.get("_boto3")
        if raw is None or name.startswith("_"):
            where = " (the local-directory backend has no boto3 client)" if raw is None else ""
            raise AttributeError(f"DeltaGliderClient has no attribute {name!r}{where}")
        return getattr(raw, name)

    # -- objects ------------------------------------------------------------

    def put_object(
        self,
        Bucket: str,
        Key: str,
        Body: bytes | bytearray | memoryview | str | Path | IO[bytes] | None = None,
        Metadata: Mapping[str, str] | None = None,
        ContentType: str | None = None,
        Tagging: str | None = None,
        *,
        delta: bool = True,
        max_ratio: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Store an object, as a delta when it pays; returns boto3's shape
        plus ``DeltaGlider`` (how it was stored).  ``Tagging`` (``a=1&b=2``)
        tags the stored file, never the folder's reference.  ``delta`` and
        ``max_ratio`` (deltaglider extensions) are as for :meth:`upload`."""
        self._ignored("put_object", kwargs)
        with self._errors("PutObject"):
            tags = _tags(Tagging)
            summary = self._put(Bucket, Key, Body, Metadata, ContentType, max_ratio, tags, delta)
        return {
            "ETag": _quoted(summary.etag),
            "ResponseMetadata": _metadata(),
            "DeltaGlider": _delta_info(summary),
        }

    def _put(
        self,
        bucket: str,
        key: str,
        body: bytes | bytearray | memoryview | str | Path | IO[bytes] | None,
        user: Mapping[str, str] | None,
        content_type: str | None,
        max_ratio: float | None,
        tags: Mapping[str, str] | None = None,
        delta: bool = True,
        progress: ProgressCallback | None = None,
    ) -> PutSummary:
        extras: dict[str, Any] = {
            "delta": delta,
            "max_ratio": max_ratio,
            "user_metadata": user,
            "content_type": content_type,
            "tags": self._lifecycle.tags_for(bucket, key, tags),
        }
        try:
            if isinstance(body, Path):
                return self.service.put_file(bucket, key, body, progress=progress, **extras)
            if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
                data = body.encode() if isinstance(body, str) else bytes(body or b"")
                return _reported(self.service.put_bytes(bucket, key, data, **extras), progress)
            with _Spooled(body, self.service.stream_threshold) as spooled:
                if isinstance(spooled, Path):
                    return self.service.put_file(bucket, key, spooled, progress=progress, **extras)
                summary = self.service.put_bytes(bucket, key, spooled, **extras)
                return _reported(summary, progress)
        finally:
            self._changed(bucket)

    def get_object(
        self, Bucket: str, Key: str, Range: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The object's bytes as a botocore ``StreamingBody`` (verified
        before any byte is handed out), with boto3's fields; ``Range``
        (``bytes=first-last``) is honoured."""
        self._ignored("get_object", kwargs)
        with self._errors("GetObject"):
            stream, stored = self.service.open_verified(Bucket, Key)
        response = self._head_fields(stored)
        span: tuple[int, int] | None = (0, stored.size - 1)
        if Range is not None:
            try:
                span = parse_range(Range, stored.size)
            except ValueError as exc:
                stream.close()
                raise self._error("InvalidArgument", str(exc), "GetObject", 400) from exc
            if span is None:
                stream.close()
                raise self._error(
                    "InvalidRange",
                    f"The requested range {Range} is not satisfiable (size {stored.size})",
                    "GetObject",
                    416,
                )
            response["ContentRange"] = f"bytes {span[0]}-{span[1]}/{stored.size}"
            response["ResponseMetadata"] = _metadata(206)
        start, end = span if span is not None and stored.size else (0, -1)
        response["ContentLength"] = end - start + 1
        response["Body"] = streaming_body(stream, start, end - start + 1)
        return response

    def head_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """The object's fields, as boto3's ``head_object`` (a missing object
        raises ClientError ``404``, as S3's HEAD does)."""
        self._ignored("head_object", kwargs)
        with self._errors("HeadObject", head=True):
            stored = self.service.head(Bucket, Key)
            if stored is None:
                raise ObjectNotFoundError(f"s3://{Bucket}/{Key} does not exist")
        return self._head_fields(stored)

    @staticmethod
    def _head_fields(stored: StoredObject) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "AcceptRanges": "bytes",
            "LastModified": stored.last_modified,
            "ContentLength": stored.size,
            "ETag": _quoted(stored.etag),
            "ContentType": stored.content_type or "binary/octet-stream",
            "Metadata": dict(stored.user_metadata),
            "ResponseMetadata": _metadata(),
        }
        return fields

    def delete_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Remove an object (a missing one is not an error, as on S3)."""
        self._ignored("delete_object", kwargs)
        with self._errors("DeleteObject"):
            self._require_bucket(Bucket)
            try:
                self.service.delete(Bucket, Key)
            finally:
                self._changed(Bucket)
        return {"ResponseMetadata": _metadata(204)}

    def delete_objects(
        self, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Remove many objects; per-key failures are reported in ``Errors``."""
        self._ignored("delete_objects", kwargs)
        with self._errors("DeleteObjects"):
            self._require_bucket(Bucket)
        deleted: list[dict[str, str]] = []
        errors: list[dict[str, str]] = []
        try:
            for item in Delete.get("Objects", []):
                key = item["Key"]
                try:
                    with self._errors("DeleteObjects"):
                        self.service.delete(Bucket, key)
                    deleted.append({"Key": key})
                except Exception as exc:  # reported per key, as S3 does
                    code = (
                        getattr(exc, "response", {}).get("Error", {}).get("Code", "InternalError")
                    )
                    errors.append({"Key": key, "Code": code, "Message": str(exc)})
        finally:
            self._changed(Bucket)
        response: dict[str, Any] = {"ResponseMetadata": _metadata()}
        if deleted and not Delete.get("Quiet", False):
            response["Deleted"] = deleted
        if errors:
            response["Errors"] = errors
        return response

    def copy_object(
        self,
        Bucket: str,
        Key: str,
        CopySource: str | Mapping[str, str],
        MetadataDirective: str = "COPY",
        Metadata: Mapping[str, str] | None = None,
        ContentType: str | None = None,
        *,
        delta: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Copy a logical object (to any space or bucket), stored at the
        destination as a delta when it pays there (``delta=False``, a
        deltaglider extension: as is).  The response's ``DeltaGlider``
        says how it was stored."""
        self._ignored("copy_object", kwargs)
        if isinstance(CopySource, str):
            source_bucket, _, source_key = CopySource.lstrip("/").partition("/")
        else:
            source_bucket, source_key = CopySource["Bucket"], CopySource["Key"]
        if MetadataDirective not in ("COPY", "REPLACE"):
            raise self._error(
                "InvalidArgument", "MetadataDirective must be COPY or REPLACE", "CopyObject", 400
            )
        with self._errors("CopyObject"):
            stream, stored = self.service.open_verified(source_bucket, source_key)
            tags = self.service.get_tags(source_bucket, source_key)  # copied, as S3 does
            with stream:
                replace = MetadataDirective == "REPLACE"
                summary = self._put(
                    Bucket,
                    Key,
                    stream,
                    dict(Metadata or {}) if replace else stored.user_metadata,
                    ContentType if replace else stored.content_type,
                    None,
                    tags,
                    delta,
                )
        return {
            "CopyObjectResult": {
                "ETag": _quoted(summary.etag),
                "LastModified": datetime.now(UTC),
            },
            "ResponseMetadata": _metadata(),
            "DeltaGlider": _delta_info(summary),
        }

    def get_object_tagging(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """The tags of a logical object, as boto3's ``get_object_tagging``."""
        self._ignored("get_object_tagging", kwargs)
        with self._errors("GetObjectTagging"):
            tags = self.service.get_tags(Bucket, Key)
        return {
            "TagSet": [{"Key": k, "Value": v} for k, v in tags.items()],
            "ResponseMetadata": _metadata(),
        }

    def put_object_tagging(
        self, Bucket: str, Key: str, Tagging: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Replace the tags of a logical object (its delta or itself)."""
        self._ignored("put_object_tagging", kwargs)
        tags = {t["Key"]: t["Value"] for t in Tagging.get("TagSet", [])}
        with self._errors("PutObjectTagging"):
            self.service.put_tags(Bucket, Key, tags)
        return {"ResponseMetadata": _metadata()}

    # -- listing ------------------------------------------------------------

    def list_objects_v2(
        self,
        Bucket: str,
        Prefix: str = "",
        Delimiter: str = "",
        MaxKeys: int = 1000,
        ContinuationToken: str | None = None,
        StartAfter: str | None = None,
        FetchMetadata: bool = False,
        EncodingType: str = "url",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One page of logical objects, as boto3's ``list_objects_v2``
        (keys come decoded, as boto3 hands them over)."""
        self._ignored("list_objects_v2", kwargs)
        response = self._list(
            "ListObjectsV2", Bucket, Prefix, Delimiter, MaxKeys, ContinuationToken, StartAfter,
            FetchMetadata,
        )  # fmt: skip
        response["EncodingType"] = EncodingType
        return response

    def list_objects(
        self,
        Bucket: str,
        Prefix: str = "",
        Delimiter: str = "",
        MaxKeys: int = 1000,
        ContinuationToken: str | None = None,
        StartAfter: str | None = None,
        FetchMetadata: bool = False,
        Marker: str | None = None,
        EncodingType: str = "url",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One page of logical objects.  Takes ``ContinuationToken`` and
        ``StartAfter`` (as the API reference documents) or boto3's ``Marker``;
        returns the v2 fields plus ``Marker``/``NextMarker``."""
        self._ignored("list_objects", kwargs)
        after = StartAfter if Marker is None else max(Marker, StartAfter or "")
        response = self._list(
            "ListObjects", Bucket, Prefix, Delimiter, MaxKeys, ContinuationToken, after,
            FetchMetadata,
        )  # fmt: skip
        response["Marker"] = Marker or ""
        response["EncodingType"] = EncodingType
        if response["IsTruncated"]:
            response["NextMarker"] = decode_token(response["NextContinuationToken"])
        return response

    def _list(
        self,
        operation: str,
        bucket: str,
        prefix: str,
        delimiter: str,
        max_keys: int,
        token: str | None,
        start_after: str | None,
        fetch_metadata: bool,
    ) -> dict[str, Any]:
        if max_keys < 0:
            raise self._error("InvalidArgument", "MaxKeys must not be negative", operation, 400)
        after = start_after or None
        if token is not None:
            try:
                after = decode_token(token)
            except ValueError as exc:
                raise self._error("InvalidArgument", str(exc), operation, 400) from exc
        with self._errors(operation):
            page = self._lister.page(
                bucket, prefix, delimiter, min(max_keys, 1000), after, continuing=token is not None
            )
        deltas = [e for e in page.objects if e.is_delta]
        described: dict[str, StoredObject] = {}
        if fetch_metadata:
            described = self._descriptions.describe(bucket, deltas)
            sizes = {key: stored.size for key, stored in described.items()}
        else:
            sizes = self._descriptions.sizes(bucket, deltas)
        plain = self._descriptions.plain_names(bucket, deltas)
        contents = []
        for entry in page.objects:
            item: dict[str, Any] = {
                "Key": plain.get(entry.key, entry.key),
                "LastModified": entry.last_modified,
                "ETag": _quoted(entry.etag),
                "Size": sizes.get(entry.key, entry.stored_size),
                "StorageClass": "STANDARD",
            }
            if fetch_metadata:
                item["Metadata"] = _compression_metadata(entry, described.get(entry.key))
            contents.append(item)
        contents.sort(key=lambda c: c["Key"].encode("utf-8", "surrogateescape"))
        response: dict[str, Any] = {
            "IsTruncated": page.is_truncated,
            "Name": bucket,
            "Prefix": prefix,
            "MaxKeys": max_keys,
            "KeyCount": len(contents) + len(page.common_prefixes),
            "ResponseMetadata": _metadata(),
        }
        if contents:
            response["Contents"] = contents
        if page.common_prefixes:
            response["CommonPrefixes"] = [{"Prefix": p} for p in page.common_prefixes]
        if delimiter:
            response["Delimiter"] = delimiter
        if token is not None:
            response["ContinuationToken"] = token
        if start_after:
            response["StartAfter"] = start_after
        if page.is_truncated and page.last_key is not None:
            response["NextContinuationToken"] = encode_token(page.last_key)
        return response

    def get_paginator(self, operation_name: str) -> Any:
        """Paginators for ``list_objects_v2`` and ``list_objects`` yield
        logical pages; others come from the boto3 client."""
        if operation_name in ("list_objects_v2", "list_objects"):
            return ListPaginator(getattr(self, operation_name), operation_name)
        if self._boto3 is None:
            raise ValueError(f"no paginator {operation_name!r} on the local-directory backend")
        return self._boto3.get_paginator(operation_name)

    # -- buckets ------------------------------------------------------------

    def create_bucket(
        self,
        Bucket: str,
        CreateBucketConfiguration: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a bucket; an existing one is success (idempotent)."""
        self._ignored("create_bucket", kwargs)
        if CreateBucketConfiguration and self._boto3 is not None:
            with contextlib.suppress(self._boto3.exceptions.BucketAlreadyOwnedByYou):
                self._boto3.create_bucket(
                    Bucket=Bucket, CreateBucketConfiguration=dict(CreateBucketConfiguration)
                )
        else:
            with self._errors("CreateBucket"):
                self.service.create_bucket(Bucket)
        self._changed(Bucket)
        return {"Location": f"/{Bucket}", "ResponseMetadata": _metadata()}

    def delete_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Delete an empty bucket; a missing one is success (idempotent)."""
        self._ignored("delete_bucket", kwargs)
        with self._errors("DeleteBucket"):
            self.service.delete_bucket(Bucket)
        self._changed(Bucket)
        return {"ResponseMetadata": _metadata(204)}

    def list_buckets(self, **kwargs: Any) -> dict[str, Any]:
        """Every bucket, with ``DeltaGliderStats`` where stats are cached."""
        self._ignored("list_buckets", kwargs)
        with self._errors("ListBuckets"):
            infos = self.service.list_buckets()
        buckets = []
        for info in infos:
            entry: dict[str, Any] = {"Name": info.name, "CreationDate": info.created}
            with self._lock:
                stats = self._stats.get(info.name)
            if stats is not None:
                entry["DeltaGliderStats"] = {
                    "Cached": True,
                    "Detailed": stats.detailed,
                    "ObjectCount": stats.object_count,
                    "TotalSize": stats.total_size,
                    "CompressedSize": stats.compressed_size,
                    "SpaceSaved": stats.space_saved,
                    "AverageCompressionRatio": stats.average_compression_ratio,
                    "DeltaObjects": stats.delta_objects,
                    "DirectObjects": stats.direct_objects,
                }
            buckets.append(entry)
        return {
            "Buckets": buckets,
            "Owner": {"DisplayName": "", "ID": ""},
            "ResponseMetadata": _metadata(),
        }

    def get_bucket_acl(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """The bucket's ACL (from S3; a local directory is its owner's alone)."""
        if self._boto3 is not None:
            acl: dict[str, Any] = self._boto3.get_bucket_acl(Bucket=Bucket, **kwargs)
            return acl
        with self._errors("GetBucketAcl"):
            self._require_bucket(Bucket)
        owner = {"DisplayName": "local", "ID": "local"}
        grant = {"Grantee": {**owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
        return {"Owner": owner, "Grants": [grant], "ResponseMetadata": _metadata()}

    def put_bucket_acl(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Set the bucket's ACL (S3 backend; a local directory has file
        permissions instead)."""
        if self._boto3 is None:
            raise self._error(
                "NotImplemented",
                "bucket ACLs need an S3 endpoint; a local directory uses file permissions",
                "PutBucketAcl",
                501,
            )
        acl: dict[str, Any] = self._boto3.put_bucket_acl(Bucket=Bucket, **kwargs)
        return acl

    def get_bucket_stats(
        self,
        bucket: str,
        detailed_stats: bool = False,
        *,
        mode: StatsMode | None = None,
        use_cache: bool = True,
    ) -> BucketStats:
        """Counts and sizes of a bucket, cached for this client until it
        changes the bucket (or :meth:`clear_cache`).

        Quick stats (the default) estimate each delta's size as its
        reference's; ``mode="sampled"`` reads one delta per folder;
        detailed stats (``detailed_stats=True`` or ``mode="detailed"``)
        read every delta.  Sizes read are kept in the bucket, so later
        sampled or detailed runs read only new deltas; ``use_cache=False``
        ignores both caches."""
        chosen: StatsMode = mode or ("detailed" if detailed_stats else "quick")
        with self._lock:
            cached = self._stats.get(bucket)
        if use_cache and cached is not None and _STATS_RANK[cached.mode] >= _STATS_RANK[chosen]:
            return cached
        stats = self.service.bucket_stats(bucket, mode=chosen, use_cache=use_cache)
        with self._lock:
            self._stats[bucket] = stats
        return stats

    # -- transfers (boto3's managed-transfer methods) -----------------------

    def upload_file(
        self,
        Filename: str | os.PathLike[str],
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callable[[int], object] | None = None,
        Config: Any = None,
    ) -> None:
        """Store a local file (as boto3's ``upload_file``)."""
        self._transfer_in(Bucket, Key, Path(Filename), ExtraArgs, Callback)

    def upload_fileobj(
        self,
        Fileobj: IO[bytes],
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callable[[int], object] | None = None,
        Config: Any = None,
    ) -> None:
        """Store what a binary file object holds (as boto3's ``upload_fileobj``)."""
        self._transfer_in(Bucket, Key, Fileobj, ExtraArgs, Callback)

    def _transfer_in(
        self,
        bucket: str,
        key: str,
        body: Path | IO[bytes],
        extra_args: Mapping[str, Any] | None,
        callback: ProgressCallback | None,
    ) -> None:
        extra = self._extra_args(extra_args)
        with self._errors("PutObject"):
            self._put(
                bucket,
                key,
                body,
                extra.get("Metadata"),
                extra.get("ContentType"),
                None,
                _tags(extra.get("Tagging")),
                progress=callback,
            )

    def download_file(
        self,
        Bucket: str,
        Key: str,
        Filename: str | os.PathLike[str],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callable[[int], object] | None = None,
        Config: Any = None,
    ) -> None:
        """Write an object to a file: verified, then renamed into place.
        ``Callback`` gets the bytes rebuilt as they are."""
        with self._errors("GetObject"):
            stream, _ = self.service.open_verified(Bucket, Key, progress=Callback)
        with stream, atomic_writer(Filename) as out:
            shutil.copyfileobj(stream, out, _CHUNK)

    def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: IO[bytes],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callable[[int], object] | None = None,
        Config: Any = None,
    ) -> None:
        """Write an object's verified bytes into a binary file object.
        ``Callback`` gets the bytes rebuilt as they are."""
        with self._errors("GetObject"):
            stream, _ = self.service.open_verified(Bucket, Key, progress=Callback)
        with stream:
            shutil.copyfileobj(stream, Fileobj, _CHUNK)

    # -- presigned URLs -----------------------------------------------------

    def generate_presigned_url(
        self,
        ClientMethod: str,
        Params: Mapping[str, Any] | None = None,
        ExpiresIn: int = 3600,
        HttpMethod: str | None = None,
    ) -> str:
        """A presigned URL (S3 backend).  A ``get_object`` URL for a file
        stored as a delta points at a verified copy of the file rebuilt
        under ``.deltaglider/tmp/`` that expires with the URL (remove expired
        copies with :meth:`purge_temp_files`).  Other methods are signed
        by boto3 as they are: a presigned PUT stores the file as is."""
        if self._boto3 is None:
            raise self._error(
                "NotImplemented",
                "presigned URLs need an S3 endpoint (not the local-directory backend)",
                "GeneratePresignedUrl",
                501,
            )
        params = dict(Params or {})
        if ClientMethod == "get_object" and "Range" not in params:
            with self._errors("GetObject"):
                stored = self.service.head(params["Bucket"], params["Key"])
                if stored is None:
                    raise ObjectNotFoundError(
                        f"s3://{params['Bucket']}/{params['Key']} does not exist"
                    )
                if stored.is_delta:
                    params["Key"] = self._rehydrate(stored, ExpiresIn)
        url: str = self._boto3.generate_presigned_url(
            ClientMethod, Params=params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    def generate_presigned_post(
        self,
        Bucket: str,
        Key: str,
        Fields: Mapping[str, Any] | None = None,
        Conditions: list[Any] | None = None,
        ExpiresIn: int = 3600,
    ) -> dict[str, Any]:
        """A presigned POST (S3 backend), signed by boto3: a browser upload
        through it stores the file as is, without delta compression (the
        bucket's folder stays readable; ``copy_object`` onto itself later
        would compress it)."""
        if self._boto3 is None:
            raise self._error(
                "NotImplemented",
                "presigned POSTs need an S3 endpoint (not the local-directory backend)",
                "GeneratePresignedPost",
                501,
            )
        post: dict[str, Any] = self._boto3.generate_presigned_post(
            Bucket, Key, Fields=Fields, Conditions=Conditions, ExpiresIn=ExpiresIn
        )
        return post

    def _rehydrate(self, stored: StoredObject, expires_in: int) -> str:
        expires = datetime.now(UTC) + timedelta(seconds=expires_in)
        return self.service.temp_copy(stored, expires)

    def purge_temp_files(self, bucket: str, dry_run: bool = False) -> list[str]:
        """Remove the expired rebuilt copies under ``.deltaglider/tmp/``;
        returns their keys (only listed with ``dry_run``)."""
        return self.service.purge_temp_copies(bucket, datetime.now(UTC), dry_run=dry_run)

    # -- the simple API -----------------------------------------------------

    def upload(
        self,
        file_path: str | os.PathLike[str],
        s3_url: str,
        tags: Mapping[str, str] | None = None,
        max_ratio: float | None = None,
        *,
        delta: bool = True,
        progress: ProgressCallback | None = None,
    ) -> UploadSummary:
        """Store a local file at ``s3_url``: into the folder when the URL
        ends with ``/`` (or is a bucket), else under the URL's key.
        ``delta=False`` stores it as is (no reference, no delta);
        ``progress`` is called with the bytes consumed since its last call."""
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        bucket, key = parse_s3_url(s3_url)
        if not key or key.endswith("/"):
            key = key + path.name
        summary = self._put(bucket, key, path, None, None, max_ratio, tags, delta, progress)
        return _upload_summary(summary)

    def download(
        self,
        s3_url: str,
        output_path: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Rebuild ``s3://bucket/key`` into ``output_path`` (written only
        once verified); ``progress`` is called with the bytes written since
        its last call."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        self.service.get(ObjectKey(bucket, key), Path(output_path), progress=progress)

    def verify(self, s3_url: str) -> bool:
        """Rebuild an object and check it against its recorded SHA-256."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        return self.service.verify(ObjectKey(bucket, key)).valid

    def upload_batch(
        self,
        files: Sequence[str | os.PathLike[str]],
        s3_url: str,
        max_ratio: float | None = None,
        progress_callback: Callable[[str, int, int], object] | None = None,
        max_workers: int = 4,
    ) -> list[UploadSummary]:
        """Upload files into one ``s3://bucket/folder/`` concurrently; the
        summaries come back in the order of ``files``.  ``progress_callback``
        gets (file name, files done, files in all) as each one finishes."""
        if not s3_url.endswith("/"):
            raise ValueError(f"upload_batch needs a folder URL ending with '/': {s3_url!r}")
        return self._batch(
            [Path(f) for f in files],
            lambda path: self.upload(path, s3_url, max_ratio=max_ratio),
            lambda path: path.name,
            progress_callback,
            max_workers,
        )

    def download_batch(
        self,
        s3_urls: Sequence[str],
        output_dir: str | os.PathLike[str],
        progress_callback: Callable[[str, int, int], object] | None = None,
        max_workers: int = 4,
    ) -> list[Path]:
        """Download objects into ``output_dir`` (each under its own name)
        concurrently; returns the paths in the order of ``s3_urls``."""
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)

        def fetch(url: str) -> Path:
            _, key = parse_s3_url(url, need_key=True)
            target = folder / keys.split_key(key)[1]
            self.download(url, target)
            return target

        return self._batch(list(s3_urls), fetch, str, progress_callback, max_workers)

    @staticmethod
    def _batch(
        items: list[Any],
        work: Callable[[Any], Any],
        name: Callable[[Any], str],
        progress: Callable[[str, int, int], object] | None,
        max_workers: int,
    ) -> list[Any]:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        done = 0
        lock = threading.Lock()

        def run(item: Any) -> Any:
            nonlocal done
            result = work(item)
            if progress is not None:
                with lock:
                    done += 1
                    progress(name(item), done, len(items))
            return result

        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            return list(pool.map(run, items))

    def get_object_info(self, s3_url: str) -> dict[str, Any]:
        """How an object is stored: logical and stored sizes, form, hashes."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        stored = self.service.head(bucket, key)
        if stored is None:
            raise FileNotFoundError(f"{s3_url} does not exist")
        return {
            "key": stored.key,
            "stored_key": stored.physical_key,
            "size": stored.size,
            "stored_size": stored.stored_size,
            "is_delta": stored.is_delta,
            "compression_ratio": stored.stored_size / stored.size if stored.size else 1.0,
            "sha256": stored.sha256,
            "reference_key": stored.reference_key,
            "last_modified": stored.last_modified,
            "etag": _quoted(stored.etag),
            "content_type": stored.content_type,
            "metadata": dict(stored.user_metadata),
        }

    def delete_objects_recursive(self, Bucket: str, Prefix: str) -> dict[str, Any]:
        """Delete every logical object under ``Prefix`` (their deltas and,
        once unused, their references); as ``delete_objects`` answers."""
        with self._errors("DeleteObjects"):
            listing = self.service.list_logical(Bucket, Prefix)
        objects = [{"Key": entry.key} for entry in listing.objects]
        if not objects:
            return {"Deleted": [], "ResponseMetadata": _metadata()}
        return self.delete_objects(Bucket=Bucket, Delete={"Objects": objects})

    def estimate_compression(
        self,
        file_path: str | os.PathLike[str],
        bucket: str,
        prefix: str = "",
        max_ratio: float | None = None,
    ) -> dict[str, Any]:
        """What uploading ``file_path`` into ``bucket/prefix`` would store,
        found by encoding it against the folder's reference (nothing is
        written)."""
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        key = keys.join_key(prefix.strip("/"), path.name)
        form, stored = self.service.estimate_put(bucket, key, path, max_ratio)
        size = path.stat().st_size
        return {
            "key": key,
            "original_size": size,
            "estimated_stored_size": stored,
            "stored_as": form,
            "estimated_ratio": stored / size if size else 1.0,
            "savings_percent": 100.0 * (1 - stored / size) if size else 0.0,
        }

    def lifecycle_policy(
        self, s3_prefix: str, days_before_archive: int = 30, days_before_delete: int = 90
    ) -> None:
        """Archive (to GLACIER) and then delete the files under ``s3_prefix``
        after so many days, never a ``reference.bin`` (S3 backend).

        The bucket gets a lifecycle rule matching only objects tagged as
        files (see :mod:`deltaglider.client.lifecycle`); the files already
        under the prefix are tagged now, new ones as they are stored.
        ``days_before_archive=0`` deletes without archiving first.

        Raises:
            ValueError: a bad URL or days out of order.
            NotImplementedError: the local-directory backend (no lifecycle).
        """
        bucket, prefix = parse_s3_url(s3_prefix)
        new_rule = lifecycle.rule(prefix, days_before_archive, days_before_delete)
        if self._boto3 is None:
            raise NotImplementedError("lifecycle rules need an S3 endpoint")
        rules = lifecycle.merged(lifecycle.read_rules(self._boto3, bucket), new_rule)
        self._boto3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
        self._lifecycle.remember(bucket, lifecycle.managed_prefixes(rules))
        for entry in self.service.list_logical(bucket, prefix).objects:
            tags = self.service.get_tags(bucket, entry.key)
            if tags.get(lifecycle.TAG[0]) != lifecycle.TAG[1]:
                self.service.put_tags(
                    bucket, entry.key, {**tags, lifecycle.TAG[0]: lifecycle.TAG[1]}
                )

    def save_delta_sizes(self) -> None:
        """Add the file sizes this client's listings read by HEAD to the
        buckets' size caches, so later listings (by any client) and
        ``stats`` need not read them again (a deltaglider extension; the
        command line's ``ls`` and ``sync`` call it).  Only caches a listing
        used are written: those of pages with many deltas of unknown size.
        Credentials that cannot write leave the caches as they were."""
        self._descriptions.save_sizes()

    def clear_cache(self) -> None:
        """Forget cached references, statistics, listings and heads."""
        self.service.cache.clear()
        self._lister.forget()
        self._descriptions.forget()
        with self._lock:
            self._stats.clear()

    def evict_cache(self, s3_url: str) -> None:
        """Drop one space's reference from the cache (``s3://b/p/reference.bin``
        or any key of the space)."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        self.service.evict_reference(bucket, keys.reference_key(keys.split_key(key)[0]))

    # -- helpers ------------------------------------------------------------

    def _errors(self, operation: str, *, head: bool = False) -> Any:
        return as_client_errors(operation, head=head, exceptions=self.exceptions)

    def _error(self, code: str, message: str, operation: str, status: int) -> Exception:
        return client_error(code, message, operation, status, self.exceptions)

    def _changed(self, bucket: str) -> None:
        self._lister.forget(bucket)
        with self._lock:
            self._stats.pop(bucket, None)

    def _require_bucket(self, bucket: str) -> None:
        if not self.service.bucket_exists(bucket):
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist")

    @staticmethod
    def _extra_args(extra: Mapping[str, Any] | None) -> dict[str, Any]:
        unknown = set(extra or {}) - _EXTRA_ARGS
        if unknown:
            raise ValueError(
                f"unsupported ExtraArgs {sorted(unknown)}; supported: {sorted(_EXTRA_ARGS)}"
            )
        return dict(extra or {})

    @staticmethod
    def _ignored(operation: str, kwargs: Mapping[str, Any]) -> None:
        if kwargs:
            log.warning("%s: ignoring unsupported arguments %s", operation, sorted(kwargs))


def _reported(summary: PutSummary, progress: ProgressCallback | None) -> PutSummary:
    """Report a put of bytes already in memory as done, all at once."""
    if progress is not None and summary.file_size:
        progress(summary.file_size)
    return summary


class _Spooled:
    """A file object's bytes: in memory up to ``limit``, else copied to a
    private temporary file (removed on exit) so large bodies stream."""

    def __init__(self, fileobj: IO[bytes], limit: int) -> None:
        self._fileobj = fileobj
        self._limit = limit
        self._folder: str | None = None

    def __enter__(self) -> bytes | Path:
        head = self._fileobj.read(self._limit + 1)
        if len(head) <= self._limit:
            return bytes(head)
        self._folder = tempfile.mkdtemp(prefix="deltaglider-upload-")
        path = Path(self._folder) / "body"
        with open(path, "wb") as out:
            out.write(head)
            shutil.copyfileobj(self._fileobj, out, _CHUNK)
        return path

    def __exit__(self, *_: object) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _tags(tagging: str | None) -> dict[str, str] | None:
    """``a=1&b=2`` (S3's Tagging header form) as a dict."""
    return dict(parse_qsl(tagging, keep_blank_values=True)) if tagging else None


def _delta_info(summary: PutSummary) -> dict[str, Any]:
    upload = _upload_summary(summary)
    return {
        "Operation": upload.operation,
        "IsDelta": upload.is_delta,
        "OriginalSize": upload.original_size,
        "StoredSize": upload.stored_size,
        "DeltaRatio": upload.delta_ratio,
        "ReferenceCreated": summary.reference_created,
    }


def _upload_summary(summary: PutSummary) -> UploadSummary:
    if summary.operation != "PUT_DELTA" or summary.delta_size is None:
        size = summary.file_size
        return UploadSummary("PUT", summary.bucket, summary.key, size, size, False)
    # The first file of a space is stored in full, as its reference.
    stored = summary.delta_size + (summary.file_size if summary.reference_created else 0)
    return UploadSummary(
        "PUT_DELTA",
        summary.bucket,
        summary.key,
        summary.file_size,
        stored,
        True,
        summary.delta_ratio or 0.0,
    )


def _compression_metadata(entry: LogicalEntry, stored: StoredObject | None) -> dict[str, str]:
    if stored is not None and stored.problem is not None:
        return {"deltaglider-is-delta": "false", "deltaglider-problem": stored.problem}
    if stored is None or not stored.is_delta:
        return {"deltaglider-is-delta": "false"}
    ratio = entry.stored_size / stored.size if stored.size else 0.0
    return {
        "deltaglider-is-delta": "true",
        "deltaglider-original-size": str(stored.size),
        "deltaglider-stored-size": str(entry.stored_size),
        "deltaglider-compression-ratio": f"{ratio:.4f}",
        "deltaglider-reference-key": stored.reference_key or "",
    }
