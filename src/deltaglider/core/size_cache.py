"""The size cache: deltas' file sizes kept in the bucket, so sampled and
detailed stats, and listings of many deltas, HEAD only the deltas written
since their sizes were last read.

Each entry is keyed by the delta's key and ETag: a rewritten delta has a
new ETag, so a stale size is never used.  The cache lives in its own
object under ``.deltaglider/`` (hidden from listings, and not 6.2.0's
``stats_<mode>.json`` files, whose shape differs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from deltaglider.core import keys
from deltaglider.core.errors import ObjectNotFoundError
from deltaglider.ports.storage import ListedObject, StoragePort
from deltaglider.ports.support import LoggerPort

SIZE_CACHE_KEY = keys.CONTROL_PREFIX + "stats/delta-sizes.json"
_FORMAT = 1


class DeltaSizeCache:
    """Known file sizes of a bucket's deltas, read once and written back
    (pruned to the deltas still listed) only when it changed."""

    def __init__(self, storage: StoragePort, logger: LoggerPort, bucket: str) -> None:
        self.storage = storage
        self.logger = logger
        self.bucket = bucket
        self.sizes: dict[str, tuple[str, int]] = {}
        self.changed = False

    def load(self) -> None:
        """Read the cache; a missing or unreadable one is empty."""
        try:
            _, stream = self.storage.open(self.bucket, SIZE_CACHE_KEY)
        except ObjectNotFoundError:
            return
        try:
            with stream:
                document = json.loads(stream.read())
            if document.get("format") != _FORMAT:
                return
            self.sizes = {
                key: (str(etag), int(size)) for key, (etag, size) in document["sizes"].items()
            }
        except Exception as exc:  # a damaged cache only costs HEADs
            self.logger.warning("size cache unreadable; ignoring it", error=str(exc))
            self.sizes = {}

    def known(self, key: str, etag: str) -> int | None:
        """The recorded size of this version (``etag``) of the delta ``key``."""
        entry = self.sizes.get(key)
        return entry[1] if entry is not None and entry[0] == etag else None

    def record(self, key: str, etag: str, size: int) -> None:
        """Remember a size just read."""
        self.sizes[key] = (etag, size)
        self.changed = True

    def save(self, listed: Iterable[ListedObject] | None = None) -> None:
        """Write the cache back if it changed, keeping only deltas still
        ``listed`` (the whole bucket's), or every entry when the caller saw
        only part of the bucket (``None``)."""
        kept = self.sizes
        if listed is not None:
            present = {obj.key for obj in listed}
            kept = {key: entry for key, entry in self.sizes.items() if key in present}
        if not self.changed and len(kept) == len(self.sizes):
            return
        body = json.dumps({"format": _FORMAT, "sizes": kept}, separators=(",", ":"))
        try:
            self.storage.put(
                self.bucket, SIZE_CACHE_KEY, body.encode(), {}, content_type="application/json"
            )
        except Exception as exc:
            # Read-only credentials still get their answers; the cache is an
            # optimisation, so its absence is not worth a warning on every ls.
            self.logger.info("size cache not written", error=str(exc))
            return
        self.sizes, self.changed = kept, False
