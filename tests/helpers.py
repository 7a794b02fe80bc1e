"""Test helpers shared by several test modules."""

from __future__ import annotations

import random


def mutate(data: bytes, seed: int, edits: int = 20) -> bytes:
    """A new version of ``data``: random inserts, deletes, replaces and moves."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        if not out:
            out += rng.randbytes(rng.randrange(1, 64))
            continue
        pos = rng.randrange(len(out))
        kind = rng.randrange(4)
        size = rng.randrange(1, 256)
        if kind == 0:
            out[pos:pos] = rng.randbytes(size)
        elif kind == 1:
            del out[pos : pos + size]
        elif kind == 2:
            out[pos : pos + size] = rng.randbytes(size)
        else:
            chunk = bytes(out[pos : pos + size * 16])
            del out[pos : pos + len(chunk)]
            dest = rng.randrange(len(out) + 1)
            out[dest:dest] = chunk
    return bytes(out)
