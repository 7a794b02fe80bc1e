"""One-shot encode and decode of buffers held in memory.

Inputs are any contiguous bytes-like objects, passed to C without a copy.
The C call releases the GIL, so threads encode and decode in parallel.
"""

from __future__ import annotations

import mmap
from typing import Any, TypeAlias

from deltaglider._xdelta3 import ffi, lib
from deltaglider.xdelta.errors import CorruptDeltaError, XDeltaError, raise_for
from deltaglider.xdelta.options import (
    DEFAULT_LEVEL,
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SECONDARY,
    DEFAULT_TARGET_WINDOW,
    EncodeSettings,
    Secondary,
    SoftMatcher,
)

BytesLike: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
"""Any contiguous buffer: bytes, bytearray, memoryview, mmap, array..."""

# Output buffers are written in full by C before Python reads them, so
# skip cffi's zero fill (it would touch every page of a large buffer).
_alloc = ffi.new_allocator(should_clear_after_alloc=False)


def as_c_buffer(data: BytesLike, *, writable: bool = False) -> Any:
    """A ``unsigned char[]`` view of ``data``, without copying it; use it
    as a context manager, so the view is released on every path (a view
    kept alive by an exception's traceback, of a memoryview caught in a
    reference cycle, crashed the garbage collector)."""
    try:
        return ffi.from_buffer("unsigned char[]", data, require_writable=writable)
    except (TypeError, BufferError) as exc:
        kind = "a writable" if writable else "a"
        raise TypeError(f"expected {kind} bytes-like object, got {type(data).__name__}") from exc


def _delta_capacity(target_len: int) -> int:
    # A VCDIFF delta of data that matches nothing is an ADD of every byte:
    # the data plus a few bytes of instructions and headers per window, and
    # LZMA's 3 bytes per 64 KiB chunk.  An eighth more is a wide margin.
    return target_len + target_len // 8 + (1 << 20)


def encode(
    source: BytesLike,
    target: BytesLike,
    *,
    level: int = DEFAULT_LEVEL,
    secondary: Secondary = DEFAULT_SECONDARY,
    secondary_level: int | None = None,
    max_size: int | None = None,
    source_window: int | None = None,
    target_window: int = DEFAULT_TARGET_WINDOW,
    checksum: bool = True,
    app_header: bytes = b"",
    matcher: SoftMatcher | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> bytes:
    """Encode ``target`` as a VCDIFF delta against ``source``.

    The defaults match ``xdelta3 -e -9 -s source target``: slow string
    matcher, LZMA secondary compression at preset 0, Adler-32 on every
    window, 8 MiB target windows.  Unlike the CLI, the whole source is the
    source window when its match table fits ``memory_budget``.

    Args:
        source: the reference bytes (may be empty).
        target: the bytes to encode.
        level: 0..9, as ``xdelta3 -0`` .. ``-9``.
        secondary: secondary compressor: ``"lzma"``, ``"djw"``, ``"fgk"``
            or ``"none"``.
        secondary_level: LZMA preset or DJW level (0..9); None for the
            CLI's default (LZMA 0, DJW 6).
        max_size: stop and raise :class:`DeltaTooLargeError` as soon as the
            delta would exceed this many bytes.
        source_window: bytes of source the matcher may see, which also
            sizes its match table; None plans it from ``memory_budget``.
        target_window: target window size, 16 KiB..16 MiB.
        checksum: write an Adler-32 checksum for every window.
        app_header: VCDIFF application header (logical names only).
        matcher: an explicit string matcher (the CLI's ``-C``), e.g.
            :data:`DEEP_MATCHER`; None uses the one ``level`` selects.
        memory_budget: bytes the match table may use.

    Returns:
        The delta.

    Raises:
        DeltaTooLargeError: the delta exceeds ``max_size``.
        ValueError: an argument is out of range.
    """
    settings = EncodeSettings(
        level, secondary, secondary_level, target_window, checksum, app_header, matcher
    )
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size}")
    with as_c_buffer(source) as src, as_c_buffer(target) as tgt:
        window, settings = settings.planned(len(src), source_window, memory_budget, streaming=False)
        options, keep = settings.to_c(window, len(tgt))
        capacity = _delta_capacity(len(tgt)) if max_size is None else max_size
        out = _alloc("unsigned char[]", max(capacity, 1))
        out_len = ffi.new("size_t *")
        message = ffi.new("const char **")
        code = lib.dg_encode(src, len(src), tgt, len(tgt), options, out, capacity, out_len, message)
        del keep
    if code != lib.DG_OK:
        if code == lib.DG_ERR_DELTA_TOO_LARGE and max_size is None:
            raise XDeltaError("encode: delta outgrew its worst-case bound")
        raise_for(code, ffi.string(message[0]).decode(), "encode")
    return bytes(ffi.buffer(out, out_len[0]))


def decode_into(source: BytesLike, delta: BytesLike, out: BytesLike) -> int:
    """Decode ``delta`` against ``source`` into the writable buffer ``out``.

    Never writes past ``len(out)``: a delta that would produce more raises
    :class:`OutputLimitError`.

    Returns:
        The number of bytes written.

    Raises:
        CorruptDeltaError: the delta is damaged or not VCDIFF.
        WrongSourceError: the delta was made against another source.
        OutputLimitError: the output does not fit ``out``.
        UnsupportedDeltaError: the delta uses an unsupported VCDIFF feature.
    """
    with (
        as_c_buffer(source) as src,
        as_c_buffer(delta) as dlt,
        as_c_buffer(out, writable=True) as dst,
    ):
        return _decode(src, dlt, dst, len(dst))


def _decode(src: Any, dlt: Any, dst: Any, capacity: int) -> int:
    out_len = ffi.new("size_t *")
    message = ffi.new("const char **")
    code = lib.dg_decode(src, len(src), dlt, len(dlt), dst, capacity, out_len, message)
    if code != lib.DG_OK:
        raise_for(code, ffi.string(message[0]).decode(), "decode")
    return int(out_len[0])


def decode(source: BytesLike, delta: BytesLike, *, size: int) -> bytes:
    """Decode ``delta`` against ``source``; the result must be ``size`` bytes.

    Raises:
        CorruptDeltaError: the delta is damaged, or decodes to fewer than
            ``size`` bytes.
        WrongSourceError: the delta was made against another source.
        OutputLimitError: the delta decodes to more than ``size`` bytes.
        UnsupportedDeltaError: the delta uses an unsupported VCDIFF feature.
    """
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    out = _alloc("unsigned char[]", max(size, 1))
    with as_c_buffer(source) as src, as_c_buffer(delta) as dlt:
        written = _decode(src, dlt, out, size)
    if written != size:
        raise CorruptDeltaError(f"decode: the delta produced {written} bytes, expected {size}")
    return bytes(ffi.buffer(out, size))
