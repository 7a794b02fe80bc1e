"""Exceptions raised by the xdelta3 codec, and the mapping from C codes."""

from __future__ import annotations

from typing import NoReturn

from deltaglider._xdelta3 import lib


class XDeltaError(Exception):
    """Base class of every codec error."""


class CorruptDeltaError(XDeltaError):
    """The delta is not valid VCDIFF, or its contents are damaged."""


class TruncatedDeltaError(CorruptDeltaError):
    """The delta ends before its last window is complete."""


class WrongSourceError(XDeltaError):
    """The delta does not fit this source: a window checksum failed, or the
    delta copies bytes beyond the end of the source."""


class OutputLimitError(XDeltaError):
    """Decoding would produce more bytes than the caller allowed."""


class DeltaTooLargeError(XDeltaError):
    """The delta would exceed the size cap given to the encoder."""


class UnsupportedDeltaError(XDeltaError):
    """The delta uses a VCDIFF feature this decoder does not have
    (VCD_TARGET windows, custom code tables, unknown secondary compressor)."""


_BY_CODE: dict[int, type[XDeltaError]] = {
    lib.DG_ERR_CORRUPT: CorruptDeltaError,
    lib.DG_ERR_TRUNCATED: TruncatedDeltaError,
    lib.DG_ERR_CHECKSUM: WrongSourceError,
    lib.DG_ERR_SOURCE_SHORT: WrongSourceError,
    lib.DG_ERR_OUTPUT_LIMIT: OutputLimitError,
    lib.DG_ERR_DELTA_TOO_LARGE: DeltaTooLargeError,
    lib.DG_ERR_UNSUPPORTED: UnsupportedDeltaError,
}

_EXPLANATION: dict[int, str] = {
    lib.DG_ERR_CHECKSUM: (
        "window checksum mismatch: the output is not what the delta was made to rebuild "
        "(another source than the one it was made from, or a damaged delta)"
    ),
    lib.DG_ERR_SOURCE_SHORT: (
        "the delta copies bytes beyond the end of the source: wrong or truncated source"
    ),
}


def raise_for(code: int, message: str, operation: str) -> NoReturn:
    """Raise the exception that matches C result ``code``."""
    detail = _EXPLANATION.get(code, message)
    text = f"{operation}: {detail}" if detail == message else f"{operation}: {detail} ({message})"
    if code == lib.DG_ERR_NOMEM:
        raise MemoryError(text)
    if code == lib.DG_ERR_INVALID_ARG:
        raise ValueError(text)
    raise _BY_CODE.get(code, XDeltaError)(text)
