"""Deflate with the vendored zlib and its GNU gzip variant: find the
family and parameters that re-create a stream's compressed bytes exactly
(zlib's, GNU gzip's, busybox's, Info-ZIP's or pigz's), and re-create them.

Only the vendored copy is used (``csrc/dg_deflate.c``): the interpreter's
``zlib`` may be zlib-ng or another build whose output differs, and bytes
deflated on one machine must come out the same on every other.  The calls
release the GIL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deltaglider._xdelta3 import ffi, lib
from deltaglider.archive.errors import CorruptContentsDeltaError

ZLIB, GNU, PIGZ, BUSYBOX, INFOZIP = 0, 1, 2, 3, 4
"""Deflate families (``csrc/dg_deflate.h``): the vendored zlib; the same
patched to deflate as GNU gzip 1.5 and later does; zlib over pigz's
chunks; the GNU variant as busybox (and gzip before 1.5) ends the input;
as Info-ZIP's zip does."""
_ZLIB_VERSION = ffi.string(lib.dg_zlib_version()).decode("ascii")
FAMILY_NAMES = {
    ZLIB: f"zlib-{_ZLIB_VERSION}",
    GNU: f"zlib-{_ZLIB_VERSION}-gnu-gzip",
    PIGZ: f"zlib-{_ZLIB_VERSION}-pigz",
    BUSYBOX: f"zlib-{_ZLIB_VERSION}-busybox",
    INFOZIP: f"zlib-{_ZLIB_VERSION}-info-zip",
}
"""What re-deflates, as recorded on a contents delta: the families it
uses, these names joined by commas (the first alone when it uses only
zlib, as before there were others)."""
IMPLEMENTATION = FAMILY_NAMES[ZLIB]

_PROBE = 4 << 10  # output bytes a candidate must match before its chunks are checked
_LARGE = 64 << 10  # a stream this large costs a deflate's first block per try
_UNUSUAL_UP_TO = 256 << 10  # unusual sets are tried on streams up to this size
PIGZ_BLOCK = 128 << 10  # pigz's default chunk (-b 128)
_MAX_BLOCK_KIB = 1 << 22  # a recorded chunk size past 4 GiB is damage


@dataclass(frozen=True)
class Params:
    """A raw deflate stream's parameters (as ``deflateInit2`` takes them),
    its family and, for pigz, its chunk size in bytes."""

    level: int
    window_bits: int = 15
    mem_level: int = 8
    strategy: int = 0
    family: int = ZLIB
    block: int = 0

    def pack(self) -> int:
        """Level, window bits, memory level, strategy in two bytes (all a
        zlib stream's, so its packing is as it was before families), then
        the family and the chunk size in KiB."""
        return (
            self.level
            | (self.window_bits - 8) << 4
            | (self.mem_level - 1) << 8
            | self.strategy << 12
            | self.family << 16
            | (self.block >> 10) << 19
        )

    @classmethod
    def unpack(cls, packed: int) -> Params:
        params = cls(
            packed & 0xF,
            (packed >> 4 & 0xF) + 8,
            (packed >> 8 & 0xF) + 1,
            packed >> 12 & 0xF,
            packed >> 16 & 7,
            (packed >> 19) << 10,
        )
        if not (
            0 <= params.level <= 9
            and 9 <= params.window_bits <= 15
            and 1 <= params.mem_level <= 9
            and 0 <= params.strategy <= 4
            and params.family in FAMILY_NAMES
            and (params.family == PIGZ) == (params.block >= 32 << 10)
            and packed >> 19 <= _MAX_BLOCK_KIB
        ):
            raise CorruptContentsDeltaError(f"invalid deflate parameters {packed:#x}")
        return params

    @property
    def name(self) -> str:
        """The family's recorded name."""
        return FAMILY_NAMES[self.family]


_LEVELS = (6, 9, 1, 2, 3, 4, 5, 7, 8, 0)


def _levels(family: int, block: int = 0) -> tuple[Params, ...]:
    return tuple(Params(level, family=family, block=block) for level in _LEVELS if level)


_COMMON = {
    "zip": (*(Params(level) for level in _LEVELS), *_levels(INFOZIP)),
    "gzip": (
        *(Params(level) for level in _LEVELS), *_levels(GNU), *_levels(BUSYBOX),
        *_levels(INFOZIP), *_levels(PIGZ, PIGZ_BLOCK),
    ),
}  # fmt: skip
"""Where each kind of stream comes from.  Zip members: zlib's defaults at
every level, its default level and 9 first (Python's zipfile, jar tools),
then Info-ZIP's zip's.  Gzip streams: zlib's (Python's gzip), GNU gzip's
(``tar czf``), busybox's, Info-ZIP's (busybox's where its search near the
end of the window meets zlib's), then pigz's default chunking for streams
longer than a chunk (a shorter one is zlib's).  Nearly every stream found is one.
Where two give the same bytes (short streams), zlib's is recorded: readers
from before the other families read it."""
_UNUSUAL = (
    *(Params(level, 15, 9) for level in _LEVELS),
    *(Params(level, 15, 8, 1) for level in _LEVELS),
    *(Params(level, window) for window in range(14, 8, -1) for level in (6, 9)),
    *(Params(level, 15, 8, strategy) for strategy in (2, 3, 4) for level in (6, 9, 1)),
)
"""A larger memory level, the other strategies, smaller windows: tried on
streams up to 256 KiB until the first stream that matches nothing."""
_GIVE_UP = 16  # streams that matched nothing, none matched yet: stop looking


class ParamSearch:
    """Finds the deflate parameters of an archive's streams.  The set that
    worked last is tried first (an archive's members are usually deflated
    alike); unusual sets only until a few streams matched nothing; and
    nothing more once many did and none matched (another deflate
    implementation made the archive: its members are carried as they are).
    Once a stream matched nothing, only the sets that worked lately are
    tried (a large stream costs a deflate per set tried)."""

    def __init__(self, kind: str) -> None:
        """A search for the streams of a ``"zip"``'s members or of ``"gzip"``."""
        self._order = list(_COMMON[kind])
        self._found = 0
        self._missed = 0

    @property
    def _unchunked(self) -> list[Params]:
        return [params for params in self._order if params.family != PIGZ]

    def find(
        self,
        content: bytes | memoryview,
        compressed: bytes | memoryview,
        levels: frozenset[int] | None = None,
        whole: Callable[[Params], bool] | None = None,
    ) -> Params | None:
        """The parameters whose deflate of ``content`` is ``compressed``, or
        None; only ``levels`` are tried if given (a gzip header's XFL).
        ``whole``: how a candidate is checked on the whole stream (by
        default :func:`matches`: one deflate, which stops at the first
        output byte that differs, so a wrong candidate costs its first
        block and the right one a single deflate)."""
        if self._missed >= _GIVE_UP and not self._found:
            return None
        usual = self._order if len(content) > PIGZ_BLOCK else self._unchunked
        if not self._missed and len(compressed) <= _UNUSUAL_UP_TO:
            candidates = usual + list(_UNUSUAL)
        elif not self._found:
            candidates = usual
        else:  # a stream matched nothing: from then on, only what worked lately
            candidates = usual[: 1 if len(compressed) > _LARGE else 3]
        for params in candidates:
            if levels is not None and params.level not in levels:
                continue
            if not (whole or _whole(content, compressed))(params):
                continue
            if params in self._order:
                self._order.remove(params)
            self._order.insert(0, params)
            self._found += 1
            return params
        self._missed += 1
        return None


_threads = threading.local()  # each thread's deflaters, by parameters


def deflater_of(params: Params) -> Any:
    """This thread's deflate stream for ``params``, set up once."""
    kept: dict[Params, Any] | None = getattr(_threads, "deflaters", None)
    if kept is None:
        kept = _threads.deflaters = {}
    deflater = kept.get(params)
    if deflater is None:
        fields = [
            params.level, params.window_bits, params.mem_level, params.strategy,
            params.family, params.block,
        ]  # fmt: skip
        error = ffi.new("int *")
        made = lib.dg_deflater_new(ffi.new("dg_deflate_params *", fields), error)
        if made == ffi.NULL:
            if error[0] == lib.DG_DEFLATE_ERR_NOMEM:
                raise MemoryError("deflate: out of memory")
            raise CorruptContentsDeltaError(f"invalid deflate parameters {params}")
        deflater = kept[params] = ffi.gc(made, lib.dg_deflater_free)
    return deflater


def _matches(
    params: Params, content: bytes | memoryview, compressed: bytes | memoryview, probe: int
) -> bool:
    with ffi.from_buffer(content) as c_in, ffi.from_buffer(compressed) as c_compressed:
        rc = lib.dg_deflate_matches(
            deflater_of(params), c_in, len(content), c_compressed, len(compressed), probe
        )
    if rc == lib.DG_DEFLATE_ERR_NOMEM:
        raise MemoryError("deflate: out of memory")
    return bool(rc == lib.DG_DEFLATE_OK)


def _whole(content: bytes | memoryview, compressed: bytes | memoryview) -> Callable[[Params], bool]:
    return lambda params: matches(params, content, compressed)


def matches(params: Params, content: bytes | memoryview, compressed: bytes | memoryview) -> bool:
    """Whether ``params`` deflate ``content`` to exactly ``compressed``
    (the deflate stops at the first output byte that differs)."""
    return _matches(params, content, compressed, 0)


def starts_alike(
    params: Params, content: bytes | memoryview, compressed: bytes | memoryview
) -> bool:
    """Whether the first output ``params`` make of ``content`` (4 KiB, or
    all of a short stream) is ``compressed``'s: a wrong candidate ruled out
    at the cost of its first block."""
    return _matches(params, content, compressed, _PROBE if len(compressed) > _PROBE else 0)


def deflate(params: Params, content: bytes | bytearray | memoryview, size: int) -> bytearray:
    """``content`` deflated with ``params``; exactly ``size`` bytes or
    CorruptContentsDeltaError."""
    out = bytearray(size)
    # Views into the buffers are released here, on every path: held by a
    # failed call's traceback, a memoryview's export met the garbage
    # collector's cycle clearing and crashed the process.
    with ffi.from_buffer(content) as c_in, ffi.from_buffer(out) as c_out:
        rc = lib.dg_deflate(deflater_of(params), c_in, len(content), c_out, size)
    if rc == lib.DG_DEFLATE_ERR_NOMEM:
        raise MemoryError("deflate: out of memory")
    if rc != lib.DG_DEFLATE_OK:
        raise CorruptContentsDeltaError(
            f"re-deflating {len(content)} bytes with {params} did not give the "
            f"{size} bytes recorded"
        )
    return out
