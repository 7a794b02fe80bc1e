"""Two methods of deltaglider 6.2.0's SDK that have better spellings here,
kept so 6.2.0 scripts run unchanged: ``upload_chunked`` (an upload with
per-chunk progress) and ``find_similar_files``."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deltaglider.client.base import ClientBase
from deltaglider.client.models import UploadSummary
from deltaglider.client.responses import quoted, upload_summary
from deltaglider.core import keys
from deltaglider.core.models import PutOptions

ChunkProgress = Callable[[int, int, int, int], object]
"""(chunk number from 1, chunks in all, bytes sent, bytes in all)."""

_DIGITS = re.compile(r"\d+")


class Compat62Methods(ClientBase):
    """``upload_chunked`` and ``find_similar_files``."""

    def upload_chunked(
        self,
        file_path: str | os.PathLike[str],
        s3_url: str,
        chunk_size: int = 5 * 1024 * 1024,
        progress_callback: ChunkProgress | None = None,
        max_ratio: float = 0.5,
    ) -> UploadSummary:
        """Upload a file as :meth:`upload` does (large files are streamed,
        never read whole), calling ``progress_callback`` each time another
        ``chunk_size`` bytes have been consumed, and for the last chunk."""
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        path, bucket, key = self._upload_target(file_path, s3_url)
        total = path.stat().st_size
        chunks = max(1, -(-total // chunk_size))
        reported = 0
        sent = 0

        def progress(count: int) -> None:
            nonlocal sent, reported
            sent += count
            while progress_callback is not None and reported < chunks:
                boundary = min(total, (reported + 1) * chunk_size)
                if sent < boundary:
                    break
                reported += 1
                progress_callback(reported, chunks, boundary, total)

        summary = self._put(bucket, key, path, PutOptions(max_ratio=max_ratio), progress)
        if progress_callback is not None and reported < chunks:  # an empty file
            progress_callback(chunks, chunks, total, total)
        return upload_summary(summary)

    def find_similar_files(
        self, bucket: str, prefix: str, filename: str, limit: int = 5
    ) -> list[dict[str, Any]]:
        """Files under ``prefix`` whose names look like versions of
        ``filename`` (same extension; names alike once version numbers are
        set aside), most alike first: ``Key``, ``Size``, ``Similarity``
        (0-1), ``LastModified``."""
        with self._errors("ListObjectsV2"):
            listing = self.service.list_logical(bucket, prefix)
        wanted = _shape(filename)
        scored = []
        for entry in listing.objects:
            name = keys.split_key(entry.key)[1]
            if Path(name).suffix != Path(filename).suffix:
                continue
            score = difflib.SequenceMatcher(None, wanted, _shape(name)).ratio()
            if score > 0.5:
                scored.append((entry, score))
        sizes = self._descriptions.sizes(bucket, [e for e, _ in scored if e.is_delta])
        scored.sort(key=lambda pair: (-pair[1], pair[0].key))
        return [
            {
                "Key": entry.key,
                "Size": sizes.get(entry.key, entry.stored_size),
                "Similarity": round(score, 3),
                "LastModified": entry.last_modified,
                "ETag": quoted(entry.etag),
            }
            for entry, score in scored[:limit]
        ]


def _shape(name: str) -> str:
    """A file name with its version numbers set aside (``app-1.2.zip`` ->
    ``app-#.#.zip``)."""
    return _DIGITS.sub("#", Path(name).name.lower())
