"""The command line's batch runner: parallel, but the first write into a
folder (its reference) goes first, removals go last, and the bytes in
flight stay under the cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from deltaglider.cli import batch
from deltaglider.cli.batch import Job, run_jobs
from deltaglider.cli.report import EXIT_PARTIAL, Report


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def job(self, name: str, *, space: str | None = None, removal: bool = False, size: int = 0,
            fail: bool = False) -> Job:  # fmt: skip
        def action(moved: object) -> str:
            with self.lock:
                self.events.append(("start", name))
                self.in_flight += size
                self.peak = max(self.peak, self.in_flight)
            time.sleep(0.02)
            with self.lock:
                self.events.append(("end", name))
                self.in_flight -= size
            if fail:
                raise OSError(f"{name} broke")
            return "done"

        return Job(f"did {name}", name, size, action, space=space, removal=removal)

    def when(self, kind: str, name: str) -> int:
        return self.events.index((kind, name))


@pytest.mark.parametrize("workers", [1, 4])
def test_middle_write_per_folder_goes_first_and_removals_last(
    capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    log = Log()
    jobs = [
        log.job("a1", space="b/a"),
        log.job("a2", space="b/a"),
        log.job("a3", space="b/a"),
        log.job("x1", space="b/x"),
        log.job("x2", space="b/x"),
        log.job("rm", removal=True),
        log.job("get"),
    ]
    report = Report()
    run_jobs(report, jobs, dryrun=False, batch=True, workers=workers)
    assert report.done == 7
    # a2 (the middle of three) and x1 (the first of two) become references.
    for later in ("a1", "a3", "x2", "get"):
        assert log.when("start", later) > log.when("end", "a2")
        assert log.when("start", later) > log.when("end", "x1")
    assert all(log.when("start", "rm") > log.when("end", n) for n in ("a1", "a3", "x2", "get"))
    if workers > 1:
        assert log.when("start", "x1") < log.when("end", "a2")  # folders' firsts run together
    assert sorted(capsys.readouterr().out.splitlines()) == sorted(
        f"did {n} (done)" for n in ("a1", "a2", "a3", "x1", "x2", "rm", "get")
    )


def test_bytes_in_flight_stay_under_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "IN_FLIGHT_BYTES", 100)
    log = Log()
    jobs = [log.job(f"j{i}", size=40) for i in range(8)] + [log.job("huge", size=500)]
    run_jobs(Report(quiet=True), jobs, dryrun=False, batch=True, workers=8)
    assert log.peak == 500  # the oversized job ran, alone
    small = Log()
    run_jobs(Report(quiet=True), [small.job(f"j{i}", size=40) for i in range(8)],
             dryrun=False, batch=True, workers=8)  # fmt: skip
    assert small.peak <= 80


def test_a_failure_in_a_batch_is_reported_and_the_rest_go_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = Log()
    report = Report()
    jobs = [log.job("ok1"), log.job("bad", fail=True), log.job("ok2")]
    run_jobs(report, jobs, dryrun=False, batch=True, workers=2)
    assert report.exit_code() == EXIT_PARTIAL
    assert "deltaglider: error: bad: bad broke" in capsys.readouterr().err
    single = Report()
    with pytest.raises(OSError, match="bad broke"):
        run_jobs(single, [Log().job("bad", fail=True)], dryrun=False, batch=False, workers=4)


def test_dryrun_only_shows(capsys: pytest.CaptureFixture[str]) -> None:
    log = Log()
    run_jobs(Report(), [log.job("a"), log.job("b")], dryrun=True, batch=True, workers=4)
    assert log.events == []
    assert capsys.readouterr().out == "(dryrun) did a\n(dryrun) did b\n"


def test_bytes_an_action_reports_are_not_counted_twice() -> None:
    report = Report(quiet=True)
    counted: list[tuple[str, int]] = []
    report.progress.moved = lambda n: counted.append(("moved", n))  # type: ignore[method-assign]
    report.progress.advance = lambda n=0: counted.append(("done", n))  # type: ignore[method-assign]

    def halfway(moved: Callable[[int], object]) -> str:
        moved(60)
        moved(70)  # more than the object's size: capped
        return "ok"

    run_jobs(report, [Job("did x", "x", 100, halfway)], dryrun=False, batch=False)
    assert counted == [("moved", 60), ("moved", 40), ("done", 0)]
