"""Putting a file back together from its recipe: the delta's source built
from the reference, then the ops run over the reference, the decoded data
stream and deflate.  Independent deflates, and the chunks of a restarted
one, run on several threads (the vendored deflate releases the GIL)."""

from __future__ import annotations

import bisect
import contextlib
import os
import struct
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

from deltaglider.archive import containers, parse, restarts, splice
from deltaglider.archive.containers import MAX_EXPANDED, Buffer
from deltaglider.archive.deflate import Params, deflate
from deltaglider.archive.errors import CorruptContentsDeltaError
from deltaglider.archive.recipe import (
    GUNZIP,
    INFLATE,
    MATCHED,
    PARSE,
    SKELETON,
    SLICE,
    Copy,
    Deflate,
    Directory,
    Lit,
    Members,
    Op,
    Parsed,
    Source,
    Splice,
    Src,
)

Known = Callable[[Deflate, list[Buffer]], Buffer | None]
"""A deflate's output already at hand (the writer's, verified as it
planned), given the op and its content's parts; None to deflate."""

_PARALLEL_MIN = 128 << 10  # deflated bytes below which one thread does it all
_BATCH_BYTES = 64 << 10  # deflated bytes handed to a thread at once
_REPORT = 1 << 20  # bytes of the file made between reports of progress


def source_piece(
    reference: memoryview,
    source: Source,
    index: containers.ZipIndex,
    built: dict[Source, bytes | memoryview] | None = None,
    room: int | None = None,
) -> bytes | memoryview:
    """One piece of the delta's source: a range of the reference, taken as
    is, inflated and/or gunzipped, or the reference's skeleton; then
    sliced if SLICE says so.  A piece that does not inflate or gunzip
    within the fixed limits is taken as it is; the writer builds its
    pieces with this function too.  ``built`` keeps whole pieces, so
    slices of one are built once.

    ``room`` (the writer's): expand to at most that many bytes, and raise
    :class:`PieceTooLargeError` where the limits above might have let the piece
    grow further: what it would be is not known, so it is not used."""
    whole = source.whole
    piece = None if built is None else built.get(whole)
    if piece is None:
        piece = _whole_piece(reference, whole, index, room, built)
        if built is not None:
            built[whole] = piece
    if not source.flags & SLICE:
        return piece
    if source.start + source.length > len(piece):
        raise CorruptContentsDeltaError("a source slice lies outside its piece")
    return memoryview(piece)[source.start : source.start + source.length]


class PieceTooLargeError(Exception):
    """A piece of the reference would expand beyond the writer's room."""


def _whole_piece(
    reference: memoryview,
    source: Source,
    index: containers.ZipIndex,
    room: int | None,
    built: dict[Source, bytes | memoryview] | None,
) -> bytes | memoryview:
    if source.offset + source.size > len(reference):
        raise CorruptContentsDeltaError("a source lies outside the reference")
    if source.flags & SKELETON:
        return index.skeleton or b""
    piece: bytes | memoryview = reference[source.offset : source.offset + source.size]
    if source.flags & PARSE:
        kind = source.flags & (INFLATE | GUNZIP)
        content = None if built is None else built.get(Source(source.offset, source.size, kind))
        return _parses(piece, kind, room, content if isinstance(content, bytes) else None)
    if source.flags & INFLATE:
        cap = containers.expansion_limit(len(piece))
        inflated = containers.inflate(piece, cap if room is None else min(cap, room))
        if inflated is not None and inflated[1] == len(piece):
            piece = inflated[0]
        elif room is not None and room < cap:
            raise PieceTooLargeError
    if source.flags & GUNZIP:
        held = len(piece) if source.flags & INFLATE else 0
        left = MAX_EXPANDED if room is None else room - held
        gunzipped = containers.gunzip(piece, min(MAX_EXPANDED, left))
        if gunzipped is None and left < MAX_EXPANDED:
            raise PieceTooLargeError
        piece = gunzipped or piece
    return piece


def _parses(stream: Buffer, kind: int, room: int | None, content: bytes | None) -> bytes:
    """The parse of a raw deflate stream (INFLATE), or of a gzip stream's
    members joined (GUNZIP, as far as :func:`containers.gunzip` reads),
    their content within the limits (``room``, if less, the writer's:
    :class:`PieceTooLargeError` past it).  A stream that does not parse is
    damage: the writer adds only pieces that do.  ``content``: the stream's
    content piece, where it is built already (a gzip file's, if it is one
    member): it is not inflated again."""
    if content is not None:
        view = memoryview(stream)
        start = 0 if kind == INFLATE else containers.gzip_header_end(view, 0)
        end = len(view) if kind == INFLATE else len(view) - 8
        made = None if start is None else parse.parse_of(view[start:end], content)
        if made is not None:  # the parse reads exactly that content: the same bytes as below
            return made
    if kind == INFLATE:
        cap = containers.expansion_limit(len(stream))
        inflated = containers.inflate(stream, cap if room is None else min(cap, room))
        if inflated is None or inflated[1] != len(stream):
            if room is not None and room < cap:
                raise PieceTooLargeError
            raise CorruptContentsDeltaError("a parse piece's stream does not inflate")
        return _parse_one(stream, inflated[0])
    if kind != GUNZIP:
        raise CorruptContentsDeltaError("a parse piece is neither of a member nor of a gzip stream")
    view = memoryview(stream)
    limit = MAX_EXPANDED if room is None else min(MAX_EXPANDED, room)
    parses: list[bytes] = []
    total = pos = 0
    while (found := containers.gzip_member(view, pos)) is not None:
        member, content = found  # parsed as found: one member's content held at a time
        total += len(content)
        if total > limit:
            if room is not None and room < MAX_EXPANDED:
                raise PieceTooLargeError
            raise CorruptContentsDeltaError("a parse piece's streams expand past the limits")
        parses.append(_parse_one(view[member.stream : member.trailer], content))
        pos = member.trailer + 8
    if not parses:
        raise CorruptContentsDeltaError("a parse piece's stream is not gzip")
    return b"".join(parses)


def _parse_one(stream: Buffer, content: Buffer) -> bytes:
    made = parse.parse_of(stream, content)
    if made is None:
        raise CorruptContentsDeltaError("a parse piece's stream does not parse")
    return made


class Pieces:
    """The delta's source, as its pieces (a tarball's is large: not joined
    into one buffer).  ``Src`` ops read within one piece."""

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        self.parts = [memoryview(part) for part in parts]
        self.starts: list[int] = []
        total = 0
        for part in self.parts:
            self.starts.append(total)
            total += len(part)
        self.size = total

    def read(self, offset: int, size: int) -> memoryview:
        """``size`` bytes at ``offset`` of the pieces laid end to end."""
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            raise CorruptContentsDeltaError("the recipe copies from outside the delta's source")
        start = offset - self.starts[index]
        if start + size > len(self.parts[index]):
            raise CorruptContentsDeltaError("the recipe copies past a piece of the delta's source")
        return self.parts[index][start : start + size]


def build_source(
    reference: bytes | memoryview,
    sources: tuple[Source, ...] | list[Source],
    index: containers.ZipIndex,
    built: dict[Source, bytes | memoryview] | None = None,
) -> tuple[Pieces, bytes | memoryview]:
    """What ``Src`` ops read (every piece) and what the xdelta3 part was
    encoded against (the MATCHED pieces, concatenated).  ``built``: whole
    pieces already built (by the writer, with this module's function)."""
    view = memoryview(reference)
    built = dict(built or {})
    # Running totals, checked before each piece grows them: the pieces
    # built (each once), and the matched ones joined, repeats counted (a
    # source named a thousand times is built once but joined a thousand
    # times).  Both within what a writer may expand (MAX_EXPANDED) beyond
    # the reference itself.
    limit = MAX_EXPANDED + len(view)
    expanded = sum(len(piece) for piece in built.values())
    matched = 0
    parts = []
    for source in sources:
        known = len(built)
        piece = source_piece(view, source, index, built)
        if len(built) != known:
            expanded += len(built[source.whole])
        if source.flags & MATCHED:
            matched += len(piece)
        if expanded > limit or matched > limit:
            raise CorruptContentsDeltaError("the delta's source would be too large")
        parts.append(piece)
    pieces = zip(parts, sources, strict=True)
    return Pieces(parts), joined([piece for piece, source in pieces if source.flags & MATCHED])


def joined(parts: list[bytes | memoryview]) -> bytes | memoryview:
    """Pieces as one buffer (one piece is not copied)."""
    if len(parts) == 1:
        return memoryview(parts[0])
    return b"".join(parts)


@dataclass
class _Job:
    """A deflate to run: its op, the pieces of its content and, for a
    stream written from its parse, the parse."""

    op: Deflate | Parsed
    parts: list[memoryview | _Job]
    parse: memoryview | None = None

    @property
    def restarted(self) -> bool:
        return isinstance(self.op, Deflate) and bool(self.op.restarts)


class _Layout:
    """Lays the ops over the data stream and the reference, checking every
    range, before anything is deflated."""

    def __init__(
        self,
        reference: memoryview,
        index: containers.ZipIndex,
        source: Pieces,
        data: memoryview,
        output_size: int,
    ) -> None:
        self.reference = reference
        self.index = index
        self.source = source
        self.data = data
        self.position = 0
        # What the ops may produce in all (nested content too): the writer
        # expands no more than this, so a damaged recipe cannot ask for more.
        self.budget = output_size + containers.expansion_limit(output_size) + len(data)
        self.offsets: containers.RelativeOffsets | None = None  # built at the first Directory
        self.times: list[tuple[int, int, int]] = []
        """Directory entries whose times to XOR once the file is whole:
        (entry, its local header, the directory), as output offsets."""

    def parts(self, ops: tuple[Op, ...]) -> list[memoryview | _Job]:
        out: list[memoryview | _Job] = []
        produced = 0  # the size of ``out``, kept as it grows
        for op in ops:
            if isinstance(op, Members):
                for _ in range(op.count):
                    header, data = self._member()
                    out += (header, data)
                    produced += len(header) + len(data)
                continue
            if isinstance(op, Directory):
                if self.offsets is None:
                    self.offsets = containers.RelativeOffsets(self.index.offsets)
                directory = produced
                for _ in range(op.count):
                    entry = self._entry(self.offsets)
                    header = struct.unpack_from("<I", entry, 42)[0] + op.shift
                    self.times.append((produced, header, directory))
                    out.append(entry)
                    produced += len(entry)
                continue
            self.budget -= op.size
            if self.budget < 0:
                raise CorruptContentsDeltaError("the recipe produces more than its limits allow")
            if isinstance(op, Lit):
                if self.position + op.size > len(self.data):
                    raise CorruptContentsDeltaError("the recipe reads past its data")
                out.append(self.data[self.position : self.position + op.size])
                self.position += op.size
            elif isinstance(op, (Copy, Src)):
                out.append(self._read(op))
            elif isinstance(op, Splice):
                out.append(memoryview(self._spliced(op)))
            elif isinstance(op, Parsed):
                if self.position + op.parse > len(self.data):
                    raise CorruptContentsDeltaError("the recipe reads past its data")
                made = self.data[self.position : self.position + op.parse]
                self.position += op.parse
                job = _Job(op, self.parts(op.parts), made)
                if op.size > parse.bound(sum(_size(part) for part in job.parts), op.parse):
                    raise CorruptContentsDeltaError(
                        "the recipe writes more bytes than a parse of its content could"
                    )
                out.append(job)
            else:
                job = _Job(op, self.parts(op.parts))
                if op.restarts and not all(isinstance(p, memoryview) for p in job.parts):
                    raise CorruptContentsDeltaError("a restarted deflate's content is deflated")
                if op.size > _deflate_bound(sum(_size(part) for part in job.parts)):
                    raise CorruptContentsDeltaError(
                        "the recipe deflates to more bytes than its content could"
                    )
                out.append(job)
            produced += op.size
        return out

    def _read(self, op: Copy | Src) -> memoryview:
        if isinstance(op, Src):
            return self.source.read(op.offset, op.size)
        if op.offset + op.size > len(self.reference):
            raise CorruptContentsDeltaError("the recipe copies past the reference")
        return self.reference[op.offset : op.offset + op.size]

    def _spliced(self, op: Splice) -> bytes:
        """A stream from the reference's bits around a run of the data's."""
        # Its source is read whole, whatever the splice makes of it: counted
        # against the limits too, so splices cannot read a reference over and over.
        self.budget -= op.source.size
        if self.budget < 0:
            raise CorruptContentsDeltaError("the recipe reads more than its limits allow")
        length = (op.cut.middle + 7) // 8
        if self.position + length > len(self.data):
            raise CorruptContentsDeltaError("the recipe reads past its data")
        middle = self.data[self.position : self.position + length]
        self.position += length
        try:
            return splice.apply(self._read(op.source), op.cut, middle, op.size)
        except ValueError as exc:
            raise CorruptContentsDeltaError(f"a splice does not fit ({exc})") from exc

    def _member(self) -> tuple[memoryview, memoryview]:
        """A local header from the data, then the data of the reference's
        member of that name."""
        header = self.data[self.position : self.position + 30]
        if len(header) < 30 or bytes(header[:4]) != containers.ZIP_LOCAL:
            raise CorruptContentsDeltaError("the recipe expects a zip local header in its data")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        end = self.position + 30 + name_len + extra_len
        if end > len(self.data):
            raise CorruptContentsDeltaError("the recipe reads past its data")
        name = bytes(self.data[self.position + 30 : self.position + 30 + name_len])
        member = self.index.by_name.get(name)
        if member is None:
            raise CorruptContentsDeltaError(f"the reference has no member {name!r}")
        self.budget -= end - self.position + member.end - member.data
        if self.budget < 0:
            raise CorruptContentsDeltaError("the recipe produces more than its limits allow")
        header_bytes = self.data[self.position : end]
        self.position = end
        return header_bytes, self.reference[member.data : member.end]

    def _entry(self, offsets: containers.RelativeOffsets) -> memoryview:
        """A directory entry from the data, its offset field made absolute."""
        start = self.position
        fixed = self.data[start : start + 46]
        if len(fixed) < 46 or bytes(fixed[:4]) != containers.ZIP_CENTRAL:
            raise CorruptContentsDeltaError("the recipe expects a directory entry in its data")
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", fixed, 28)
        end = start + 46 + name_len + extra_len + comment_len
        if end > len(self.data):
            raise CorruptContentsDeltaError("the recipe reads past its data")
        entry = bytearray(self.data[start:end])
        name = bytes(entry[46 : 46 + name_len])
        stored = struct.unpack_from("<I", entry, 42)[0]
        struct.pack_into("<I", entry, 42, offsets.actual(name, stored))
        self.budget -= len(entry)
        if self.budget < 0:
            raise CorruptContentsDeltaError("the recipe produces more than its limits allow")
        self.position = end
        return memoryview(entry)


def _run_all(jobs: list[_Job], known: Known | None) -> list[Buffer]:
    return [_run(job, known) for job in jobs]


def _size(part: memoryview | _Job) -> int:
    return len(part) if isinstance(part, memoryview) else part.op.size


def _deflate_bound(content: int) -> int:
    """The most deflate can output for ``content`` bytes, with any
    parameters (zlib's conservative ``deflateBound``, and a margin)."""
    return content + (content + 7) // 8 + (content + 63) // 64 + 64


def _run(
    job: _Job,
    known: Known | None,
    pool: Executor | None = None,
    progress: Callable[[int], object] | None = None,
) -> Buffer:
    content: list[Buffer] = [p if isinstance(p, memoryview) else _run(p, known) for p in job.parts]
    op = job.op
    if isinstance(op, Parsed):
        assert job.parse is not None  # laid out with it
        whole = content[0] if len(content) == 1 else b"".join(content)
        return parse.written(whole, job.parse, op.size)
    found = None if known is None else known(op, content)
    if found is not None:
        return found
    if op.restarts:
        whole = memoryview(content[0] if len(content) == 1 else b"".join(content))
        return restarts.deflated(op.params, whole, op.size, op.restarts, pool, progress)
    return deflate_parts(op.params, content, op.size)


def _batches(jobs: list[_Job]) -> list[list[_Job]]:
    """Jobs grouped into batches of at least :data:`_BATCH_BYTES` (one
    thread hand-off per small member would cost more than its deflate),
    largest first, so one big stream does not start last."""
    batches: list[list[_Job]] = []
    size = _BATCH_BYTES
    for job in sorted(jobs, key=lambda j: -j.op.size):
        if size >= _BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(job)
        size += job.op.size
    return batches


def deflate_parts(params: Params, parts: list[Buffer], size: int) -> Buffer:
    """The vendored deflate of content given as parts."""
    return deflate(params, parts[0] if len(parts) == 1 else b"".join(parts), size)


def assemble(
    ops: tuple[Op, ...],
    index: containers.ZipIndex,
    source: Pieces,
    data: bytes | bytearray | memoryview,
    size: int,
    known: Known | None = None,
    progress: Callable[[int], object] | None = None,
) -> bytearray:
    """Run the ops over the reference (``index``: its zip structure):
    exactly ``size`` bytes, or CorruptContentsDeltaError.  ``progress`` is
    told the bytes of the file as they are made (a restarted stream's chunk
    by chunk), at least :data:`_REPORT` at a time."""
    layout = _Layout(index.data, index, source, memoryview(data), size)
    parts = layout.parts(ops)
    if layout.position != len(layout.data):
        raise CorruptContentsDeltaError("the recipe leaves data unread")
    produced = sum(_size(part) for part in parts)
    if produced != size:  # checked before the output is allocated
        raise CorruptContentsDeltaError(f"the recipe produces {produced} bytes, not {size}")
    jobs = [p for p in parts if isinstance(p, _Job) and not p.restarted]
    restarted = any(isinstance(p, _Job) and p.restarted for p in parts)
    cores = os.cpu_count() or 1
    results: dict[int, tuple[Future[list[Buffer]], int]] = {}
    pool: Executor | None = None
    with contextlib.ExitStack() as stack:
        if cores > 1 and (sum(job.op.size for job in jobs) >= _PARALLEL_MIN or restarted):
            pool = stack.enter_context(ThreadPoolExecutor(cores))
            for batch in _batches(jobs):
                future = pool.submit(_run_all, batch, known)
                results.update((id(job), (future, n)) for n, job in enumerate(batch))
        out = bytearray(size)
        position = reported = 0
        for part in parts:
            if isinstance(part, _Job):
                done = results.get(id(part))
                if done is not None:
                    chunk = done[0].result()[done[1]]
                else:
                    chunk = _run(part, known, pool, progress)
                    if part.restarted:  # it told its progress itself, chunk by chunk
                        reported += len(chunk)
            else:
                chunk = part
            if position + len(chunk) > size:
                raise CorruptContentsDeltaError("the recipe produces more than the file's size")
            out[position : position + len(chunk)] = chunk
            position += len(chunk)
            if progress is not None and position - reported >= _REPORT:
                progress(position - reported)
                reported = position
    if progress is not None and position > reported:
        progress(position - reported)
    if position != size:
        raise CorruptContentsDeltaError(f"the recipe produced {position} bytes, not {size}")
    for entry, header, directory in layout.times:
        containers.xor_times(out, entry, header, directory)
    return out
