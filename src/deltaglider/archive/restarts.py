"""Long deflate streams re-created in chunks, on every core.

At a block boundary, deflate at levels 4-9 keeps nothing but the last
32 KiB of its input and a few values that a fresh stream primed with that
input mostly has too (``csrc/dg_deflate.h``), so the blocks after a
boundary come out of such a stream as they came out of the whole one.  The
writer finds a stream's boundaries, keeps those that restart exactly
(:func:`find`: it deflates every chunk and compares its bits) and records
them; a reader deflates the chunks at once and joins their bits
(:func:`chunk` and :func:`join`).  A chunk is given the content from its
restart to :data:`LOOKAHEAD` bytes past the next (deflate decides a block's
last matches by looking ahead), primed with the 32 KiB before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from deltaglider._xdelta3 import ffi, lib
from deltaglider.archive.deflate import (
    INFOZIP,
    ZLIB,
    Params,
    deflater_of,
    matches,
    starts_alike,
)
from deltaglider.archive.errors import CorruptContentsDeltaError

NAME = "restarts-1"
"""How a delta with restarted deflates records them, beside its deflate
families (a reader without it refuses the object)."""
MIN_CONTENT = 1 << 20
"""Content below which a stream is deflated in one go."""
LOOKAHEAD = 4096
"""Content past its end a chunk is given (part of the format: a reader
gives a chunk exactly this)."""
_SPACING = 256 << 10  # content between restarts at least
_CLOSEST = 64 << 10  # ... and what a reader allows (part of the format)
_CHUNKS = 64  # and at most this many chunks: work for 16 cores and more
_TAIL = 128 << 10  # no restart this close to the end: gzip's end of input begins early
_DICTIONARY = 32 << 10
_ROUNDS = 8  # rounds of dropping restarts that did not restart exactly


@dataclass(frozen=True)
class Restart:
    """Where a chunk starts: the content offset and the stream's bit."""

    offset: int
    bit: int


def _primable(params: Params) -> bool:
    return params.level >= 4 and params.family in (ZLIB, INFOZIP)


def restartable(params: Params, content_size: int) -> bool:
    """Whether a stream of these parameters and size is worth restarts and
    can have them.  Levels 1-3 insert fewer strings than a primed stream
    has.  gzip and busybox streams are not restarted: their end of input
    depends on where the window stood when the input ran out, which a
    primed stream does not reproduce (and the GNU patch takes a primed
    window's end for the input's).  pigz's chunks are streams of their own."""
    return params.level >= 4 and params.family in (ZLIB, INFOZIP) and content_size >= MIN_CONTENT


def check(params: Params, restarts: Sequence[Restart], content_size: int, size: int) -> None:
    """CorruptContentsDeltaError unless the parameters are ones the writer
    restarts and the restarts lie strictly inside the content and the
    stream, in order, at least 64 KiB of content apart."""
    if not _primable(params):
        raise CorruptContentsDeltaError(f"deflate parameters {params} are never restarted")
    offset = bit = 0
    for restart in restarts:
        # Each chunk deflates 36 KiB more than its own content: chunks that
        # close would make a rebuild deflate its content many times over.
        if restart.offset - offset < _CLOSEST:
            raise CorruptContentsDeltaError("a deflate's restarts are too close together")
        if not (restart.offset < content_size and bit < restart.bit < 8 * size):
            raise CorruptContentsDeltaError("a deflate's restarts are out of order or range")
        offset, bit = restart.offset, restart.bit


def _bounds(restarts: Sequence[Restart]) -> list[tuple[Restart, Restart | None]]:
    starts = [Restart(0, 0), *restarts]
    return list(zip(starts, [*restarts, None], strict=True))


def chunk(params: Params, content: memoryview, start: Restart, end: Restart | None) -> bytearray:
    """One chunk's deflate, laid out as in the stream's bytes from the byte
    where it starts (its first ``start.bit % 8`` bits are zeros; all of it
    for the last chunk, at least up to ``end`` for the others), or
    CorruptContentsDeltaError."""
    stop = len(content) if end is None else min(end.offset + LOOKAHEAD, len(content))
    piece = content[start.offset : stop]
    dictionary = content[max(0, start.offset - _DICTIONARY) : start.offset]
    out = bytearray(len(piece) + len(piece) // 8 + 1024)  # more than deflate can make of it
    written = ffi.new("size_t *")
    with (
        ffi.from_buffer(dictionary) as c_dict,
        ffi.from_buffer(piece) as c_in,
        ffi.from_buffer(out) as c_out,
    ):
        rc = lib.dg_deflate_restart(
            deflater_of(params), c_dict, len(dictionary), start.bit % 8, c_in, len(piece),
            end is None, c_out, len(out), written,
        )  # fmt: skip
    if rc == lib.DG_DEFLATE_ERR_NOMEM:
        raise MemoryError("deflate: out of memory")
    if rc != lib.DG_DEFLATE_OK:
        raise CorruptContentsDeltaError(f"a chunk of a restarted deflate failed ({rc})")
    del out[written[0] :]
    if end is not None and 8 * len(out) < end.bit - start.bit // 8 * 8:
        raise CorruptContentsDeltaError("a chunk of a restarted deflate is short of its end")
    return out


def join(pieces: list[tuple[Restart, Restart | None, bytearray]], size: int) -> bytearray:
    """The stream from its chunks' bits: exactly ``size`` bytes, or
    CorruptContentsDeltaError."""
    out = bytearray(size)
    with ffi.from_buffer(out) as c_out:
        for start, end, bits in pieces:
            first = start.bit // 8 * 8  # a chunk's bytes are laid out as in the stream's
            count = 8 * len(bits) if end is None else end.bit - first
            if end is None and first + count != 8 * size:
                raise CorruptContentsDeltaError(
                    f"a restarted deflate gives other than the {size} bytes recorded"
                )
            with ffi.from_buffer(bits) as c_bits:
                lib.dg_bits_or(c_out, first, c_bits, count)
    return out


def deflated(
    params: Params,
    content: memoryview,
    size: int,
    restarts: Sequence[Restart],
    pool: Executor | None = None,
    progress: Callable[[int], object] | None = None,
) -> bytearray:
    """The whole stream, its chunks on ``pool``'s threads or on this one;
    ``progress`` is told the stream's bytes as each chunk is done."""
    check(params, restarts, len(content), size)
    bounds = _bounds(restarts)
    pieces = []
    futures = [pool.submit(chunk, params, content, s, e) for s, e in bounds] if pool else []
    done = 0  # the stream's bytes reported
    for k, (start, end) in enumerate(bounds):
        bits = futures[k].result() if pool else chunk(params, content, start, end)
        pieces.append((start, end, bits))
        reached = size if end is None else end.bit // 8
        if progress is not None and reached > done:
            progress(reached - done)
            done = reached
    return join(pieces, size)


def boundaries(compressed: memoryview, content_size: int, spacing: int) -> list[Restart] | None:
    """Where the stream's blocks start, at least ``spacing`` bytes of
    content apart; None where it does not inflate to ``content_size``."""
    cap = content_size // max(spacing, 1) + 2
    bits, offsets = ffi.new("uint64_t[]", cap), ffi.new("uint64_t[]", cap)
    count = ffi.new("size_t *")
    with ffi.from_buffer(compressed) as c_stream:
        rc = lib.dg_deflate_blocks(
            c_stream, len(compressed), content_size, spacing, bits, offsets, cap, count
        )
    if rc == lib.DG_DEFLATE_ERR_NOMEM:
        raise MemoryError("inflate: out of memory")
    if rc != lib.DG_DEFLATE_OK:
        return None
    return [Restart(offsets[i], bits[i]) for i in range(count[0])]


def find(
    params: Params,
    content: memoryview,
    compressed: memoryview,
    progress: Callable[[int], object] | None = None,
) -> list[Restart] | None:
    """The restarts with which ``params`` re-create ``compressed`` from
    ``content`` in chunks, each chunk checked; None where they do not (the
    first chunk differs: other parameters), and the writer deflates it in
    one go.  A chunk that differs loses its restart (it joins the one
    before), and only the chunks so joined are checked again.  ``progress``
    is told each chunk's compressed bytes as it is checked."""
    spacing = max(_SPACING, len(content) // _CHUNKS)
    found = boundaries(compressed, len(content), spacing)
    if found is None:
        return None
    restarts = [r for r in found if r.offset <= len(content) - _TAIL]
    checked: set[tuple[Restart, Restart | None]] = set()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for _ in range(_ROUNDS):
            bounds = [b for b in _bounds(restarts) if b not in checked]
            wrong = _differing(params, content, compressed, bounds, pool, progress)
            if Restart(0, 0) in wrong:
                return None
            if not wrong:
                return restarts
            checked.update(b for b in bounds if b[0] not in wrong)
            restarts = [r for r in restarts if r not in wrong]
    return None


def _differing(
    params: Params,
    content: memoryview,
    compressed: memoryview,
    bounds: list[tuple[Restart, Restart | None]],
    pool: Executor,
    progress: Callable[[int], object] | None = None,
) -> set[Restart]:
    """The starts of the chunks whose bits differ from the stream's."""
    futures = [pool.submit(chunk, params, content, s, e) for s, e in bounds]
    wrong = set()
    for (start, end), future in zip(bounds, futures, strict=True):
        first = start.bit // 8  # a chunk's bytes are laid out from the stream's byte
        stop = len(compressed) if end is None else (end.bit + 7) // 8
        try:
            ours = future.result()
        except CorruptContentsDeltaError:
            wrong.add(start)
            continue
        finally:
            if progress is not None:
                progress(stop - first)
        theirs = compressed[first:]
        if end is None:  # the last chunk: all of it, to the stream's last byte
            same = len(ours) == len(theirs) and _same_bits(
                ours, theirs, start.bit % 8, 8 * len(ours)
            )
        else:
            same = _same_bits(ours, theirs, start.bit % 8, end.bit - 8 * first)
        if not same:
            wrong.add(start)
    return wrong


def _same_bits(ours: bytearray, theirs: memoryview, skip: int, count: int) -> bool:
    """Whether bits ``skip`` to ``count`` (least significant first) of two
    byte strings laid out from the same byte are the same: whole bytes
    compared at C speed, the partial ones at either end masked."""
    if 8 * len(ours) < count or 8 * len(theirs) < count:
        return False
    whole_from, whole_to = (skip + 7) // 8, count // 8
    if whole_from < whole_to and not ours.startswith(theirs[whole_from:whole_to], whole_from):
        return False
    for index in {skip // 8, count // 8}:
        if whole_from <= index < whole_to:
            continue
        low, high = max(skip - 8 * index, 0), min(count - 8 * index, 8)
        if low < high and (ours[index] ^ theirs[index]) & ((1 << high) - (1 << low)):
            return False
    return True


class Checker:
    """The whole-stream check of a long stream's candidate parameters (see
    :meth:`~deltaglider.archive.deflate.ParamSearch.find`): in chunks on
    every core where they restart, keeping the restarts found; else one
    deflate of it all.  ``progress`` is told the stream's bytes as chunks
    are checked."""

    def __init__(
        self,
        content: memoryview,
        compressed: memoryview,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.content = content
        self.compressed = compressed
        self.progress = progress
        self.found: dict[Params, tuple[Restart, ...]] = {}

    def restarts_of(self, params: Params | None) -> tuple[Restart, ...]:
        """The restarts the check found for ``params`` (none: checked whole)."""
        return self.found.get(params, ()) if params is not None else ()

    def __call__(self, params: Params) -> bool:
        if restartable(params, len(self.content)):
            # A wrong candidate fails its first block, before every core is
            # given its chunks.
            if not starts_alike(params, self.content, self.compressed):
                return False
            found = find(params, self.content, self.compressed, self.progress)
            if found is not None:
                self.found[params] = tuple(found)
                return True
        return matches(params, self.content, self.compressed)
