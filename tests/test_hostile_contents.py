"""Contents deltas made to hurt: damaged, huge, slow.  None may crash the
process, take time quadratic in what it lists, or ask for memory beyond
what its output justifies.  Crashes and memory limits are tried in child
processes (a segfault or an address-space limit must not take the suite
down)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
import zipfile

from deltaglider import archive

CHILD_PRELUDE = """
import gc, io, random, sys, zipfile, zlib
from deltaglider import archive
from deltaglider.archive import recipe

def release(seed, words):
    rng = random.Random(7)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(12):
            data = " ".join(rng.choice(words) for _ in range(8000)).encode()
            if i % 3 == 0:
                data = data.replace(b"w1", b"W%d" % seed)
            z.writestr(f"pkg/m{i}.txt", data)
    return out.getvalue()

def varint(n):
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)
"""


def _child(code: str, *, memory_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    script = CHILD_PRELUDE + textwrap.dedent(code)
    if memory_limit is not None:
        limit = f"({memory_limit}, {memory_limit})"
        script = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, {limit})\n" + script
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False
    )


def test_damaged_deltas_refused_then_collected_never_crash() -> None:
    """Deflates of damaged recipes fail in worker threads; their buffers
    were kept by the failures' tracebacks, and the garbage collector's
    clearing of that cycle crashed the process (SIGSEGV) within a few
    hundred refusals."""
    result = _child(
        """
        words = [f"w{i}" for i in range(5000)]
        reference, target = release(1, words), release(2, words)
        payload = archive.encode(reference, target)
        parsed, vcdiff, _ = recipe.split(payload)
        view = memoryview(payload)
        reader = recipe._Reader(bytes(view[4:14]))
        length = reader.varint()
        start = 4 + reader.pos
        body = zlib.decompress(payload[start : start + length])
        rng = random.Random(1)
        refused = 0
        for attempt in range(1500):
            damaged, data = bytearray(body), bytearray(vcdiff)
            for _ in range(rng.randrange(1, 3)):
                if rng.random() < 0.7:
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
                else:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            packed = zlib.compress(bytes(damaged))
            damaged_payload = recipe.MAGIC + varint(len(packed)) + packed + data
            try:
                archive.decode(reference, damaged_payload, size=len(target))
            except archive.ArchiveDeltaError:
                refused += 1
            if attempt % 10 == 0:
                gc.collect()
        gc.collect()
        print(refused)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Exception ignored" not in result.stderr, result.stderr[-2000:]
    assert int(result.stdout) > 1000  # most damage was found and refused


def _jar(members: int, version: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members):
            z.writestr(f"p/C{i}.class", b"class %d version %d " % (i, version) * 3)
    return out.getvalue()


def _best_of_two(run: object) -> float:
    assert callable(run)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def test_time_grows_linearly_with_the_members_changed() -> None:
    """Each source's size was summed again at every source: 8,000 changed
    members took 16x the time of 2,000 to decode.  Linear is 4x."""
    timings = {}
    for members in (2_000, 8_000):
        reference, target = _jar(members, 1), _jar(members, 2)
        payload = archive.encode(reference, target)
        assert payload is not None
        timings[members] = _best_of_two(
            lambda r=reference, p=payload, t=target: archive.decode(r, p, size=len(t))
        )
    assert timings[8_000] < 8 * timings[2_000], timings
