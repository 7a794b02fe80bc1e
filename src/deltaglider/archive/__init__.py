"""Archive-aware deltas ("contents deltas"): a zip-family archive or a gzip
stream stored as a delta of what it contains, rebuilt byte for byte.

- :func:`kind`: ``"zip"``, ``"gzip"`` or None, from a file's first bytes.
- :func:`encode`: the contents delta of a target against its reference, or
  None where it does not apply; verified before it is returned.
- :func:`decode`: the target back, exactly ``size`` bytes.
- :func:`deflate_names`: what re-deflates a delta's streams (recorded on
  the object; :func:`decode` refuses names this build does not have).
- :func:`describe`: what a contents delta holds (members copied,
  re-deflated, carried), without rebuilding it.

The format is documented in docs/storage-format.md ("Contents deltas").
"""

from deltaglider.archive.codec import (
    FORMAT,
    MEMORY_BUDGET,
    Description,
    decode,
    deflate_names,
    describe,
    encode,
)
from deltaglider.archive.containers import kind
from deltaglider.archive.deflate import FAMILY_NAMES, IMPLEMENTATION
from deltaglider.archive.errors import (
    ArchiveDeltaError,
    CorruptContentsDeltaError,
    UnsupportedDeflateError,
)

__all__ = [
    "FAMILY_NAMES",
    "FORMAT",
    "IMPLEMENTATION",
    "MEMORY_BUDGET",
    "ArchiveDeltaError",
    "CorruptContentsDeltaError",
    "Description",
    "UnsupportedDeflateError",
    "decode",
    "deflate_names",
    "describe",
    "encode",
    "kind",
]
