"""The memory policy: source plans within a budget, one budget shared by a
process's encodes, streamed encodes as good as in-memory ones, and which
puts stream."""

from __future__ import annotations

import contextlib
import io
import random
import sys
import threading
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from deltaglider import create_client, xdelta
from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import cache_from_env
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.adapters.memory_budget import MemoryBudget
from deltaglider.core import memory_policy
from deltaglider.core.service import DeltaService
from deltaglider.xdelta import options, streaming
from deltaglider.xdelta.options import (
    MAX_STEP,
    MIN_WINDOW,
    STREAM_DRIFT,
    STREAM_WINDOW,
    TABLE_FLOOR,
    match_table_bytes,
    plan_source,
    pow2_ceil,
)

MiB = 1 << 20
GiB = 1 << 30
SIZES = [1, 100_000, 16 * MiB, 123 * MiB, 129 * MiB, 700 * MiB, 2 * GiB]


# -- plans ---------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("budget", [64 * MiB, 512 * MiB, 4 * GiB])
def test_in_memory_plan_covers_the_whole_source(size: int, budget: int) -> None:
    plan = plan_source(size, 2, budget, streaming=False)
    assert plan.window >= size  # never a window that misses part of the source
    assert plan.cached == 0
    assert plan.table == match_table_bytes(plan.window, plan.step)
    if plan.step < MAX_STEP:  # the budget and the source's own size bound the table
        assert plan.table <= min(budget, max(TABLE_FLOOR, size))
    if plan.step > 2:  # the grid is only as sparse as it must be
        assert match_table_bytes(plan.window, plan.step - 1) > min(budget, max(TABLE_FLOOR, size))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("budget", [8 * MiB, 64 * MiB, 512 * MiB])
def test_streamed_plan_fits_the_budget(size: int, budget: int) -> None:
    plan = plan_source(size, 2, budget, streaming=True)
    assert plan.cached == min(plan.window, size)
    assert plan.cost <= budget or plan.window == MIN_WINDOW
    wanted = max(STREAM_WINDOW, pow2_ceil(size // STREAM_DRIFT))
    assert plan.window <= wanted
    if budget >= 512 * MiB and size <= GiB:  # room for the whole wanted window
        assert plan.window == min(wanted, pow2_ceil(max(size, MIN_WINDOW)))


def test_the_old_oversized_table_is_gone() -> None:
    # A 129 MiB reference used to get a 1 GiB table (a 256 MiB window at
    # step 2); now 128 MiB, at step 9.
    plan = plan_source(129 * MiB, 2, 512 * MiB, streaming=False)
    assert (plan.window, plan.step, plan.table) == (256 * MiB, 9, 128 * MiB)


# -- one budget for all encodes --------------------------------------------------


def test_budget_grants_what_is_free_and_waits_for_the_least() -> None:
    budget = MemoryBudget(100)
    entered = threading.Event()
    grants: list[int] = []
    with budget.hold(80, 10) as first:
        assert first == 80

        def second() -> None:
            with budget.hold(80, 30) as granted:  # only 20 free: waits for 30
                grants.append(granted)
                entered.set()

        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.2)  # still waiting while the first holds 80
        assert budget.held == 80
    thread.join(5)
    assert grants == [80]
    assert budget.held == 0


def test_budget_grants_part_when_part_is_free() -> None:
    budget = MemoryBudget(100)
    with budget.hold(70, 10) as first, budget.hold(70, 10) as second:
        assert (first, second) == (70, 30)
        assert budget.held == 100


def test_an_encode_alone_always_runs() -> None:
    budget = MemoryBudget(100)
    with budget.hold(500, 300) as granted:
        assert granted == 300  # more than the budget, but nobody else holds any
    with pytest.raises(ValueError, match="positive"):
        MemoryBudget(0)


def test_concurrent_encodes_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = XDeltaCodec(memory_budget=96 * MiB, parallel_encodes=4)
    inside = threading.Barrier(2, timeout=5)
    seen: list[tuple[int, int]] = []

    def fake_encode(reference: bytes, target: bytes, **kwargs: Any) -> bytes:
        seen.append((kwargs["memory_budget"], codec.budget.held))
        with contextlib.suppress(threading.BrokenBarrierError):
            inside.wait()  # both encodes are running now, or the second waited
        return b"delta"

    monkeypatch.setattr(xdelta, "encode", fake_encode)
    reference = bytes(48 * MiB)  # its best plan wants a 64 MiB table
    threads = [
        threading.Thread(target=codec.encode, args=(reference, b"x"), kwargs={"max_size": None})
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(seen) == 2
    shares = sorted(share for share, _ in seen)
    assert shares == [32 * MiB, 64 * MiB]  # the second got what the first left
    assert all(held <= 96 * MiB for _, held in seen)
    assert codec.budget.held == 0


def test_create_client_takes_the_budget(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = tmp_path.as_uri()
    client = create_client(url, memory_budget=200 * MiB)
    assert client.service.diff.memory_budget == 200 * MiB  # type: ignore[attr-defined]
    monkeypatch.setenv("DG_MEMORY_BUDGET_MB", "96")
    assert create_client(url).service.diff.memory_budget == 96 * MiB  # type: ignore[attr-defined]
    monkeypatch.delenv("DG_MEMORY_BUDGET_MB")
    assert create_client(url).service.diff.memory_budget == 512 * MiB  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="memory_budget"):
        create_client(url, memory_budget=0)


# -- streamed encodes --------------------------------------------------------------


def source_files(limit: int) -> bytes:
    """Real text: Python's own library sources, in sorted order."""
    root = Path(sys.modules["threading"].__file__ or "").parent
    out = bytearray()
    for path in sorted(root.rglob("*.py")):
        out += path.read_bytes()
        if len(out) >= limit:
            break
    return bytes(out[:limit])


def edited(source: bytes, seed: int, lines: int) -> bytes:
    """The next release of ``source``: lines inserted here and there."""
    rng = random.Random(seed)
    out = bytearray(source)
    for _ in range(lines):
        at = rng.randrange(len(out))
        out[at:at] = b"# a line of the next release %d\n" % rng.randrange(10**6)
    return bytes(out)


def test_streamed_encode_reads_each_block_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 48 source blocks of 256 KiB.  The C stream keeps every block it was
    # given: before, it held only the last one, and every match reaching
    # into another block stopped the encoder to ask for it again (and was
    # dropped: streamed deltas of real tarballs came out 2x the CLI's).
    source = source_files(12 * MiB)
    target = edited(source, seed=14, lines=300)
    asked: Counter[int] = Counter()
    fetch = streaming._SourceBlocks.get

    def counted(self: Any, number: int) -> Any:
        asked[number] += 1
        return fetch(self, number)

    monkeypatch.setattr(streaming._SourceBlocks, "get", counted)
    out = io.BytesIO()
    streamed = xdelta.encode_file(
        io.BytesIO(source), io.BytesIO(target), out, source_window=16 * MiB
    )
    assert len(asked) == 48
    assert max(asked.values()) == 1, asked.most_common(3)
    assert xdelta.decode(source, out.getvalue(), size=len(target)) == target
    assert streamed <= len(xdelta.encode(source, target)) * 1.1


# -- which puts stream ---------------------------------------------------------------


class SpyCodec(XDeltaCodec):
    """The real codec, counting which way each encode went."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def encode(self, reference: bytes, target: bytes, *, max_size: int | None) -> bytes:
        self.calls["memory"] += 1
        return super().encode(reference, target, max_size=max_size)

    def encode_stream(self, reference: Any, target: Any, out: Any, *, max_size: int | None) -> int:
        self.calls["streamed"] += 1
        return super().encode_stream(reference, target, out, max_size=max_size)

    def encode_contents(self, reference: bytes, target: bytes, **kwargs: Any) -> bytes | None:
        self.calls["contents"] += 1
        return super().encode_contents(reference, target, **kwargs)


def zip_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.bin", data)
    return buffer.getvalue()


def test_large_opaque_files_stream_and_archives_stay_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_policy, "OPAQUE_IN_MEMORY", 1 * MiB)  # as if 64 MiB were small
    store = LocalStorage(tmp_path / "store")
    store.create_bucket("mem")
    codec = SpyCodec()
    service = DeltaService(
        store, codec, Sha256Hasher(), cache_from_env({}), UtcClock(), StdLogger(), NoopMetrics()
    )
    base = random.Random(1).randbytes(2 * MiB)
    first, second = tmp_path / "v1.tar", tmp_path / "v2.tar"
    first.write_bytes(base)
    second.write_bytes(edited(base, seed=2, lines=20))
    service.put_file("mem", "tars/v1.tar", first)
    codec.calls.clear()
    service.put_file("mem", "tars/v2.tar", second)  # a file over the limit
    service.put_bytes("mem", "tars/v3.tar", edited(base, seed=3, lines=20))  # bytes, too
    assert codec.calls == Counter(streamed=2)
    small = edited(base, seed=4, lines=20)[: MiB // 2]
    service.put_bytes("mem", "tars/small.tar", small)  # under it: in memory
    assert codec.calls["memory"] == 1
    assert service.get_bytes("mem", "tars/v3.tar")[0] == edited(base, seed=3, lines=20)

    service.put_bytes("mem", "zips/v1.zip", zip_of(base))
    codec.calls.clear()
    service.put_bytes("mem", "zips/v2.zip", zip_of(edited(base, seed=5, lines=20)))
    assert codec.calls["contents"] == 1  # archives are encoded in memory
    assert codec.calls["streamed"] == 0


def test_streamed_window_follows_a_file_that_grew(monkeypatch: pytest.MonkeyPatch) -> None:
    # At a sixteenth of the real scale: a 1 MiB smallest window (64 MiB in
    # use) and a 16 MiB file that grew by 0.9 MiB near its start.  A window
    # of the smallest size loses every match past the growth (xdelta3 seeks
    # no further back than half a window from where it expects the source);
    # a window of 1/8 of the source keeps them.
    monkeypatch.setattr(options, "STREAM_WINDOW", 1 * MiB)
    rng = random.Random(6)
    source = rng.randbytes(16 * MiB)
    target = source[: 4 * MiB] + rng.randbytes(900 * 1024) + source[4 * MiB :]
    out = io.BytesIO()
    size = xdelta.encode_file(io.BytesIO(source), io.BytesIO(target), out)
    assert size < 1200 * 1024  # the new bytes and little else
    assert xdelta.decode(source, out.getvalue(), size=len(target)) == target
    small = io.BytesIO()
    lost = xdelta.encode_file(io.BytesIO(source), io.BytesIO(target), small, source_window=MiB)
    assert lost > 3 * size  # what the fixed window does


def test_put_options_keep_their_own_copies() -> None:
    """The caller's dicts may change after; None is taken as none."""
    from deltaglider.core.models import PutOptions

    tags = {"team": "a"}
    options = PutOptions(tags=tags, user_metadata=None, fields=None)  # type: ignore[arg-type]
    tags["team"] = "b"
    assert (options.tags, options.user_metadata, options.fields) == ({"team": "a"}, {}, {})
