"""Running a command's per-object jobs: in parallel, with progress, and
with failures reported one by one.

Order matters in one place: the first file stored into a folder without a
reference becomes its reference, so one chosen job per folder (see
:func:`_phases`) runs, alongside other folders' chosen jobs, before that
folder's other jobs start.  Deletions run last, after every transfer.  The
bytes in flight are capped, since an upload holds its file in memory; the
codec itself runs no more encodes at once than there are CPUs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from deltaglider.cli.report import Report
from deltaglider.metering import Meter, ProgressCallback

IN_FLIGHT_BYTES = 512 << 20


@dataclass(frozen=True)
class Job:
    """One object's work: the line printed when it is done, the name
    errors give, the bytes it moves, the action (given a callback for the
    bytes it moves as it goes; it may return a detail for the line), the
    folder it writes into (``bucket/prefix``), and whether it deletes."""

    label: str
    name: str
    size: int
    action: Callable[[ProgressCallback], str | None]
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
        if not batch:
            for job in jobs:
                _run(report, job, batch)
            return
        if workers == 1:
            for phase in _phases(jobs):
                for job in phase:
                    _run(report, job, batch)
            return
        budget = _Budget(IN_FLIGHT_BYTES)
        pool = ThreadPoolExecutor(workers, thread_name_prefix="deltaglider-job")
        try:
            for phase in _phases(jobs):
                wait([pool.submit(_run_within, report, job, budget) for job in phase])
        finally:
            # On Ctrl-C, start nothing more; the jobs running finish whole
            # (every write is atomic), then the command ends.
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        report.progress.stop()


def _phases(jobs: Sequence[Job]) -> list[list[Job]]:
    """Each folder's reference candidate; then the other transfers; then
    removals.  The candidate is the folder's middle file in listing order:
    for a series of versions that is the one closest to all the others,
    so their deltas are smallest (six botocore releases: 30.8 MB stored
    instead of 35.8 MB with the first as reference)."""
    by_space: dict[str, list[Job]] = {}
    for job in jobs:
        if job.space is not None and not job.removal:
            by_space.setdefault(job.space, []).append(job)
    firsts = [group[(len(group) - 1) // 2] for group in by_space.values()]
    chosen = {id(job) for job in firsts}
    others = [job for job in jobs if not job.removal and id(job) not in chosen]
    removals = [job for job in jobs if job.removal]
    return [phase for phase in (firsts, others, removals) if phase]


def _run(report: Report, job: Job, batch: bool) -> None:
    report.progress.working_on(job.name)
    moved = Meter(report.progress.moved, job.size)
    try:
        detail = job.action(moved.add)
    except Exception as exc:
        if not batch:
            raise
        report.failure(f"{job.name}: {exc}", exc)
        return
    report.ok(f"{job.label} ({detail})" if detail else job.label)
    report.progress.advance(job.size - moved.reported)


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
