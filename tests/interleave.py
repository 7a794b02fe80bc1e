"""Every interleaving of two operations' storage calls, explored.

:class:`PausingStorage` wraps a store: a thread taking part in an
:class:`Execution` stops before each storage call until the explorer lets it
make that call.  :func:`explore` runs two (or more) operations, each in its
own thread with its own engine (as two processes would), and chooses at
every call which operation goes next, trying every choice: a depth-first
search over schedules, replaying each from a fresh state.  Orders that only
swap calls which cannot affect each other (two reads, or calls on unrelated
keys) give the same outcome, so a sleep set skips them (Godefroid's
partial-order reduction): every distinct outcome is still reached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from deltaglider.core.size_markers import MARKER_PREFIX
from deltaglider.ports.storage import ListPage, ObjectHead, StoragePort, iter_listing


@dataclass(frozen=True)
class Call:
    """A pending storage call: the keys it reads, the prefixes it lists and
    the keys it changes."""

    name: str
    reads: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()

    def touches(self, key: str) -> bool:
        return key in self.reads or any(key.startswith(p) for p in self.lists)

    def independent(self, other: Call) -> bool:
        """Whether the two calls give the same result in either order."""
        return not any(other.touches(k) or k in other.writes for k in self.writes) and not any(
            self.touches(k) for k in other.writes
        )


class _Participant:
    def __init__(self) -> None:
        self.go = threading.Semaphore(0)
        self.pending: Call | None = None
        self.finished = False


class Execution:
    """One run of the operations under a schedule chosen call by call."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._local = threading.local()
        self._participants: list[_Participant] = []
        self._threads: list[threading.Thread] = []
        self.results: list[Any] = []
        self.errors: list[BaseException | None] = []
        self.choices: list[int] = []
        self.trace: list[str] = []

    def start(self, operations: Sequence[Callable[[], Any]]) -> None:
        """Start each operation in a thread of its own."""
        self._participants = [_Participant() for _ in operations]
        self.results = [None] * len(operations)
        self.errors = [None] * len(operations)
        self._threads = [
            threading.Thread(target=self._run, args=(i, op), daemon=True)
            for i, op in enumerate(operations)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, index: int, operation: Callable[[], Any]) -> None:
        self._local.index = index
        me = self._participants[index]
        try:
            self.results[index] = operation()
        except BaseException as exc:  # an operation may fail: the checks decide
            self.errors[index] = exc
        finally:
            with self._cond:
                me.finished = True
                me.pending = None
                self._cond.notify_all()

    def gate(self, call: Call) -> None:
        """Called by the store before a call: wait for this thread's turn."""
        index = getattr(self._local, "index", None)
        if index is None:
            return  # not one of the operations (set-up, checks)
        me = self._participants[index]
        with self._cond:
            me.pending = call
            self._cond.notify_all()
        me.go.acquire()

    def _settled(self) -> bool:
        return all(p.finished or p.pending is not None for p in self._participants)

    def enabled(self) -> list[int]:
        """The operations waiting at a call, once every one is waiting or done."""
        with self._cond:
            if not self._cond.wait_for(self._settled, timeout=60):
                raise TimeoutError("an operation neither finished nor reached a storage call")
            return [i for i, p in enumerate(self._participants) if not p.finished]

    def pending(self, index: int) -> Call:
        call = self._participants[index].pending
        assert call is not None
        return call

    def step(self, index: int) -> None:
        """Let operation ``index`` make its pending call."""
        self.enabled()
        me = self._participants[index]
        with self._cond:
            assert me.pending is not None, f"operation {index} is not waiting"
            self.trace.append(f"{index}:{me.pending.name}")
            me.pending = None
        self.choices.append(index)
        me.go.release()

    def finish_any_order(self) -> None:
        """Let every operation run to its end (an abandoned schedule)."""
        while waiting := self.enabled():
            self.step(waiting[0])
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)


@dataclass
class Exploration:
    """What :func:`explore` did."""

    runs: int = 0
    pruned: int = 0
    traces: list[list[str]] = field(default_factory=list)


def explore(
    make_operations: Callable[[Callable[[Call], None]], Sequence[Callable[[], Any]]],
    check: Callable[[Execution], None],
    *,
    max_runs: int = 20_000,
) -> Exploration:
    """Run the operations under every schedule that can matter.

    ``make_operations(gate)`` sets up a fresh state and returns the
    operations, whose stores call ``gate`` before each storage call;
    ``check(execution)`` asserts what must hold once they have all ended."""
    done = Exploration()
    stack: list[tuple[list[int], frozenset[int]]] = [([], frozenset())]
    while stack:
        prefix, sleep = stack.pop()
        run = Execution()
        run.start(make_operations(run.gate))
        for choice in prefix:
            run.step(choice)
        blocked = False
        while waiting := run.enabled():
            awake = [i for i in waiting if i not in sleep]
            if not awake:
                blocked = True  # every order from here was seen in another run
                break
            chosen = awake[0]
            for n, other in enumerate(awake[1:], 1):
                earlier = set(sleep) | set(awake[:n])
                branch_sleep = frozenset(
                    u for u in earlier if run.pending(u).independent(run.pending(other))
                )
                stack.append(([*run.choices, other], branch_sleep))
            sleep = frozenset(u for u in sleep if run.pending(u).independent(run.pending(chosen)))
            run.step(chosen)
        if blocked:
            run.finish_any_order()
            done.pruned += 1
            continue
        run.join()
        done.runs += 1
        done.traces.append(run.trace)
        try:
            check(run)
        except AssertionError as exc:
            raise AssertionError(f"schedule {' '.join(run.trace)}: {exc}") from exc
        if done.runs >= max_runs:
            raise AssertionError(f"more than {max_runs} schedules: bound the scenario")
    return done


class PausingStorage:
    """A store whose every call first passes ``gate`` (see :func:`explore`).

    Calls on size markers pass without a pause: no operation reads them to
    decide anything, and a marker names the ETag it describes, so no order
    of them can lose a write or give a wrong size (the checks compare the
    sizes a listing gives with the bytes read); exploring their orders
    would only multiply the schedules."""

    def __init__(self, inner: StoragePort, gate: Callable[[Call], None]) -> None:
        self.inner = inner
        self._gate = gate

    def _pause(self, call: Call, key: str) -> None:
        if not key.startswith(MARKER_PREFIX):
            self._gate(call)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        self._pause(Call(f"head {key}", reads=frozenset({key})), key)
        return self.inner.head(bucket, key)

    def open(
        self, bucket: str, key: str, *, if_match: str | None = None
    ) -> tuple[ObjectHead, BinaryIO]:
        self._pause(Call(f"get {key}", reads=frozenset({key})), key)
        return self.inner.open(bucket, key, if_match=if_match)

    def check_key(self, key: str) -> None:
        self.inner.check_key(key)

    def put(self, bucket: str, key: str, body: Any, metadata: Mapping[str, str], **kw: Any) -> str:
        self._pause(Call(f"put {key}", writes=frozenset({key})), key)
        return self.inner.put(bucket, key, body, metadata, **kw)

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        self._pause(Call(f"delete {key}", writes=frozenset({key})), key)
        self.inner.delete(bucket, key, if_match=if_match)

    def copy(self, bucket: str, source_key: str, key: str) -> str:
        self._gate(
            Call(f"copy {source_key} {key}", reads=frozenset({source_key}), writes=frozenset({key}))
        )
        return self.inner.copy(bucket, source_key, key)

    def list_objects(self, bucket: str, prefix: str = "", **kw: Any) -> ListPage:
        self._pause(Call(f"list {prefix}", lists=frozenset({prefix})), prefix)
        return self.inner.list_objects(bucket, prefix, **kw)

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[Any]:
        return iter_listing(self.list_objects, bucket, prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
