"""``sync SRC DST``: make a folder or prefix match another, transferring
only what changed, with ``aws s3 sync``'s decisions.

A file missing at the destination is always transferred.  One present on
both sides is transferred when the sizes differ; with equal sizes:

- uploads and S3 copies: when the source is newer than the destination;
- downloads: when the local file is newer than the object (aws's default,
  which keeps downloaded files, stamped with the object's time, as they
  are); with ``--exact-timestamps``, when the times differ at all;
- with ``--size-only``, never.

``--delete`` removes destination files that the source does not have (the
filters apply to both sides, so an excluded file is never deleted).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from deltaglider.cli.batch import Job, run_jobs
from deltaglider.cli.commands import copy_job, delete_job, download_job, upload_job
from deltaglider.cli.locations import S3Location, parse
from deltaglider.cli.report import Report, UsageError
from deltaglider.cli.shared import (
    Entry,
    client_for,
    filter_rules,
    local_entries,
    local_label,
    local_target,
    require_bucket,
    s3_entries,
)
from deltaglider.client import DeltaGliderClient
from deltaglider.metering import ProgressCallback

Direction = Literal["upload", "download", "copy"]


def needs_transfer(
    direction: Direction,
    source: Entry,
    destination: Entry | None,
    *,
    size_only: bool = False,
    exact_timestamps: bool = False,
) -> bool:
    """Whether sync copies ``source`` over ``destination`` (see the module
    docstring).  Times are compared to the second, as S3 keeps them."""
    if destination is None or source.size != destination.size:
        return True
    if size_only:
        return False
    source_time, destination_time = int(source.mtime), int(destination.mtime)
    if direction == "download":
        if exact_timestamps:
            return source_time != destination_time
        return destination_time > source_time
    return source_time > destination_time


def sync(args: argparse.Namespace, report: Report) -> None:
    """``sync SRC DST`` local->S3, S3->local or S3->S3."""
    source, destination = parse(args.source), parse(args.destination)
    if isinstance(source, Path) and isinstance(destination, Path):
        raise UsageError("one of SOURCE and DESTINATION must be an s3:// URL")
    if args.exact_timestamps and not (
        isinstance(source, S3Location) and isinstance(destination, Path)
    ):
        raise UsageError("--exact-timestamps applies only to syncing from S3 to a local folder")
    if isinstance(source, Path) and not source.is_dir():
        raise FileNotFoundError(f"{source}: no such directory")
    client = client_for(args)
    if isinstance(destination, S3Location):
        require_bucket(client, destination.bucket)
    rules = filter_rules(args)
    with report.progress.activity(f"comparing {args.source} and {args.destination}"):
        source_entries = _entries(client, source, rules, report)
        destination_entries = _entries(client, destination, rules)  # none in a new folder
    direction: Direction = (
        "upload"
        if isinstance(source, Path)
        else "download"
        if isinstance(destination, Path)
        else "copy"
    )
    jobs: list[Job] = []
    for relative, entry in source_entries.items():
        if not needs_transfer(
            direction,
            entry,
            destination_entries.get(relative),
            size_only=args.size_only,
            exact_timestamps=args.exact_timestamps,
        ):
            continue
        job = _transfer(client, args, report, entry, destination, relative)
        if job is not None:
            jobs.append(job)
    if args.delete:
        for relative, entry in destination_entries.items():
            if relative not in source_entries:
                jobs.append(_removal(client, entry))
    run_jobs(report, jobs, dryrun=args.dryrun, batch=True, workers=args.jobs)


def _entries(
    client: DeltaGliderClient,
    side: Path | S3Location,
    rules: list[tuple[bool, str]],
    report: Report | None = None,
) -> dict[str, Entry]:
    if isinstance(side, Path):
        return local_entries(side, rules)
    return s3_entries(client, side, rules, report)


def _transfer(
    client: DeltaGliderClient,
    args: argparse.Namespace,
    report: Report,
    entry: Entry,
    destination: Path | S3Location,
    relative: str,
) -> Job | None:
    source = entry.location
    if isinstance(source, Path):
        assert isinstance(destination, S3Location)
        return upload_job(client, source, destination.child(relative), entry.size, args)
    if isinstance(destination, S3Location):
        target = destination.child(relative)
        return copy_job(client, source, target, entry.size, delta=not args.no_delta)
    local = local_target(report, source, destination, relative)
    if local is None:
        return None
    return download_job(client, source, local, entry.size, mtime=entry.mtime)


def _removal(client: DeltaGliderClient, entry: Entry) -> Job:
    target = entry.location
    if isinstance(target, S3Location):
        return delete_job(client, target)
    local = target

    def action(moved: ProgressCallback) -> None:
        local.unlink()

    return Job(f"delete: {local_label(local)}", str(local), 0, action, removal=True)
