"""encode_file / decode_file: any size, bounded memory, atomic output."""

from __future__ import annotations

import io
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import mutate, peak_rss_growth

from deltaglider import xdelta

MiB = 1 << 20


class ReadOnlyStream(io.RawIOBase):
    """A non-seekable reader, like a pipe or an HTTP body."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data) - self._pos, 100_000)  # short reads
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "size",
    [0, 1, 100_000, 8 * MiB, 16 * MiB, 19 * MiB + 123],
    ids=["empty", "one", "small", "one-window", "two-windows", "three-windows"],
)
def test_file_roundtrip(tmp_path: Path, size: int) -> None:
    source = os.urandom(size)
    target = mutate(source, seed=size, edits=30)
    ref = write(tmp_path / "ref", source)
    new = write(tmp_path / "new", target)
    written = xdelta.encode_file(ref, new, tmp_path / "x.delta")
    delta = (tmp_path / "x.delta").read_bytes()
    assert written == len(delta)
    assert xdelta.decode(source, delta, size=len(target)) == target
    assert xdelta.decode_file(ref, tmp_path / "x.delta", tmp_path / "out", size=len(target)) == len(
        target
    )
    assert (tmp_path / "out").read_bytes() == target


def test_small_budget_forces_block_reads(tmp_path: Path) -> None:
    # A 24 MiB source with a 6 MiB budget: a 1 MiB window of 64 KiB blocks,
    # so the encoder asks for blocks again and again.
    source = os.urandom(24 * MiB)
    target = mutate(source, seed=4, edits=50)
    ref = write(tmp_path / "ref", source)
    out = io.BytesIO()
    xdelta.encode_file(ref, io.BytesIO(target), out, memory_budget=6 * MiB)
    delta = out.getvalue()
    assert len(delta) < len(target) // 50
    restored = io.BytesIO()
    xdelta.decode_file(ref, io.BytesIO(delta), restored, cache_bytes=2 * MiB)
    assert restored.getvalue() == target


def test_file_objects_and_non_seekable_streams(tmp_path: Path) -> None:
    source = os.urandom(3 * MiB)
    target = mutate(source, seed=8)
    out = io.BytesIO()
    with open(write(tmp_path / "ref", source), "rb") as ref:
        xdelta.encode_file(ref, ReadOnlyStream(target), out)
        restored = io.BytesIO()
        xdelta.decode_file(ref, ReadOnlyStream(out.getvalue()), restored, size=len(target))
    assert restored.getvalue() == target


def test_streaming_and_memory_deltas_cross_decode(tmp_path: Path) -> None:
    source = os.urandom(2 * MiB)
    target = mutate(source, seed=12)
    memory_delta = xdelta.encode(source, target)
    out = io.BytesIO()
    xdelta.encode_file(io.BytesIO(source), io.BytesIO(target), out)
    assert xdelta.decode(source, out.getvalue(), size=len(target)) == target
    restored = io.BytesIO()
    xdelta.decode_file(io.BytesIO(source), io.BytesIO(memory_delta), restored)
    assert restored.getvalue() == target


@pytest.mark.interop
def test_cli_decodes_streamed_delta(tmp_path: Path, run_cli: Callable[..., bytes]) -> None:
    source = os.urandom(10 * MiB)
    target = mutate(source, seed=13, edits=25)
    out = io.BytesIO()
    xdelta.encode_file(io.BytesIO(source), io.BytesIO(target), out, memory_budget=8 * MiB)
    decoded = run_cli(
        ["-d", "-f", "-s", "ref.bin", "x.delta", "out"],
        {"ref.bin": source, "x.delta": out.getvalue()},
        "out",
    )
    assert decoded == target


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_failed_decode_leaves_no_file(tmp_path: Path) -> None:
    source = os.urandom(MiB)
    target = mutate(source, seed=14)
    delta = write(tmp_path / "x.delta", xdelta.encode(source, target))
    wrong = write(tmp_path / "wrong", os.urandom(MiB))
    with pytest.raises(xdelta.WrongSourceError):
        xdelta.decode_file(wrong, delta, tmp_path / "out")
    with pytest.raises(xdelta.OutputLimitError):
        xdelta.decode_file(write(tmp_path / "ref", source), delta, tmp_path / "out", size=1000)
    existing = write(tmp_path / "kept", b"previous contents")
    with pytest.raises(xdelta.CorruptDeltaError):
        xdelta.decode_file(tmp_path / "ref", write(tmp_path / "junk", b"junk" * 10), existing)
    assert not (tmp_path / "out").exists()
    assert existing.read_bytes() == b"previous contents"
    assert _leftovers(tmp_path) == []


def test_failed_encode_leaves_no_file(tmp_path: Path) -> None:
    ref = write(tmp_path / "ref", os.urandom(MiB))
    new = write(tmp_path / "new", os.urandom(MiB))
    with pytest.raises(xdelta.DeltaTooLargeError):
        xdelta.encode_file(ref, new, tmp_path / "x.delta", max_size=MiB // 2)
    assert not (tmp_path / "x.delta").exists()
    assert _leftovers(tmp_path) == []


def test_missing_source_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        xdelta.encode_file(tmp_path / "nope", write(tmp_path / "new", b"x"), tmp_path / "out")


PEAK_RSS = textwrap.dedent(
    """
    import resource, sys
    from deltaglider import xdelta
    operation, ref, inp, out = sys.argv[1:5]
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if operation == "encode":
        xdelta.encode_file(ref, inp, out, memory_budget=32 << 20)
    else:
        xdelta.decode_file(ref, inp, out, cache_bytes=16 << 20)
    print(baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_peak_memory_is_bounded_whatever_the_file_size(tmp_path: Path) -> None:
    size = 192 * MiB
    ref, new = tmp_path / "ref", tmp_path / "new"
    with open(ref, "wb") as a, open(new, "wb") as b:
        for i in range(size // MiB):
            block = os.urandom(MiB)
            a.write(block)
            b.write(block if i % 16 else block[:1000] + os.urandom(100) + block[1100:])
    encode_growth = peak_rss_growth(PEAK_RSS, "encode", str(ref), str(new), str(tmp_path / "d"))
    decode_growth = peak_rss_growth(
        PEAK_RSS, "decode", str(ref), str(tmp_path / "d"), str(tmp_path / "o")
    )
    assert (tmp_path / "o").read_bytes() == new.read_bytes()
    # Encoder: the 32 MiB budget, plus xdelta3's target-window tables and
    # buffers (about 11 bytes per byte of the 8 MiB window).  Decoder: the
    # 16 MiB block cache plus window buffers.  Both far below one file.
    assert encode_growth < 128 * MiB, encode_growth
    assert decode_growth < 64 * MiB, decode_growth
