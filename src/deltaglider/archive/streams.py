"""Planning gzip streams: a gzip file's members (or a gzip stream inside a
zip member), each re-deflated from its content when parameters are found,
its content against the reference's; a tarball inside file by file."""

from __future__ import annotations

from dataclasses import dataclass

from deltaglider.archive import containers, parse, restarts
from deltaglider.archive.deflate import Params
from deltaglider.archive.errors import CorruptContentsDeltaError
from deltaglider.archive.pieces import ExpansionBudget
from deltaglider.archive.plan import VERSION, Output, Searches, joined
from deltaglider.archive.recipe import GUNZIP, PARSE, SLICE, Deflate, Op, Parsed, Source, Src


@dataclass(frozen=True)
class GzipPart:
    """A gzip member, its content and the parameters that deflate it back
    (None if none do)."""

    member: containers.GzipMember
    content: bytes
    params: Params | None
    restarts: tuple[restarts.Restart, ...] = ()


class GzipStreams:
    """Plans gzip streams into one plan's output, within its budget."""

    def __init__(self, out: Output, budget: ExpansionBudget, searches: Searches) -> None:
        self.out = out
        self.budget = budget
        self.searches = searches

    def file(self, ref: memoryview, target: memoryview) -> list[Op]:
        """A gzip file against its reference (gunzipped, if it is one)."""
        flags = GUNZIP if containers.kind(ref) == "gzip" else 0
        return self.stream(target, Source(0, len(ref), flags), level=0)

    def members(self, view: memoryview, at: int | None = None) -> list[GzipPart]:
        """A gzip stream's members, inflated, with their deflate parameters
        (any thread); with ``at``, the stream's offset in the file, each
        member's progress is reported as it is planned."""
        reached = self.out.reached
        parts: list[GzipPart] = []
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
            chunks = None if at is None else reached.within(at + member.stream, at + member.trailer)
            checker = restarts.Checker(memoryview(content), compressed, chunks)
            params = self.searches("gzip").find(content, compressed, member.levels, checker)
            parts.append(GzipPart(member, content, params, checker.restarts_of(params)))
            pos = member.trailer + 8
            if at is not None:
                reached.to(at + pos)
        return parts

    def stream(
        self,
        view: memoryview,
        base: Source | None,
        level: int,
        members: list[GzipPart] | None = None,
    ) -> list[Op]:
        """A gzip stream (one member or several, then maybe trailing bytes),
        its members' content compared with ``base``."""
        ops: list[Op] = []
        pos = 0
        found = self.members(view, 0 if level == 0 else None) if members is None else members
        for part in found:
            member, content = part.member, part.content
            ops.append(self.out.lit(view[pos : member.stream]))
            compressed = view[member.stream : member.trailer]
            if part.params is not None:
                self.out.redeflated(part.params, content, compressed, part.restarts)
                inner = self._content(content, base, level)
                ops.append(Deflate(part.params, len(compressed), inner, part.restarts))
            else:
                parsed = self._parsed(part, compressed, base, level)
                ops.append(parsed or self.out.carry(compressed))
            ops.append(self.out.lit(view[member.trailer : member.trailer + 8]))
            pos = member.trailer + 8
        if pos < len(view):
            ops.append(self.out.lit(view[pos:]))
        return ops

    def _content(self, content: bytes, base: Source | None, level: int) -> tuple[Op, ...]:
        """A member's content: a tarball file by file, or against ``base``,
        or as it is."""
        return tuple(
            (level == 0 and self.tar(memoryview(content), base))
            or self.out.against(memoryview(content), base)
            or [self.out.lit(content)]
        )

    def _parsed(
        self, part: GzipPart, compressed: memoryview, base: Source | None, level: int
    ) -> Parsed | None:
        """A member no deflate family re-creates, written from its parse:
        its parse against the reference's members' (a gzip file's, whose
        content ``base`` is), then its content as a re-created member's.
        None where either does not parse (it is carried)."""
        if level or base is None or base.flags != GUNZIP:
            return None
        made = parse.parse_of(compressed, part.content)
        if made is None:
            return None
        theirs = Source(base.offset, base.size, GUNZIP | PARSE)
        self.out.pieces.add(base)  # first: its parse is read from it, not inflated again
        try:
            self.out.pieces.bytes_of(theirs)
        except CorruptContentsDeltaError:
            return None  # a reference member no parse reads: nothing to delta against
        self.out.pieces.add(theirs, matched=True)
        self.out.data.append(made)  # before the content's: a reader lays it out first
        return Parsed(len(compressed), self._content(part.content, base, level), len(made))

    def tar(self, content: memoryview, base: Source | None) -> list[Op] | None:
        """A tarball's content file by file against the reference's: a file
        whose data is unchanged is read from the source; what changed goes
        into the data stream, encoded against just that file of the
        reference (so neither xdelta3's source nor its data is the whole
        tarball).  Files are matched by name, numbers in the top folder's
        name aside (``pkg-1.2/setup.py`` for ``pkg-1.3/setup.py``)."""
        entries = containers.tar_entries(content)
        if base is None or not entries:
            return None
        offset, piece = self.out.pieces.add(base)
        theirs: dict[tuple[int, bytes], containers.TarEntry] = {}
        for entry in containers.tar_entries(piece) or []:
            theirs.setdefault(_tar_key(entry), entry)
        if not theirs:
            return None
        ops: list[Op] = []
        for entry in entries:
            data = entry.start + 512
            ops.append(self.out.lit(content[entry.start : data]))
            other = theirs.get(_tar_key(entry))
            if (
                other is not None
                and piece[other.start + 512 : other.end] == content[data : entry.end]
            ):
                ops.append(Src(offset + other.start + 512, entry.end - data))
                continue
            ops.append(self.out.lit(content[data : entry.end]))
            if other is not None:
                self.out.pieces.add(
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
            ops.append(self.out.lit(content[entries[-1].end :]))
        return joined(ops)


def _tar_key(entry: containers.TarEntry) -> tuple[int, bytes]:
    """A tar entry's type and name, digits in its top folder's name aside."""
    top, slash, rest = entry.name.partition(b"/")
    return entry.typeflag, VERSION.sub(b"#", top) + slash + rest
