"""The shapes of boto3's responses, built from the engine's models."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from botocore.exceptions import ParamValidationError

from deltaglider.client.models import UploadSummary
from deltaglider.core.listing import LogicalEntry
from deltaglider.core.models import PutSummary, StoredObject


def response_metadata(status: int = 200) -> dict[str, Any]:
    """boto3's ``ResponseMetadata``."""
    return {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}


def quoted(etag: str | None) -> str:
    """An ETag in quotes, as S3 gives it."""
    etag = etag or ""
    return etag if etag.startswith('"') else f'"{etag}"'


def head_fields(stored: StoredObject) -> dict[str, Any]:
    """``head_object``'s fields for a logical object (``get_object``'s too)."""
    fields: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": stored.last_modified,
        "ContentLength": stored.size,
        "ETag": quoted(stored.etag),
        "ContentType": stored.content_type or "binary/octet-stream",
        "Metadata": dict(stored.user_metadata),
        "ResponseMetadata": response_metadata(),
    }
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
    }
