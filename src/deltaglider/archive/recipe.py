"""The recipe of a contents delta: how the file is put back together from
the reference, the delta's data stream and deflate, and what the delta's
source is made of.  Serialised compactly; parsed with every count and size
checked, so a damaged recipe is an error, never a large allocation.

Ops (the file is their output, in order):

- ``Lit(n)``: the next ``n`` bytes of the data stream;
- ``Copy(offset, n)``: ``n`` bytes of the reference file at ``offset``;
- ``Src(offset, n)``: ``n`` bytes of the delta's source at ``offset``
  (content unchanged from the reference's, once uncompressed);
- ``Deflate(params, n, parts, restarts)``: the output of ``parts``
  deflated with ``params``, which must be exactly ``n`` bytes; with
  restarts, in chunks (:mod:`deltaglider.archive.restarts`);
- ``Parsed(size, parts, parse)``: the stream a recorded parse makes of
  the output of ``parts`` (:mod:`deltaglider.archive.parse`), exactly
  ``size`` bytes; the parse is the next ``parse`` bytes of the data stream,
  read before the parts';
- ``Splice(source, size, cut)``: the bits of ``source`` (a ``Copy`` or
  ``Src``: a compressed stream of the reference) around a run of the data
  stream's (:mod:`deltaglider.archive.splice`), exactly ``size`` bytes;
- ``Members(count)``: ``count`` zip members whose data is unchanged but
  whose local header is not: each header from the data stream, then the
  compressed bytes of the reference's member of the name in that header;
- ``Directory(count, shift)``: ``count`` central-directory entries from the
  data stream, their offset fields relative to the reference's
  (:class:`~deltaglider.archive.containers.RelativeOffsets`) and their
  times XORed with their local headers' (found ``shift`` bytes after the
  offset the entry records:
  :func:`~deltaglider.archive.containers.xor_times`), undone once the
  whole file is assembled.

Sources: ranges of the reference file, taken as is, inflated (a zip
member's raw deflate stream) and/or gunzipped (a gzip stream's members'
contents), or its skeleton (a zip reference's bytes outside its members'
data: local headers, descriptors, central directory); PARSE with INFLATE
(a raw deflate stream) or GUNZIP (a gzip stream's members) is the parse of
the stream(s) instead of the content, joined; SLICE takes only
``start``..``start + length`` of the result (one file of a tarball).  ``Src`` offsets are
into all of them, concatenated; the xdelta3 part is encoded against those
flagged MATCHED, concatenated in the same order (xdelta3 finds matches best
where source and data run in step).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from deltaglider.archive.deflate import Params
from deltaglider.archive.errors import CorruptContentsDeltaError
from deltaglider.archive.restarts import Restart
from deltaglider.archive.splice import Cut

MAGIC = b"DGC\x01"
"""The first bytes of a contents delta (format 1)."""

MAX_DEPTH = 3  # a file, a zip member, a gzip stream inside it
_MAX_RECIPE = 64 << 20
_LIT, _COPY, _DEFLATE, _END, _SRC, _MEMBERS, _DIRECTORY, _SPLICE, _RESTARTED, _PARSED = range(1, 11)
INFLATE, GUNZIP, MATCHED, SKELETON, SLICE, PARSE = 1, 2, 4, 8, 16, 32


@dataclass(frozen=True)
class Lit:
    size: int


@dataclass(frozen=True)
class Copy:
    offset: int
    size: int


@dataclass(frozen=True)
class Src:
    offset: int
    size: int


@dataclass(frozen=True)
class Members:
    count: int


@dataclass(frozen=True)
class Directory:
    count: int
    shift: int


@dataclass(frozen=True)
class Deflate:
    params: Params
    size: int
    parts: tuple[Op, ...]
    restarts: tuple[Restart, ...] = ()


@dataclass(frozen=True)
class Parsed:
    size: int
    parts: tuple[Op, ...]
    parse: int


@dataclass(frozen=True)
class Splice:
    source: Copy | Src
    size: int
    cut: Cut


Op = Lit | Copy | Src | Members | Directory | Deflate | Parsed | Splice


@dataclass(frozen=True)
class Source:
    """A piece of the delta's source, from the reference file."""

    offset: int
    size: int
    flags: int  # INFLATE, GUNZIP, SKELETON, MATCHED, SLICE, PARSE
    start: int = 0  # with SLICE: only these bytes of the piece
    length: int = 0

    @property
    def whole(self) -> Source:
        """The same piece, unsliced and unflagged as matched."""
        return Source(self.offset, self.size, self.flags & ~(SLICE | MATCHED))


@dataclass(frozen=True)
class Recipe:
    output_size: int
    data_size: int
    sources: tuple[Source, ...]
    ops: tuple[Op, ...]


# -- writing --------------------------------------------------------------------


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _write_ops(ops: tuple[Op, ...] | list[Op], out: bytearray) -> None:
    for op in ops:
        if isinstance(op, Lit):
            out.append(_LIT)
            _varint(op.size, out)
        elif isinstance(op, Members):
            out.append(_MEMBERS)
            _varint(op.count, out)
        elif isinstance(op, Directory):
            out.append(_DIRECTORY)
            _varint(op.count, out)
            _varint(op.shift, out)
        elif isinstance(op, (Copy, Src)):
            out.append(_COPY if isinstance(op, Copy) else _SRC)
            _varint(op.offset, out)
            _varint(op.size, out)
        elif isinstance(op, Parsed):
            out.append(_PARSED)
            _varint(op.size, out)
            _varint(op.parse, out)
            _write_ops(op.parts, out)
            out.append(_END)
        elif isinstance(op, Splice):
            out.append(_SPLICE)
            _write_ops([op.source], out)
            for value in (op.size, op.cut.keep, op.cut.middle, op.cut.skip):
                _varint(value, out)
        else:
            out.append(_RESTARTED if op.restarts else _DEFLATE)
            _varint(op.params.pack(), out)
            _varint(op.size, out)
            if op.restarts:
                _varint(len(op.restarts), out)
                offset = bit = 0
                for restart in op.restarts:  # each from the last: small numbers
                    _varint(restart.offset - offset, out)
                    _varint(restart.bit - bit, out)
                    offset, bit = restart.offset, restart.bit
            _write_ops(op.parts, out)
            out.append(_END)


def dump(recipe: Recipe) -> bytes:
    """The recipe as stored: magic, then its zlib-compressed fields (the
    compression is only for size; any inflater reads it back)."""
    body = bytearray()
    for value in (recipe.output_size, recipe.data_size, len(recipe.sources)):
        _varint(value, body)
    for source in recipe.sources:
        _varint(source.offset, body)
        _varint(source.size, body)
        body.append(source.flags)
        if source.flags & SLICE:
            _varint(source.start, body)
            _varint(source.length, body)
    _write_ops(recipe.ops, body)
    packed = zlib.compress(bytes(body), 9)
    head = bytearray(MAGIC)
    _varint(len(packed), head)
    return bytes(head) + packed


# -- reading --------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise CorruptContentsDeltaError("the recipe is truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        data, start = self.data, self.pos
        value = shift = 0
        end = min(start + 10, len(data))  # 10 bytes hold 64 bits
        for pos in range(start, end):
            byte = data[pos]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.pos = pos + 1
                return value
            shift += 7
        if end == len(data):
            raise CorruptContentsDeltaError("the recipe is truncated")
        raise CorruptContentsDeltaError("a recipe number is too long")


def split(payload: bytes | memoryview) -> tuple[Recipe, memoryview, int]:
    """The recipe of a contents delta and its xdelta3 part; also the
    recipe's stored size."""
    view = memoryview(payload)
    if bytes(view[:4]) != MAGIC:
        raise CorruptContentsDeltaError("not a contents delta (magic bytes differ)")
    reader = _Reader(bytes(view[4:14]))
    length = reader.varint()
    start = 4 + reader.pos
    if start + length > len(view):
        raise CorruptContentsDeltaError("the recipe is truncated")
    try:
        inflater = zlib.decompressobj()
        body = inflater.decompress(view[start : start + length], _MAX_RECIPE)
    except zlib.error as exc:
        raise CorruptContentsDeltaError(f"the recipe is damaged ({exc})") from exc
    if not inflater.eof or inflater.unconsumed_tail:
        raise CorruptContentsDeltaError("the recipe is damaged or too large")
    return _parse(body), view[start + length :], start + length


def _parse(body: bytes) -> Recipe:
    reader = _Reader(body)
    output, data, count = reader.varint(), reader.varint(), reader.varint()
    if count > len(body):
        raise CorruptContentsDeltaError("the recipe lists more sources than it can hold")
    sources = tuple(_source(reader) for _ in range(count))
    ops = _parse_ops(reader, 0)
    if reader.pos != len(body):
        raise CorruptContentsDeltaError("the recipe has bytes after its last op")
    return Recipe(output, data, sources, ops)


def _source(reader: _Reader) -> Source:
    offset, size, flags = reader.varint(), reader.varint(), reader.byte()
    if flags & SLICE:
        return Source(offset, size, flags, reader.varint(), reader.varint())
    return Source(offset, size, flags)


def _parse_ops(reader: _Reader, depth: int) -> tuple[Op, ...]:
    ops: list[Op] = []
    while reader.pos < len(reader.data):
        tag = reader.byte()
        if tag == _LIT:
            ops.append(Lit(reader.varint()))
        elif tag == _COPY:
            ops.append(Copy(reader.varint(), reader.varint()))
        elif tag == _SRC:
            ops.append(Src(reader.varint(), reader.varint()))
        elif tag == _MEMBERS and not depth:
            ops.append(Members(reader.varint()))
        elif tag == _DIRECTORY and not depth:
            ops.append(Directory(reader.varint(), reader.varint()))
        elif tag == _SPLICE:
            source = reader.byte()
            if source not in (_COPY, _SRC):
                raise CorruptContentsDeltaError("a splice's source is neither Copy nor Src")
            offset, size = reader.varint(), reader.varint()
            ops.append(
                Splice(
                    Copy(offset, size) if source == _COPY else Src(offset, size),
                    reader.varint(),
                    Cut(reader.varint(), reader.varint(), reader.varint()),
                )
            )
        elif tag == _PARSED:
            if depth + 1 >= MAX_DEPTH:
                raise CorruptContentsDeltaError("the recipe nests deflate too deep")
            size, parse = reader.varint(), reader.varint()
            ops.append(Parsed(size, _parse_ops(reader, depth + 1), parse))
        elif tag in (_DEFLATE, _RESTARTED):
            if depth + 1 >= MAX_DEPTH:
                raise CorruptContentsDeltaError("the recipe nests deflate too deep")
            params, size = Params.unpack(reader.varint()), reader.varint()
            restarts = _restarts(reader) if tag == _RESTARTED else ()
            ops.append(Deflate(params, size, _parse_ops(reader, depth + 1), restarts))
        elif tag == _END and depth:
            return tuple(ops)
        else:
            raise CorruptContentsDeltaError(f"unknown recipe op {tag}")
    if depth:
        raise CorruptContentsDeltaError("the recipe is truncated inside a deflate")
    return tuple(ops)


def _restarts(reader: _Reader) -> tuple[Restart, ...]:
    count = reader.varint()
    if count > len(reader.data) - reader.pos:
        raise CorruptContentsDeltaError("a deflate lists more restarts than the recipe holds")
    restarts = []
    offset = bit = 0
    for _ in range(count):
        offset, bit = offset + reader.varint(), bit + reader.varint()
        restarts.append(Restart(offset, bit))
    return tuple(restarts)


def walk(ops: tuple[Op, ...], depth: int = 0) -> Iterator[tuple[int, Op]]:
    """Every op with its depth, depth first."""
    for op in ops:
        yield depth, op
        if isinstance(op, (Deflate, Parsed)):
            yield from walk(op.parts, depth + 1)
