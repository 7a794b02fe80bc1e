"""The deflate parse codec (``csrc/dg_parse.c`` through
:mod:`deltaglider.archive.parse`): every valid stream written back byte
for byte from its content and parse; streams that are not their content
refused; damaged or hostile parses refused (or, where the damage still
parses, other bytes, which the file's hash then refuses), never a crash,
and within bounded time."""

from __future__ import annotations

import os
import random
import time
import zlib
from pathlib import Path

import pytest

from deltaglider import xdelta
from deltaglider.archive import CorruptContentsDeltaError, parse

TEXT = b"".join(path.read_bytes() for path in sorted(Path(os.__file__).parent.glob("*.py"))[:40])


def raw(
    data: bytes, level: int = 6, strategy: int = zlib.Z_DEFAULT_STRATEGY, wbits: int = 15
) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, -wbits, 8, strategy)
    return packer.compress(data) + packer.flush()


def round_trip(stream: bytes, content: bytes) -> bytes:
    made = parse.parse_of(stream, content)
    assert made is not None
    assert parse.written(content, made, len(stream)) == stream
    return made


CONTENTS = {
    "empty": b"",
    "one byte": b"x",
    "three bytes": b"abc",
    "random": random.Random(1).randbytes(200_000),
    "zeros": bytes(300_000),
    "text": TEXT,
    "text then random": TEXT[:100_000] + random.Random(2).randbytes(50_000) + TEXT[:100_000],
}
STRATEGIES = {
    "default": zlib.Z_DEFAULT_STRATEGY,
    "filtered": zlib.Z_FILTERED,
    "huffman only": zlib.Z_HUFFMAN_ONLY,
    "rle": zlib.Z_RLE,
    "fixed": zlib.Z_FIXED,
}


@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
@pytest.mark.parametrize("level", [0, 1, 4, 6, 9])
def test_every_level_round_trips(content: bytes, level: int) -> None:
    """Stored, fixed and dynamic blocks; literals only, matches of every
    length, distances up to the window."""
    round_trip(raw(content, level), content)


@pytest.mark.parametrize("strategy", STRATEGIES.values(), ids=STRATEGIES.keys())
@pytest.mark.parametrize("wbits", [9, 12, 15])
def test_every_strategy_and_window_round_trips(strategy: int, wbits: int) -> None:
    round_trip(raw(TEXT, 6, strategy, wbits), TEXT)


def test_a_full_flush_mid_stream_round_trips() -> None:
    """An empty stored block between blocks, at any bit: its padding bits
    and the stream's last byte's are kept."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = packer.compress(TEXT[:70_000]) + packer.flush(zlib.Z_FULL_FLUSH)
    stream += packer.compress(TEXT[70_000:140_000]) + packer.flush(zlib.Z_SYNC_FLUSH)
    stream += packer.compress(b"tail") + packer.flush()
    round_trip(stream, TEXT[:140_000] + b"tail")


def test_matches_are_recorded_as_places_alike_not_distances() -> None:
    """An insertion early in the window leaves later matches' sources as
    they were (their distances all change): the parses of the two versions
    delta to a few hundred bytes, where the streams' own bytes do not."""
    base = TEXT[:200_000]
    changed = base[:1000] + b"an insertion " * 3 + base[1000:]
    ours, theirs = (round_trip(raw(data), data) for data in (base, changed))
    parses = len(xdelta.encode(ours, theirs))
    streams = len(xdelta.encode(raw(base), raw(changed)))
    assert parses < 1000
    assert 10 * parses < streams


@pytest.mark.parametrize(
    "case",
    ["truncated", "a byte after", "content changed", "content longer", "content shorter"],
)
def test_a_stream_that_is_not_its_content_has_no_parse(case: str) -> None:
    content = TEXT[:50_000]
    stream = raw(content)
    if case == "truncated":
        stream = stream[:-3]
    elif case == "a byte after":
        stream += b"\0"
    elif case == "content changed":
        content = content[:20_000] + b"?" + content[20_001:]
    elif case == "content longer":
        content += b"x"
    else:
        content = content[:-1]
    assert parse.parse_of(stream, content) is None


def test_damaged_parses_are_refused_or_make_other_bytes() -> None:
    """Random damage to a parse (bytes changed, cut, added): refused with
    the archive's error or other bytes; never a crash."""
    content = TEXT[:60_000] + bytes(5000) + random.Random(3).randbytes(5000)
    stream = raw(content, 9)
    made = round_trip(stream, content)
    rng = random.Random(4)
    refused = 0
    for _ in range(2000):
        damaged = bytearray(made)
        kind = rng.random()
        if kind < 0.8:
            for _ in range(rng.randrange(1, 4)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        elif kind < 0.9:
            del damaged[rng.randrange(len(damaged)) :]
        else:
            damaged[rng.randrange(len(damaged)) : 0] = rng.randbytes(rng.randrange(1, 9))
        size = len(stream) + rng.choice([0, 0, 0, -1, 1])
        try:
            assert parse.written(content, bytes(damaged), size) != stream
        except CorruptContentsDeltaError:
            refused += 1
    assert refused > 1800


def test_a_parse_cannot_walk_without_bound() -> None:
    """A parse of a megabyte of zeros whose every match names the 4,000th
    earlier place alike would walk 1.3 billion places; the walks' budget
    for the stream (16 places a byte) refuses it early."""
    content = bytes(1 << 20)
    body = bytearray([1 | 4])  # a fixed block, the last
    body += _varint(4001 << 1)  # 4,001 literals (the chains fill up), then a match
    pos = 4001
    while pos + 3 <= len(content) - 1:
        if pos > 4001:
            body += _varint(0)  # no literals, then a match
        body += _varint(0) + _varint(4000 << 1)  # 3 bytes from the 4,001st place alike
        pos += 3
    body += _varint((len(content) - pos) << 1 | 1) + b"\0"  # the rest as literals, padding
    started = time.perf_counter()
    with pytest.raises(CorruptContentsDeltaError, match="is damaged"):
        parse.written(content, bytes(body), 4 << 20)  # room enough: not a size refusal
    assert time.perf_counter() - started < 1


def test_a_match_past_the_content_or_before_its_start_is_refused() -> None:
    content = b"abcabcabc"
    stream = raw(content)
    made = round_trip(stream, content)
    before = bytes([1 | 4]) + _varint(0) + _varint(0) + _varint(1 << 1 | 1)
    with pytest.raises(CorruptContentsDeltaError):
        parse.written(content, before + _varint(6 << 1 | 1) + b"\0", len(stream))
    past = bytes([1 | 4]) + _varint(3 << 1) + _varint(255) + _varint(2 << 1 | 1)
    with pytest.raises(CorruptContentsDeltaError):
        parse.written(content, past + _varint(1) + b"\0", len(stream))
    assert parse.written(content, made, len(stream)) == stream


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
