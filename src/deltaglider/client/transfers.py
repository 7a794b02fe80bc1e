"""boto3's managed transfers: files and file objects in and out."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import ClientError
from s3transfer.manager import TransferManager

from deltaglider.client.base import CHUNK, ClientBase
from deltaglider.client.responses import tags_of
from deltaglider.core.models import ObjectKey, PutOptions
from deltaglider.metering import ProgressCallback


class TransferMethods(ClientBase):
    """``upload_file``, ``upload_fileobj``, ``download_file``, ``download_fileobj``."""

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
        extra = dict(extra_args or {})
        _check_extra_args(extra, TransferManager.ALLOWED_UPLOAD_ARGS)
        named = {"Metadata", "ContentType", "Tagging", "ChecksumCRC32"}
        if extra.get("ChecksumAlgorithm") in ("CRC32", "crc32"):
            del extra["ChecksumAlgorithm"]  # recorded anyway
        fields = self._object_fields(
            "PutObject", {k: v for k, v in extra.items() if k not in named}
        )
        with self._errors("PutObject"):
            options = PutOptions(
                user_metadata=extra.get("Metadata") or {},
                content_type=extra.get("ContentType"),
                tags=tags_of(extra.get("Tagging")) or {},
                fields=fields,
                crc32=extra.get("ChecksumCRC32"),
            )
            self._put(bucket, key, body, options, callback)

    def download_file(
        self,
        Bucket: str,
        Key: str,
        Filename: str | os.PathLike[str],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callable[[int], object] | None = None,
        Config: Any = None,
    ) -> None:
        """Write an object to a file: rebuilt into a temporary file beside
        it, verified, then renamed into place (written once).  ``Callback``
        gets the bytes rebuilt as they are."""
        self._download_args(ExtraArgs)
        with self._download_errors():
            self.service.get(ObjectKey(Bucket, Key), Path(Filename), progress=Callback)

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
        self._download_args(ExtraArgs)
        with self._download_errors():
            stream, _ = self.service.open_verified(Bucket, Key, progress=Callback)
        with stream:
            shutil.copyfileobj(stream, Fileobj, CHUNK)

    @contextlib.contextmanager
    def _download_errors(self) -> Iterator[None]:
        """Errors as boto3's transfer manager raises them: it HEADs the
        object first, so a missing object or bucket is HeadObject's bare
        ``404`` (``e.response["Error"]["Code"] == "404"``); the rest come
        from its GetObject."""
        try:
            with self._errors("GetObject"):
                yield
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("NoSuchKey", "NoSuchBucket"):
                raise
            message = error.response["Error"]["Message"]
            raise self._error("404", message, "HeadObject", 404) from error

    def _download_args(self, extra_args: Mapping[str, Any] | None) -> None:
        extra = dict(extra_args or {})
        _check_extra_args(extra, TransferManager.ALLOWED_DOWNLOAD_ARGS)
        self._no_other_arguments("GetObject", extra)


def _check_extra_args(extra: Mapping[str, Any], allowed: list[str]) -> None:
    """Refuse ``ExtraArgs`` boto3's transfer manager refuses, as it does."""
    for name in extra:
        if name not in allowed:
            raise ValueError(
                f"Invalid extra_args key '{name}', must be one of: {', '.join(allowed)}"
            )
