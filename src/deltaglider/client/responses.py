"""The shapes of boto3's responses, built from the engine's models."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from botocore.exceptions import ParamValidationError

from deltaglider.client.models import UploadSummary
from deltaglider.core import keys
from deltaglider.core.listing import LogicalEntry
from deltaglider.core.models import PutSummary, StoredObject


def request_id() -> str:
    """A request id, in S3's form (16 upper-case hex digits)."""
    return secrets.token_hex(8).upper()


def response_metadata(
    status: int = 200, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """boto3's ``ResponseMetadata``: the status, a request id, and the HTTP
    headers S3 would have sent with the response's fields."""
    rid = request_id()
    return {
        "RequestId": rid,
        "HostId": "",
        "HTTPStatusCode": status,
        "HTTPHeaders": {
            "x-amz-request-id": rid,
            "date": format_datetime(datetime.now(UTC), usegmt=True),
            **(headers or {}),
        },
        "RetryAttempts": 0,
    }


_HEADERS = {
    "AcceptRanges": "accept-ranges",
    "CacheControl": "cache-control",
    "ContentDisposition": "content-disposition",
    "ContentEncoding": "content-encoding",
    "ContentLanguage": "content-language",
    "ContentLength": "content-length",
    "ContentRange": "content-range",
    "ContentType": "content-type",
    "ETag": "etag",
    "ExpiresString": "expires",
    "LastModified": "last-modified",
    "StorageClass": "x-amz-storage-class",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "BucketKeyEnabled": "x-amz-server-side-encryption-bucket-key-enabled",
    "WebsiteRedirectLocation": "x-amz-website-redirect-location",
    "ChecksumCRC32": "x-amz-checksum-crc32",
    "ChecksumSHA256": "x-amz-checksum-sha256",
    "ChecksumType": "x-amz-checksum-type",
}


def with_headers(response: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """``response`` with its ``ResponseMetadata``, whose HTTP headers are
    those S3 sends for the response's fields."""
    headers: dict[str, str] = {}
    for name, header in _HEADERS.items():
        value = response.get(name)
        if isinstance(value, datetime):
            value = format_datetime(value.astimezone(UTC), usegmt=True)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        if value is not None:
            headers[header] = str(value)
    for name, value in response.get("Metadata", {}).items():
        headers[f"x-amz-meta-{name}"] = value
    response["ResponseMetadata"] = response_metadata(status, headers)
    return response


def quoted(etag: str | None) -> str:
    """An ETag in quotes, as S3 gives it."""
    etag = etag or ""
    return etag if etag.startswith('"') else f'"{etag}"'


def head_fields(stored: StoredObject) -> dict[str, Any]:
    """``head_object``'s fields for a logical object (``get_object``'s
    too), ``ResponseMetadata`` not yet added (see :func:`with_headers`)."""
    fields: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": stored.last_modified,
        "ContentLength": stored.size,
        "ETag": quoted(stored.etag),
        "ContentType": stored.content_type or "binary/octet-stream",
        "Metadata": dict(stored.user_metadata),
    }
    for name, value in stored.fields.items():
        if name == "StorageClass" and value == "STANDARD":
            continue  # S3 names only the other classes
        if name == "Expires":
            fields["ExpiresString"] = value
            with contextlib.suppress(ValueError, TypeError):
                fields[name] = parsedate_to_datetime(value)
        elif name == "BucketKeyEnabled":
            fields[name] = value == "true"
        else:
            fields[name] = value
    return fields


def check_body(body: object) -> None:
    """Refuse a ``Body`` boto3 would refuse, with boto3's error."""
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str, Path)):
        return
    if callable(getattr(body, "read", None)):
        return
    raise ParamValidationError(
        report=(
            f"Invalid type for parameter Body, value: {body!r:.80}, type: {type(body)}, "
            "valid types: <class 'bytes'>, <class 'bytearray'>, file-like object"
        )
    )


def tags_of(tagging: str | None) -> dict[str, str] | None:
    """``a=1&b=2`` (S3's Tagging header form) as a dict."""
    return dict(parse_qsl(tagging, keep_blank_values=True)) if tagging else None


def delta_info(summary: PutSummary) -> dict[str, Any]:
    """The ``DeltaGlider`` field of a put's response: how it was stored."""
    upload = upload_summary(summary)
    return {
        "Operation": upload.operation,
        "IsDelta": upload.is_delta,
        "OriginalSize": upload.original_size,
        "StoredSize": upload.stored_size,
        "DeltaRatio": upload.delta_ratio,
        "ReferenceCreated": summary.reference_created,
    }


def upload_summary(summary: PutSummary) -> UploadSummary:
    """The simple API's summary of a put."""
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


def compression_metadata(entry: LogicalEntry, stored: StoredObject | None) -> dict[str, str]:
    """A listing's ``Metadata`` with ``FetchMetadata=True``."""
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
        # the file whose bytes its folder's reference holds (its delta is empty)
        "deltaglider-is-reference": str(stored.sha256 == stored.reference_sha256).lower(),
    }


def checksum_fields(stored: StoredObject) -> dict[str, str]:
    """A whole object's checksum fields, where a put recorded its CRC32."""
    if stored.crc32 is None:
        return {}
    return {"ChecksumCRC32": stored.crc32, "ChecksumType": "FULL_OBJECT"}


def written_fields(fields: Mapping[str, str]) -> dict[str, Any]:
    """The fields a put's response repeats (encryption, as S3's does)."""
    shown = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
    return {
        name: (fields[name] == "true" if name == "BucketKeyEnabled" else fields[name])
        for name in shown
        if name in fields
    }


def copied_fields(
    stored: StoredObject, given: Mapping[str, str], kept: frozenset[str]
) -> dict[str, str]:
    """A copy's fields with ``MetadataDirective="COPY"``: the source's
    headers, with the storage class and encryption given for the copy."""
    headers = {name: value for name, value in stored.fields.items() if name in kept}
    for name in ("StorageClass", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled"):
        headers.pop(name, None)
    return {**headers, **given}


def removed_counts(removed: list[str]) -> dict[str, int]:
    """What deleting removed, as 6.2.0's ``DeltaGliderInfo`` counts it."""
    deltas = sum(key.endswith(keys.DELTA_SUFFIX) for key in removed)
    references = sum(keys.split_key(key)[1] == keys.REFERENCE_NAME for key in removed)
    return {
        "DeltasDeleted": deltas,
        "ReferencesDeleted": references,
        "DirectDeleted": len(removed) - deltas - references,
        "OtherDeleted": 0,
    }
