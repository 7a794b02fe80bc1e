"""Planning a zip-family archive member by member: unchanged members
copied, changed ones spliced from their counterparts' compressed bits
where those differ in one short run, else re-deflated from their content
against their counterparts' (by name, or by name with versions set aside), headers of
members otherwise unchanged relinked by name, the central directory with
offsets relative to the reference's, the rest carried."""

from __future__ import annotations

import collections
import functools
import os
import struct
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deltaglider.archive import containers, parse, restarts, splice
from deltaglider.archive.deflate import Params
from deltaglider.archive.errors import CorruptContentsDeltaError
from deltaglider.archive.pieces import ExpansionBudget
from deltaglider.archive.plan import VERSION, Output, Pair, joined
from deltaglider.archive.recipe import (
    GUNZIP,
    INFLATE,
    PARSE,
    SKELETON,
    Copy,
    Deflate,
    Directory,
    Members,
    Op,
    Parsed,
    Source,
    Splice,
)
from deltaglider.archive.runs import unchanged_runs
from deltaglider.archive.streams import GzipPart, GzipStreams

_BATCH = 64  # members inflated and searched at once, on all cores
_TINY = 64  # compressed bytes below which a changed member is carried as it is
_SPLICED = 64  # bytes of its own up to which a changed member is spliced, not re-deflated


@dataclass(frozen=True)
class _Spliced:
    """A changed member rebuilt from its counterpart's compressed bits and
    a short run of its own."""

    op: Splice
    middle: bytes


@dataclass(frozen=True)
class _Inflated:
    """A changed member's content, the parameters that deflate it back
    (None if none do), when it is a gzip stream to expand, its members; and
    when no parameters do, its parse (None if its counterpart has none)."""

    content: bytes
    params: Params | None
    inner: list[GzipPart] | None
    restarts: tuple[restarts.Restart, ...] = ()
    parse: bytes | None = None


_Analysis = _Spliced | _Inflated | None


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


class ZipMembers:
    """Plans one zip target against its reference into a plan's output."""

    def __init__(
        self, pair: Pair, out: Output, budget: ExpansionBudget, streams: GzipStreams, *,
        nested: bool,
    ) -> None:  # fmt: skip
        self.ref, self.target = pair.ref, pair.target
        self.ref_index, self.target_index = pair.ref_index, pair.target_index
        self.out = out
        self.budget = budget
        self.streams = streams
        self.nested = nested
        self.by_name = pair.ref_index.by_name
        directory = pair.target_index.directory
        self.directory = directory[0] if directory else []

    def ops(self) -> list[Op]:
        """The target's ops, member by member."""
        found = self.target_index.members
        if found is None or not self._worth_planning(found):
            return [self.out.lit(self.target)]
        self._reference_source()
        items: list[_Gap | Copy | _Expanded] = []
        pos = 0
        for batch, inflated in self._analysed_batches(found):
            for member in batch:
                analysis = inflated.get(member)
                items.append(_Gap(pos, member.data))
                mark = len(self.out.data)
                member_ops = self._member(member, analysis)
                if len(member_ops) == 1 and isinstance(member_ops[0], Copy):
                    items.append(member_ops[0])
                else:
                    items.append(_Expanded(member_ops, self.out.data[mark:]))
                del self.out.data[mark:]
                pos = member.end
            self.out.reached.to(pos)
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
                self.out.data.append(self.target[gap.start : gap.end])
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
                self.out.data.extend(item.data)
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
            return [self.out.lit(self.target[gap.start : gap.end])] if gap.end > gap.start else []
        ops: list[Op] = [self.out.lit(self.target[gap.start : start])] if start > gap.start else []
        offsets = containers.RelativeOffsets(self.ref_index.offsets)
        shift = self.target_index.directory[1]  # type: ignore[index]  # entries: a zip
        # The file up to its directory, as a reader has it when it undoes the XOR.
        directory = bytearray(self.target[:end])
        for entry in entries:
            containers.xor_times(directory, entry.position, entry.offset_field + shift, start)
            relative = offsets.relative(entry.name, entry.offset_field)
            struct.pack_into("<I", directory, entry.position + 42, relative)
        self.out.data.append(bytes(directory[start:]))
        ops.append(Directory(len(entries), shift))
        if gap.end > end:
            ops.append(self.out.lit(self.target[end : gap.end]))
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

    def _reference_source(self) -> None:
        """The reference's local headers and directory (the target's are
        mostly found there) in the delta's source; all of it, if it is no
        zip."""
        flags = 0 if self.ref_index.members is None else SKELETON
        self.out.pieces.add(Source(0, len(self.ref), flags), matched=True)

    @functools.cached_property
    def by_shape(self) -> dict[bytes, containers.ZipMember]:
        """The reference's members by name with versions set aside."""
        shapes: dict[bytes, containers.ZipMember] = {}
        for member in self.ref_index.members or []:
            shapes.setdefault(VERSION.sub(b"#", member.name), member)
        return shapes

    def _counterpart(self, name: bytes) -> containers.ZipMember | None:
        """The reference's member of that name, or of that name but for its
        numbers (``pkg-1.2.dist-info/RECORD`` for ``pkg-1.3.dist-info/...``)."""
        other = self.by_name.get(name) or self.by_shape.get(VERSION.sub(b"#", name))
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

    def _analysed(self, member: containers.ZipMember) -> _Analysis:
        """The slow part of a changed deflated member, run on any thread:
        its splice from its counterpart's bits where it has few of its own
        (a changed gzip header's time inside; content that does not
        compress), else its content and deflate parameters or its parse,
        else a splice that saves half its bits; None: none of these, it is
        carried as it is."""
        compressed = self.target[member.data : member.end]
        other = self._counterpart(member.name)
        spliced = None
        if other is not None and other.method == 8:
            cut = splice.find(compressed, self.ref[other.data : other.end])
            if cut is not None:
                op = Splice(Copy(other.data, other.end - other.data), len(compressed), cut)
                spliced = _Spliced(op, splice.middle_bytes(compressed, cut))
                if len(spliced.middle) <= _SPLICED:
                    return spliced
        inflated = self._inflated(member, compressed, other)
        if inflated is not None and (inflated.params is not None or inflated.parse is not None):
            return inflated
        if spliced is not None and 2 * len(spliced.middle) <= len(compressed):
            return spliced
        return inflated

    def _inflated(
        self,
        member: containers.ZipMember,
        compressed: memoryview,
        other: containers.ZipMember | None,
    ) -> _Inflated | None:
        """A changed member's content and deflate parameters (None: it does
        not inflate exactly)."""
        room = self.budget.take(containers.expansion_limit(len(compressed)))
        inflated = containers.inflate(compressed, room)
        if inflated is None or inflated[1] != len(compressed):
            self.budget.give_back(room)
            return None  # damaged, or no room left: carried as it is
        content = inflated[0]
        self.budget.give_back(room - len(content))
        chunks = self.out.reached.within(member.data, member.end)
        checker = restarts.Checker(memoryview(content), compressed, chunks)
        params = self.streams.searches("zip").find(content, compressed, None, checker)
        inner = None
        if params is not None and other is not None:
            base = _base(other)
            piece = memoryview(self.out.pieces.bytes_of(base))
            if (
                self.nested
                and containers.kind(content) == "gzip"
                and not unchanged_runs(memoryview(content), piece)
            ):
                self.out.pieces.bytes_of(Source(base.offset, base.size, base.flags | GUNZIP))
                inner = self.streams.members(memoryview(content))
        made = None if params is not None else self._parse(compressed, content, other)
        return _Inflated(content, params, inner, checker.restarts_of(params), made)

    def _parse(
        self, compressed: memoryview, content: bytes, other: containers.ZipMember | None
    ) -> bytes | None:
        """A member's parse, where its counterpart is deflated and parses
        too (its parse is what this one deltas against)."""
        if other is None or other.method != 8:
            return None
        made = parse.parse_of(compressed, content)
        if made is None:
            return None
        self.out.pieces.bytes_of(_base(other))  # first: its parse is read from it
        try:
            self.out.pieces.bytes_of(Source(other.data, other.end - other.data, INFLATE | PARSE))
        except CorruptContentsDeltaError:
            return None
        return made

    def _analysed_batches(
        self, found: list[containers.ZipMember]
    ) -> Iterator[tuple[list[containers.ZipMember], dict[containers.ZipMember, _Analysis]]]:
        """The members in batches, each with its changed deflated members
        analysed (:meth:`_analysed`): on worker threads, a few
        batches ahead of the one being planned (one thread hand-off per
        batch, not per member, and the workers never wait for the plan)."""
        batches = (found[start : start + _BATCH] for start in range(0, len(found), _BATCH))
        workers = min(os.cpu_count() or 1, 4)
        if workers == 1:
            for batch in batches:
                changed = [m for m in batch if self._worth_inflating(m)]
                yield batch, {m: self._analysed(m) for m in changed}
            return

        def analyse(changed: list[containers.ZipMember]) -> dict[Any, _Analysis]:
            return {member: self._analysed(member) for member in changed}

        with ThreadPoolExecutor(workers) as pool:
            ahead: collections.deque[tuple[list[Any], Future[dict[Any, _Analysis]]]]
            ahead = collections.deque()
            for batch in batches:
                changed = [m for m in batch if self._worth_inflating(m)]
                ahead.append((batch, pool.submit(analyse, changed)))
                if len(ahead) > workers:
                    done, future = ahead.popleft()
                    yield done, future.result()
            while ahead:
                done, future = ahead.popleft()
                yield done, future.result()

    def _member(self, member: containers.ZipMember, inflated: _Analysis) -> list[Op]:
        compressed = self.target[member.data : member.end]
        other = self._counterpart(member.name)
        if other is not None and self.ref[other.data : other.end] == compressed:
            return [Copy(other.data, len(compressed))]
        if member.encrypted or member.method not in (0, 8):
            return [self._carried(compressed, other)]
        if member.method == 0:
            return self._content(compressed, other)
        if isinstance(inflated, _Spliced):
            self.out.data.append(inflated.middle)
            return [inflated.op]
        if inflated is None or (inflated.params is None and inflated.parse is None):
            return [self._carried(compressed, other)]
        if inflated.params is None:
            return [self._parsed(compressed, inflated, other)]
        parts = self._content(memoryview(inflated.content), other, inflated.inner)
        # Restarted chunks are deflated from content as it is, not re-deflated.
        nested = any(isinstance(op, Deflate) for op in parts)
        found = () if nested else inflated.restarts
        self.out.redeflated(inflated.params, inflated.content, compressed, found)
        return [Deflate(inflated.params, len(compressed), tuple(parts), found)]

    def _parsed(
        self, compressed: memoryview, inflated: _Inflated, other: containers.ZipMember | None
    ) -> Parsed:
        """A member written from its parse, against its counterpart's parse
        and content."""
        assert inflated.parse is not None  # as _parse found it,
        assert other is not None  # against this counterpart
        theirs = Source(other.data, other.end - other.data, INFLATE | PARSE)
        self.out.pieces.add(_base(other))  # first, as a reader builds it: its parse reads it
        self.out.pieces.add(theirs, matched=True)
        self.out.data.append(inflated.parse)  # before the content's: a reader lays it out first
        parts = self._content(memoryview(inflated.content), other)
        return Parsed(len(compressed), tuple(parts), len(inflated.parse))

    def _carried(self, compressed: memoryview, other: containers.ZipMember | None) -> Op:
        """A member carried as it is (a deflate none of ours re-creates:
        7-Zip's, Go's...), its counterpart's compressed bytes in the delta's
        source: a changed stream's output often runs in step with the old
        one's for long stretches, which xdelta3 then copies."""
        if other is not None:
            self.out.pieces.add(Source(other.data, other.end - other.data, 0), matched=True)
        return self.out.carry(compressed)

    def _content(
        self,
        content: memoryview,
        other: containers.ZipMember | None,
        members: list[GzipPart] | None = None,
    ) -> list[Op]:
        """A member's uncompressed bytes, against its counterpart's: as runs
        of it, or (a gzip stream) expanded once more, or as they are.
        ``members``: the gzip stream's, analysed ahead."""
        base = None if other is None else _base(other)
        ops = self.out.against(content, base)
        if ops is not None:
            return ops
        if self.nested and containers.kind(content) == "gzip":
            mark = len(self.out.data)
            inner = None if base is None else Source(base.offset, base.size, base.flags | GUNZIP)
            ops = self.streams.stream(content, inner, 1, members)
            if any(isinstance(op, Deflate) for op in ops):
                self.out.pieces.matched.discard(base)  # the data holds the inner content
                return joined(ops)
            del self.out.data[mark:]
        return [self.out.lit(content)]

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
