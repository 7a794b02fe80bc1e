"""The storage port over S3 (AWS or any S3-compatible server) with boto3.

One botocore client serves the adapter, with retries and timeouts set in
its ``Config``; it is thread-safe.  Bodies up to ``multipart_threshold`` go
in one PutObject; larger streams use boto3's transfer manager (multipart, in
parallel).  Conditional creates (``If-None-Match: *``) of large streams use
a multipart upload of our own, the condition on its completion.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header, decode_header, make_header
from email.utils import format_datetime
from typing import Any, BinaryIO, cast
from urllib.parse import urlencode

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from deltaglider.core.errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from deltaglider.ports.storage import (
    OBJECT_FIELDS,
    WRITE_ONLY_FIELDS,
    BucketInfo,
    ListedObject,
    ListPage,
    ObjectHead,
    PendingUpload,
    iter_listing,
)

DEFAULT_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "adaptive"},
    connect_timeout=10,
    read_timeout=120,
    max_pool_connections=32,
)
MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 16 << 20
MAX_KEY_BYTES = 1024

_MISSING = {"404", "NoSuchKey", "NotFound"}
_call_log = logging.getLogger("deltaglider.s3")
_DENIED = {"AccessDenied", "403", "AllAccessDisabled"}
_CREDENTIALS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _encode_value(value: str) -> str:
    """S3 metadata is ASCII: carry other text as an RFC 2047 encoded word,
    the form S3 itself returns non-ASCII metadata in."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(maxlinelen=10_000)


def _decode_value(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


@dataclass
class _Outcome:
    """Whether a call inside :meth:`S3Storage._errors` found its target
    absent (an error code the caller expects)."""

    absent: bool = False


def _owner(listed: Mapping[str, str] | None) -> tuple[str, str] | None:
    if not listed or "ID" not in listed:
        return None
    return listed["ID"], listed.get("DisplayName", "")


def _raise_for(error: ClientError, bucket: str, key: str | None = None) -> None:
    """Translate a ClientError into the port's exceptions (or re-raise it)."""
    code = _code(error)
    where = f"s3://{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
    if code == "NoSuchBucket":
        raise BucketNotFoundError(f"bucket {bucket!r} does not exist") from error
    if code in _MISSING:
        raise ObjectNotFoundError(f"{where} does not exist") from error
    if code in ("PreconditionFailed", "412"):
        raise PreconditionFailedError(f"{where}: precondition failed ({code})") from error
    if code in _DENIED or code in _CREDENTIALS:
        message = error.response.get("Error", {}).get("Message") or code
        raise PermissionError(f"{where}: access denied ({code}: {message})") from error
    if code == "BucketNotEmpty":
        raise BucketNotEmptyError(f"bucket {bucket!r} is not empty") from error
    raise error


class S3Storage:
    """Implements :class:`deltaglider.ports.storage.StoragePort` on S3."""

    object_fields = frozenset(OBJECT_FIELDS + WRITE_ONLY_FIELDS)

    def __init__(
        self,
        client: Any,
        *,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
    ) -> None:
        self.client = client
        client.meta.events.register("before-call.s3", _log_call)
        client.meta.events.register_first("before-send.s3", _no_expect_for_empty_body)
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=part_size
        )

    @classmethod
    def connect(
        cls,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        config: Config | None = None,
    ) -> S3Storage:
        """A store for an endpoint; unset arguments come from the usual
        ``AWS_*`` environment variables and config files."""
        session = boto3.session.Session(
            profile_name=profile_name,
            region_name=region_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        client = session.client(
            "s3", endpoint_url=endpoint_url, config=DEFAULT_CONFIG.merge(config or Config())
        )
        return cls(client)

    @contextlib.contextmanager
    def _errors(
        self, bucket: str, key: str | None = None, *, absent: Collection[str] = ()
    ) -> Iterator[_Outcome]:
        """Run S3 calls, raising the port's exceptions for their errors; an
        error whose code is in ``absent`` is no error: the outcome says so."""
        outcome = _Outcome()
        try:
            yield outcome
        except ClientError as error:
            if _code(error) not in absent:
                self._fail(error, bucket, key)
            outcome.absent = True

    def _fail(self, error: ClientError, bucket: str, key: str | None = None) -> None:
        """Raise the port's exception for ``error``.  Some servers (SeaweedFS)
        deny access to a missing bucket instead of saying it is missing."""
        if _code(error) in _DENIED and key is not None and not self.bucket_exists(bucket):
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist") from error
        _raise_for(self._explained(error, bucket), bucket, key)

    def _explained(self, error: ClientError, bucket: str) -> ClientError:
        """A HEAD's bare ``403`` has no body to say why; a one-key listing
        of the bucket does (``SignatureDoesNotMatch``, ``InvalidAccessKeyId``,
        ``AccessDenied``...), so a denied HEAD is reported with its cause."""
        if _code(error) != "403":
            return error
        try:
            self.client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        except ClientError as cause:
            if _code(cause) not in ("403", *_MISSING, "NoSuchBucket"):
                return cause
        return error

    # -- objects -----------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's head, or None when it does not exist."""
        with self._errors(bucket, key, absent=_MISSING) as outcome:
            response = self.client.head_object(Bucket=bucket, Key=key)
        return None if outcome.absent else self._head(key, response)

    @staticmethod
    def _head(key: str, response: Mapping[str, Any]) -> ObjectHead:
        return ObjectHead(
            key=key,
            size=int(response["ContentLength"]),
            etag=str(response.get("ETag", "")),
            last_modified=_aware(response["LastModified"]),
            metadata={k.lower(): _decode_value(v) for k, v in response.get("Metadata", {}).items()},
            content_type=response.get("ContentType"),
            fields=_fields_of(response),
        )

    def open(
        self, bucket: str, key: str, *, if_match: str | None = None
    ) -> tuple[ObjectHead, BinaryIO]:
        """A streaming body of the object (of the version ``if_match``
        names, when given); the caller closes it."""
        extra = {"IfMatch": if_match} if if_match else {}
        with self._errors(bucket, key):
            response = self.client.get_object(Bucket=bucket, Key=key, **extra)
        return self._head(key, response), cast(BinaryIO, response["Body"])

    def check_key(self, key: str) -> None:
        """S3 keys are at most 1,024 bytes of UTF-8."""
        size = len(key.encode("utf-8", "surrogateescape"))
        if size > MAX_KEY_BYTES:
            raise InvalidKeyError(f"key {key[:40]!r}...: {size} bytes, S3 allows {MAX_KEY_BYTES}")

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
        """Store an object and return its ETag."""
        extra: dict[str, Any] = {"Metadata": {k: _encode_value(v) for k, v in metadata.items()}}
        extra.update(_put_fields(fields or {}))
        if content_type:
            extra["ContentType"] = content_type
        if tags:
            extra["Tagging"] = urlencode(dict(tags))
        condition = {"IfNoneMatch": "*"} if if_none_match else {}
        if if_match is not None:
            condition = {"IfMatch": if_match}
        with self._errors(bucket, key):
            if isinstance(body, (bytes, bytearray, memoryview)):
                response = self.client.put_object(
                    Bucket=bucket, Key=key, Body=bytes(body), **extra, **condition
                )
                return str(response.get("ETag", ""))
            if condition:
                return self._put_stream_conditionally(bucket, key, body, extra, condition)
            self.client.upload_fileobj(body, bucket, key, ExtraArgs=extra, Config=self._transfer)
        head = self.head(bucket, key)
        return head.etag if head is not None else ""

    def _put_stream_conditionally(
        self,
        bucket: str,
        key: str,
        body: BinaryIO,
        extra: dict[str, Any],
        condition: dict[str, str],
    ) -> str:
        """A conditional write from a stream: one streamed PutObject, or a
        multipart upload whose completion carries the condition (the
        transfer manager cannot pass it), one part in memory at a time."""
        start = body.tell()
        size = body.seek(0, io.SEEK_END) - start
        body.seek(start)
        if size <= self.multipart_threshold:
            response = self.client.put_object(
                Bucket=bucket, Key=key, Body=body, **condition, **extra
            )
            return str(response.get("ETag", ""))
        upload = self.client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        try:
            parts = []
            number = 1
            while part := body.read(self.part_size):
                response = self.client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=part
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
                number += 1
            response = self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                **condition,
            )
        except BaseException:
            with contextlib.suppress(ClientError):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise
        return str(response.get("ETag", ""))

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        """An object's tags."""
        with self._errors(bucket, key):
            response = self.client.get_object_tagging(Bucket=bucket, Key=key)
        return {t["Key"]: t["Value"] for t in response.get("TagSet", [])}

    def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace an object's tags."""
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        with self._errors(bucket, key):
            self.client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """Remove an object (only the version ``if_match`` names, when
        given); a missing object is not an error."""
        extra = {"IfMatch": if_match} if if_match else {}
        # Some servers (SeaweedFS) fail the condition of a missing key:
        # removing what is already gone is not an error.
        failed = {*_MISSING, "PreconditionFailed", "412"} if if_match else set()
        with self._errors(bucket, key, absent=failed) as outcome:
            self.client.delete_object(Bucket=bucket, Key=key, **extra)
        if outcome.absent and self.head(bucket, key) is not None:
            raise PreconditionFailedError(f"s3://{bucket}/{key}: precondition failed")

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        """A server-side copy (multipart for large objects), metadata kept,
        and the source's encryption and storage class (S3 would give the
        copy the bucket's defaults)."""
        source = {"Bucket": bucket, "Key": source_key}
        found = self.head(bucket, source_key)
        if found is None:
            raise ObjectNotFoundError(f"s3://{bucket}/{source_key} does not exist")
        kept = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "StorageClass")
        extra = _put_fields({k: v for k, v in found.fields.items() if k in kept})
        with self._errors(bucket, source_key):
            self.client.copy(source, bucket, key, ExtraArgs=extra, Config=self._transfer)
        head = self.head(bucket, key)
        return head.etag if head is not None else ""

    # -- listing -----------------------------------------------------------

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
        """One ListObjectsV2 page."""
        args: dict[str, Any] = {
            "Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys, "FetchOwner": True,
        }  # fmt: skip
        if delimiter:
            args["Delimiter"] = delimiter
        if token:
            args["ContinuationToken"] = token
        elif start_after:
            args["StartAfter"] = start_after
        with self._errors(bucket):
            response = self.client.list_objects_v2(**args)
        objects = [
            ListedObject(
                key=item["Key"],
                size=int(item["Size"]),
                etag=str(item.get("ETag", "")),
                last_modified=_aware(item["LastModified"]),
                owner=_owner(item.get("Owner")),
            )
            for item in response.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        next_token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return ListPage(objects, prefixes, next_token)

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ListedObject]:
        """Every object under ``prefix``."""
        return iter_listing(self.list_objects, bucket, prefix)

    def pending_uploads(self, bucket: str, prefix: str = "") -> list[PendingUpload]:
        """ListMultipartUploads, page after page."""
        uploads: list[PendingUpload] = []
        args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            with self._errors(bucket):
                response = self.client.list_multipart_uploads(**args)
            uploads += [
                PendingUpload(item["Key"], item["UploadId"], _aware(item["Initiated"]))
                for item in response.get("Uploads", [])
            ]
            if not response.get("IsTruncated"):
                return uploads
            args["KeyMarker"] = response.get("NextKeyMarker", "")
            args["UploadIdMarker"] = response.get("NextUploadIdMarker", "")

    def abort_upload(self, bucket: str, upload: PendingUpload) -> None:
        """AbortMultipartUpload."""
        with self._errors(bucket, upload.key):
            self.client.abort_multipart_upload(
                Bucket=bucket, Key=upload.key, UploadId=upload.upload_id
            )

    # -- buckets -----------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (in the client's region); an existing one is kept."""
        args: dict[str, Any] = {"Bucket": bucket}
        region = self.client.meta.region_name
        if region and region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with self._errors(bucket, absent={"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}):
            self.client.create_bucket(**args)

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket; a missing one is not an error."""
        with self._errors(bucket, absent={"NoSuchBucket"}):
            self.client.delete_bucket(Bucket=bucket)

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists (and is reachable with these credentials)."""
        with self._errors(bucket, absent={"404", "NoSuchBucket", "NotFound"}) as outcome:
            self.client.head_bucket(Bucket=bucket)
        return not outcome.absent

    def list_buckets(self) -> list[BucketInfo]:
        """All buckets, by name."""
        response = self.client.list_buckets()
        return sorted(
            (BucketInfo(b["Name"], _aware(b["CreationDate"])) for b in response.get("Buckets", [])),
            key=lambda b: b.name,
        )


def _no_expect_for_empty_body(request: Any, **_: Any) -> None:
    """Send an empty body without ``Expect: 100-continue``: SeaweedFS (4.x)
    answers such a PUT but leaves the kept-alive connection unusable, so the
    next request on it hangs.  An empty body has nothing to wait for anyway."""
    if request.headers.get("Content-Length") == "0" and "Expect" in request.headers:
        del request.headers["Expect"]


def _log_call(model: Any, params: Mapping[str, Any], **_: Any) -> None:
    """At DEBUG, one line per S3 call (``deltaglider.s3``)."""
    if _call_log.isEnabledFor(logging.DEBUG):
        url = params.get("url_path", "") if isinstance(params, Mapping) else ""
        _call_log.debug("s3 %s %s", model.name, url)


def _put_fields(fields: Mapping[str, str]) -> dict[str, Any]:
    """Object fields as boto3's PutObject arguments."""
    extra: dict[str, Any] = dict(fields)
    if "BucketKeyEnabled" in extra:
        extra["BucketKeyEnabled"] = extra["BucketKeyEnabled"] == "true"
    return extra


def _fields_of(response: Mapping[str, Any]) -> dict[str, str]:
    """The object fields of a HEAD or GET response, as strings."""
    fields: dict[str, str] = {}
    for name in OBJECT_FIELDS:
        value = response.get(name)
        if name == "Expires":
            value = response.get("ExpiresString") or value
            if isinstance(value, datetime):
                value = format_datetime(_aware(value), usegmt=True)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is not None:
            fields[name] = str(value)
    return fields


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
