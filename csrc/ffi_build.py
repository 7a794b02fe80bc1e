"""Generate the cffi C source of ``deltaglider._xdelta3``.

CMake runs ``python csrc/ffi_build.py OUT.c`` at build time, so the generated
file never goes stale.  The declarations come from the block between the
``cdef-begin``/``cdef-end`` markers of each header (``dg_xdelta3.h``,
``dg_deflate.h``, ``dg_parse.h``): one source of truth for the C compiler and for cffi.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cffi

HEADERS = [
    Path(__file__).with_name(name) for name in ("dg_xdelta3.h", "dg_deflate.h", "dg_parse.h")
]
_CDEF = re.compile(r"/\* cdef-begin \*/(.*)/\* cdef-end \*/", re.S)


def cdef_text() -> str:
    """Return the cffi-readable declarations of the C layer."""
    blocks = []
    for header in HEADERS:
        match = _CDEF.search(header.read_text(encoding="utf-8"))
        if match is None:
            raise SystemExit(f"{header}: cdef markers not found")
        blocks.append(match.group(1))
    return "\n".join(blocks)


def make_ffi() -> cffi.FFI:
    """Build the FFI object describing the extension module."""
    ffi = cffi.FFI()
    ffi.cdef(cdef_text())
    includes = "".join(f'#include "{header.name}"\n' for header in HEADERS)
    ffi.set_source("deltaglider._xdelta3", includes)
    return ffi


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: ffi_build.py OUTPUT.c")
    make_ffi().emit_c_code(sys.argv[1])
