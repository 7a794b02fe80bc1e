"""Encoder settings and the memory policy that plans the source window.

xdelta3's source matcher keeps a hash table of ``window / step`` 8-byte
entries (rounded down to a power of two), where ``step`` is the distance
between the source positions it indexes: 2 bytes at ``-9``, so 4 table
bytes per window byte.  The stock CLI fixes the window at 64 MiB and so
misses matches further apart in large files; here the window covers the
whole source and the step grows instead, so the table fits the budget
(:func:`plan_source`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
DEFAULT_MEMORY_BUDGET = 512 * MiB
"""Memory the encoder may spend on its source window and match tables (a
process's encodes together, in deltaglider's codec)."""
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


_FASTEST = SoftMatcher(9, 26, 4, 1, 1, 6, 6)
_FASTER = SoftMatcher(9, 15, 4, 1, 1, 18, 18)
_FAST = SoftMatcher(9, 8, 4, 4, 1, 18, 35)
_DEFAULT = SoftMatcher(9, 3, 4, 8, 2, 36, 70)
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


LEVEL_MATCHERS: dict[int, SoftMatcher] = {
    0: _FASTEST, 1: _FASTEST, 2: _FASTER, 3: _FAST, 4: _FAST, 5: _FAST, 6: _DEFAULT,
    7: SLOW_MATCHER, 8: SLOW_MATCHER, 9: SLOW_MATCHER,
}  # fmt: skip
"""The string matcher each level selects (vendor/xdelta3/xdelta3-cfgs.h)."""


def match_table_bytes(window: int, step: int) -> int:
    """Bytes xdelta3 allocates for the source hash table of ``window``."""
    slots = max(pow2_ceil(max(window, MIN_WINDOW)) // step, 8)
    return pow2_floor(slots) * 8


TABLE_FLOOR = 64 * MiB
"""A match table this large is always allowed (budget permitting): small
sources keep their level's densest grid of checkpoints."""
MAX_STEP = 64
"""The sparsest grid of source checkpoints the planner picks: a match is
still found whenever it is at least ``MAX_STEP + 9`` bytes long."""


class SourcePlan(NamedTuple):
    """How the encoder sees the source: the window it indexes, the distance
    between indexed source positions, and the memory both take."""

    window: int
    step: int
    table: int
    """Bytes of the match table."""
    cached: int
    """Bytes of source blocks held for the window (streaming only)."""

    @property
    def cost(self) -> int:
        """What the plan holds beyond the inputs the caller already has."""
        return self.table + self.cached


def fit_step(window: int, step: int, allowance: int) -> int:
    """The densest grid, from ``step`` up to :data:`MAX_STEP`, whose match
    table for ``window`` fits ``allowance`` (the sparsest if none does)."""
    while step < MAX_STEP and match_table_bytes(window, step) > allowance:
        step += 1
    return step


STREAM_WINDOW = 64 * MiB
"""The smallest source window of a streamed encode, the xdelta3 command
line's ``-B`` default.  xdelta3 indexes the source progressively, about half
a window ahead of the target, so candidates stay near the target's position
(on the benchmark series this finds smaller deltas than indexing a whole
multi-block source at once), but a match further than half a window from
where the target is aligned is lost."""
STREAM_DRIFT = 8
"""A streamed window is at least 1/STREAM_DRIFT of the source (rounded up
to a power of two), budget permitting: content that moved by up to 1/16 of
the file (a release 6 % larger than the last, with the growth anywhere)
is still found.  The fixed 64 MiB of the command line loses everything
past the point where a 1 GiB file had grown by 32 MiB."""


def plan_source(source_size: int, step: int, budget: int, *, streaming: bool) -> SourcePlan:
    """The source window and grid for ``source_size`` bytes within ``budget``.

    In memory the window covers the whole source (xdelta3 indexes an
    in-memory source whole; a window that missed part of it would lose
    those matches), and when the table would not fit, fewer source
    positions are indexed instead: the table is kept no larger than the
    source itself, or :data:`TABLE_FLOOR`.  On the benchmark series a
    larger table makes deltas at most about 1 % smaller, for up to 16 times
    the memory (docs/benchmarks.md).  ``streaming`` holds the window's
    source blocks too: the window is :data:`STREAM_WINDOW`, or
    1/:data:`STREAM_DRIFT` of a larger source, less if the budget says so,
    with a table of up to twice its size.
    """
    whole = min(pow2_ceil(max(source_size, MIN_WINDOW)), MAX_SOURCE_WINDOW)
    if not streaming:
        allowance = min(max(TABLE_FLOOR, source_size), budget)
        grid = fit_step(whole, step, allowance)
        return SourcePlan(whole, grid, match_table_bytes(whole, grid), 0)
    window = min(whole, max(STREAM_WINDOW, pow2_ceil(source_size // STREAM_DRIFT)))
    while True:
        cached = min(window, source_size)
        allowance = min(max(TABLE_FLOOR, 2 * window), max(budget - cached, 0))
        grid = fit_step(window, step, allowance)
        plan = SourcePlan(window, grid, match_table_bytes(window, grid), cached)
        if plan.cost <= budget or window <= MIN_WINDOW:
            return plan
        window //= 2


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
        return (self.matcher or LEVEL_MATCHERS[self.level]).large_step

    def with_step(self, step: int) -> EncodeSettings:
        """These settings with the source matcher's step set to ``step``."""
        if step == self.step:
            return self
        matcher = (self.matcher or LEVEL_MATCHERS[self.level])._replace(large_step=step)
        return replace(self, matcher=matcher)

    def planned(
        self, source_size: int, window: int | None, budget: int, *, streaming: bool
    ) -> tuple[int, EncodeSettings]:
        """The source window, and these settings with the step that fits
        ``budget`` (:func:`plan_source`); an explicit ``window`` is kept."""
        if window is not None:
            if window <= 0:
                raise ValueError(f"source_window must be > 0, got {window}")
            return window, self
        if budget <= 0:
            raise ValueError(f"memory_budget must be > 0, got {budget}")
        plan = plan_source(source_size, self.step, budget, streaming=streaming)
        return plan.window, self.with_step(plan.step)

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
