"""boto3's listing methods and paginators over logical keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from botocore.exceptions import ParamValidationError

from deltaglider.client.base import ClientBase
from deltaglider.client.listing import decode_token, encode_token
from deltaglider.client.paginator import ListPaginator
from deltaglider.client.responses import compression_metadata, quoted, with_headers
from deltaglider.core.models import StoredObject


class ListMethods(ClientBase):
    """``list_objects_v2``, ``list_objects`` and their paginators."""

    def list_objects_v2(
        self,
        Bucket: str,
        Prefix: str = "",
        Delimiter: str = "",
        MaxKeys: int = 1000,
        ContinuationToken: str | None = None,
        StartAfter: str | None = None,
        FetchMetadata: bool = False,
        EncodingType: str | None = None,
        FetchOwner: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One page of logical objects, as boto3's ``list_objects_v2``:
        keys come decoded, as boto3 hands them over, unless the caller asks
        for ``EncodingType="url"`` (then URL-encoded, as S3 sends them and
        boto3 leaves them); ``FetchOwner`` adds each object's ``Owner``."""
        self._no_other_arguments("ListObjectsV2", kwargs)
        self._check_encoding("ListObjectsV2", EncodingType)
        response = self._list(
            "ListObjectsV2", Bucket, Prefix, Delimiter, MaxKeys, ContinuationToken, StartAfter,
            FetchMetadata, FetchOwner,
        )  # fmt: skip
        return _encoded(response) if EncodingType else {**response, "EncodingType": "url"}

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
        EncodingType: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One page of logical objects.  Takes ``ContinuationToken`` and
        ``StartAfter`` (as the API reference documents) or boto3's ``Marker``;
        returns the v2 fields plus ``Marker``/``NextMarker``."""
        self._no_other_arguments("ListObjects", kwargs)
        self._check_encoding("ListObjects", EncodingType)
        after = StartAfter if Marker is None else max(Marker, StartAfter or "")
        response = self._list(
            "ListObjects", Bucket, Prefix, Delimiter, MaxKeys, ContinuationToken, after,
            FetchMetadata, True,
        )  # fmt: skip
        response["Marker"] = Marker or ""
        if response["IsTruncated"]:
            response["NextMarker"] = decode_token(response["NextContinuationToken"])
        return _encoded(response) if EncodingType else {**response, "EncodingType": "url"}

    def _check_encoding(self, operation: str, encoding: str | None) -> None:
        if encoding not in (None, "url"):
            message = f"Invalid Encoding Method specified in Request: {encoding!r}"
            raise self._error("InvalidArgument", message, operation, 400)

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
        fetch_owner: bool,
    ) -> dict[str, Any]:
        if not isinstance(max_keys, int):
            raise ParamValidationError(
                report=f"Invalid type for parameter MaxKeys, value: {max_keys!r}, "
                f"type: {type(max_keys)}, valid types: <class 'int'>"
            )
        if max_keys < 0:
            raise self._error("InvalidArgument", "MaxKeys must not be negative", operation, 400)
        after = start_after or None
        if token:  # an empty token lists from the start, as S3 does
            try:
                after = decode_token(token)
            except ValueError as exc:
                raise self._error("InvalidArgument", str(exc), operation, 400) from exc
        with self._errors(operation):
            page = self._lister.page(
                bucket, prefix, delimiter, min(max_keys, 1000), after, continuing=bool(token)
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
                "ETag": quoted(entry.etag),
                "Size": sizes.get(entry.key, entry.stored_size),
                "StorageClass": "STANDARD",
            }
            if fetch_metadata:
                item["Metadata"] = compression_metadata(entry, described.get(entry.key))
            if fetch_owner:  # the object's, as S3 lists it; else the account's
                owner = entry.owner
                item["Owner"] = (
                    {"DisplayName": owner[1], "ID": owner[0]} if owner else self._owner()
                )
            contents.append(item)
        contents.sort(key=lambda c: c["Key"].encode("utf-8", "surrogateescape"))
        response: dict[str, Any] = {
            "IsTruncated": page.is_truncated and max_keys > 0,  # as S3 answers MaxKeys=0
            "Name": bucket,
            "Prefix": prefix,
            "MaxKeys": max_keys,
            "KeyCount": len(contents) + len(page.common_prefixes),
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
        if response["IsTruncated"] and page.last_key is not None:
            response["NextContinuationToken"] = encode_token(page.last_key)
        return with_headers(response)

    def get_paginator(self, operation_name: str) -> Any:
        """Paginators for ``list_objects_v2`` and ``list_objects`` yield
        logical pages; others come from the boto3 client."""
        if operation_name in ("list_objects_v2", "list_objects"):
            return ListPaginator(getattr(self, operation_name), operation_name)
        if self._boto3 is None:
            raise ValueError(f"no paginator {operation_name!r} on the local-directory backend")
        return self._boto3.get_paginator(operation_name)


_ENCODED = ("Prefix", "Delimiter", "StartAfter", "Marker", "NextMarker")


def _encoded(response: dict[str, Any]) -> dict[str, Any]:
    """A listing as S3 sends it for ``EncodingType=url``: keys and prefixes
    percent-encoded (UTF-8; ``/`` kept)."""
    out = {name: _quote(value) if name in _ENCODED else value
           for name, value in response.items()}  # fmt: skip
    out["EncodingType"] = "url"
    if "Contents" in response:
        out["Contents"] = [{**item, "Key": _quote(item["Key"])} for item in response["Contents"]]
    if "CommonPrefixes" in response:
        out["CommonPrefixes"] = [
            {"Prefix": _quote(p["Prefix"])} for p in response["CommonPrefixes"]
        ]
    return out


def _quote(text: str) -> str:
    return quote(text.encode("utf-8", "surrogateescape"), safe="/")
