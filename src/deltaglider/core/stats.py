"""Bucket statistics from a listing, with as many deltas' recorded sizes as
the mode asks for.

A delta's own size (the file it rebuilds) is in its metadata, one HEAD per
delta, and in its size marker (see :mod:`deltaglider.core.size_markers`),
listed with the bucket.  Sizes known without a HEAD (markers in every mode;
the size cache too in the sampled and detailed modes, both matched by ETag)
are always used.  For the other deltas the modes trade HEADs for accuracy:

- ``quick``: none; a delta counts as large as the mean of the sizes known
  in its space, or else as its space's reference, which is what a version
  of the same file usually is;
- ``sampled``: one delta per space is read, and the space's other deltas
  count as large as the mean of the sizes known there;
- ``detailed``: every delta is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from deltaglider.core import keys
from deltaglider.core.listing import logical_key
from deltaglider.core.models import BucketStats
from deltaglider.ports.storage import ListedObject

StatsMode = Literal["quick", "sampled", "detailed"]
STATS_MODES: tuple[StatsMode, ...] = ("quick", "sampled", "detailed")


@dataclass
class _Space:
    reference: int | None = None
    deltas: list[ListedObject] = field(default_factory=list)


def bucket_stats(
    objects: Iterable[ListedObject],
    bucket: str,
    mode: StatsMode,
    known_size: Callable[[ListedObject], int | None],
    read_size: Callable[[ListedObject], int | None],
) -> BucketStats:
    """Statistics of ``bucket`` from its listing ``objects``.

    ``known_size`` gives a delta's file size when it is known without a
    request; ``read_size`` reads it from the delta's metadata (None when
    the delta vanished or has none)."""
    if mode not in STATS_MODES:
        raise ValueError(f"unknown stats mode {mode!r} (one of {', '.join(STATS_MODES)})")
    stored = direct_bytes = direct_count = 0
    spaces: dict[str, _Space] = {}
    for obj in objects:
        stored += obj.size
        prefix, name = keys.split_key(obj.key)
        if name == keys.REFERENCE_NAME:
            spaces.setdefault(prefix, _Space()).reference = obj.size
        elif logical_key(obj.key) is None:
            continue
        elif obj.key.endswith(keys.DELTA_SUFFIX):
            spaces.setdefault(prefix, _Space()).deltas.append(obj)
        else:
            direct_bytes += obj.size
            direct_count += 1
    delta_bytes = delta_count = 0
    estimated = 0
    for space in spaces.values():
        sizes, unknown = _space_sizes(space.deltas, mode, known_size, read_size)
        delta_count += len(space.deltas)
        delta_bytes += sum(sizes)
        if unknown:
            guess = round(sum(sizes) / len(sizes)) if sizes else None
            for obj in unknown:
                delta_bytes += guess if guess is not None else (space.reference or obj.size)
            estimated += len(unknown)
    total = direct_bytes + delta_bytes
    saved = total - stored
    return BucketStats(
        bucket=bucket,
        object_count=direct_count + delta_count,
        total_size=total,
        compressed_size=stored,
        space_saved=saved,
        average_compression_ratio=saved / total if total else 0.0,
        delta_objects=delta_count,
        direct_objects=direct_count,
        detailed=estimated == 0,
        mode=mode,
        estimated_objects=estimated,
    )


def _space_sizes(
    deltas: list[ListedObject],
    mode: StatsMode,
    known_size: Callable[[ListedObject], int | None],
    read_size: Callable[[ListedObject], int | None],
) -> tuple[list[int], list[ListedObject]]:
    """The sizes found for a space's deltas, and the deltas left unknown:
    known sizes in every mode; then ``sampled`` reads one, ``detailed`` all."""
    sizes: list[int] = []
    unknown: list[ListedObject] = []
    for obj in deltas:
        size = known_size(obj)
        if size is None and (mode == "detailed" or (mode == "sampled" and not sizes)):
            size = read_size(obj)
        if size is None:
            unknown.append(obj)
        else:
            sizes.append(size)
    return sizes, unknown
