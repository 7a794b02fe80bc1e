"""Taking a new archive apart against its reference: the recipe that puts
it back together, the data stream the recipe reads, and the source that
data is delta-encoded against.

- A member whose compressed bytes are unchanged is copied from the
  reference: it costs a comparison.
- A changed member is inflated and its deflate parameters found; its
  content is then compared with the reference's counterpart (same name, or
  same name but for numbers), uncompressed, which goes into the delta's
  source: unchanged leading and trailing runs are read from the source,
  the rest goes into the data stream, which xdelta3 encodes against the
  whole source.
- A gzip stream (the file itself, or a member of a zip: one level) is
  expanded the same way when that pays.
- Anything that does not re-deflate exactly is carried as it is.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import struct
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from deltaglider.archive import containers
from deltaglider.archive.deflate import Params, ParamSearch
from deltaglider.archive.pieces import ExpansionBudget, SourcePieces
from deltaglider.archive.recipe import (
    GUNZIP,
    INFLATE,
    SKELETON,
    SLICE,
    Copy,
    Deflate,
    Directory,
    Lit,
    Members,
    Op,
    Source,
    Src,
)
from deltaglider.archive.runs import unchanged_runs

_VERSION = re.compile(rb"[0-9]+(?:\.[0-9]+)*")
"""Numbers, dotted or not: a name's version (``pkg-24.1`` and ``pkg-24.1.1``
have the same shape)."""
_BATCH = 64  # members inflated and searched at once, on all cores
_TINY = 64  # compressed bytes below which a changed member is carried as it is
_MATCHED_CHANGE = 256  # changed bytes past which a piece is matched against


def deflate_key(
    params: Params, content: Iterable[bytes | bytearray | memoryview]
) -> tuple[int, bytes]:
    """What identifies one re-deflate: parameters and the content's hash
    (the content given in parts)."""
    digest = hashlib.sha256()
    for part in content:
        digest.update(part)
    return params.pack(), digest.digest()


@dataclass(frozen=True)
class _GzipPart:
    """A gzip member, its content and the parameters that deflate it back
    (None if none do)."""

    member: containers.GzipMember
    content: bytes
    params: Params | None


@dataclass(frozen=True)
class _Inflated:
    """A changed member's content, the parameters that deflate it back
    (None if none do) and, when it is a gzip stream to expand, its members."""

    content: bytes
    params: Params | None
    inner: list[_GzipPart] | None


def _base(member: containers.ZipMember) -> Source:
    """The source piece of a reference member's content."""
    return Source(member.data, member.end - member.data, INFLATE if member.method == 8 else 0)


@dataclass
class _Gap:
    """Bytes of the target between members, not yet known as copied."""

    start: int
    end: int


@dataclass
class _Expanded:
    """A member's ops and the data they read, placed once gaps are settled."""

    ops: list[Op]
    data: list[bytes | memoryview]


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
    deflated: dict[tuple[int, bytes], memoryview] = field(default_factory=dict)
    carried: int = 0
    """Compressed bytes in the data stream (streams no parameters re-create)."""

    @property
    def useful(self) -> bool:
        """Whether it does better than the file's bytes: something copied
        or re-deflated (a directory's relative offsets alone, every member
        carried, make a larger delta than the plain one)."""
        return any(not isinstance(op, (Lit, Directory)) for op in self.ops)


class Planner:
    """Plans one target against one reference (both in memory)."""

    def __init__(self, reference: bytes | memoryview, target: bytes | memoryview, *, nested: bool):
        self.ref = memoryview(reference)
        self.target = memoryview(target)
        self.ref_index = containers.ZipIndex(self.ref)
        self.target_index = containers.ZipIndex(self.target)
        self.nested = nested
        self._local = threading.local()  # each thread's parameter searches
        self.data: list[bytes | memoryview] = []
        self.deflated: dict[tuple[int, bytes], memoryview] = {}
        self.budget = ExpansionBudget(containers.expansion_limit(len(self.target)))
        self.pieces = SourcePieces(self.ref, self.ref_index, self.budget)
        self.carried = 0

    def plan(self, kind: str) -> Plan:
        ops = self._zip() if kind == "zip" else self._gzip_file()
        pieces = self.pieces
        return Plan(
            _joined(ops), self.data, pieces.flagged(), pieces.parts, pieces.wholes(),
            self.deflated, self.carried,
        )  # fmt: skip

    # -- pieces -------------------------------------------------------------

    def _lit(self, chunk: bytes | memoryview) -> Lit:
        self.data.append(chunk)
        return Lit(len(chunk))

    def _carried(self, compressed: bytes | memoryview) -> Lit:
        """A compressed stream carried as it is."""
        self.carried += len(compressed)
        return self._lit(compressed)

    def _against(self, content: memoryview, source: Source | None) -> list[Op] | None:
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
            ops.append(self._lit(content[prefix : len(content) - suffix]))
        if suffix:
            ops.append(Src(offset + len(piece) - suffix, suffix))
        return ops

    # -- gzip ------------------------------------------------------------------

    def _gzip_file(self) -> list[Op]:
        flags = GUNZIP if containers.kind(self.ref) == "gzip" else 0
        return self._gzip(self.target, Source(0, len(self.ref), flags), level=0)

    def _gzip_members(self, view: memoryview, level: int) -> list[_GzipPart]:
        """A gzip stream's members, inflated, with their deflate parameters
        (any thread)."""
        parts: list[_GzipPart] = []
        pos = 0
        while True:
            room = self.budget.take(containers.expansion_limit(len(view) - pos))
            found = containers.gzip_member(view, pos, room)
            if found is None:  # the end, damage, or no room: the rest is carried
                self.budget.give_back(room)
                break
            member, content = found
            self.budget.give_back(room - len(content))
            compressed = view[member.stream : member.trailer]
            params = self._search(level).find(content, compressed, member.levels)
            parts.append(_GzipPart(member, content, params))
            pos = member.trailer + 8
        return parts

    def _gzip(
        self,
        view: memoryview,
        base: Source | None,
        level: int,
        members: list[_GzipPart] | None = None,
    ) -> list[Op]:
        """A gzip stream (one member or several, then maybe trailing bytes),
        its members' content compared with ``base``."""
        ops: list[Op] = []
        pos = 0
        for part in self._gzip_members(view, level) if members is None else members:
            member, content = part.member, part.content
            ops.append(self._lit(view[pos : member.stream]))
            compressed = view[member.stream : member.trailer]
            if part.params is None:
                ops.append(self._carried(compressed))
            else:
                self.deflated[deflate_key(part.params, [content])] = compressed
                inner = (
                    (level == 0 and self._tar(memoryview(content), base))
                    or self._against(memoryview(content), base)
                    or [self._lit(content)]
                )
                ops.append(Deflate(part.params, len(compressed), tuple(inner)))
            ops.append(self._lit(view[member.trailer : member.trailer + 8]))
            pos = member.trailer + 8
        if pos < len(view):
            ops.append(self._lit(view[pos:]))
        return ops

    def _tar(self, content: memoryview, base: Source | None) -> list[Op] | None:
        """A tarball's content file by file against the reference's: a file
        whose data is unchanged is read from the source; what changed goes
        into the data stream, encoded against just that file of the
        reference (so neither xdelta3's source nor its data is the whole
        tarball).  Files are matched by name, numbers in the top folder's
        name aside (``pkg-1.2/setup.py`` for ``pkg-1.3/setup.py``)."""
        entries = containers.tar_entries(content)
        if base is None or not entries:
            return None
        offset, piece = self.pieces.add(base)
        theirs: dict[tuple[int, bytes], containers.TarEntry] = {}
        for entry in containers.tar_entries(piece) or []:
            theirs.setdefault(_tar_key(entry), entry)
        if not theirs:
            return None
        ops: list[Op] = []
        for entry in entries:
            data = entry.start + 512
            ops.append(self._lit(content[entry.start : data]))
            other = theirs.get(_tar_key(entry))
            if (
                other is not None
                and piece[other.start + 512 : other.end] == content[data : entry.end]
            ):
                ops.append(Src(offset + other.start + 512, entry.end - data))
                continue
            ops.append(self._lit(content[data : entry.end]))
            if other is not None:
                self.pieces.add(
                    Source(
                        base.offset,
                        base.size,
                        base.flags | SLICE,
                        other.start,
                        other.end - other.start,
                    ),
                    matched=True,
                )
        if entries[-1].end < len(content):
            ops.append(self._lit(content[entries[-1].end :]))
        return _joined(ops)

    # -- zip -------------------------------------------------------------------

    def _zip(self) -> list[Op]:
        found = self.target_index.members
        if found is None or not self._worth_planning(found):
            return [self._lit(self.target)]
        self._index_reference()
        directory = self.target_index.directory
        self.directory = directory[0] if directory else []
        items: list[_Gap | Copy | _Expanded] = []
        pos = 0
        for batch, inflated in self._inflated_batches(found):
            for member in batch:
                analysis = inflated.get(member)
                items.append(_Gap(pos, member.data))
                mark = len(self.data)
                member_ops = self._member(member, analysis)
                if len(member_ops) == 1 and isinstance(member_ops[0], Copy):
                    items.append(member_ops[0])
                else:
                    items.append(_Expanded(member_ops, self.data[mark:]))
                del self.data[mark:]
                pos = member.end
        items.append(_Gap(pos, len(self.target)))
        ops: list[Op] = []
        merged = self._copied(items)
        index = 0
        while index < len(merged):
            item = merged[index]
            run = 0
            while self._header_then_data(merged, index + 2 * run):
                gap = merged[index + 2 * run]
                assert isinstance(gap, _Gap)
                self.data.append(self.target[gap.start : gap.end])
                run += 1
            if run:
                ops.append(Members(run))
                index += 2 * run
                continue
            if isinstance(item, _Gap):
                ops.extend(self._gap(item))
            elif isinstance(item, Copy):
                ops.append(item)
            else:
                ops.extend(item.ops)
                self.data.extend(item.data)
            index += 1
        return ops

    def _gap(self, gap: _Gap) -> list[Op]:
        """Bytes between members as they are, but for the central directory
        (when it lies there), whose entries' offsets are stored relative to
        the reference's: a run of entries all shifted alike by a changed
        member then matches the reference's directory."""
        entries = self.directory
        start = entries[0].position if entries else gap.end
        end = entries[-1].position + entries[-1].length if entries else gap.end
        if not (entries and gap.start <= start and end <= gap.end):
            return [self._lit(self.target[gap.start : gap.end])] if gap.end > gap.start else []
        ops: list[Op] = [self._lit(self.target[gap.start : start])] if start > gap.start else []
        offsets = containers.RelativeOffsets(self.ref_index.offsets)
        shift = self.target_index.directory[1]  # type: ignore[index]  # entries: a zip
        # The file up to its directory, as a reader has it when it undoes the XOR.
        directory = bytearray(self.target[:end])
        for entry in entries:
            containers.xor_times(directory, entry.position, entry.offset_field + shift, start)
            relative = offsets.relative(entry.name, entry.offset_field)
            struct.pack_into("<I", directory, entry.position + 42, relative)
        self.data.append(bytes(directory[start:]))
        ops.append(Directory(len(entries), shift))
        if gap.end > end:
            ops.append(self._lit(self.target[end : gap.end]))
        return ops

    def _header_then_data(self, items: list[_Gap | Copy | _Expanded], index: int) -> bool:
        """Whether ``items[index:]`` starts with a gap that is exactly one
        local header, then a copy of the data of the reference's member of
        the name in it: what a ``Members`` op rebuilds."""
        if index + 1 >= len(items):
            return False
        gap, copy = items[index], items[index + 1]
        if not isinstance(gap, _Gap) or not isinstance(copy, Copy):
            return False
        header = self.target[gap.start : gap.end]
        if len(header) < 30 or bytes(header[:4]) != containers.ZIP_LOCAL:
            return False
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        if len(header) != 30 + name_len + extra_len:
            return False
        other = self.by_name.get(bytes(header[30 : 30 + name_len]))
        return other is not None and (other.data, other.end - other.data) == (
            copy.offset,
            copy.size,
        )

    def _index_reference(self) -> None:
        self.by_name = self.ref_index.by_name
        self.by_shape: dict[bytes, containers.ZipMember] = {}
        found = self.ref_index.members
        if found is None:
            self.pieces.add(Source(0, len(self.ref), 0), matched=True)
            return
        for member in found:
            self.by_shape.setdefault(_VERSION.sub(b"#", member.name), member)
        # Its local headers and directory: the target's are mostly found there.
        self.pieces.add(Source(0, len(self.ref), SKELETON), matched=True)

    def _counterpart(self, name: bytes) -> containers.ZipMember | None:
        """The reference's member of that name, or of that name but for its
        numbers (``pkg-1.2.dist-info/RECORD`` for ``pkg-1.3.dist-info/...``)."""
        other = self.by_name.get(name) or self.by_shape.get(_VERSION.sub(b"#", name))
        if other is None or other.encrypted or other.method not in (0, 8):
            return None
        return other

    def _worth_planning(self, members: list[containers.ZipMember]) -> bool:
        """Whether members that are not tiny hold a tenth of the file: in an
        archive of headers and tiny members (50,000 in 6.7 MB), nothing is
        re-deflated and the plain delta is smaller, so the members are not
        walked one by one for nothing."""
        larger = sum(m.end - m.data for m in members if m.end - m.data >= _TINY)
        return larger * 10 >= len(self.target)

    def _worth_inflating(self, member: containers.ZipMember) -> bool:
        """Whether a member is deflated, not the same as its counterpart,
        and not tiny: a stream of a few dozen bytes is about its content's
        size, and inflating, matching and re-deflating each of 50,000 such
        members cost many times a plain delta of them (they are carried)."""
        if member.method != 8 or member.encrypted or member.end - member.data < _TINY:
            return False
        other = self._counterpart(member.name)
        compressed = self.target[member.data : member.end]
        return other is None or self.ref[other.data : other.end] != compressed

    def _inflated(self, member: containers.ZipMember) -> _Inflated | None:
        """The slow part of a changed deflated member, run on any thread:
        its content and deflate parameters (None: it does not inflate
        exactly)."""
        compressed = self.target[member.data : member.end]
        other = self._counterpart(member.name)
        room = self.budget.take(containers.expansion_limit(len(compressed)))
        inflated = containers.inflate(compressed, room)
        if inflated is None or inflated[1] != len(compressed):
            self.budget.give_back(room)
            return None  # damaged, or no room left: carried as it is
        content = inflated[0]
        self.budget.give_back(room - len(content))
        params = self._search(0).find(content, compressed)
        inner = None
        if params is not None and other is not None:
            base = _base(other)
            piece = memoryview(self.pieces.bytes_of(base))
            if (
                self.nested
                and containers.kind(content) == "gzip"
                and not unchanged_runs(memoryview(content), piece)
            ):
                self.pieces.bytes_of(Source(base.offset, base.size, base.flags | GUNZIP))
                inner = self._gzip_members(memoryview(content), 1)
        return _Inflated(content, params, inner)

    def _inflated_batches(
        self, found: list[containers.ZipMember]
    ) -> Iterator[tuple[list[containers.ZipMember], dict[containers.ZipMember, _Inflated | None]]]:
        """The members in batches, each with its changed deflated members
        inflated and their parameters found: on worker threads, a few
        batches ahead of the one being planned (one thread hand-off per
        batch, not per member, and the workers never wait for the plan)."""
        batches = (found[start : start + _BATCH] for start in range(0, len(found), _BATCH))
        workers = min(os.cpu_count() or 1, 4)
        if workers == 1:
            for batch in batches:
                changed = [m for m in batch if self._worth_inflating(m)]
                yield batch, {m: self._inflated(m) for m in changed}
            return

        def inflate(changed: list[containers.ZipMember]) -> dict[Any, _Inflated | None]:
            return {member: self._inflated(member) for member in changed}

        with ThreadPoolExecutor(workers) as pool:
            ahead: collections.deque[tuple[list[Any], Future[dict[Any, _Inflated | None]]]]
            ahead = collections.deque()
            for batch in batches:
                changed = [m for m in batch if self._worth_inflating(m)]
                ahead.append((batch, pool.submit(inflate, changed)))
                if len(ahead) > workers:
                    done, future = ahead.popleft()
                    yield done, future.result()
            while ahead:
                done, future = ahead.popleft()
                yield done, future.result()

    def _search(self, level: int) -> ParamSearch:
        """This thread's parameter search for zip members (0) or gzip (1)."""
        searches: tuple[ParamSearch, ParamSearch] | None = getattr(self._local, "searches", None)
        if searches is None:
            searches = self._local.searches = (ParamSearch(), ParamSearch())
        return searches[level]

    def _member(self, member: containers.ZipMember, inflated: _Inflated | None) -> list[Op]:
        compressed = self.target[member.data : member.end]
        other = self._counterpart(member.name)
        if other is not None and self.ref[other.data : other.end] == compressed:
            return [Copy(other.data, len(compressed))]
        if member.encrypted or member.method not in (0, 8):
            return [self._carried(compressed)]
        if member.method == 0:
            return self._content(compressed, other)
        if inflated is None or inflated.params is None:
            return [self._carried(compressed)]
        self.deflated[deflate_key(inflated.params, [inflated.content])] = compressed
        parts = self._content(memoryview(inflated.content), other, inflated.inner)
        return [Deflate(inflated.params, len(compressed), tuple(parts))]

    def _content(
        self,
        content: memoryview,
        other: containers.ZipMember | None,
        members: list[_GzipPart] | None = None,
    ) -> list[Op]:
        """A member's uncompressed bytes, against its counterpart's: as runs
        of it, or (a gzip stream) expanded once more, or as they are.
        ``members``: the gzip stream's, analysed ahead."""
        base = None if other is None else _base(other)
        ops = self._against(content, base)
        if ops is not None:
            return ops
        if self.nested and containers.kind(content) == "gzip":
            mark = len(self.data)
            inner = None if base is None else Source(base.offset, base.size, base.flags | GUNZIP)
            ops = self._gzip(content, inner, 1, members)
            if any(isinstance(op, Deflate) for op in ops):
                self.pieces.matched.discard(base)  # the data holds the inner content
                return _joined(ops)
            del self.data[mark:]
        return [self._lit(content)]

    # -- copies --------------------------------------------------------------

    def _copied(self, items: list[_Gap | Copy | _Expanded]) -> list[_Gap | Copy | _Expanded]:
        """Gaps equal to the reference's bytes beside a copied member join
        the copy (headers of unchanged members), and adjacent copies merge:
        long unchanged runs become one op."""
        out: list[_Gap | Copy | _Expanded] = []
        for item in items:
            last = out[-1] if out else None
            if isinstance(item, _Gap) and isinstance(last, Copy):
                size = item.end - item.start
                end = last.offset + last.size
                if self.ref[end : end + size] == self.target[item.start : item.end]:
                    out[-1] = Copy(last.offset, last.size + size)
                    continue
            if isinstance(item, Copy) and isinstance(last, _Gap):
                size = last.end - last.start
                start = item.offset - size
                before = self.target[last.start : last.end]
                if start >= 0 and self.ref[start : item.offset] == before:
                    out[-1] = Copy(start, size + item.size)
                    continue
            if (
                isinstance(item, Copy)
                and isinstance(last, Copy)
                and last.offset + last.size == item.offset
            ):
                out[-1] = Copy(last.offset, last.size + item.size)
                continue
            out.append(item)
        return out


def _tar_key(entry: containers.TarEntry) -> tuple[int, bytes]:
    """A tar entry's type and name, digits in its top folder's name aside."""
    top, slash, rest = entry.name.partition(b"/")
    return entry.typeflag, _VERSION.sub(b"#", top) + slash + rest


def _joined(ops: list[Op]) -> list[Op]:
    """Adjacent literal runs as one (their data is adjacent in the stream)."""
    out: list[Op] = []
    for op in ops:
        if isinstance(op, Lit) and out and isinstance(out[-1], Lit):
            out[-1] = Lit(out[-1].size + op.size)
        else:
            out.append(op)
    return out
