"""Fuzz target for xdelta.decode, decode_into, decode_file and inspect.

    python tests/fuzz/fuzz_decode.py -max_total_time=60 [CORPUS_DIR ...]

Without a corpus directory, a seed corpus of valid deltas (every secondary
compressor, one and several windows, with and without checksums) is written
to a temporary directory first, so mutations start from deep, valid input.
Any exception other than the codec's own errors is a bug and stops the run.
"""

from __future__ import annotations

import io
import os
import random

import atheris
from runner import run

with atheris.instrument_imports():
    from deltaglider import xdelta

SOURCE = random.Random(0).randbytes(64 * 1024)
LIMIT = 256 * 1024


def seed_corpus(folder: str) -> None:
    rng = random.Random(1)
    target = bytearray(SOURCE)
    for _ in range(40):
        pos = rng.randrange(len(target))
        target[pos : pos + rng.randrange(1, 64)] = rng.randbytes(rng.randrange(1, 64))
    cases = {
        f"{secondary}-{window}-{checksum}": xdelta.encode(
            SOURCE, bytes(target), secondary=secondary, target_window=window, checksum=checksum
        )
        for secondary in ("lzma", "djw", "fgk", "none")
        for window in (16 * 1024, 1 << 20)
        for checksum in (True, False)
    }
    cases["empty"] = xdelta.encode(b"", b"")
    cases["no-source"] = xdelta.encode(b"", bytes(target[:5000]))
    for name, data in cases.items():
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)


def test_one_input(data: bytes) -> None:
    try:
        header = xdelta.inspect(data)
    except xdelta.XDeltaError:
        header = None
    out = bytearray(LIMIT)
    try:
        written = xdelta.decode_into(SOURCE, data, out)
    except xdelta.XDeltaError:
        written = None
    if written is not None and header is not None:
        assert written == header.target_size
    if header is not None and header.target_size <= LIMIT:
        try:
            sink = io.BytesIO()
            streamed = xdelta.decode_file(io.BytesIO(SOURCE), io.BytesIO(data), sink, size=LIMIT)
        except xdelta.XDeltaError:
            streamed = None
        if streamed is not None and written is not None:
            assert sink.getvalue() == out[:written]


if __name__ == "__main__":
    run(seed_corpus, test_one_input)
