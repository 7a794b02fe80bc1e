"""What every part of a plan shares: the plan itself (:class:`Plan`), the
archives it is made of (:class:`Pair`), what it accumulates as it goes
(:class:`Output`), each thread's parameter searches (:class:`Searches`)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from deltaglider.archive import containers
from deltaglider.archive.deflate import Params, ParamSearch
from deltaglider.archive.pieces import SourcePieces
from deltaglider.archive.recipe import Directory, Lit, Op, Source, Src
from deltaglider.archive.restarts import Restart
from deltaglider.archive.runs import unchanged_runs

VERSION = re.compile(rb"[0-9]+(?:\.[0-9]+)*")
"""Numbers, dotted or not: a name's version (``pkg-24.1`` and ``pkg-24.1.1``
have the same shape)."""
_MATCHED_CHANGE = 256  # changed bytes past which a piece is matched against


DeflateKey = tuple[int, bytes, tuple[Restart, ...]]


def deflate_key(
    params: Params,
    content: Iterable[bytes | bytearray | memoryview],
    restarts: tuple[Restart, ...] = (),
) -> DeflateKey:
    """What identifies one re-deflate: parameters, the content's hash (the
    content given in parts) and its restarts."""
    digest = hashlib.sha256()
    for part in content:
        digest.update(part)
    return params.pack(), digest.digest(), restarts


@dataclass(frozen=True)
class Pair:
    """The reference and the target, in memory, with their zip indexes."""

    ref: memoryview
    target: memoryview
    ref_index: containers.ZipIndex
    target_index: containers.ZipIndex


@dataclass
class Plan:
    """A target taken apart: its recipe's ops and sources, the data stream's
    pieces, the source's bytes, and the deflates it relies on (their
    verified outputs)."""

    ops: list[Op]
    data: list[bytes | memoryview]
    sources: list[Source]
    source_parts: list[bytes | memoryview]
    """Each source's bytes, in the same order."""
    wholes: dict[Source, bytes | memoryview]
    """The whole pieces the sources were built from (so a check of the
    recipe need not build them again)."""
    deflated: dict[DeflateKey, memoryview] = field(default_factory=dict)
    carried: int = 0
    """Compressed bytes in the data stream (streams no parameters re-create)."""

    @property
    def useful(self) -> bool:
        """Whether it does better than the file's bytes: something copied
        or re-deflated (a directory's relative offsets alone, every member
        carried, make a larger delta than the plain one)."""
        return any(not isinstance(op, (Lit, Directory)) for op in self.ops)


class Reached:
    """How far into the target file planning has got, told to a put's
    progress callback as the file's bytes done since its last report: the
    offset each member ends at once it is planned, and within a long
    stream, each chunk as its restart is checked."""

    def __init__(self, progress: Callable[[int], object] | None) -> None:
        self._progress = progress
        self._done = 0
        self._lock = threading.Lock()  # zip members are analysed on worker threads

    def to(self, offset: int) -> None:
        """Everything before ``offset`` is planned."""
        self._report(offset - self._done)

    def within(self, start: int, end: int) -> Callable[[int], None] | None:
        """A callback for the bytes done between ``start`` and ``end`` (a
        long stream's chunks), counting at most ``end - start`` in all."""
        if self._progress is None:
            return None
        left = end - start

        def done(count: int) -> None:
            nonlocal left
            step = min(count, left)
            left -= step
            self._report(step)

        return done

    def _report(self, step: int) -> None:
        if self._progress is None or step <= 0:
            return
        with self._lock:
            self._done += step
        self._progress(step)


class Output:
    """What a plan accumulates as it goes: the data stream's pieces, the
    delta's source pieces, the deflates verified on the way, the
    compressed bytes carried as they are, and how far it has got."""

    def __init__(self, pieces: SourcePieces, reached: Reached | None = None) -> None:
        self.pieces = pieces
        self.reached = reached or Reached(None)
        self.data: list[bytes | memoryview] = []
        self.deflated: dict[DeflateKey, memoryview] = {}
        self.carried = 0

    def lit(self, chunk: bytes | memoryview) -> Lit:
        """``chunk`` as the next bytes of the data stream."""
        self.data.append(chunk)
        return Lit(len(chunk))

    def carry(self, compressed: bytes | memoryview) -> Lit:
        """A compressed stream carried as it is."""
        self.carried += len(compressed)
        return self.lit(compressed)

    def redeflated(
        self,
        params: Params,
        content: bytes,
        compressed: memoryview,
        restarts: tuple[Restart, ...] = (),
    ) -> None:
        """Note that ``params`` deflate ``content`` to ``compressed`` (with
        ``restarts``, in chunks)."""
        self.deflated[deflate_key(params, [content], restarts)] = compressed

    def against(self, content: memoryview, source: Source | None) -> list[Op] | None:
        """``content`` as runs of a source piece around what changed, when
        unchanged runs cover most of it (the piece is matched against the
        data stream where more than a little changed)."""
        if source is None:
            return None
        offset, piece = self.pieces.add(source)
        runs = unchanged_runs(content, piece)
        if runs is None:
            self.pieces.matched.add(source)
            return None
        prefix, suffix = runs
        if prefix == len(content) == len(piece):
            return [Src(offset, prefix)]
        if len(content) - suffix - prefix > _MATCHED_CHANGE:
            self.pieces.matched.add(source)
        ops: list[Op] = []
        if prefix:
            ops.append(Src(offset, prefix))
        if len(content) - suffix > prefix:
            ops.append(self.lit(content[prefix : len(content) - suffix]))
        if suffix:
            ops.append(Src(offset + len(piece) - suffix, suffix))
        return ops


class Searches:
    """Each thread's parameter searches, one for zip members and one for
    gzip streams (each learns its kind of stream)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, kind: str) -> ParamSearch:
        """This thread's search for ``"zip"`` members or ``"gzip"`` streams."""
        searches: dict[str, ParamSearch] | None = getattr(self._local, "by_kind", None)
        if searches is None:
            searches = self._local.by_kind = {}
        if kind not in searches:
            searches[kind] = ParamSearch(kind)
        return searches[kind]


def joined(ops: list[Op]) -> list[Op]:
    """Adjacent literal runs as one (their data is adjacent in the stream)."""
    out: list[Op] = []
    for op in ops:
        if isinstance(op, Lit) and out and isinstance(out[-1], Lit):
            out[-1] = Lit(out[-1].size + op.size)
        else:
            out.append(op)
    return out
