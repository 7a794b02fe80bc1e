"""Unchanged leading and trailing runs of a changed stream against its
counterpart, found by comparing slices whole (no loop per byte)."""

from __future__ import annotations

_MIN_RUN = 32  # shorter unchanged runs are left to xdelta3
_CHUNK = 1 << 16


def _first_difference(a: memoryview, b: memoryview, lo: int, hi: int) -> int:
    """The first index where ``a`` and ``b`` differ, known to lie in
    [lo, hi): halving the range by comparing slices whole."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def common_prefix(a: memoryview, b: memoryview) -> int:
    """Length of the longest common prefix."""
    limit = min(len(a), len(b))
    pos = 0
    while pos < limit:
        end = min(pos + _CHUNK, limit)
        if a[pos:end] != b[pos:end]:
            return _first_difference(a, b, pos, end)
        pos = end
    return limit


def common_suffix(a: memoryview, b: memoryview, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit``."""
    return common_prefix(a[len(a) - limit :][::-1], b[len(b) - limit :][::-1])


def unchanged_runs(content: memoryview, piece: memoryview) -> tuple[int, int] | None:
    """The unchanged leading and trailing runs of ``content`` against
    ``piece``, when they cover most of it."""
    prefix = common_prefix(content, piece)
    suffix = common_suffix(content, piece, min(len(content), len(piece)) - prefix)
    if prefix + suffix < max(_MIN_RUN, len(content) // 2):
        return None
    return prefix, suffix
