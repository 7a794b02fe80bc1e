"""boto3's object methods: put, get, head, delete, copy, tags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any

from deltaglider.client import arguments, conditions
from deltaglider.client.base import ClientBase
from deltaglider.client.body import parse_range, streaming_body
from deltaglider.client.conditions import NOT_MODIFIED, PRECONDITION_FAILED
from deltaglider.client.responses import (
    check_body,
    checksum_fields,
    copied_fields,
    delta_info,
    head_fields,
    quoted,
    removed_counts,
    tags_of,
    with_headers,
    written_fields,
)
from deltaglider.core.errors import ObjectNotFoundError, PreconditionFailedError
from deltaglider.core.models import PutOptions, StoredObject

_DELETE_LIMIT = 1000  # keys per DeleteObjects request, as S3 allows


class ObjectMethods(ClientBase):
    """``put_object``, ``get_object``, ``head_object``, ``delete_object(s)``,
    ``copy_object`` and object tagging."""

    def put_object(
        self,
        Bucket: str,
        Key: str,
        Body: bytes | bytearray | memoryview | str | Path | IO[bytes] | None = None,
        Metadata: Mapping[str, str] | None = None,
        ContentType: str | None = None,
        Tagging: str | None = None,
        IfNoneMatch: str | None = None,
        ChecksumAlgorithm: str | None = None,
        ChecksumCRC32: str | None = None,
        *,
        delta: bool = True,
        max_ratio: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Store an object, as a delta when it pays; returns boto3's shape
        plus ``DeltaGlider`` (how it was stored).  ``Tagging`` (``a=1&b=2``)
        tags the stored file, never the folder's reference.  S3 object
        fields (``CacheControl``, ``ServerSideEncryption``, ``ACL``...) go on
        every object the put writes, where the backend keeps them; other
        arguments are refused (README, "boto3 arguments").
        ``IfNoneMatch="*"`` writes only if the key holds nothing, else
        ``PreconditionFailed``.  The file's CRC32 is always recorded
        (``ChecksumAlgorithm="CRC32"`` asks for what is done anyway); a
        ``ChecksumCRC32`` given must match the body (``BadDigest``).
        ``delta`` and ``max_ratio`` (deltaglider extensions) are as for
        :meth:`upload`."""
        fields = self._object_fields("PutObject", kwargs)
        if ChecksumAlgorithm not in (None, "CRC32", "crc32"):
            raise self._error(
                "NotImplemented",
                f"ChecksumAlgorithm {ChecksumAlgorithm}: deltaglider records CRC32 only",
                "PutObject",
                501,
            )
        if IfNoneMatch not in (None, "*"):
            raise self._error(
                "NotImplemented", "IfNoneMatch takes only '*' on a put", "PutObject", 501
            )
        check_body(Body)
        with self._errors("PutObject"):
            tags = tags_of(Tagging)
            options = PutOptions(
                max_ratio, delta, Metadata or {}, ContentType, tags or {}, fields,
                create_only=IfNoneMatch == "*", crc32=ChecksumCRC32,
            )  # fmt: skip
            summary = self._put(Bucket, Key, Body, options)
        response = {
            "ETag": quoted(summary.etag),
            "ChecksumCRC32": summary.crc32,
            "ChecksumType": "FULL_OBJECT",
            **written_fields(fields),
        }
        response = with_headers(response)
        response["DeltaGlider"] = delta_info(summary)
        return response

    def get_object(
        self,
        Bucket: str,
        Key: str,
        Range: str | None = None,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
        IfModifiedSince: datetime | str | None = None,
        IfUnmodifiedSince: datetime | str | None = None,
        ChecksumMode: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The object's bytes as a botocore ``StreamingBody`` (verified
        before any byte is handed out), with boto3's fields.  ``Range``
        (``bytes=first-last``), the conditions (``IfMatch``... answered
        ``PreconditionFailed`` or ``304``, as S3 does) and the
        ``Response*`` overrides are honoured; other arguments are refused.
        A whole object's recorded CRC32 comes back (``ChecksumCRC32``)
        unless ``ChecksumMode`` is off here and in the client's
        ``response_checksum_validation``, as boto3 decides."""
        overrides = arguments.response_overrides(kwargs)
        self._no_other_arguments("GetObject", arguments.other_arguments(kwargs))
        wanted = conditions.Conditions(IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince)
        with self._errors("GetObject"):
            seen = self.service.head(Bucket, Key) if wanted.given else None
            if seen is not None:  # answered before anything is rebuilt
                self._check_conditions(wanted, seen, "GetObject")
            stream, stored = self.service.open_verified(Bucket, Key)
        try:
            self._check_conditions(wanted, stored, "GetObject")  # the version opened
            response = {**head_fields(stored), **overrides}
            span = self._span(Range, stored.size, "GetObject")
        except BaseException:
            stream.close()
            raise
        status = 200
        if Range is not None and span is not None:
            response["ContentRange"] = f"bytes {span[0]}-{span[1]}/{stored.size}"
            status = 206
        elif ChecksumMode == "ENABLED" or self._checksums_by_default():
            response.update(checksum_fields(stored))
        start, end = span if span is not None and stored.size else (0, -1)
        response["ContentLength"] = end - start + 1
        response = with_headers(response, status)
        response["Body"] = streaming_body(stream, start, end - start + 1)
        return response

    def head_object(
        self,
        Bucket: str,
        Key: str,
        Range: str | None = None,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
        IfModifiedSince: datetime | str | None = None,
        IfUnmodifiedSince: datetime | str | None = None,
        ChecksumMode: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The object's fields, as boto3's ``head_object`` (errors as S3's
        HEAD gives them: a bare ``404``, ``412`` or ``304``); ``Range``,
        the conditions and the ``Response*`` overrides as for
        :meth:`get_object`; the CRC32 with ``ChecksumMode="ENABLED"``."""
        overrides = arguments.response_overrides(kwargs)
        self._no_other_arguments("HeadObject", arguments.other_arguments(kwargs))
        wanted = conditions.Conditions(IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince)
        with self._errors("HeadObject", head=True):
            stored = self.service.head(Bucket, Key)
            if stored is None:
                raise ObjectNotFoundError(f"s3://{Bucket}/{Key} does not exist")
        self._check_conditions(wanted, stored, "HeadObject", head=True)
        response = {**head_fields(stored), **overrides}
        span = self._span(Range, stored.size, "HeadObject")
        if Range is not None and span is not None:
            response["ContentRange"] = f"bytes {span[0]}-{span[1]}/{stored.size}"
            response["ContentLength"] = span[1] - span[0] + 1
            return with_headers(response, 206)
        if ChecksumMode == "ENABLED":
            response.update(checksum_fields(stored))
        return with_headers(response)

    def _span(self, text: str | None, size: int, operation: str) -> tuple[int, int] | None:
        """The bytes ``Range`` asks for (the whole object without one)."""
        if text is None:
            return (0, size - 1)
        try:
            span = parse_range(text, size)
        except ValueError as exc:
            raise self._error("InvalidArgument", str(exc), operation, 400) from exc
        if span is None:
            raise self._error(
                "InvalidRange",
                f"The requested range {text} is not satisfiable (size {size})",
                operation,
                416,
            )
        return span

    def _check_conditions(
        self,
        wanted: conditions.Conditions,
        stored: StoredObject,
        operation: str,
        head: bool = False,
    ) -> None:
        status = wanted.evaluate(stored)
        if status == NOT_MODIFIED:  # with the validators, as S3 sends them
            validators = {
                "etag": quoted(stored.etag),
                "last-modified": format_datetime(stored.last_modified.astimezone(UTC), usegmt=True),
            }
            raise self._error("304", "Not Modified", operation, NOT_MODIFIED, validators)
        if status == PRECONDITION_FAILED:
            code = "412" if head else "PreconditionFailed"
            message = "At least one of the pre-conditions you specified did not hold"
            raise self._error(code, message, operation, PRECONDITION_FAILED)

    def delete_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Remove an object (a missing one is not an error, as on S3);
        ``DeltaGliderInfo`` says what was removed (6.2.0's field)."""
        self._no_other_arguments("DeleteObject", kwargs)
        with self._errors("DeleteObject"):
            self._require_bucket(Bucket)
            try:
                removed = self.service.delete(Bucket, Key)
            finally:
                self._changed(Bucket)
        counts = removed_counts(removed)
        kind = "delta" if counts["DeltasDeleted"] else "direct" if removed else "none"
        response = with_headers({}, 204)
        response["DeltaGliderInfo"] = {
            "Type": kind,
            "Deleted": bool(removed),
            "ReferenceDeleted": bool(counts["ReferencesDeleted"]),
        }
        return response

    def delete_objects(
        self, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Remove many objects (at most 1,000, as S3 allows); per-key
        failures are reported in ``Errors``, and ``DeltaGliderInfo`` counts
        what was removed."""
        self._no_other_arguments("DeleteObjects", kwargs)
        if len(Delete.get("Objects", [])) > _DELETE_LIMIT:
            raise self._error(
                "MalformedXML",
                f"a DeleteObjects request takes at most {_DELETE_LIMIT} keys",
                "DeleteObjects",
                400,
            )
        with self._errors("DeleteObjects"):
            self._require_bucket(Bucket)
        deleted: list[dict[str, str]] = []
        errors: list[dict[str, str]] = []
        removed: list[str] = []
        try:
            for item in Delete.get("Objects", []):
                key = item["Key"]
                try:
                    with self._errors("DeleteObjects"):
                        removed += self.service.delete(Bucket, key)
                    deleted.append({"Key": key})
                except Exception as exc:  # reported per key, as S3 does
                    code = (
                        getattr(exc, "response", {}).get("Error", {}).get("Code", "InternalError")
                    )
                    errors.append({"Key": key, "Code": code, "Message": str(exc)})
        finally:
            self._changed(Bucket)
        response = with_headers({})
        if deleted and not Delete.get("Quiet", False):
            response["Deleted"] = deleted
        if errors:
            response["Errors"] = errors
        response["DeltaGliderInfo"] = removed_counts(removed)
        return response

    def delete_objects_recursive(self, Bucket: str, Prefix: str, **kwargs: Any) -> dict[str, Any]:
        """Delete every logical object under ``Prefix`` (their deltas and,
        once unused, their references), 1,000 keys per batch; answers as
        6.2.0 does: ``DeletedCount``, ``FailedCount``, ``DeltaGliderInfo``
        (``DeltasDeleted``, ``ReferencesDeleted``, ``DirectDeleted``,
        ``OtherDeleted``), and ``Deleted``/``Errors`` per key.  Other
        arguments are as for ``delete_objects``."""
        self._no_other_arguments("DeleteObjects", kwargs)
        with self._errors("DeleteObjects"):
            listing = self.service.list_logical(Bucket, Prefix)
            # A listed ``x.delta`` without a size marker may be another
            # tool's object of that name: its HEAD says which, and it is
            # deleted under its own name.
            unmarked = [e for e in listing.objects if e.is_delta and e.file_size is None]
            described = self._descriptions.describe(Bucket, unmarked)
        names = [described[e.key].key if e.key in described else e.key for e in listing.objects]
        totals = removed_counts([])
        response: dict[str, Any] = with_headers({"Deleted": []})
        for first in range(0, len(names), _DELETE_LIMIT):
            batch = [{"Key": key} for key in names[first : first + _DELETE_LIMIT]]
            answer = self.delete_objects(Bucket=Bucket, Delete={"Objects": batch})
            response["Deleted"] += answer.get("Deleted", [])
            if answer.get("Errors"):
                response.setdefault("Errors", []).extend(answer["Errors"])
            for name, count in answer["DeltaGliderInfo"].items():
                totals[name] += count
        response["DeletedCount"] = len(response["Deleted"])
        response["FailedCount"] = len(response.get("Errors", []))
        response["DeltaGliderInfo"] = totals
        return response

    def copy_object(
        self,
        Bucket: str,
        Key: str,
        CopySource: str | Mapping[str, str],
        MetadataDirective: str = "COPY",
        Metadata: Mapping[str, str] | None = None,
        ContentType: str | None = None,
        TaggingDirective: str = "COPY",
        Tagging: str | None = None,
        CopySourceIfMatch: str | None = None,
        CopySourceIfNoneMatch: str | None = None,
        CopySourceIfModifiedSince: datetime | str | None = None,
        CopySourceIfUnmodifiedSince: datetime | str | None = None,
        *,
        delta: bool = True,
        max_ratio: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Copy a logical object (to any space or bucket), stored at the
        destination as a delta when it pays there (``delta=False``, a
        deltaglider extension: as is; ``max_ratio`` as for :meth:`upload`).
        Metadata, content type and the S3 object fields are copied, or
        with ``MetadataDirective="REPLACE"`` taken from the arguments; tags
        likewise with ``TaggingDirective``.
        The ``CopySourceIf*`` conditions fail with ``PreconditionFailed``.
        The response's ``DeltaGlider`` says how it was stored."""
        fields = self._object_fields("CopyObject", kwargs)
        if isinstance(CopySource, str):
            source_bucket, _, source_key = CopySource.lstrip("/").partition("/")
        else:
            source_bucket, source_key = CopySource["Bucket"], CopySource["Key"]
        for name, value in (
            ("MetadataDirective", MetadataDirective),
            ("TaggingDirective", TaggingDirective),
        ):
            if value not in ("COPY", "REPLACE"):
                raise self._error(
                    "InvalidArgument", f"{name} must be COPY or REPLACE", "CopyObject", 400
                )
        wanted = conditions.Conditions(
            CopySourceIfMatch,
            CopySourceIfNoneMatch,
            CopySourceIfModifiedSince,
            CopySourceIfUnmodifiedSince,
        )
        with self._errors("CopyObject"):
            stream, stored = self.service.open_verified(source_bucket, source_key)
            with stream:
                if wanted.evaluate(stored) is not None:  # S3 answers 412 for all of them
                    raise PreconditionFailedError(
                        "At least one of the pre-conditions you specified did not hold"
                    )
                if TaggingDirective == "COPY":
                    tags = self.service.get_tags(source_bucket, source_key)
                else:
                    tags = tags_of(Tagging) or {}
                replace = MetadataDirective == "REPLACE"
                kept = self.service.storage.object_fields
                options = PutOptions(
                    max_ratio,
                    delta,
                    dict(Metadata or {}) if replace else stored.user_metadata,
                    ContentType if replace else stored.content_type,
                    tags,
                    fields if replace else copied_fields(stored, fields, kept),
                )
                summary = self._put(Bucket, Key, stream, options)
        response = with_headers({})
        response["CopyObjectResult"] = {
            "ETag": quoted(summary.etag),
            "LastModified": datetime.now(UTC),
        }
        response["DeltaGlider"] = delta_info(summary)
        return response

    def get_object_tagging(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """The tags of a logical object, as boto3's ``get_object_tagging``."""
        self._no_other_arguments("GetObjectTagging", kwargs)
        with self._errors("GetObjectTagging"):
            tags = self.service.get_tags(Bucket, Key)
        response = with_headers({})
        response["TagSet"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return response

    def put_object_tagging(
        self, Bucket: str, Key: str, Tagging: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Replace the tags of a logical object (its delta or itself)."""
        self._no_other_arguments("PutObjectTagging", kwargs)
        tags = {t["Key"]: t["Value"] for t in Tagging.get("TagSet", [])}
        with self._errors("PutObjectTagging"):
            self.service.put_tags(Bucket, Key, tags)
        return with_headers({})
