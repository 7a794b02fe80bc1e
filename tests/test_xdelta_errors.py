"""Bad input gets the right exception: never a crash, never wrong bytes,
never an allocation sized by a hostile number."""

from __future__ import annotations

import lzma
import os
import random
import zlib

import pytest
from helpers import add, copy, mutate, varint, vcdiff, window

from deltaglider import xdelta

SOURCE = os.urandom(200_000)
TARGET = mutate(SOURCE, seed=21, edits=40)


@pytest.fixture(scope="module", params=["lzma", "djw", "fgk", "none"])
def delta(request: pytest.FixtureRequest) -> bytes:
    return xdelta.encode(SOURCE, TARGET, secondary=request.param)


def test_every_truncation_fails(delta: bytes) -> None:
    for cut in range(len(delta)):
        with pytest.raises(xdelta.CorruptDeltaError):
            xdelta.decode(SOURCE, delta[:cut], size=len(TARGET))


def test_truncated_header_is_not_an_empty_file() -> None:
    for prefix in (b"", b"\xd6", b"\xd6\xc3\xc4", b"\xd6\xc3\xc4\x00"):
        with pytest.raises(xdelta.TruncatedDeltaError):
            xdelta.decode(b"", prefix, size=0)
        with pytest.raises(xdelta.TruncatedDeltaError):
            xdelta.inspect(prefix)


def test_bit_flips_never_return_wrong_bytes(delta: bytes) -> None:
    rng = random.Random(len(delta))
    positions = sorted(rng.sample(range(len(delta)), min(300, len(delta))))
    failures = 0
    for pos in positions:
        damaged = bytearray(delta)
        damaged[pos] ^= 1 << rng.randrange(8)
        try:
            out = xdelta.decode(SOURCE, damaged, size=len(TARGET))
        except xdelta.XDeltaError:
            failures += 1
        else:
            assert out == TARGET, f"flip at {pos} returned wrong bytes"
    assert failures > len(positions) // 2


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_are_corrupt(seed: int) -> None:
    junk = random.Random(seed).randbytes(seed * 37 + 1)
    for candidate in (junk, b"\xd6\xc3\xc4\x00" + junk):
        with pytest.raises(xdelta.XDeltaError):
            xdelta.decode(SOURCE, candidate, size=len(TARGET))


def test_wrong_source_is_detected() -> None:
    delta = xdelta.encode(SOURCE, TARGET)
    other = os.urandom(len(SOURCE))
    with pytest.raises(xdelta.WrongSourceError, match="checksum"):
        xdelta.decode(other, delta, size=len(TARGET))
    with pytest.raises(xdelta.WrongSourceError, match="beyond the end"):
        xdelta.decode(SOURCE[:1000], delta, size=len(TARGET))
    with pytest.raises(xdelta.WrongSourceError):
        xdelta.decode(b"", delta, size=len(TARGET))


def test_output_limit_is_never_exceeded() -> None:
    delta = xdelta.encode(SOURCE, TARGET)
    with pytest.raises(xdelta.OutputLimitError):
        xdelta.decode(SOURCE, delta, size=len(TARGET) - 1)
    with pytest.raises(xdelta.CorruptDeltaError, match="expected"):
        xdelta.decode(SOURCE, delta, size=len(TARGET) + 1)
    guarded = bytearray(b"\xaa" * (len(TARGET) + 64))
    view = memoryview(guarded)[: len(TARGET) // 2]
    with pytest.raises(xdelta.OutputLimitError):
        xdelta.decode_into(SOURCE, delta, view)
    assert guarded[len(TARGET) // 2 :] == b"\xaa" * (len(guarded) - len(TARGET) // 2)


def test_delta_cap_stops_the_encoder() -> None:
    delta = xdelta.encode(SOURCE, TARGET)
    assert xdelta.encode(SOURCE, TARGET, max_size=len(delta)) == delta
    with pytest.raises(xdelta.DeltaTooLargeError):
        xdelta.encode(SOURCE, TARGET, max_size=len(delta) - 1)
    unrelated = os.urandom(1 << 20)
    with pytest.raises(xdelta.DeltaTooLargeError):
        xdelta.encode(SOURCE, unrelated, max_size=len(unrelated) // 2)


def test_absurd_window_size() -> None:
    hostile = vcdiff(window(1 << 40, b"x", add(1 << 40)))
    with pytest.raises(xdelta.CorruptDeltaError, match="window size"):
        xdelta.decode(b"", hostile, size=10)
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.inspect(hostile)


def test_absurd_app_header_size() -> None:
    hostile = vcdiff(app_header=b"abc", app_header_len=1 << 50)
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.decode(b"", hostile, size=0)
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.inspect(hostile)
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.read_app_header(hostile)


def test_app_header_from_the_first_bytes() -> None:
    for secondary in ("lzma", "djw", "fgk", "none"):
        named = xdelta.encode(SOURCE, TARGET, secondary=secondary, app_header=b"b.zip//a.zip/")
        assert xdelta.read_app_header(named[:40]) == b"b.zip//a.zip/"
        assert xdelta.read_app_header(xdelta.encode(SOURCE, TARGET, secondary=secondary)) == b""
        for cut in range(5, named.index(b"a.zip/") + 6):  # ends inside the header
            with pytest.raises(xdelta.TruncatedDeltaError):
                xdelta.read_app_header(named[:cut])
    for junk in (b"", b"\xd6\xc3", b"PK\x03\x04 not a delta"):
        with pytest.raises(xdelta.CorruptDeltaError):
            xdelta.read_app_header(junk)


def test_absurd_secondary_section_size_is_refused_not_allocated() -> None:
    # The DJW section starts with its decoded size; 2^45 bytes must be
    # refused before any allocation.
    data = varint(1 << 45) + b"\x00" * 16
    hostile = vcdiff(window(4, data, add(4), delta_indicator=0x01), secondary=1)
    with pytest.raises(xdelta.CorruptDeltaError, match="larger than any valid delta"):
        xdelta.decode(b"", hostile, size=4)


def _lzma_data_delta(payload: bytes, dict_size: int, cut: int) -> bytes:
    # xdelta3 writes each LZMA section as an .xz stream that is sync-flushed,
    # never finished: keep the first ``cut`` bytes of a finished stream.
    stream = lzma.compress(
        payload,
        format=lzma.FORMAT_XZ,
        check=lzma.CHECK_NONE,
        filters=[{"id": lzma.FILTER_LZMA2, "dict_size": dict_size}],
    )[:cut]
    section = varint(len(payload)) + stream
    return vcdiff(
        window(
            len(payload),
            section,
            add(len(payload)),
            delta_indicator=0x01,
            adler32=zlib.adler32(payload),
        ),
        secondary=2,
    )


def test_lzma_dictionary_bomb_is_refused() -> None:
    payload = b"real data " * 100
    full = len(lzma.compress(payload, format=lzma.FORMAT_XZ, check=lzma.CHECK_NONE))
    cut = next(
        n for n in range(full, 0, -1) if _decodes(_lzma_data_delta(payload, 8 << 20, n), payload)
    )
    # The same bytes but a 1.5 GiB dictionary: refused by the memory limit.
    with pytest.raises(xdelta.CorruptDeltaError, match="lzma"):
        xdelta.decode(b"", _lzma_data_delta(payload, 1536 << 20, cut), size=len(payload))


def _decodes(delta: bytes, expected: bytes) -> bool:
    try:
        return xdelta.decode(b"", delta, size=len(expected)) == expected
    except xdelta.XDeltaError:
        return False


def test_unsupported_features() -> None:
    first = window(10, b"0123456789", add(10))
    from_target = window(10, b"", copy(10), varint(0), from_target=(10, 0))
    with pytest.raises(xdelta.UnsupportedDeltaError):
        xdelta.decode(b"", vcdiff(first, from_target), size=20)
    with pytest.raises(xdelta.UnsupportedDeltaError):
        xdelta.decode(b"", vcdiff(first, secondary=99), size=10)
    with pytest.raises(xdelta.UnsupportedDeltaError):
        xdelta.decode(b"", vcdiff(first, code_table=True), size=10)
    # A code table header with no table: malformed, not out of memory.
    malformed = b"\xd6\xc3\xc4\x00\x02" + varint(1) + first
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.decode(b"", malformed, size=10)
    with pytest.raises(xdelta.UnsupportedDeltaError, match="secondary"):
        xdelta.inspect(vcdiff(first, secondary=99))


def test_source_copy_beyond_source_end() -> None:
    # Copy 8 bytes from source offset 5: past the end of a 10-byte source.
    hostile = vcdiff(window(8, b"", copy(8), varint(0), source=(8, 5)))
    with pytest.raises(xdelta.WrongSourceError):
        xdelta.decode(b"0123456789", hostile, size=8)
    with pytest.raises(xdelta.WrongSourceError):
        xdelta.decode(b"", hostile, size=8)
