"""No interleaving of two operations on one key or one folder loses an
acknowledged write or leaves a listed key unreadable.

Each scenario starts from a stored state, runs two operations, each with an
engine of its own (as two processes would), and explores every order of
their storage calls that can matter (see :mod:`interleave`), on the local
store and on SeaweedFS.  After each schedule a fresh engine checks:

- both operations succeeded;
- each key touched ends as one of the writes or deletes made to it, and each
  key not touched as it was;
- every listed key reads back byte-exact, and no key is left in both forms.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import mutate
from interleave import Call, Execution, PausingStorage, explore

from deltaglider.adapters.basics import NoopMetrics, Sha256Hasher, StdLogger
from deltaglider.adapters.cache import LayeredCache, MemoryCache
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core import keys
from deltaglider.core.errors import PreconditionFailedError
from deltaglider.core.models import PutOptions
from deltaglider.core.service import DeltaService
from deltaglider.ports.storage import StoragePort

BUCKET = "interleave-bucket"
BASE = os.urandom(60_000)
V = [BASE] + [mutate(BASE, seed=i, edits=10) for i in range(1, 6)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FixedClock:
    """Each operation's clock stands still at its own moment: schedules
    replay exactly, and the scenario's two orders try both clock orders."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def engine(store: StoragePort, moment: datetime) -> DeltaService:
    return DeltaService(
        store,
        XDeltaCodec(),
        Sha256Hasher(),
        LayeredCache(MemoryCache(64 << 20), None),
        FixedClock(moment),
        StdLogger(),
        NoopMetrics(),
        tool_version="deltaglider/interleave",
    )


@dataclass(frozen=True)
class Op:
    """``put`` (``value`` stored as a delta, or as is with ``delta=False``),
    ``create`` (a create-only put), ``delete`` of a key, ``foreign`` (a
    writer that knows nothing of deltas: one PUT of the key as is, no
    stamp, nothing settled) or ``get`` (a read that must give one of
    ``allowed``)."""

    kind: str
    key: str
    value: bytes | None = None
    delta: bool = True
    allowed: tuple[bytes, ...] = ()

    def run(self, service: DeltaService, bucket: str, prefix: str) -> None:
        key = prefix + self.key
        if self.kind == "delete":
            service.delete(bucket, key)
        elif self.kind == "foreign":
            assert self.value is not None
            service.storage.put(bucket, key, self.value, {})
        elif self.kind == "get":
            got = bytes(service.get_bytes(bucket, key)[0])
            assert got in self.allowed, "a read racing a write gave neither version"
        else:
            assert self.value is not None
            options = PutOptions(1.0, self.delta, create_only=self.kind == "create")
            service.put_bytes(bucket, key, self.value, options)


def put(key: str, value: bytes, *, delta: bool = True) -> Op:
    return Op("put", key, value, delta)


def create(key: str, value: bytes, *, delta: bool = True) -> Op:
    return Op("create", key, value, delta)


def delete(key: str) -> Op:
    return Op("delete", key)


def foreign(key: str, value: bytes) -> Op:
    return Op("foreign", key, value)


def get(key: str, *allowed: bytes) -> Op:
    return Op("get", key, allowed=allowed)


@dataclass(frozen=True)
class Scenario:
    initial: tuple[tuple[str, bytes, bool], ...]
    """Files stored first: key, bytes, as a delta candidate or as is."""
    ops: tuple[Op | tuple[Op, ...], Op | tuple[Op, ...]]
    """Two operations, or two series of them (each series run by one engine
    in order, its clock two seconds later at each step)."""

    def series(self) -> list[tuple[Op, ...]]:
        return [op if isinstance(op, tuple) else (op,) for op in self.ops]

    @property
    def foreign(self) -> bool:
        """Whether a writer that knows nothing of deltas takes part."""
        return any(op.kind == "foreign" for ops in self.series() for op in ops)


ONE_KEY = (("f/other.zip", V[0], True), ("f/app.zip", V[1], True))
DIRECT_KEY = (("f/other.zip", V[0], True), ("f/app.zip", V[1], False))
LAST = (("g/a.zip", V[0], True),)
APP, A, B = "f/app.zip", "g/a.zip", "g/b.zip"
SCENARIOS = {
    # one key
    "delta vs direct": Scenario(ONE_KEY, (put(APP, V[2]), put(APP, V[3], delta=False))),
    "delta vs delta": Scenario(ONE_KEY, (put(APP, V[2]), put(APP, V[3]))),
    "direct vs direct": Scenario(
        DIRECT_KEY, (put(APP, V[2], delta=False), put(APP, V[3], delta=False))
    ),
    "delta vs delete": Scenario(ONE_KEY, (put(APP, V[2]), delete(APP))),
    "direct vs delete": Scenario(ONE_KEY, (put(APP, V[2], delta=False), delete(APP))),
    "overwrite of as-is vs delete": Scenario(DIRECT_KEY, (put(APP, V[2]), delete(APP))),
    "delete vs delete": Scenario(ONE_KEY, (delete(APP), delete(APP))),
    # one folder
    "delete of the last file vs put": Scenario(LAST, (delete(A), put(B, V[1]))),
    "delete of the last file vs put as is": Scenario(LAST, (delete(A), put(B, V[1], delta=False))),
    "delete of the last file vs overwrite": Scenario(
        (*LAST, (B, V[1], False)), (delete(A), put(B, V[2]))
    ),
    "first puts": Scenario((), (put("h/a.zip", V[0]), put("h/b.zip", V[1]))),
    "first put vs put as is": Scenario(
        (), (put("h/a.zip", V[0]), put("h/a.zip", V[1], delta=False))
    ),
    # create-only puts (If-None-Match: *) of a key the folder does not hold
    "create vs create": Scenario(LAST, (create(B, V[1]), create(B, V[2]))),
    "create vs create as is": Scenario(LAST, (create(B, V[1]), create(B, V[2], delta=False))),
    "create vs put as is": Scenario(LAST, (create(B, V[1]), put(B, V[2], delta=False))),
    "create as is vs put": Scenario(LAST, (create(B, V[1], delta=False), put(B, V[2]))),
    "create vs delete": Scenario(ONE_KEY, (create(APP, V[2]), delete(APP))),
    # a writer that knows nothing of deltas writes the key as is
    "delta vs foreign write": Scenario(ONE_KEY, (put(APP, V[2]), foreign(APP, V[3]))),
    "as-is vs foreign write": Scenario(ONE_KEY, (put(APP, V[2], delta=False), foreign(APP, V[3]))),
    "delete vs foreign write": Scenario(ONE_KEY, (delete(APP), foreign(APP, V[3]))),
    "read vs foreign write": Scenario(ONE_KEY, (get(APP, V[1], V[3]), foreign(APP, V[3]))),
    # two writers, each writing the key twice: a form rewritten by the
    # writer with the slower clock must still outrank what it replaced
    "deltas vs delta then as-is": Scenario(
        ONE_KEY, ((put(APP, V[2]), put(APP, V[3])), (put(APP, V[4]), put(APP, V[5], delta=False)))
    ),
}


def expected_outcomes(
    scenario: Scenario, succeeded: Sequence[bool]
) -> dict[str, set[bytes | None]]:
    """Per key, the final contents allowed: the last write of one of the
    series that succeeded (each series' earlier writes were replaced by its
    later ones).  A create-only write that succeeded beside a plain write
    of the key cannot be last: it came first, or it would have failed."""
    allowed: dict[str, set[bytes | None]] = {k: {v} for k, v, _ in scenario.initial}
    series = [s for s, ok in zip(scenario.series(), succeeded, strict=True) if ok]
    for key in {op.key for ops in scenario.series() for op in ops}:
        lasts = [
            [op for op in ops if op.key == key][-1]
            for ops in series
            if any(op.key == key for op in ops)
        ]
        lasts = [op for op in lasts if op.kind != "get"]
        if not lasts:  # every write of it was refused, or it was only read: as it was
            allowed[key] = allowed.get(key, {None})
            continue
        plain_put = any(op.kind == "put" for op in lasts)
        allowed[key] = {op.value for op in lasts if not (op.kind == "create" and plain_put)}
    return allowed


def check_state(
    reader: DeltaService,
    bucket: str,
    prefix: str,
    scenario: Scenario,
    succeeded: Sequence[bool] = (True, True),
    order: Sequence[int] | None = None,
) -> None:
    """``order``: the series in the order they ran, when one ended before
    the other began (the later one's write must then be what stands)."""
    listing = reader.list_logical(bucket, prefix)
    listed = {entry.key[len(prefix) :]: entry for entry in listing.objects}
    for entry in listing.objects:  # a size marker's size is the file's
        if entry.file_size is not None:
            assert entry.file_size == len(reader.get_bytes(bucket, entry.key)[0]), entry.key
    allowed_outcomes = expected_outcomes(scenario, succeeded)
    if order is not None:  # the later series' writes stand
        later = [i == order[-1] for i in range(len(succeeded))]
        written = {op.key for op in scenario.series()[order[-1]] if op.kind != "get"}
        allowed_outcomes.update(
            (k, v) for k, v in expected_outcomes(scenario, later).items() if k in written
        )
    for key, allowed in allowed_outcomes.items():
        got = bytes(reader.get_bytes(bucket, prefix + key)[0]) if key in listed else None
        names = {None: "absent", **{v: f"V{V.index(v)}" for v in V}}
        assert got in allowed, (
            f"{key}: {names[got]}, expected one of {sorted(names[a] for a in allowed)}"
        )
    physical = [o.key for o in reader.storage.iter_objects(bucket, prefix)]
    for key, entry in listed.items():
        both = {prefix + key, keys.delta_key(prefix + key)} <= set(physical)
        if scenario.foreign:  # nothing settles after it: reads, heads and listings agree
            head = reader.head(bucket, prefix + key)
            assert head is not None
            assert head.physical_key == entry.physical_key, f"{key}: head and listing disagree"
        else:
            assert not both, f"{key} is left stored in both forms"


def ran_in_order(trace: Sequence[str]) -> list[int] | None:
    """The operations' indices in the order they ran, if each ended before
    the next began; None if they overlapped."""
    runs = [int(step.split(":", 1)[0]) for step in trace]
    order = [i for n, i in enumerate(runs) if n == 0 or runs[n - 1] != i]
    return order if len(order) == len(set(order)) else None


def run_series(series: tuple[Op, ...], service: DeltaService, prefix: str) -> None:
    for op in series:
        op.run(service, BUCKET, prefix)
        assert isinstance(service.clock, FixedClock)
        service.clock.moment += timedelta(seconds=2)


def run_scenario(
    scenario: Scenario,
    fresh_state: Callable[[], tuple[StoragePort, str]],
) -> int:
    """Explore a scenario; returns the number of schedules run."""
    state: dict[str, Any] = {}

    def make_operations(gate: Callable[[Call], None]) -> Sequence[Callable[[], Any]]:
        store, prefix = fresh_state()
        setup = engine(store, T0 - timedelta(days=1))
        for key, value, candidate in scenario.initial:
            setup.put_bytes(BUCKET, prefix + key, value, PutOptions(delta=candidate))
        state.update(store=store, prefix=prefix)
        operations = []
        for index, series in enumerate(scenario.series()):
            service = engine(PausingStorage(store, gate), T0 + timedelta(seconds=index))
            operations.append(lambda s=series, e=service: run_series(s, e, prefix))
        return operations

    def check(run: Execution) -> None:
        series = scenario.series()
        refused = [
            isinstance(error, PreconditionFailedError) and [op.kind for op in ops] == ["create"]
            for error, ops in zip(run.errors, series, strict=True)
        ]
        failures = [repr(e) for e, r in zip(run.errors, refused, strict=True) if e and not r]
        assert not failures, f"an operation failed: {failures}"
        succeeded = [error is None for error in run.errors]
        creates = [
            ops[0].key
            for ops, ok in zip(series, succeeded, strict=True)
            if ok and ops[0].kind == "create"
        ]
        assert len(creates) == len(set(creates)), "two create-only puts of one key both succeeded"
        reader = engine(state["store"], T0 + timedelta(days=1))
        order = ran_in_order(run.trace) if scenario.foreign and all(succeeded) else None
        check_state(reader, BUCKET, state["prefix"], scenario, succeeded, order)

    return explore(make_operations, check).runs


def orders(name: str) -> Iterator[Any]:
    scenario = SCENARIOS[name]
    for order, ops in zip(("ab", "ba"), itertools.permutations(scenario.ops), strict=True):
        yield pytest.param(Scenario(scenario.initial, ops), id=f"{name}-{order}")


ALL = [p for name in SCENARIOS for p in orders(name)]
# Series take hundreds of schedules each: the local store runs them; the
# server runs every pair of single operations.
PAIRS = [
    p
    for name, scenario in SCENARIOS.items()
    if not any(isinstance(op, tuple) for op in scenario.ops)
    for p in orders(name)
]


@pytest.mark.parametrize("scenario", ALL)
def test_every_interleaving_on_the_local_store(scenario: Scenario, tmp_path: Path) -> None:
    counter = itertools.count()

    def fresh_state() -> tuple[StoragePort, str]:
        store = LocalStorage(tmp_path / f"run-{next(counter)}")
        store.create_bucket(BUCKET)
        return store, ""

    runs = run_scenario(scenario, fresh_state)
    assert runs >= 2  # at least the two orders of the two operations


@pytest.mark.parametrize("scenario", PAIRS)
def test_every_interleaving_on_seaweedfs(scenario: Scenario, seaweed_endpoint: str) -> None:
    from seaweed import fresh_bucket

    counter = itertools.count()
    with fresh_bucket(seaweed_endpoint, BUCKET) as store:

        def fresh_state() -> tuple[StoragePort, str]:
            return store, f"run-{next(counter)}/"

        runs = run_scenario(scenario, fresh_state)
    assert runs >= 2
