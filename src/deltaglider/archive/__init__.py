"""Archive-aware deltas ("contents deltas"): a zip-family archive or a gzip
stream stored as a delta of what it contains, rebuilt byte for byte.

- :func:`kind`: ``"zip"``, ``"gzip"`` or None, from a file's first bytes.
- :func:`encode`: the contents delta of a target against its reference, or
  None where it does not apply; verified before it is returned.
- :func:`decode`: the target back, exactly ``size`` bytes.
- :func:`describe`: what a contents delta holds (members copied,
  re-deflated, carried), without rebuilding it.

The format is documented in docs/storage-format.md ("Contents deltas").
"""

from deltaglider.archive.codec import (
    FORMAT,
    MEMORY_BUDGET,
    Description,
    decode,
    describe,
    encode,
)
from deltaglider.archive.containers import kind
from deltaglider.archive.deflate import IMPLEMENTATION
from deltaglider.archive.errors import (
    ArchiveDeltaError,
    CorruptContentsDeltaError,
    UnsupportedDeflateError,
)

__all__ = [
    "FORMAT",
    "IMPLEMENTATION",
    "MEMORY_BUDGET",
    "ArchiveDeltaError",
    "CorruptContentsDeltaError",
    "Description",
    "UnsupportedDeflateError",
    "decode",
    "describe",
    "encode",
    "kind",
]
