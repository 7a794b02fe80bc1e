"""Pages of logical listings with boto3's paging fields.

The engine returns a whole sorted listing (one level with ``/``); pages are
cut from it.  A continuation token carries the last key handed out, so it
really continues even if the bucket changed; the listing itself is kept
for a short while, so paging through N objects reads the store once, not
once per page.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
import time
from dataclasses import dataclass

from deltaglider.core.listing import LogicalEntry, LogicalListing
from deltaglider.core.service import DeltaService

SNAPSHOT_SECONDS = 30.0


@dataclass(frozen=True)
class Page:
    """One page: objects and common prefixes, in key order."""

    objects: list[LogicalEntry]
    common_prefixes: list[str]
    is_truncated: bool
    last_key: str | None
    """The last key or prefix of the page (what a token continues after)."""


class _Snapshot:
    def __init__(self, listing: LogicalListing) -> None:
        self.listing = listing
        items: list[tuple[bytes, LogicalEntry | str]] = [
            (_sort_key(e.key), e) for e in listing.objects
        ]
        items += [(_sort_key(p), p) for p in listing.common_prefixes]
        items.sort(key=lambda item: item[0])
        self.sort_keys = [k for k, _ in items]
        self.items = [item for _, item in items]
        self.created = time.monotonic()


def _sort_key(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def encode_token(last_key: str) -> str:
    """An opaque continuation token for "after ``last_key``"."""
    raw = json.dumps({"v": 1, "after": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> str:
    """The key a token continues after.

    Raises:
        ValueError: not a token this package made.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after = data["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"invalid continuation token {token!r}") from exc
    if data.get("v") != 1 or not isinstance(after, str):
        raise ValueError(f"invalid continuation token {token!r}")
    return after


class Lister:
    """Cuts pages from the engine's listings, keeping recent ones."""

    def __init__(self, service: DeltaService) -> None:
        self._service = service
        self._snapshots: dict[tuple[str, str, str], _Snapshot] = {}
        self._lock = threading.Lock()

    def page(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        max_keys: int,
        after: str | None,
        *,
        continuing: bool,
    ) -> Page:
        """Up to ``max_keys`` entries after ``after``.  A first page reads
        the store afresh; a continuation reuses a recent listing."""
        snapshot = self._snapshot(bucket, prefix, delimiter, reuse=continuing)
        start = 0 if after is None else bisect.bisect_right(snapshot.sort_keys, _sort_key(after))
        chosen = snapshot.items[start : start + max_keys] if max_keys > 0 else []
        objects = [i for i in chosen if isinstance(i, LogicalEntry)]
        prefixes = [i for i in chosen if isinstance(i, str)]
        last = chosen[-1] if chosen else None
        return Page(
            objects=objects,
            common_prefixes=prefixes,
            is_truncated=start + len(chosen) < len(snapshot.items),
            last_key=None if last is None else (last if isinstance(last, str) else last.key),
        )

    def listing(self, bucket: str, prefix: str) -> LogicalListing:
        """The recursive listing of ``prefix``, a recent one if kept."""
        return self._snapshot(bucket, prefix, "", reuse=True).listing

    def _snapshot(self, bucket: str, prefix: str, delimiter: str, *, reuse: bool) -> _Snapshot:
        key = (bucket, prefix, delimiter)
        with self._lock:
            kept = self._snapshots.get(key)
        if reuse and kept is not None and time.monotonic() - kept.created < SNAPSHOT_SECONDS:
            return kept
        snapshot = _Snapshot(self._service.list_logical(bucket, prefix, delimiter))
        with self._lock:
            now = time.monotonic()
            for old in [
                k for k, s in self._snapshots.items() if now - s.created >= SNAPSHOT_SECONDS
            ]:
                del self._snapshots[old]
            self._snapshots[key] = snapshot
        return snapshot

    def forget(self, bucket: str | None = None) -> None:
        """Drop kept listings (of one bucket, or all): the bucket changed."""
        with self._lock:
            if bucket is None:
                self._snapshots.clear()
            else:
                for key in [k for k in self._snapshots if k[0] == bucket]:
                    del self._snapshots[key]
