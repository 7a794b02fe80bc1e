"""Fuzz target for the deflate parse codec (``csrc/dg_parse.c``): reading a
stream's parse against its content, and writing a stream from content and
a parse.

    python tests/fuzz/fuzz_parse.py -max_total_time=60 [CORPUS_DIR ...]

An input is a content length (two bytes) and the rest split in two: what
the reader takes as a deflate stream (against zlib's content of that
length, so valid streams with damage are read) and what the writer takes
as a parse.  Without a corpus directory, real streams and parses at every
level and strategy seed it.  Any exception other than the library's own
errors, or a read parse that does not write its stream back, is a bug.
"""

from __future__ import annotations

import contextlib
import os
import random
import zlib

import atheris
from runner import run

with atheris.instrument_imports():
    from deltaglider.archive import CorruptContentsDeltaError, parse

CONTENT = (b"the quick brown fox " * 400 + random.Random(0).randbytes(4000)) * 2


def stream_of(content: bytes, level: int, strategy: int) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    return packer.compress(content) + packer.flush()


def seed_corpus(folder: str) -> None:
    for level in (0, 1, 6, 9):
        for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FIXED, zlib.Z_RLE):
            for size in (0, 100, len(CONTENT)):
                stream = stream_of(CONTENT[:size], level, strategy)
                made = parse.parse_of(stream, CONTENT[:size]) or b""
                data = size.to_bytes(2, "little") + len(stream).to_bytes(4, "little") + stream
                with open(os.path.join(folder, f"{level}-{strategy}-{size}"), "wb") as out:
                    out.write(data + made)


def test_one_input(data: bytes) -> None:
    if len(data) < 6:
        return
    size = int.from_bytes(data[:2], "little") % (len(CONTENT) + 1)
    split = 6 + int.from_bytes(data[2:6], "little") % (len(data) - 5)
    stream, made = data[6:split], data[split:]
    content = CONTENT[:size]
    read = parse.parse_of(stream, content)
    if read is not None:
        assert parse.written(content, read, len(stream)) == stream
    for out in (len(stream), size + 64):
        with contextlib.suppress(CorruptContentsDeltaError):
            parse.written(content, made, out)


if __name__ == "__main__":
    run(seed_corpus, test_one_input)
