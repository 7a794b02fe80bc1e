"""Running a command's per-object jobs: in parallel, with progress, and
with failures reported one by one.

Order matters in one place: the first file stored into a folder becomes
its reference, so the first job writing into each folder runs (alongside
other folders' first jobs) before that folder's other jobs start; that
keeps the reference the first file in listing order, as a sequential run
would.  Deletions run last, after every transfer.  The bytes in flight are
capped, since each delta encode holds its file and reference in memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from deltaglider.cli.report import Report

IN_FLIGHT_BYTES = 512 << 20


@dataclass(frozen=True)
class Job:
    """One object's work: the line printed when it is done, the name
    errors give, the bytes it moves, the action (which may return a detail
    for the line), the folder it writes into (``bucket/prefix``), and
    whether it deletes."""

    label: str
    name: str
    size: int
    action: Callable[[], str | None]
    space: str | None = None
    removal: bool = False


def run_jobs(
    report: Report,
    jobs: Sequence[Job],
    *,
    dryrun: bool,
    batch: bool,
    workers: int = 1,
) -> None:
    """Do the jobs (or only show them with ``dryrun``), with progress.  In
    a batch a failure is reported and the rest go on; otherwise it ends
    the command with its own exit code."""
    if dryrun:
        for job in jobs:
            report.ok(f"(dryrun) {job.label}")
        return
    report.progress.start(len(jobs), sum(job.size for job in jobs))
    try:
        if workers <= 1 or not batch:
            for job in jobs:
                _run(report, job, batch)
            return
        budget = _Budget(IN_FLIGHT_BYTES)
        with ThreadPoolExecutor(workers, thread_name_prefix="deltaglider-job") as pool:
            for phase in _phases(jobs):
                wait([pool.submit(_run_within, report, job, budget) for job in phase])
    finally:
        report.progress.stop()


def _phases(jobs: Sequence[Job]) -> list[list[Job]]:
    """Each folder's first write; then the other transfers; then removals."""
    firsts: list[Job] = []
    others: list[Job] = []
    removals: list[Job] = []
    seen: set[str] = set()
    for job in jobs:
        if job.removal:
            removals.append(job)
        elif job.space is not None and job.space not in seen:
            seen.add(job.space)
            firsts.append(job)
        else:
            others.append(job)
    return [phase for phase in (firsts, others, removals) if phase]


def _run(report: Report, job: Job, batch: bool) -> None:
    report.progress.working_on(job.name)
    try:
        detail = job.action()
    except Exception as exc:
        if not batch:
            raise
        report.failure(f"{job.name}: {exc}", exc)
        return
    report.ok(f"{job.label} ({detail})" if detail else job.label)
    report.progress.advance(job.size)


def _run_within(report: Report, job: Job, budget: _Budget) -> None:
    with budget.hold(job.size):
        _run(report, job, batch=True)


class _Budget:
    """Bytes in flight, capped; a job larger than the cap runs alone."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self.used == 0 or self.used + size <= self.limit)
            self.used += size
        try:
            yield
        finally:
            with self._changed:
                self.used -= size
                self._changed.notify_all()
