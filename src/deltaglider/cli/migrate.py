"""``migrate SRC DST``: copy a bucket or prefix of plain S3 objects into
delta storage, and report the bytes before and after.

It is resumable: an object already at the destination with the same size,
written no earlier than the source was (``aws s3 sync``'s rule), is skipped
(the engine writes each object whole or not at all, so a present object is
a complete one), so a run that was interrupted or had failures is finished
by running it again, and a source object rewritten since is copied again.
The source is only read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deltaglider.cli.batch import run_jobs
from deltaglider.cli.commands import copy_job
from deltaglider.cli.locations import S3Location
from deltaglider.cli.report import Report, UsageError
from deltaglider.cli.shared import (
    client_for,
    filter_rules,
    require_bucket,
    s3_entries,
    s3_location,
)
from deltaglider.cli.sync import needs_transfer
from deltaglider.cli.units import human


def migrate(args: argparse.Namespace, report: Report) -> None:
    """``migrate SRC DST`` (both ``s3://`` URLs)."""
    source, destination = s3_location(args.source), s3_location(args.destination)
    source, destination = source.child(""), destination.child("")  # both are folders
    if source.bucket == destination.bucket and (
        destination.key.startswith(source.key) or source.key.startswith(destination.key)
    ):
        raise UsageError(f"{source} and {destination} overlap; migrate into another prefix")
    client = client_for(args)
    require_bucket(client, destination.bucket)
    with report.progress.activity(f"listing {source} and {destination}"):
        pending = s3_entries(client, source, filter_rules(args))
        present = s3_entries(client, destination, [])
    todo = {r: e for r, e in pending.items() if needs_transfer("copy", e, present.get(r))}
    skipped = len(pending) - len(todo)
    before = sum(entry.size for entry in todo.values())
    report.line(
        f"migrate: {len(todo)} objects ({human(before)}) from {source} to {destination}"
        + (f"; {skipped} already there, skipped" if skipped else "")
    )
    if todo and not args.dryrun and not args.yes:
        _confirm(len(todo), before)
    stored: dict[str, int] = {}
    jobs = []
    for relative, entry in todo.items():
        assert isinstance(entry.location, S3Location)

        def record(info: dict[str, Any], relative: str = relative) -> None:
            stored[relative] = int(info["StoredSize"])

        target = destination.child(relative)
        jobs.append(
            copy_job(
                client,
                entry.location,
                target,
                entry.size,
                delta=not args.no_delta,
                max_ratio=args.max_ratio,
                label="migrate",
                record=record,
            )
        )
    run_jobs(report, jobs, dryrun=args.dryrun, batch=True, workers=args.jobs)
    migrated_bytes = sum(todo[r].size for r in stored)
    after = sum(stored.values())
    summary: dict[str, Any] = {
        "source": str(source),
        "destination": str(destination),
        "dry_run": args.dryrun,
        "objects": len(pending),
        "skipped": skipped,
        "migrated": len(stored),
        "failed": report.failed,
        "bytes_before": migrated_bytes,
        "bytes_after": after,
        "bytes_saved": migrated_bytes - after,
    }
    if args.json:
        report.json(summary)
    elif not args.dryrun:
        saved = 100.0 * (1 - after / migrated_bytes) if migrated_bytes else 0.0
        report.line(
            f"migrated {len(stored)} objects: {human(migrated_bytes)} before, "
            f"{human(after)} stored ({saved:.1f}% saved); "
            f"{skipped} skipped, {report.failed} failed"
        )


def _confirm(count: int, size: int) -> None:
    if not sys.stdin.isatty():
        raise UsageError("migrate asks before copying; pass --yes when not at a terminal")
    answer = input(f"Copy {count} objects ({human(size)}) into delta storage? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise RuntimeError("migration cancelled")
