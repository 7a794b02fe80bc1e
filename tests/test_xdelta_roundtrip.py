"""Round trips through the in-memory codec: every input comes back exactly."""

from __future__ import annotations

import os

import pytest
from helpers import mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaglider import xdelta

SECONDARIES = ["lzma", "djw", "fgk", "none"]


def roundtrip(source: bytes, target: bytes, **options: object) -> bytes:
    delta = xdelta.encode(source, target, **options)  # type: ignore[arg-type]
    assert xdelta.decode(source, delta, size=len(target)) == target
    return delta


@st.composite
def versions(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A source and a target made from it by inserts, deletes and moves."""
    source = draw(st.binary(max_size=4096))
    target = bytearray(source)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "move", "replace"]))
        pos = draw(st.integers(0, len(target)))
        size = draw(st.integers(0, 300))
        if kind == "insert":
            target[pos:pos] = draw(st.binary(max_size=size))
        elif kind == "delete":
            del target[pos : pos + size]
        elif kind == "replace":
            target[pos : pos + size] = draw(st.binary(max_size=size))
        else:
            chunk = bytes(target[pos : pos + size])
            del target[pos : pos + size]
            dest = draw(st.integers(0, len(target)))
            target[dest:dest] = chunk
    return source, bytes(target)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions(), st.sampled_from(SECONDARIES), st.integers(0, 9))
def test_edited_versions_roundtrip(pair: tuple[bytes, bytes], secondary: str, level: int) -> None:
    source, target = pair
    roundtrip(source, target, secondary=secondary, level=level)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048), st.binary(max_size=2048))
def test_unrelated_inputs_roundtrip(source: bytes, target: bytes) -> None:
    roundtrip(source, target)


@pytest.mark.parametrize("secondary", SECONDARIES)
@pytest.mark.parametrize(
    ("source", "target"),
    [
        (b"", b""),
        (b"", b"x"),
        (b"x", b""),
        (b"a", b"a"),
        (b"abc" * 1000, b"abc" * 1000),
        (b"\x00" * 100_000, b"\x00" * 100_001),
    ],
    ids=["both-empty", "empty-source", "empty-target", "one-byte", "identical", "runs"],
)
def test_edge_cases(source: bytes, target: bytes, secondary: str) -> None:
    roundtrip(source, target, secondary=secondary)


def test_identical_large_input_gives_tiny_delta() -> None:
    data = os.urandom(3 << 20)
    assert len(roundtrip(data, data)) < 200


def test_target_larger_than_several_windows() -> None:
    # 20 MiB with edits: three 8 MiB windows, copies across window edges.
    source = os.urandom(20 << 20)
    target = mutate(source, seed=7, edits=40)
    delta = roundtrip(source, target)
    header = xdelta.inspect(delta)
    assert header.window_count == 3
    assert header.largest_window <= xdelta.DEFAULT_TARGET_WINDOW
    assert len(delta) < len(target) // 100


def test_windows_never_exceed_16_mib_for_old_decoders() -> None:
    source = os.urandom(40 << 20)
    delta = roundtrip(source, source[1000:], target_window=xdelta.MAX_TARGET_WINDOW)
    assert xdelta.inspect(delta).largest_window <= 16 << 20
    with pytest.raises(ValueError, match="target_window"):
        xdelta.encode(source, source, target_window=(16 << 20) + 1)


def test_whole_source_window_finds_matches_the_cli_window_misses() -> None:
    # A block moved ~72 MiB: beyond the CLI's 64 MiB source window.
    head, tail = os.urandom(4 << 20), os.urandom(72 << 20)
    source, target = head + tail, tail + head
    whole = roundtrip(source, target, level=1)
    narrow = roundtrip(source, target, level=1, source_window=64 << 20)
    assert len(whole) < 10_000
    assert len(narrow) > 3 << 20


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize("secondary", SECONDARIES)
def test_real_archives(
    release_archives: dict[str, tuple[bytes, bytes]], kind: str, secondary: str
) -> None:
    v1, v2 = release_archives[kind]
    delta = roundtrip(v1, v2, secondary=secondary)
    assert len(delta) < len(v2) // 2


def test_accepts_any_bytes_like_without_copy() -> None:
    import array
    import mmap

    source = os.urandom(100_000)
    target = mutate(source, seed=1)
    mapped = mmap.mmap(-1, len(source))
    mapped.write(source)
    for src in (source, bytearray(source), memoryview(source), mapped, array.array("B", source)):
        delta = xdelta.encode(src, memoryview(target))  # type: ignore[arg-type]
        assert xdelta.decode(src, bytearray(delta), size=len(target)) == target  # type: ignore[arg-type]


def test_decode_into_caller_buffer() -> None:
    source = os.urandom(50_000)
    target = mutate(source, seed=2)
    delta = xdelta.encode(source, target)
    out = bytearray(len(target) + 10)
    written = xdelta.decode_into(source, delta, out)
    assert written == len(target)
    assert out[:written] == target
    assert out[written:] == bytes(10)


def test_secondary_level_and_app_header_are_honoured() -> None:
    source = os.urandom(100_000)
    target = mutate(source, seed=3)
    plain = xdelta.encode(source, target)
    assert xdelta.inspect(plain).app_header == b""
    named = roundtrip(source, target, app_header=b"app-2.0.zip//reference.bin/", secondary_level=9)
    header = xdelta.inspect(named)
    assert header.app_header_fields == ("app-2.0.zip", "", "reference.bin", "")
    assert header.external_compression is None
    assert header.secondary == "lzma"


def test_checksum_can_be_disabled() -> None:
    source = os.urandom(10_000)
    delta = roundtrip(source, source + b"tail", checksum=False)
    assert not xdelta.inspect(delta).has_checksums
    assert xdelta.inspect(xdelta.encode(source, source)).has_checksums


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("level", 10),
        ("level", -1),
        ("secondary", "zstd"),
        ("secondary_level", 11),
        ("target_window", 1000),
        ("max_size", -1),
        ("source_window", 0),
        ("memory_budget", 0),
    ],
)
def test_bad_options_are_rejected(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        xdelta.encode(b"abc", b"abd", **{option: value})  # type: ignore[arg-type]


def test_non_buffer_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        xdelta.encode("text", b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="writable"):
        xdelta.decode_into(b"", xdelta.encode(b"", b"x"), b"immutable")
