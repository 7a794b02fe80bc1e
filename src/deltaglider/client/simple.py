"""The simple API of deltaglider 6.2.0 (``upload``, ``download``,
``verify``, batches, object info, estimates) and the cache controls."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from deltaglider.client.base import ClientBase
from deltaglider.client.models import CompressionEstimate, ObjectInfo, UploadSummary
from deltaglider.client.responses import quoted, upload_summary
from deltaglider.client.urls import parse_s3_url
from deltaglider.core import keys
from deltaglider.core.models import ObjectKey, PutOptions, VerifyResult
from deltaglider.metering import ProgressCallback


class SimpleApi(ClientBase):
    """Methods of the API reference beyond boto3's."""

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
        path, bucket, key = self._upload_target(file_path, s3_url)
        options = PutOptions(max_ratio=max_ratio, delta=delta, tags=tags or {})
        summary = self._put(bucket, key, path, options, progress)
        return upload_summary(summary)

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

    def verify_object(self, s3_url: str) -> VerifyResult:
        """:meth:`verify` with the details: the SHA-256 expected and found,
        and what is wrong with a damaged object (a deltaglider extension)."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        return self.service.verify(ObjectKey(bucket, key))

    def foreign_references(self, Bucket: str, Prefix: str = "") -> list[str]:
        """Keys named ``reference.bin`` under ``Prefix`` that another tool
        stored (not a deltaglider folder reference): listings hide that
        name, so a restore says it left these out (a deltaglider
        extension; reuses a recent listing of the prefix)."""
        with self._errors("ListObjectsV2"):
            listing = self._lister.listing(Bucket, Prefix)
            return self.service.foreign_references(Bucket, listing)

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

    def get_object_info(self, s3_url: str) -> ObjectInfo:
        """How an object is stored: logical and stored sizes, form, hashes
        (reads as a dict too: ``info["size"]``)."""
        bucket, key = parse_s3_url(s3_url, need_key=True)
        stored = self.service.head(bucket, key)
        if stored is None:
            raise FileNotFoundError(f"{s3_url} does not exist")
        return ObjectInfo(
            key=stored.key,
            size=stored.size,
            last_modified=stored.last_modified,
            etag=quoted(stored.etag),
            storage_class=stored.fields.get("StorageClass", "STANDARD"),
            original_size=stored.size,
            compressed_size=stored.stored_size,
            compression_ratio=1 - stored.stored_size / stored.size if stored.size else 0.0,
            is_delta=stored.is_delta,
            reference_key=stored.reference_key,
            delta_chain_length=1 if stored.is_delta else 0,
            stored_key=stored.physical_key,
            sha256=stored.sha256,
            content_type=stored.content_type,
            metadata=dict(stored.user_metadata),
        )

    def estimate_compression(
        self,
        file_path: str | os.PathLike[str],
        bucket: str,
        prefix: str = "",
        sample_size: int | None = None,
        *,
        max_ratio: float | None = None,
    ) -> CompressionEstimate:
        """What uploading ``file_path`` into ``bucket/prefix`` would store,
        found by encoding the whole file against the folder's reference
        (nothing is written).  ``sample_size`` (6.2.0's) has no effect: the
        estimate is the encode the put would do, not a sample of it."""
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        if sample_size is not None and sample_size <= 0:
            raise ValueError(f"sample_size must be positive, got {sample_size}")
        key = keys.join_key(prefix.strip("/"), path.name)
        form, stored = self.service.estimate_put(bucket, key, path, max_ratio)
        size = path.stat().st_size
        reference = keys.reference_key(keys.split_key(key)[0])
        return CompressionEstimate(
            original_size=size,
            estimated_compressed_size=stored,
            estimated_ratio=1 - stored / size if size else 0.0,
            confidence=1.0,
            recommended_reference=reference if form == "delta" else None,
            should_use_delta=form in ("delta", "reference"),
            key=key,
            stored_as=form,
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
