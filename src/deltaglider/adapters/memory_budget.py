"""One memory budget for all the encodes of a process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class MemoryBudget:
    """Bytes that the encodes running at once may hold together (their match
    tables and source windows).

    An encode asks for what its best plan costs and the least it can do
    with; it gets as much as is free, once at least its least is free.  An
    encode alone is never kept waiting: if even its least exceeds the whole
    budget it runs with that, so no file size is refused."""

    def __init__(self, total: int) -> None:
        if total <= 0:
            raise ValueError(f"memory budget must be positive, got {total}")
        self.total = total
        self._held = 0
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        """Bytes granted to encodes running now."""
        with self._changed:
            return self._held

    @contextmanager
    def hold(self, wanted: int, least: int) -> Iterator[int]:
        """Grant between ``least`` and ``wanted`` bytes for the block's
        duration; waits while other encodes hold too much."""
        least = min(least, wanted)
        with self._changed:
            while self._held and self.total - self._held < least:
                self._changed.wait()
            granted = max(least, min(wanted, self.total - self._held))
            self._held += granted
        try:
            yield granted
        finally:
            with self._changed:
                self._held -= granted
                self._changed.notify_all()
