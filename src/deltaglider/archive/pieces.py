"""The delta's source as a plan builds it: pieces of the reference (taken
as is, inflated, gunzipped, or its skeleton), each built once, as the
decoder builds them (:func:`deltaglider.archive.rebuild.source_piece`),
within the plan's expansion budget; and which of them the data stream is
encoded against."""

from __future__ import annotations

import dataclasses
import threading

from deltaglider.archive import containers
from deltaglider.archive.rebuild import PieceTooLargeError, source_piece
from deltaglider.archive.recipe import GUNZIP, INFLATE, MATCHED, SLICE, Source


class ExpansionBudget:
    """Uncompressed bytes one plan may hold in all, the target's members
    and the reference's pieces alike, shared by the planner's threads.  An
    expansion takes its room before it runs (and is bounded by it), then
    gives back what it did not use."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self, most: int) -> int:
        """Room for up to ``most`` bytes: what is left, if less."""
        with self._lock:
            room = min(most, self._left)
            self._left -= room
            return room

    def give_back(self, unused: int) -> None:
        with self._lock:
            self._left += unused


class SourcePieces:
    """The pieces a plan's recipe lists as sources, in the order first
    used, laid end to end (``Src`` offsets are into that)."""

    def __init__(
        self, reference: memoryview, index: containers.ZipIndex, budget: ExpansionBudget
    ) -> None:
        self.ref = reference
        self.ref_index = index
        self.budget = budget
        self._built: dict[Source, bytes | memoryview] = {}  # pieces built ahead
        self._whole: dict[Source, bytes | memoryview] = {}  # what slices are cut from
        self.order: dict[Source, int] = {}  # each source's place in the recipe
        self.parts: list[bytes | memoryview] = []  # their bytes, in that order
        self.offsets: list[int] = []  # where each starts, laid end to end
        self.matched: set[Source] = set()  # pieces the data is encoded against
        self.size = 0

    def flagged(self) -> list[Source]:
        """The sources as the recipe lists them: MATCHED where the data
        stream is encoded against them."""
        return [
            dataclasses.replace(s, flags=s.flags | (MATCHED if s in self.matched else 0))
            for s in self.order
        ]

    def wholes(self) -> dict[Source, bytes | memoryview]:
        """The whole pieces built (so a check of the recipe need not build
        them again)."""
        return {s: p for s, p in self._built.items() if not s.flags & SLICE} | self._whole

    def add(self, source: Source, *, matched: bool = False) -> tuple[int, memoryview]:
        """A piece of the source (added once): its offset there and bytes;
        ``matched`` if the data stream is to be encoded against it."""
        if matched:
            self.matched.add(source)
        if source not in self.order:
            self.order[source] = len(self.parts)
            self.offsets.append(self.size)
            self.parts.append(self.bytes_of(source))
            self.size += len(self.parts[-1])
        index = self.order[source]
        return self.offsets[index], memoryview(self.parts[index])

    def bytes_of(self, source: Source) -> bytes | memoryview:
        """A piece's bytes, built as the decoder builds them, once (any
        thread may build them ahead)."""
        piece = self._built.get(source)
        if piece is None:
            expands = source.flags & (INFLATE | GUNZIP) and source.whole not in self._whole
            # As much as one stream of its size may expand to (twice for a
            # gzip stream inside a member), not all that is left: other
            # threads are expanding members too.
            stages = 2 if source.flags & INFLATE and source.flags & GUNZIP else 1
            room = (
                self.budget.take(stages * containers.expansion_limit(source.size)) if expands else 0
            )
            try:
                piece = source_piece(
                    self.ref, source, self.ref_index, self._whole, room if expands else None
                )
            except PieceTooLargeError:
                self.budget.give_back(room)
                raise  # the plan is abandoned: the file takes the plain delta
            whole = self._whole.get(source.whole)
            expanded = len(whole) if expands and isinstance(whole, bytes) else 0
            self.budget.give_back(room - expanded)
            self._built[source] = piece
        return piece
