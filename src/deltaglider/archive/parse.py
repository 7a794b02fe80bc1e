"""A deflate stream as its content plus its parse (``csrc/dg_parse.h``):
for streams none of the deflate families re-creates (libdeflate's,
7-Zip's, Go's, zlib-ng's, ISA-L's...).  The parse records the encoder's
choices (blocks, Huffman headers, literals, matches, each match's source as
a count of earlier places alike rather than a distance), so a changed
stream's parse deltas against its counterpart's, and writing the stream
back searches for nothing.  The calls release the GIL."""

from __future__ import annotations

from deltaglider._xdelta3 import ffi, lib
from deltaglider.archive.containers import Buffer
from deltaglider.archive.errors import CorruptContentsDeltaError

NAME = "deflate-parse-1"
"""How a delta that writes streams from their parse records it, beside its
deflate families (a reader without it refuses the object)."""


def parse_of(stream: Buffer, content: Buffer) -> bytes | None:
    """The parse of the raw deflate ``stream`` whose content is
    ``content``; None where the stream is damaged, is not exactly that
    content, or its parse would be larger than the content and the stream
    together (nothing a delta gains from)."""
    out = ffi.new("uint8_t **")
    size = ffi.new("size_t *")
    cap = len(stream) + len(content) + 64
    with ffi.from_buffer(stream) as c_stream, ffi.from_buffer(content) as c_content:
        rc = lib.dg_parse_read(c_stream, len(stream), c_content, len(content), cap, out, size)
    if rc == lib.DG_PARSE_ERR_NOMEM:
        raise MemoryError("deflate parse: out of memory")
    if rc != lib.DG_PARSE_OK:
        return None
    try:
        return bytes(ffi.buffer(out[0], size[0]))
    finally:
        lib.dg_parse_free(out[0])


def written(content: Buffer, parse: Buffer, size: int) -> bytearray:
    """The deflate stream ``parse`` makes of ``content``: exactly ``size``
    bytes, or CorruptContentsDeltaError."""
    out = bytearray(size)
    with (
        ffi.from_buffer(content) as c_content,
        ffi.from_buffer(parse) as c_parse,
        ffi.from_buffer(out) as c_out,
    ):
        rc = lib.dg_parse_write(c_content, len(content), c_parse, len(parse), c_out, size)
    if rc == lib.DG_PARSE_ERR_NOMEM:
        raise MemoryError("deflate parse: out of memory")
    if rc != lib.DG_PARSE_OK:
        problem = "is damaged" if rc == lib.DG_PARSE_INVALID else f"does not make {size} bytes"
        raise CorruptContentsDeltaError(f"a stream's parse {problem}")
    return out


def bound(content: int, parse: int) -> int:
    """The most bytes a parse of ``parse`` bytes can make of ``content``
    bytes: a literal's code is at most 15 bits, a match's 48 bits for at
    least 3 bytes of content and 2 of parse, a header's bits are the
    parse's own."""
    return 2 * content + 2 * parse + 64
