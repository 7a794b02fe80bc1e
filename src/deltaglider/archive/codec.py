"""Encoding and decoding contents deltas: recipe, then the xdelta3 delta
of the data stream against the source built from the reference."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from deltaglider import xdelta
from deltaglider.archive import containers, parse, restarts, splice
from deltaglider.archive.containers import Buffer, ZipIndex
from deltaglider.archive.deflate import FAMILY_NAMES, IMPLEMENTATION
from deltaglider.archive.errors import CorruptContentsDeltaError, UnsupportedDeflateError
from deltaglider.archive.plan import deflate_key
from deltaglider.archive.planner import Planner
from deltaglider.archive.rebuild import (
    Known,
    PieceTooLargeError,
    assemble,
    build_source,
    joined,
)
from deltaglider.archive.recipe import (
    MATCHED,
    Copy,
    Deflate,
    Directory,
    Lit,
    Members,
    Parsed,
    Recipe,
    Source,
    Splice,
    dump,
    split,
    walk,
)

FORMAT = "contents-1"
"""The delta format's name, as recorded in an object's metadata."""

_log = logging.getLogger(__name__)
MEMORY_BUDGET = 128 << 20
"""The xdelta3 match table's budget: the source is only the reference's
counterparts of what changed, so a small table finds as much (the same
deltas as with 1 GiB on the benchmark series, at 0.6 of the peak memory)."""
_LEVEL = 6
"""xdelta3 level for the data stream: on the benchmark series, -6 makes
deltas within 1.5 % of -9's in about half the time (docs/benchmarks.md)."""


def encode(
    reference: bytes | memoryview,
    target: bytes | memoryview,
    *,
    kinds: frozenset[str] = frozenset({"zip", "gzip"}),
    max_size: int | None = None,
    memory_budget: int = MEMORY_BUDGET,
    progress: Callable[[int], object] | None = None,
) -> bytes | None:
    """The contents delta of ``target`` against ``reference``; None when
    the target is not an archive of one of ``kinds``, nothing in it is
    copied or re-deflated, or the delta does not rebuild the target exactly.
    ``progress`` is told the target's bytes as they are planned (the
    slow part: inflating, finding parameters, checking restarts).

    Raises:
        xdelta.DeltaTooLargeError: the delta would exceed ``max_size``.
    """
    kind = containers.kind(target)
    if kind not in kinds:
        return None
    planner = Planner(reference, target, nested="gzip" in kinds, progress=progress)
    try:
        plan = planner.plan(kind)
    except PieceTooLargeError:
        _log.info("the reference expands beyond the limits; no contents delta")
        return None
    if not plan.useful:
        return None
    data = b"".join(plan.data)
    plan.data.clear()  # views of the target's inflated members: let them go
    recipe = Recipe(len(target), len(data), tuple(plan.sources), tuple(plan.ops))
    head = dump(recipe)
    budget = None if max_size is None else max_size - len(head)
    if budget is not None and budget <= 0:
        raise xdelta.DeltaTooLargeError(f"the recipe alone is {len(head)} bytes")
    pieces = zip(plan.source_parts, plan.sources, strict=True)
    matched = joined([piece for piece, source in pieces if source.flags & MATCHED])
    # LZMA on top of the delta pays on contents (20 % on wheels) and costs
    # more than it saves on compressed bytes carried as they are.
    secondary: xdelta.Secondary = "djw" if 3 * plan.carried > len(data) else "lzma"
    payload = head + xdelta.encode(
        matched, data, level=_LEVEL, secondary=secondary, max_size=budget,
        memory_budget=memory_budget,
    )  # fmt: skip
    del data, matched  # the check below builds its own, as a reader does

    def verified(op: Deflate, content: list[Buffer]) -> Buffer | None:
        known = plan.deflated.get(deflate_key(op.params, content, op.restarts))
        if known is not None and len(known) == op.size:
            return known  # deflate already gave exactly these bytes
        return None

    try:
        # As a reader rebuilds it, from the recipe as stored; only the whole
        # pieces (inflated reference members) are the planner's, not built again.
        rebuilt = _decode(planner.ref_index, payload, len(target), verified, plan.wholes)
    except CorruptContentsDeltaError as exc:
        _log.warning("contents delta did not rebuild the file (%s); not using it", exc)
        return None
    if memoryview(rebuilt) != memoryview(target):
        _log.warning("contents delta rebuilt other bytes; not using it")
        return None
    return payload


def decode(
    reference: bytes | memoryview,
    payload: bytes | memoryview,
    *,
    size: int,
    implementation: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> bytearray:
    """The file a contents delta rebuilds: exactly ``size`` bytes.
    ``implementation``: what the object records it was made with
    (:func:`deflate_names`); a recipe that uses anything else is damaged.
    ``progress`` is told the bytes rebuilt as they are (a megabyte or a
    restarted stream's chunk at a time).

    Raises:
        UnsupportedDeflateError: made with another deflate implementation.
        CorruptContentsDeltaError: the delta is damaged.
    """
    recorded = None if implementation is None else implementation.split(",")
    known = [*FAMILY_NAMES.values(), splice.NAME, restarts.NAME, parse.NAME]
    unknown = [name for name in recorded or [] if name not in known]
    if unknown:
        raise UnsupportedDeflateError(
            f"the delta was made with {', '.join(unknown)} deflate; this build has "
            f"{', '.join(known)}"
        )
    return _decode(ZipIndex(reference), payload, size, None, None, recorded, progress)


def deflate_names(payload: bytes | memoryview) -> str:
    """What re-creates a contents delta's compressed streams, as recorded
    on it: the names of the deflate families its recipe uses, and of the
    splice, restarts and parse where it uses them, joined by commas."""
    recipe, _, _ = split(payload)
    return ",".join(_families(recipe)) or IMPLEMENTATION


def _families(recipe: Recipe) -> list[str]:
    ops = [op for _, op in walk(recipe.ops)]
    used = {op.params.family for op in ops if isinstance(op, Deflate)}
    names = [name for family, name in FAMILY_NAMES.items() if family in used]
    names += [splice.NAME] * any(isinstance(op, Splice) for op in ops)
    names += [restarts.NAME] * any(isinstance(op, Deflate) and op.restarts for op in ops)
    return names + [parse.NAME] * any(isinstance(op, Parsed) for op in ops)


def _decode(
    index: ZipIndex,
    payload: bytes | memoryview,
    size: int,
    known: Known | None,
    built: dict[Source, bytes | memoryview] | None,
    recorded: list[str] | None = None,
    progress: Callable[[int], object] | None = None,
) -> bytearray:
    recipe, vcdiff, _ = split(payload)
    used = _families(recipe)
    if recorded is not None and not set(used) <= set(recorded):
        raise CorruptContentsDeltaError(
            f"the recipe uses {', '.join(used)}; the object records {', '.join(recorded)}"
        )
    if recipe.output_size != size:
        raise CorruptContentsDeltaError(
            f"the recipe rebuilds {recipe.output_size} bytes, the object records {size}"
        )
    if recipe.data_size > size + containers.expansion_limit(size):
        raise CorruptContentsDeltaError("the delta's data stream is larger than its limits")
    try:  # what its windows say they produce, before anything is allocated
        produces = xdelta.inspect(vcdiff).target_size
    except xdelta.XDeltaError as exc:
        raise CorruptContentsDeltaError(f"the data stream's delta is damaged ({exc})") from exc
    if produces != recipe.data_size:
        raise CorruptContentsDeltaError(
            f"the data stream's delta produces {produces} bytes, the recipe says {recipe.data_size}"
        )
    source, matched = build_source(index.data, recipe.sources, index, built)
    data = bytearray(recipe.data_size)
    try:
        written = xdelta.decode_into(matched, vcdiff, data)
    except xdelta.XDeltaError as exc:
        raise CorruptContentsDeltaError(f"the data stream does not decode ({exc})") from exc
    if written != recipe.data_size:
        raise CorruptContentsDeltaError(
            f"the data stream decoded to {written} bytes, not {recipe.data_size}"
        )
    return assemble(recipe.ops, index, source, data, size, known, progress)


@dataclass(frozen=True)
class Description:
    """What a contents delta holds."""

    size: int
    recipe_size: int
    data_delta_size: int
    data_size: int
    source_size: int
    copied: int
    copied_bytes: int
    redeflated: int
    redeflated_bytes: int
    """Compressed bytes re-created by deflate."""
    spliced: int
    """Streams rebuilt from the reference's bits around a run of their own."""
    spliced_bytes: int
    parsed: int
    """Streams written from their parse (no deflate family re-creates them)."""
    parsed_bytes: int
    carried_bytes: int
    """Bytes of the file taken from the data stream as they are (headers,
    directories, members carried compressed)."""
    relinked: int
    """Unchanged members whose local header changed (data copied by name)."""
    directory_entries: int
    """Directory entries stored with offsets relative to the reference's."""
    params: dict[str, int]


def describe(payload: bytes | memoryview) -> Description:
    """A contents delta's recipe, summarised."""
    recipe, vcdiff, recipe_size = split(payload)
    copied = redeflated = copied_bytes = redeflated_bytes = carried = relinked = entries = 0
    spliced = spliced_bytes = parsed = parsed_bytes = 0
    params: dict[str, int] = {}
    for depth, op in walk(recipe.ops):
        if isinstance(op, Copy):
            copied, copied_bytes = copied + 1, copied_bytes + op.size
        elif isinstance(op, Deflate):
            redeflated += 1
            if depth == 0:
                redeflated_bytes += op.size
            p = op.params
            name = (
                f"{p.name} level {p.level}, window {p.window_bits}, memLevel {p.mem_level}, "
                f"strategy {p.strategy}" + (f", {p.block >> 10} KiB chunks" if p.block else "")
            )
            params[name] = params.get(name, 0) + 1
        elif isinstance(op, Splice):
            spliced, spliced_bytes = spliced + 1, spliced_bytes + op.size
        elif isinstance(op, Parsed):
            parsed, parsed_bytes = parsed + 1, parsed_bytes + (op.size if depth == 0 else 0)
        elif isinstance(op, Lit) and depth == 0:
            carried += op.size
        elif isinstance(op, Members):
            relinked += op.count
        elif isinstance(op, Directory):
            entries += op.count
    return Description(
        size=recipe.output_size,
        recipe_size=recipe_size,
        data_delta_size=len(vcdiff),
        data_size=recipe.data_size,
        source_size=sum(s.size for s in recipe.sources),
        copied=copied,
        copied_bytes=copied_bytes,
        redeflated=redeflated,
        redeflated_bytes=redeflated_bytes,
        spliced=spliced,
        spliced_bytes=spliced_bytes,
        parsed=parsed,
        parsed_bytes=parsed_bytes,
        carried_bytes=carried,
        relinked=relinked,
        directory_entries=entries,
        params=params,
    )
