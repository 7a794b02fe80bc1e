"""Conditional requests (RFC 7232, as S3 evaluates them) against a logical
object's ETag and Last-Modified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deltaglider.client.arguments import timestamp
from deltaglider.client.responses import quoted
from deltaglider.core.models import StoredObject

NOT_MODIFIED = 304
PRECONDITION_FAILED = 412


def _etag_matches(etag: str, condition: str) -> bool:
    """Whether ``etag`` is among ``condition``'s (``*``, or a list of
    quoted or bare ETags, weak ones compared as strong)."""
    mine = etag.strip('"')
    for item in condition.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.removeprefix("W/").strip('"') == mine:
            return True
    return False


def evaluate(
    etag: str,
    last_modified: datetime,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: datetime | str | None = None,
    if_unmodified_since: datetime | str | None = None,
) -> int | None:
    """None when the request goes ahead, else its status: 412 or 304.

    If-Match, else If-Unmodified-Since, may fail it (412); then
    If-None-Match, else If-Modified-Since, may answer 304.  Times compare
    to the second, as the Last-Modified header carries them."""
    modified = last_modified.replace(microsecond=0)
    if if_match is not None:
        if not _etag_matches(etag, if_match):
            return PRECONDITION_FAILED
    elif if_unmodified_since is not None and modified > timestamp(if_unmodified_since):
        return PRECONDITION_FAILED
    if if_none_match is not None:
        if _etag_matches(etag, if_none_match):
            return NOT_MODIFIED
    elif if_modified_since is not None and modified <= timestamp(if_modified_since):
        return NOT_MODIFIED
    return None


@dataclass(frozen=True)
class Conditions:
    """A request's If-Match, If-None-Match, If-Modified-Since and
    If-Unmodified-Since."""

    if_match: str | None
    if_none_match: str | None
    if_modified_since: datetime | str | None
    if_unmodified_since: datetime | str | None

    @property
    def given(self) -> bool:
        """Whether the request has any condition."""
        return any(
            value is not None
            for value in (
                self.if_match,
                self.if_none_match,
                self.if_modified_since,
                self.if_unmodified_since,
            )
        )

    def evaluate(self, stored: StoredObject) -> int | None:
        return evaluate(
            quoted(stored.etag),
            stored.last_modified,
            if_match=self.if_match,
            if_none_match=self.if_none_match,
            if_modified_since=self.if_modified_since,
            if_unmodified_since=self.if_unmodified_since,
        )
