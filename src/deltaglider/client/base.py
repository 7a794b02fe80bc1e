"""What every part of the client shares: the engine, the raw boto3 client
(S3 backend only), the caches of listings and stats, the error funnel and
the one upload funnel every put goes through."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO, Any

from deltaglider.client import arguments, lifecycle
from deltaglider.client.described import DeltaDescriptions
from deltaglider.client.errors import as_client_errors, client_error, s3_exceptions
from deltaglider.client.listing import Lister
from deltaglider.client.models import BucketStats
from deltaglider.client.urls import parse_s3_url
from deltaglider.core.errors import BucketNotFoundError
from deltaglider.core.models import PutOptions, PutSummary
from deltaglider.core.service import DeltaService
from deltaglider.metering import ProgressCallback

CHUNK = 1 << 20


class ClientBase:
    """State and helpers of :class:`~deltaglider.client.facade.DeltaGliderClient`."""

    def __init__(
        self, service: DeltaService, endpoint_url: str | None = None, raw_client: Any = None
    ) -> None:
        self.service = service
        self.endpoint_url = endpoint_url
        self._boto3 = raw_client
        self._lister = Lister(service)
        self._stats: dict[str, BucketStats] = {}
        self._descriptions = DeltaDescriptions(service)
        self._lifecycle = lifecycle.ManagedPrefixes(self._boto3)
        self._lock = threading.Lock()
        self._owner_found: dict[str, str] | None = None

    @property
    def exceptions(self) -> Any:
        """botocore's modeled S3 exceptions (``client.exceptions.NoSuchKey``)."""
        return self._boto3.exceptions if self._boto3 is not None else s3_exceptions()

    def _put(
        self,
        bucket: str,
        key: str,
        body: bytes | bytearray | memoryview | str | Path | IO[bytes] | None,
        options: PutOptions,
        progress: ProgressCallback | None = None,
    ) -> PutSummary:
        """One put of any body, with the tags its prefix's lifecycle rules
        add to those ``options`` give."""
        tags = self._lifecycle.tags_for(bucket, key, options.tags)
        options = dataclasses.replace(options, tags=tags)
        try:
            if isinstance(body, Path):
                return self.service.put_file(bucket, key, body, options, progress=progress)
            if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
                data = body.encode() if isinstance(body, str) else bytes(body or b"")
                return _reported(self.service.put_bytes(bucket, key, data, options), progress)
            with _Spooled(body, self.service.stream_threshold) as spooled:
                if isinstance(spooled, Path):
                    return self.service.put_file(bucket, key, spooled, options, progress=progress)
                return _reported(self.service.put_bytes(bucket, key, spooled, options), progress)
        finally:
            self._changed(bucket)

    @staticmethod
    def _upload_target(file_path: str | os.PathLike[str], s3_url: str) -> tuple[Path, str, str]:
        """An upload's file and its ``(bucket, key)``: into the folder when
        the URL ends with ``/`` (or is a bucket), else under the URL's key."""
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        bucket, key = parse_s3_url(s3_url)
        if not key or key.endswith("/"):
            key = key + path.name
        return path, bucket, key

    def _errors(self, operation: str, *, head: bool = False) -> Any:
        return as_client_errors(operation, head=head, exceptions=self.exceptions)

    def _error(
        self,
        code: str,
        message: str,
        operation: str,
        status: int,
        headers: Mapping[str, str] | None = None,
    ) -> Exception:
        return client_error(code, message, operation, status, self.exceptions, headers)

    def _changed(self, bucket: str) -> None:
        self._lister.forget(bucket)
        with self._lock:
            self._stats.pop(bucket, None)

    def _require_bucket(self, bucket: str) -> None:
        if not self.service.bucket_exists(bucket):
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist")

    def _object_fields(
        self, operation: str, given: Mapping[str, Any], honoured: Collection[str] = ()
    ) -> dict[str, str]:
        """Check ``given`` (a method's other arguments: each honoured here,
        or refused) and return the S3 object fields among them that this
        backend keeps (see :mod:`~deltaglider.client.arguments`)."""
        kept = self.service.storage.object_fields
        backend = "a local directory store" if self._boto3 is None else ""
        arguments.check(operation, given, {*kept, *honoured}, self.exceptions, backend)
        return {
            name: arguments.field_value(name, value)
            for name, value in given.items()
            if name in kept
        }

    def _checksums_by_default(self) -> bool:
        """Whether a GET returns checksums unasked: boto3's default
        (``response_checksum_validation="when_supported"``), unless the
        client was configured otherwise."""
        config = getattr(getattr(self._boto3, "meta", None), "config", None)
        setting = getattr(config, "response_checksum_validation", None)
        return setting in (None, "when_supported")

    def _owner(self) -> dict[str, str]:
        """The buckets' owner, as S3 names it (read once per client); a
        local directory store's owner is ``local``."""
        if self._boto3 is None:
            return {"DisplayName": "local", "ID": "local"}
        if self._owner_found is None:
            with self._errors("ListBuckets"):
                owner = self._boto3.list_buckets().get("Owner", {})
            self._owner_found = {
                "DisplayName": str(owner.get("DisplayName", "")),
                "ID": str(owner.get("ID", "")),
            }
        return self._owner_found

    def _no_other_arguments(self, operation: str, given: Mapping[str, Any]) -> None:
        """Refuse every argument in ``given`` (see :mod:`~deltaglider.client.arguments`)."""
        backend = "a local directory store" if self._boto3 is None else ""
        arguments.check(operation, given, (), self.exceptions, backend)


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
            shutil.copyfileobj(self._fileobj, out, CHUNK)
        return path

    def __exit__(self, *_: object) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
