"""Encoder settings and the memory policy that picks the source window.

xdelta3's source matcher keeps a hash table of ``window / step`` 8-byte
entries (rounded down to a power of two), where ``step`` depends on the
level: 4 bytes per window byte at ``-9``.  The stock CLI fixes the window at
64 MiB and so misses matches further apart in large files; here the window
covers the whole source, with room to spare, whenever the table fits the
memory budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from deltaglider._xdelta3 import ffi, lib

Secondary = Literal["lzma", "djw", "fgk", "none"]

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

DEFAULT_LEVEL = 9
DEFAULT_SECONDARY: Secondary = "lzma"
DEFAULT_TARGET_WINDOW = 8 * MiB
"""The CLI's default (``-W``); xdelta3 3.0.x decodes windows up to 16 MiB."""
MAX_TARGET_WINDOW = 16 * MiB
MIN_WINDOW = 16 * KiB
DEFAULT_MEMORY_BUDGET = 1 * GiB
"""Memory the encoder may spend on its source window and match tables."""
MAX_SOURCE_WINDOW = 2 * GiB

SECONDARY_IDS: dict[str, int] = {
    "none": lib.DG_SECONDARY_NONE,
    "djw": lib.DG_SECONDARY_DJW,
    "lzma": lib.DG_SECONDARY_LZMA,
    "fgk": lib.DG_SECONDARY_FGK,
}
SECONDARY_NAMES: dict[int, str] = {v: k for k, v in SECONDARY_IDS.items()}

# The CLI's default secondary level for each compressor: LZMA preset 0
# (it never sets the level bits), DJW level 6 (XD3_DEFAULT_SECONDARY_LEVEL).
_DEFAULT_SECONDARY_LEVEL = {"none": 0, "lzma": 0, "djw": 6, "fgk": 0}

# large_step of the string matcher each level selects (vendor/xdelta3-cfgs.h).
_LARGE_STEP = {0: 26, 1: 26, 2: 15, 3: 8, 4: 8, 5: 8, 6: 3, 7: 2, 8: 2, 9: 2}


class SoftMatcher(NamedTuple):
    """xdelta3's configurable string matcher (the CLI's ``-C`` option)."""

    large_look: int
    large_step: int
    small_look: int
    small_chain: int
    small_lchain: int
    max_lazy: int
    long_enough: int

    def validate(self) -> None:
        """Raise ValueError unless every field is in a range xdelta3 handles."""
        bounds = {
            "large_look": (4, 64),
            "large_step": (1, 64),
            "small_look": (4, 16),
            "small_chain": (1, 1024),
            "small_lchain": (1, 1024),
            "max_lazy": (1, 1 << 16),
            "long_enough": (1, 1 << 16),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"matcher.{name} must be {low}..{high}, got {value}")
        if self.small_look > self.large_look:
            raise ValueError("matcher.small_look must not exceed matcher.large_look")


SLOW_MATCHER = SoftMatcher(9, 2, 4, 44, 13, 90, 70)
"""The matcher of ``xdelta3 -9`` (what level 7..9 select)."""
DEEP_MATCHER = SoftMatcher(9, 2, 4, 88, 26, 180, 140)
"""The ``-9`` matcher with twice the search depth: smaller deltas of archives
(below those of the xdelta3 3.0.11 CLI) at about the same speed."""


def pow2_ceil(n: int) -> int:
    """Smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(0, (n - 1).bit_length())


def pow2_floor(n: int) -> int:
    """Largest power of two <= n (n must be positive)."""
    return 1 << (n.bit_length() - 1)


def large_step(level: int, matcher: SoftMatcher | None) -> int:
    """The source matcher's step for ``level`` or an explicit ``matcher``."""
    return matcher.large_step if matcher is not None else _LARGE_STEP[level]


def match_table_bytes(window: int, step: int) -> int:
    """Bytes xdelta3 allocates for the source hash table of ``window``."""
    slots = max(pow2_ceil(max(window, MIN_WINDOW)) // step, 8)
    return pow2_floor(slots) * 8


TABLE_HEADROOM = 4
"""Window (and so match table) size as a multiple of the source: a sparser
table loses fewer candidates to collisions.  At 4x, deltas of real archives
are smaller than the xdelta3 CLI's, whose fixed 64 MiB window gives the
same headroom for sources up to 16 MiB."""


def fit_source_window(source_size: int, step: int, budget: int, *, cached: bool) -> int:
    """The source window for ``source_size`` bytes within ``budget``.

    Up to :data:`TABLE_HEADROOM` times the source when the match table fits;
    less, down to part of the source, when it does not.  ``cached`` says the
    source's bytes must also be held (streaming); an in-memory source is
    already resident and only the table counts.
    """
    if source_size <= 0:
        return 0
    whole = pow2_ceil(source_size)
    window = min(whole * TABLE_HEADROOM, MAX_SOURCE_WINDOW)
    while window > MIN_WINDOW:
        cost = match_table_bytes(window, step) + (min(window, whole) if cached else 0)
        if cost <= budget:
            break
        window //= 2
    return window


@dataclass(frozen=True)
class EncodeSettings:
    """Validated encoder settings, ready to become a ``dg_encode_options``."""

    level: int = DEFAULT_LEVEL
    secondary: Secondary = DEFAULT_SECONDARY
    secondary_level: int | None = None
    target_window: int = DEFAULT_TARGET_WINDOW
    checksum: bool = True
    app_header: bytes = b""
    matcher: SoftMatcher | None = None

    def __post_init__(self) -> None:
        if self.matcher is not None:
            self.matcher.validate()
        if not 0 <= self.level <= 9:
            raise ValueError(f"level must be 0..9, got {self.level}")
        if self.secondary not in SECONDARY_IDS:
            raise ValueError(
                f"secondary must be one of {sorted(SECONDARY_IDS)}, got {self.secondary!r}"
            )
        if self.secondary_level is not None and not 0 <= self.secondary_level <= 9:
            raise ValueError(f"secondary_level must be 0..9, got {self.secondary_level}")
        if not MIN_WINDOW <= self.target_window <= MAX_TARGET_WINDOW:
            raise ValueError(
                f"target_window must be {MIN_WINDOW}..{MAX_TARGET_WINDOW} bytes, "
                f"got {self.target_window}"
            )

    @property
    def step(self) -> int:
        """The source matcher's step, which sizes its hash table."""
        return large_step(self.level, self.matcher)

    def to_c(self, source_window: int, target_window: int) -> tuple[Any, Any]:
        """Return the C options struct and the buffer it points into.

        The second value must stay referenced while the struct is in use.
        """
        options = ffi.new("dg_encode_options *")
        options.level = self.level
        options.secondary = SECONDARY_IDS[self.secondary]
        options.secondary_level = (
            _DEFAULT_SECONDARY_LEVEL[self.secondary]
            if self.secondary_level is None
            else self.secondary_level
        )
        options.source_window = source_window
        options.target_window = max(MIN_WINDOW, min(target_window, self.target_window))
        options.checksum = 1 if self.checksum else 0
        if self.matcher is not None:
            options.soft_matcher = 1
            options.soft = list(self.matcher)
        header = ffi.from_buffer("unsigned char[]", self.app_header)
        options.appheader = header
        options.appheader_len = len(self.app_header)
        return options, header
