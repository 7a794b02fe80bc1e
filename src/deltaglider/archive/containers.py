"""Reading the structure of zip archives and gzip streams: where each
member's compressed bytes are, and what they inflate to (bounded).

Nothing here trusts its input: a structure that does not add up is left out
(its bytes are carried as they are), never guessed at.  Inflating uses the
interpreter's ``zlib``: any correct inflater gives the same bytes.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

Buffer = bytes | bytearray | memoryview

ZIP_LOCAL = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
GZIP_MAGIC = b"\x1f\x8b\x08"
ZIP_CENTRAL = b"PK\x01\x02"
_ZIP64_END = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_END_SEARCH = 22 + 0xFFFF
_MAX_MEMBERS = 1 << 20

MAX_EXPANDED = 512 << 20
"""Uncompressed bytes one file may be expanded to (and the delta's source
built from its reference); past it, members are carried as they are."""

_XFL_LEVELS = {2: frozenset({9}), 4: frozenset({1}), 0: frozenset({0, 2, 3, 4, 5, 6, 7, 8})}

MAX_RATIO = 100
"""A stream that inflates to more than this many times its size (plus
1 MiB) is not expanded: a bomb, or data better left as it is."""


def expansion_limit(size: int) -> int:
    """Uncompressed bytes a file of ``size`` bytes may be expanded to: what
    the writer stays within and the reader refuses beyond."""
    return min(MAX_EXPANDED, MAX_RATIO * size + (1 << 20))


def kind(data: Buffer) -> str | None:
    """``"zip"``, ``"gzip"`` or None, from a file's first bytes, or (a zip
    after a prepended stub, as self-extractors are) its end record."""
    head = bytes(data[:4])
    if head in (ZIP_LOCAL, ZIP_END):
        return "zip"
    if head[:3] == GZIP_MAGIC:
        return "gzip"
    if len(data) > 4 and ZIP_END in bytes(data[-_END_SEARCH:]) and zip_members(data):
        return "zip"
    return None


@dataclass(frozen=True)
class ZipMember:
    """One central-directory entry whose local header was found where it
    says; ``data``/``end`` bound its compressed bytes in the file."""

    name: bytes
    method: int
    encrypted: bool
    header: int
    data: int
    end: int


@dataclass(frozen=True)
class DirectoryEntry:
    """One central-directory entry: where it is, its name, and its local
    header offset field as recorded (before any zip64 or stub adjustment)."""

    position: int
    length: int
    name: bytes
    offset_field: int


def zip_directory(data: Buffer) -> tuple[list[DirectoryEntry], int] | None:
    """A zip's central-directory entries, in order, and by how much their
    offsets are off (bytes prepended to the archive, as self-extractors
    have); None if no end record is found.  Entries stop at the first that
    is not one."""
    view = memoryview(data)
    found = _central_directory(view)
    if found is None:
        return None
    start, count, shift = found
    entries: list[DirectoryEntry] = []
    pos = start
    for _ in range(min(count, _MAX_MEMBERS)):
        if pos + 46 > len(view) or view[pos : pos + 4] != ZIP_CENTRAL:
            break
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", view, pos + 28)
        length = 46 + name_len + extra_len + comment_len
        if pos + length > len(view):
            break
        name = bytes(view[pos + 46 : pos + 46 + name_len])
        offset_field = struct.unpack_from("<I", view, pos + 42)[0]
        entries.append(DirectoryEntry(pos, length, name, offset_field))
        pos += length
    return entries, shift


def zip_members(data: Buffer) -> list[ZipMember] | None:
    """The members of a zip, ordered by position and not overlapping; None
    if no end record is found.  Entries whose local header is not where
    they say, or which overlap an earlier member, are left out."""
    return _members(memoryview(data), zip_directory(data))


def _members(
    view: memoryview, found: tuple[list[DirectoryEntry], int] | None
) -> list[ZipMember] | None:
    if found is None:
        return None
    entries, shift = found
    members: list[ZipMember] = []
    for entry in entries:
        pos = entry.position
        flags, method = struct.unpack_from("<HH", view, pos + 8)
        csize, usize = struct.unpack_from("<II", view, pos + 20)
        name_len, extra_len = struct.unpack_from("<HH", view, pos + 28)
        extra = view[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        csize, offset = _zip64_sizes(extra, usize, csize, entry.offset_field)
        member = _located(view, entry.name, flags, method, csize, offset + shift)
        if member is not None:
            members.append(member)
    members.sort(key=lambda m: m.data)
    kept: list[ZipMember] = []
    for member in members:
        if not kept or member.header >= kept[-1].end:
            kept.append(member)
    return kept


class ZipIndex:
    """One zip's structure, each part read once, when first asked for."""

    def __init__(self, data: Buffer) -> None:
        self.data = memoryview(data)

    @functools.cached_property
    def directory(self) -> tuple[list[DirectoryEntry], int] | None:
        """See :func:`zip_directory`."""
        return zip_directory(self.data)

    @functools.cached_property
    def members(self) -> list[ZipMember] | None:
        """See :func:`zip_members`."""
        return _members(self.data, self.directory)

    @functools.cached_property
    def by_name(self) -> dict[bytes, ZipMember]:
        """Members by name (the first of a name, in file order); empty if
        it is not a zip."""
        index: dict[bytes, ZipMember] = {}
        for member in self.members or []:
            index.setdefault(member.name, member)
        return index

    @functools.cached_property
    def offsets(self) -> dict[bytes, int]:
        """Directory offset fields by name (the first entry of a name)."""
        offsets: dict[bytes, int] = {}
        for entry in self.directory[0] if self.directory else []:
            offsets.setdefault(entry.name, entry.offset_field)
        return offsets

    @functools.cached_property
    def skeleton(self) -> bytes | None:
        """The bytes outside the members' data (local headers, descriptors,
        the central directory, anything around them), in order, with each
        directory entry's offset field zeroed and its time XORed with its
        local header's (a target's directory is stored so: see
        :class:`RelativeOffsets` and :func:`xor_times`); None if it is not
        a zip."""
        if self.members is None:
            return None
        copy = bytearray(self.data)
        entries, shift = self.directory or ([], 0)
        for entry in entries:
            struct.pack_into("<I", copy, entry.position + 42, 0)
            xor_times(copy, entry.position, entry.offset_field + shift, entries[0].position)
        view = memoryview(copy)
        parts, pos = [], 0
        for member in self.members:
            parts.append(view[pos : member.data])
            pos = member.end
        parts.append(view[pos:])
        return b"".join(parts)


def xor_times(buffer: bytearray, entry: int, header: int, directory: int) -> None:
    """XOR the modification time and date of the directory entry at
    ``entry`` with those of the local header at ``header`` (which is how
    they are stored, and undone: usually the two are equal, so the stored
    fields are zero), if that header lies before the ``directory``."""
    if header >= 0 and header + 30 <= directory and buffer[header : header + 4] == ZIP_LOCAL:
        for i in range(4):
            buffer[entry + 12 + i] ^= buffer[header + 10 + i]


class RelativeOffsets:
    """Directory entries' offset fields, relative to the reference's: an
    entry of a name the reference has stores how much its offset moved
    beyond the move of the entry before (zero in a run of entries all
    shifted alike); other entries store theirs as is.  A target's directory
    then matches the reference's skeleton but where members changed."""

    def __init__(self, reference_offsets: dict[bytes, int]) -> None:
        self._reference = reference_offsets
        self._shift = 0

    def relative(self, name: bytes, actual: int) -> int:
        """The field to store for an entry whose offset is ``actual``."""
        base = self._reference.get(name)
        if base is None:
            return actual
        stored = (actual - base - self._shift) & 0xFFFFFFFF
        self._shift = actual - base
        return stored

    def actual(self, name: bytes, stored: int) -> int:
        """The offset an entry's stored field stands for."""
        base = self._reference.get(name)
        if base is None:
            return stored
        actual = (base + self._shift + stored) & 0xFFFFFFFF
        self._shift = actual - base
        return actual


def _central_directory(view: memoryview) -> tuple[int, int, int] | None:
    """(start, entries, shift): where the central directory is and by how
    much the recorded offsets are off (bytes prepended to the archive, as
    self-extractors do)."""
    tail_start = max(0, len(view) - _END_SEARCH)
    end = bytes(view[tail_start:]).rfind(ZIP_END)
    while end >= 0:
        pos = tail_start + end
        if pos + 22 <= len(view):
            count, size, offset = struct.unpack_from("<10xHII", view, pos)
            end_pos = pos
            if 0xFFFF in (count,) or 0xFFFFFFFF in (size, offset):
                z64 = _zip64_end(view, pos)
                if z64 is not None:
                    count, size, offset, end_pos = z64
            start = end_pos - size
            shift = start - offset
            if 0 <= start <= end_pos and shift >= 0:
                return start, count, shift
        end = bytes(view[tail_start : tail_start + end]).rfind(ZIP_END)
    return None


def _zip64_end(view: memoryview, end: int) -> tuple[int, int, int, int] | None:
    locator = end - 20
    if locator < 0 or view[locator : locator + 4] != _ZIP64_LOCATOR:
        return None
    record = struct.unpack_from("<Q", view, locator + 8)[0]
    if record + 56 > locator or view[record : record + 4] != _ZIP64_END:
        return None
    count, size, offset = struct.unpack_from("<QQQ", view, record + 32)
    return count, size, offset, record


def _zip64_sizes(extra: memoryview, usize: int, csize: int, offset: int) -> tuple[int, int]:
    """The compressed size and header offset, from the zip64 extra field
    where the entry's own fields are saturated."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            field = extra[pos + 4 : pos + 4 + length]
            values = [struct.unpack_from("<Q", field, i)[0] for i in range(0, len(field) - 7, 8)]
            for name, value in (("usize", usize), ("csize", csize), ("offset", offset)):
                if value == 0xFFFFFFFF and values:
                    taken = values.pop(0)
                    csize = taken if name == "csize" else csize
                    offset = taken if name == "offset" else offset
            break
        pos += 4 + length
    return csize, offset


def _located(
    view: memoryview, name: bytes, flags: int, method: int, csize: int, header: int
) -> ZipMember | None:
    if header < 0 or header + 30 > len(view) or view[header : header + 4] != ZIP_LOCAL:
        return None
    name_len, extra_len = struct.unpack_from("<HH", view, header + 26)
    data = header + 30 + name_len + extra_len
    if data + csize > len(view):
        return None
    return ZipMember(name, method, bool(flags & 1), header, data, data + csize)


@dataclass(frozen=True)
class GzipMember:
    """One gzip member: header, raw deflate stream, 8-byte trailer."""

    start: int
    stream: int
    trailer: int
    levels: frozenset[int] | None
    """The deflate levels its header's XFL allows (zlib and Python's gzip
    write 2 for level 9, 4 for level 1, 0 for the others); None if unknown."""


def gzip_member(
    view: memoryview, start: int, limit: int | None = None
) -> tuple[GzipMember, bytes] | None:
    """The gzip member at ``start`` and its content, or None if there is
    none, it is damaged, or it would inflate beyond the limits (``limit``
    bytes, if given)."""
    header = gzip_header_end(view, start)
    if header is None:
        return None
    inflated = inflate(view[header:], limit)
    if inflated is None:
        return None
    content, used = inflated
    trailer = header + used
    if trailer + 8 > len(view):
        return None
    return GzipMember(start, header, trailer, _XFL_LEVELS.get(view[start + 8])), content


_NAME_SCAN = 4096


def gzip_header_end(view: memoryview, pos: int) -> int | None:
    """Where the deflate stream of the gzip member at ``pos`` starts (None:
    no gzip header there)."""
    if len(view) < pos + 10 or view[pos : pos + 3] != GZIP_MAGIC:
        return None
    flags = view[pos + 3]
    if flags & 0xE0:
        return None
    pos += 10
    if flags & 4:
        if pos + 2 > len(view):
            return None
        pos += 2 + struct.unpack_from("<H", view, pos)[0]
    for flag in (8, 16):  # file name, comment: zero-terminated
        if flags & flag:
            # Names are short: look near first (copying the rest of a long
            # stream for each of many members would be quadratic).
            zero = bytes(view[pos : pos + _NAME_SCAN]).find(b"\0")
            if zero < 0:
                zero = bytes(view[pos:]).find(b"\0")
            if zero < 0:
                return None
            pos += zero + 1
    if flags & 2:
        pos += 2
    return pos if pos <= len(view) else None


@dataclass(frozen=True)
class TarEntry:
    """One tar entry: its 512-byte header at ``start``, its data (``size``
    bytes, padded to 512) up to ``end``."""

    name: bytes
    typeflag: int
    start: int
    size: int
    end: int


def tar_entries(data: Buffer) -> list[TarEntry] | None:
    """The entries of a tar archive, in order, up to its end blocks or the
    first header that is not one; None if it does not start with one."""
    view = memoryview(data)
    entries: list[TarEntry] = []
    pos = 0
    while pos + 512 <= len(view):
        header = bytes(view[pos : pos + 512])
        size = _tar_size(header) if _tar_checksum_ok(header) else None
        if size is None:
            break
        end = pos + 512 + (size + 511) // 512 * 512
        if end > len(view):
            break
        name = header[:100].split(b"\0", 1)[0]
        if header[257:262] == b"ustar" and header[345]:
            name = header[345:500].split(b"\0", 1)[0] + b"/" + name
        entries.append(TarEntry(name, header[156], pos, size, end))
        pos = end
    return entries or None


def _tar_checksum_ok(header: bytes) -> bool:
    if not any(header):
        return False
    field = header[148:156].split(b"\0", 1)[0].strip()
    try:
        recorded = int(field, 8)
    except ValueError:
        return False
    return recorded == sum(header[:148]) + 8 * 32 + sum(header[156:])


def _tar_size(header: bytes) -> int | None:
    field = header[124:136]
    if field[0] & 0x80:  # base-256, for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    try:
        return int(field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        return None


def inflate(stream: Buffer, limit: int | None = None) -> tuple[bytes, int] | None:
    """Inflate the raw deflate stream at the start of ``stream``: its
    content and the compressed bytes it used, or None if it is damaged,
    unfinished, or inflates to more than ``limit`` (by default
    ``MAX_RATIO`` times its input plus 1 MiB, at most ``MAX_EXPANDED``)."""
    cap = expansion_limit(len(stream)) if limit is None else limit
    inflater = zlib.decompressobj(-15)
    try:
        content = inflater.decompress(stream, cap + 1)
    except zlib.error:
        return None
    if not inflater.eof or len(content) > cap:
        return None
    return content, len(stream) - len(inflater.unused_data)


def gunzip(data: Buffer, limit: int) -> bytes | None:
    """The concatenated contents of the gzip members ``data`` starts with,
    at most ``limit`` bytes; None if it is not gzip or exceeds the limit."""
    view = memoryview(data)
    pos, parts, total = 0, [], 0
    while True:
        found = gzip_member(view, pos)
        if found is None:
            break
        member, content = found
        total += len(content)
        if total > limit:
            return None
        parts.append(content)
        pos = member.trailer + 8
    return b"".join(parts) if parts else None
