"""Read a delta's VCDIFF header and window headers without decoding it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deltaglider._xdelta3 import ffi, lib
from deltaglider.xdelta.errors import CorruptDeltaError, TruncatedDeltaError, raise_for
from deltaglider.xdelta.memory import BytesLike, as_c_buffer
from deltaglider.xdelta.options import SECONDARY_NAMES

# RFC 3284 indicator bits.
VCD_SOURCE = 0x01
VCD_TARGET = 0x02
VCD_ADLER32 = 0x04


@dataclass(frozen=True)
class WindowInfo:
    """One VCDIFF window, as its header describes it."""

    target_offset: int
    target_length: int
    copy_offset: int
    copy_length: int
    delta_length: int
    indicator: int
    delta_indicator: int
    adler32: int | None

    @property
    def copies_from_source(self) -> bool:
        """The window copies from the source (VCD_SOURCE)."""
        return bool(self.indicator & VCD_SOURCE)

    @property
    def copies_from_target(self) -> bool:
        """The window copies from earlier target output (VCD_TARGET)."""
        return bool(self.indicator & VCD_TARGET)


@dataclass(frozen=True)
class DeltaHeader:
    """What a delta says about itself."""

    secondary: str
    """``"lzma"``, ``"djw"``, ``"fgk"`` or ``"none"``."""
    secondary_id: int
    app_header: bytes
    windows: tuple[WindowInfo, ...]
    target_size: int

    @property
    def window_count(self) -> int:
        """Number of windows."""
        return len(self.windows)

    @property
    def app_header_fields(self) -> tuple[str, ...]:
        """The app header split on ``/``; the CLI writes
        ``target-name/target-compressor/source-name/source-compressor``."""
        return app_header_fields(self.app_header)

    @property
    def external_compression(self) -> tuple[str, str] | None:
        """The CLI's external-compression markers (e.g. ``("G", "G")`` for
        gzip), or None when neither side was decompressed before diffing.

        Such a delta was made between *decompressed* streams; decoding it
        gives those streams, not the original compressed files.
        """
        return external_compression(self.app_header)

    @property
    def has_checksums(self) -> bool:
        """Every window carries an Adler-32 checksum."""
        return all(w.adler32 is not None for w in self.windows)

    @property
    def largest_window(self) -> int:
        """Largest target window length (xdelta3 3.0.x decodes up to 16 MiB)."""
        return max((w.target_length for w in self.windows), default=0)


def inspect(delta: BytesLike) -> DeltaHeader:
    """Parse ``delta``'s headers without decoding any window.

    Raises:
        CorruptDeltaError: the headers are damaged or not VCDIFF.
        TruncatedDeltaError: the delta ends early.
        UnsupportedDeltaError: unknown secondary compressor or code table.
    """
    with as_c_buffer(delta) as data:
        capacity = 64
        while True:
            header = ffi.new("dg_header_info *")
            app = ffi.new("unsigned char[]", len(data) + 1)
            header.appheader = app
            header.appheader_cap = len(data)
            windows = ffi.new("dg_window_info[]", capacity)
            message = ffi.new("const char **")
            code = lib.dg_inspect(data, len(data), header, windows, capacity, message)
            if code != lib.DG_OK:
                raise_for(code, ffi.string(message[0]).decode(), "inspect")
            if header.window_count <= capacity:
                break
            capacity = int(header.window_count)
    secondary_id = int(header.secondary_id)
    return DeltaHeader(
        secondary=SECONDARY_NAMES[secondary_id],
        secondary_id=secondary_id,
        app_header=bytes(ffi.buffer(app, header.appheader_len)),
        windows=tuple(_window(windows[i]) for i in range(header.window_count)),
        target_size=int(header.target_size),
    )


def _window(c: Any) -> WindowInfo:
    indicator = int(c.indicator)
    return WindowInfo(
        target_offset=int(c.target_offset),
        target_length=int(c.target_length),
        copy_offset=int(c.copy_offset),
        copy_length=int(c.copy_length),
        delta_length=int(c.delta_length),
        indicator=indicator,
        delta_indicator=int(c.delta_indicator),
        adler32=int(c.adler32) if indicator & VCD_ADLER32 else None,
    )


def app_header_fields(app_header: bytes) -> tuple[str, ...]:
    """An app header split on ``/`` (see :attr:`DeltaHeader.app_header_fields`)."""
    if not app_header:
        return ()
    return tuple(app_header.decode("utf-8", "surrogateescape").split("/"))


def external_compression(app_header: bytes) -> tuple[str, str] | None:
    """The CLI's external-compression markers in an app header, or None
    (see :attr:`DeltaHeader.external_compression`)."""
    fields = app_header_fields(app_header)
    if len(fields) not in (2, 4):
        return None
    target_comp = fields[1]
    source_comp = fields[3] if len(fields) == 4 else ""
    if not target_comp and not source_comp:
        return None
    return target_comp, source_comp


_MAGIC = b"\xd6\xc3\xc4\x00"
_VCD_DECOMPRESS, _VCD_CODETABLE, _VCD_APPHEADER = 0x01, 0x02, 0x04


def read_app_header(start: bytes) -> bytes:
    """The app header of a delta, from its first bytes only (RFC 3284
    section 4.1 plus xdelta3's app-header bit), for deltas too large to
    inspect whole.

    Raises:
        CorruptDeltaError: not VCDIFF.
        TruncatedDeltaError: ``start`` ends inside the file header.
    """
    if len(start) < 5:
        raise TruncatedDeltaError("inspect: the delta ends inside its header")
    if start[:4] != _MAGIC:
        raise CorruptDeltaError("inspect: not a VCDIFF delta (bad magic)")
    indicator, position = start[4], 5
    if indicator & _VCD_DECOMPRESS:
        position += 1
    for bit in (_VCD_CODETABLE, _VCD_APPHEADER):
        if not indicator & bit:
            continue
        length = 0
        for _ in range(10):
            if position >= len(start):
                raise TruncatedDeltaError("inspect: the delta ends inside its header")
            byte = start[position]
            position += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        else:
            raise CorruptDeltaError("inspect: header length is not a valid integer")
        if position + length > len(start):
            raise TruncatedDeltaError("inspect: the delta ends inside its header")
        if bit == _VCD_APPHEADER:
            return bytes(start[position : position + length])
        position += length
    return b""
