"""Taking a new archive apart against its reference: the recipe that puts
it back together, the data stream the recipe reads, and the source that
data is delta-encoded against.

- A member whose compressed bytes are unchanged is copied from the
  reference: it costs a comparison.
- A changed member is inflated and its deflate parameters found; its
  content is then compared with the reference's counterpart (same name, or
  same name but for version numbers), uncompressed, which goes into the
  delta's source: unchanged leading and trailing runs are read from the
  source, the rest goes into the data stream, which xdelta3 encodes
  against the whole source.
- A gzip stream (the file itself, or a member of a zip: one level) is
  expanded the same way when that pays.
- Anything that does not re-deflate exactly is carried as it is.

:class:`Planner` is the entry point; gzip streams and tarballs are planned
in :mod:`~deltaglider.archive.streams`, zip members in
:mod:`~deltaglider.archive.zips`, on what :mod:`~deltaglider.archive.plan`
holds.
"""

from __future__ import annotations

from collections.abc import Callable

from deltaglider.archive import containers
from deltaglider.archive.pieces import ExpansionBudget, SourcePieces
from deltaglider.archive.plan import Output, Pair, Plan, Reached, Searches, joined
from deltaglider.archive.streams import GzipStreams
from deltaglider.archive.zips import ZipMembers


class Planner:
    """Plans one target against one reference (both in memory)."""

    def __init__(
        self,
        reference: bytes | memoryview,
        target: bytes | memoryview,
        *,
        nested: bool,
        progress: Callable[[int], object] | None = None,
    ):
        self.ref = memoryview(reference)
        self.target = memoryview(target)
        self.ref_index = containers.ZipIndex(self.ref)
        self.target_index = containers.ZipIndex(self.target)
        self.nested = nested
        self.progress = progress

    def plan(self, kind: str) -> Plan:
        """The plan of a ``"zip"`` or ``"gzip"`` target; ``progress`` is told
        the target's bytes as they are planned."""
        budget = ExpansionBudget(containers.expansion_limit(len(self.target)))
        out = Output(SourcePieces(self.ref, self.ref_index, budget), Reached(self.progress))
        streams = GzipStreams(out, budget, Searches())
        if kind == "zip":
            pair = Pair(self.ref, self.target, self.ref_index, self.target_index)
            ops = ZipMembers(pair, out, budget, streams, nested=self.nested).ops()
        else:
            ops = streams.file(self.ref, self.target)
        pieces = out.pieces
        return Plan(
            joined(ops), out.data, pieces.flagged(), pieces.parts, pieces.wholes(),
            out.deflated, out.carried,
        )  # fmt: skip
