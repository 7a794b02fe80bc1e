"""Many threads at once: same results as one, and the GIL is released."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import mutate

from deltaglider import xdelta
from deltaglider.adapters.codec_xdelta import XDeltaCodec


def test_concurrent_encode_decode_match_sequential() -> None:
    pairs = [(os.urandom(400_000), b"") for _ in range(8)]
    pairs = [(s, mutate(s, seed=i, edits=30)) for i, (s, _) in enumerate(pairs)]
    secondaries = ["lzma", "djw", "fgk", "none"]
    expected = [xdelta.encode(s, t, secondary=secondaries[i % 4]) for i, (s, t) in enumerate(pairs)]

    def work(i: int) -> tuple[bytes, bytes]:
        source, target = pairs[i % len(pairs)]
        delta = xdelta.encode(source, target, secondary=secondaries[i % len(pairs) % 4])  # type: ignore[arg-type]
        return delta, xdelta.decode(source, delta, size=len(target))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    for i, (delta, decoded) in enumerate(results):
        assert delta == expected[i % len(pairs)]
        assert decoded == pairs[i % len(pairs)][1]


def test_gil_is_released_while_encoding() -> None:
    source = os.urandom(6 << 20)
    unrelated = os.urandom(3 << 20)  # slow to encode: ~1 s at -9
    done = threading.Event()

    def encode() -> None:
        xdelta.encode(source, unrelated)
        done.set()

    worker = threading.Thread(target=encode)
    ticks = 0
    worker.start()
    while not done.is_set():
        ticks += 1
    worker.join()
    # Holding the GIL for the whole call would starve this loop.
    assert ticks > 10_000


def test_the_engine_codec_runs_no_more_encodes_at_once_than_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lock = threading.Lock()
    running = peak = 0
    real_encode = xdelta.encode

    def counted(*args: object, **kwargs: object) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            return real_encode(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(xdelta, "encode", counted)
    codec = XDeltaCodec(parallel_encodes=2)
    with ThreadPoolExecutor(8) as pool:
        deltas = list(pool.map(lambda i: codec.encode(b"ref" * 100, b"tgt%d" % i, max_size=None),
                               range(16)))  # fmt: skip
    assert peak == 2
    assert len(deltas) == 16
    with pytest.raises(ValueError, match="at least 1"):
        XDeltaCodec(parallel_encodes=0)
