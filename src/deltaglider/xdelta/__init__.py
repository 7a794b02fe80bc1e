"""xdelta3 (VCDIFF) encoding and decoding, in-process.

The vendored xdelta3 3.1.1 library and liblzma are compiled into the
extension ``deltaglider._xdelta3``: no binary, no child process, no temporary
files.  Deltas are byte-compatible with the ``xdelta3`` command line tool in
both directions (LZMA, DJW, FGK or no secondary compression).

- :func:`encode` / :func:`decode` / :func:`decode_into`: buffers in memory.
- :func:`encode_file` / :func:`decode_file`: files of any size, streamed
  with bounded memory.
- :func:`inspect`: a delta's headers, without decoding it;
  :func:`read_app_header`: the app header from a delta's first bytes.

Every call releases the GIL while the codec runs; any number of threads may
call at once.
"""

from deltaglider.xdelta.errors import (
    CorruptDeltaError,
    DeltaTooLargeError,
    OutputLimitError,
    TruncatedDeltaError,
    UnsupportedDeltaError,
    WrongSourceError,
    XDeltaError,
)
from deltaglider.xdelta.header import DeltaHeader, WindowInfo, inspect, read_app_header
from deltaglider.xdelta.memory import BytesLike, decode, decode_into, encode
from deltaglider.xdelta.options import (
    DEEP_MATCHER,
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_TARGET_WINDOW,
    MAX_TARGET_WINDOW,
    SLOW_MATCHER,
    Secondary,
    SoftMatcher,
)
from deltaglider.xdelta.streaming import PathOrFile, decode_file, encode_file

__all__ = [
    "DEEP_MATCHER",
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_TARGET_WINDOW",
    "MAX_TARGET_WINDOW",
    "SLOW_MATCHER",
    "BytesLike",
    "CorruptDeltaError",
    "DeltaHeader",
    "DeltaTooLargeError",
    "OutputLimitError",
    "PathOrFile",
    "Secondary",
    "SoftMatcher",
    "TruncatedDeltaError",
    "UnsupportedDeltaError",
    "WindowInfo",
    "WrongSourceError",
    "XDeltaError",
    "decode",
    "decode_file",
    "decode_into",
    "encode",
    "encode_file",
    "inspect",
    "read_app_header",
]
