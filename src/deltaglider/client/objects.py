"""boto3's object methods: put, get, head, delete, copy, tags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from deltaglider.client.base import ClientBase
from deltaglider.client.body import parse_range, streaming_body
from deltaglider.client.responses import (
    check_body,
    delta_info,
    head_fields,
    quoted,
    response_metadata,
    tags_of,
)
from deltaglider.core.errors import ObjectNotFoundError

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
        check_body(Body)
        with self._errors("PutObject"):
            tags = tags_of(Tagging)
            summary = self._put(Bucket, Key, Body, Metadata, ContentType, max_ratio, tags, delta)
        return {
            "ETag": quoted(summary.etag),
            "ResponseMetadata": response_metadata(),
            "DeltaGlider": delta_info(summary),
        }

    def get_object(
        self, Bucket: str, Key: str, Range: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The object's bytes as a botocore ``StreamingBody`` (verified
        before any byte is handed out), with boto3's fields; ``Range``
        (``bytes=first-last``) is honoured."""
        self._ignored("get_object", kwargs)
        with self._errors("GetObject"):
            stream, stored = self.service.open_verified(Bucket, Key)
        response = head_fields(stored)
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
            response["ResponseMetadata"] = response_metadata(206)
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
        return head_fields(stored)

    def delete_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Remove an object (a missing one is not an error, as on S3)."""
        self._ignored("delete_object", kwargs)
        with self._errors("DeleteObject"):
            self._require_bucket(Bucket)
            try:
                self.service.delete(Bucket, Key)
            finally:
                self._changed(Bucket)
        return {"ResponseMetadata": response_metadata(204)}

    def delete_objects(
        self, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Remove many objects (at most 1,000, as S3 allows); per-key
        failures are reported in ``Errors``."""
        self._ignored("delete_objects", kwargs)
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
        response: dict[str, Any] = {"ResponseMetadata": response_metadata()}
        if deleted and not Delete.get("Quiet", False):
            response["Deleted"] = deleted
        if errors:
            response["Errors"] = errors
        return response

    def delete_objects_recursive(self, Bucket: str, Prefix: str) -> dict[str, Any]:
        """Delete every logical object under ``Prefix`` (their deltas and,
        once unused, their references); as ``delete_objects`` answers."""
        with self._errors("DeleteObjects"):
            listing = self.service.list_logical(Bucket, Prefix)
        objects = [{"Key": entry.key} for entry in listing.objects]
        if not objects:
            return {"Deleted": [], "ResponseMetadata": response_metadata()}
        return self.delete_objects(Bucket=Bucket, Delete={"Objects": objects})

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
                "ETag": quoted(summary.etag),
                "LastModified": datetime.now(UTC),
            },
            "ResponseMetadata": response_metadata(),
            "DeltaGlider": delta_info(summary),
        }

    def get_object_tagging(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """The tags of a logical object, as boto3's ``get_object_tagging``."""
        self._ignored("get_object_tagging", kwargs)
        with self._errors("GetObjectTagging"):
            tags = self.service.get_tags(Bucket, Key)
        return {
            "TagSet": [{"Key": k, "Value": v} for k, v in tags.items()],
            "ResponseMetadata": response_metadata(),
        }

    def put_object_tagging(
        self, Bucket: str, Key: str, Tagging: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Replace the tags of a logical object (its delta or itself)."""
        self._ignored("put_object_tagging", kwargs)
        tags = {t["Key"]: t["Value"] for t in Tagging.get("TagSet", [])}
        with self._errors("PutObjectTagging"):
            self.service.put_tags(Bucket, Key, tags)
        return {"ResponseMetadata": response_metadata()}
