"""Long deflate streams rebuilt in chunks (archive/restarts.py): exact for
zlib's levels 4-9, stored blocks at any bit included; recorded by name;
damaged restarts refused."""

from __future__ import annotations

import contextlib
import gzip
import random
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from archives import long_content

from deltaglider import archive, xdelta
from deltaglider.archive import recipe, restarts
from deltaglider.archive.deflate import GNU, Params


def _raw(content: bytes, level: int) -> bytes:
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflater.compress(content) + deflater.flush()


@pytest.mark.parametrize("level", [4, 6, 9])
def test_a_long_stream_is_rebuilt_in_chunks_exactly(level: int) -> None:
    content = long_content()
    compressed = _raw(content, level)
    params = Params(level)
    assert restarts.restartable(params, len(content))
    found = restarts.find(params, memoryview(content), memoryview(compressed))
    assert found is not None
    assert len(found) >= 8
    assert any(r.bit % 8 for r in found)  # chunks that start inside a byte
    told: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        rebuilt = restarts.deflated(
            params, memoryview(content), len(compressed), found, pool, told.append
        )
    assert rebuilt == compressed
    assert sum(told) == len(compressed)  # chunk by chunk, all of it
    assert len(told) == len(found) + 1
    alone = restarts.deflated(params, memoryview(content), len(compressed), found)
    assert alone == compressed


def test_what_a_primed_stream_cannot_rebuild_is_not_restarted() -> None:
    big = 2 * restarts.MIN_CONTENT
    assert not restarts.restartable(Params(3), big)  # fewer strings inserted
    assert not restarts.restartable(Params(6, family=GNU), big)  # gzip's end of input
    assert not restarts.restartable(Params(9), restarts.MIN_CONTENT - 1)
    # Parameters that did not make the stream: its first chunk differs.
    content = long_content()
    assert restarts.find(Params(6), memoryview(content), memoryview(_raw(content, 9))) is None


def _gzips() -> tuple[bytes, bytes]:
    content = long_content()
    at = len(content) // 2
    changed = content[:at] + b"a new line\n" + content[at + 5 :]
    return gzip.compress(content, 9, mtime=1), gzip.compress(changed, 9, mtime=1)


def test_a_gzip_file_is_stored_with_restarts_and_read_back() -> None:
    v1, v2 = _gzips()
    payload = archive.encode(v1, v2)
    assert payload is not None
    assert archive.deflate_names(payload) == f"{archive.IMPLEMENTATION},{restarts.NAME}"
    assert (
        archive.decode(v1, payload, size=len(v2), implementation=archive.deflate_names(payload))
        == v2
    )
    assert len(payload) < 2000
    # A reader from before restarts refuses it by name; an object that does
    # not record them is damaged.
    with pytest.raises(archive.UnsupportedDeflateError, match="restarts-2"):
        archive.decode(v1, payload, size=len(v2), implementation="zlib-1.3.1,restarts-2")
    with pytest.raises(archive.CorruptContentsDeltaError, match="restarts-1"):
        archive.decode(v1, payload, size=len(v2), implementation=archive.IMPLEMENTATION)


def test_damaged_restarts_are_refused_or_give_other_bytes() -> None:
    v1, v2 = _gzips()
    payload = archive.encode(v1, v2)
    assert payload is not None
    parsed, vcdiff, _ = recipe.split(payload)
    index, op = next((i, o) for i, o in enumerate(parsed.ops) if isinstance(o, recipe.Deflate))
    assert len(op.restarts) >= 4
    content_size = len(gzip.decompress(v2))

    def with_restarts(found: tuple[restarts.Restart, ...]) -> bytes:
        ops = list(parsed.ops)
        ops[index] = recipe.Deflate(op.params, op.size, op.parts, found)
        made = recipe.Recipe(parsed.output_size, parsed.data_size, parsed.sources, tuple(ops))
        return recipe.dump(made) + bytes(vcdiff)

    first = op.restarts[0]
    close = restarts.Restart(first.offset + 1024, first.bit + 100)
    refused = [
        (first, first, *op.restarts[1:]),  # two at one place (each is stored from the last)
        (first, close, *op.restarts[1:]),  # a chunk of 1 KiB: deflating 36 KiB for it
        (
            *op.restarts[:-1],
            restarts.Restart(content_size, op.restarts[-1].bit),
        ),  # past the content
        (
            *op.restarts[:-1],
            restarts.Restart(op.restarts[-1].offset, 8 * op.size),
        ),  # past the stream
    ]
    for found in refused:
        with pytest.raises(archive.CorruptContentsDeltaError):
            archive.decode(v1, with_restarts(found), size=len(v2))
    # Restarts of a family the writer never restarts (gzip's would wait for
    # input forever): refused before anything is deflated.
    gnu = recipe.Deflate(Params(9, family=GNU), op.size, op.parts, op.restarts)
    ops = (*parsed.ops[:index], gnu, *parsed.ops[index + 1 :])
    made = recipe.Recipe(parsed.output_size, parsed.data_size, parsed.sources, ops)
    with pytest.raises(archive.CorruptContentsDeltaError, match="never restarted"):
        archive.decode(v1, recipe.dump(made) + bytes(vcdiff), size=len(v2))
    rnd = random.Random(4)
    for _ in range(30):  # moved a little: refused, or other bytes (the SHA-256 check's)
        k = rnd.randrange(len(op.restarts))
        moved = op.restarts[k]
        moved = restarts.Restart(
            moved.offset + rnd.choice((-1, 1)), moved.bit + rnd.randrange(-9, 10)
        )
        found = (*op.restarts[:k], moved, *op.restarts[k + 1 :])
        with contextlib.suppress(archive.ArchiveDeltaError, xdelta.XDeltaError):
            assert archive.decode(v1, with_restarts(found), size=len(v2)) != v2


def test_a_chunk_is_compared_with_the_stream_bit_for_bit() -> None:
    """The check compares exactly bits ``skip`` to ``count`` of a chunk and
    the stream (as the integers they spell would): a flip inside that range
    is found, wherever it falls (a partial first or last byte included),
    and a flip outside it is not."""
    rnd = random.Random(7)
    for _ in range(400):
        size = rnd.randrange(1, 40)
        theirs = bytes(rnd.getrandbits(8) for _ in range(size))
        skip = rnd.randrange(8)
        count = rnd.randrange(skip, 8 * size + 1)
        flip = rnd.randrange(8 * size)
        ours = bytearray(theirs)
        ours[flip // 8] ^= 1 << (flip % 8)
        mask = (1 << count) - (1 << skip)
        as_integers = (int.from_bytes(ours, "little") ^ int.from_bytes(theirs, "little")) & mask
        assert restarts._same_bits(ours, memoryview(theirs), skip, count) == (as_integers == 0)
        assert restarts._same_bits(bytearray(theirs), memoryview(theirs), skip, count)
    assert not restarts._same_bits(bytearray(b"\x00"), memoryview(b"\x00\x00"), 0, 16)  # short
