"""``stats``, ``verify`` and ``purge``: what a bucket holds, whether its
files rebuild to their recorded SHA-256, and removing what no file needs
(expired temporary copies, unused and retired references, orphaned size
markers, abandoned uploads)."""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from typing import Any

from deltaglider.cli.batch import Job, run_jobs
from deltaglider.cli.locations import S3Location
from deltaglider.cli.report import Report
from deltaglider.cli.shared import (
    client_for,
    filter_rules,
    s3_location,
    single_or_listed,
)
from deltaglider.cli.units import human
from deltaglider.client import DeltaGliderClient
from deltaglider.core.errors import IntegrityError
from deltaglider.core.housekeeping import Housekeeping
from deltaglider.core.stats import StatsMode
from deltaglider.metering import ProgressCallback


def _bucket(text: str) -> str:
    return s3_location(text if text.startswith("s3://") else f"s3://{text}").bucket


def stats(args: argparse.Namespace, report: Report) -> None:
    """``stats BUCKET``: objects, logical and stored bytes, savings."""
    bucket = _bucket(args.bucket)
    mode: StatsMode = "detailed" if args.detailed else "sampled" if args.sampled else "quick"
    client = client_for(args)
    with report.progress.activity(f"{mode} stats of {bucket}"):
        result = client.get_bucket_stats(
            bucket, mode=mode, use_cache=not args.no_cache, refresh_cache=args.refresh
        )
    if args.json:
        report.json(dataclasses.asdict(result))
        return
    report.line(f"Bucket:         {result.bucket} ({result.mode} stats)")
    report.line(
        f"Objects:        {result.object_count} "
        f"({result.delta_objects} as deltas, {result.direct_objects} stored as is)"
    )
    report.line(f"Total size:     {human(result.total_size)} ({result.total_size:,} bytes)")
    report.line(
        f"Stored size:    {human(result.compressed_size)} ({result.compressed_size:,} bytes)"
    )
    report.line(
        f"Space saved:    {human(result.space_saved)} "
        f"({100 * result.average_compression_ratio:.1f}%)"
    )
    if result.estimated_objects:
        report.line(
            f"Estimated:      {result.estimated_objects} delta sizes "
            "(use --detailed to read them all)"
        )


def verify(args: argparse.Namespace, report: Report) -> None:
    """``verify S3_URL``: rebuild objects and check their SHA-256."""
    location = s3_location(args.path)
    client = client_for(args)
    results: list[dict[str, Any]] = []
    jobs = [
        _verify_job(client, S3Location(location.bucket, key), size, results)
        for key, _, size in single_or_listed(client, location, args.recursive, filter_rules(args))
    ]
    run_jobs(report, jobs, dryrun=False, batch=args.recursive, workers=args.jobs)
    if args.json:
        report.json(sorted(results, key=lambda result: str(result["url"])))


def _verify_job(
    client: DeltaGliderClient, target: S3Location, size: int, results: list[dict[str, Any]]
) -> Job:
    def action(moved: ProgressCallback) -> str:
        result = client.verify_object(str(target))
        results.append({"url": str(target), **dataclasses.asdict(result)})
        if not result.valid:
            raise IntegrityError(f"integrity failure: {result.details}")
        kind = "delta" if result.operation == "VERIFY_DELTA" else "stored as is"
        return f"{kind}, sha256 {result.expected_hash[:16]}..."

    return Job(f"verified: {target}", str(target), size, action)


def purge(args: argparse.Namespace, report: Report) -> None:
    """``purge BUCKET``: remove what no file needs, each named for what it is."""
    bucket = _bucket(args.bucket)
    removed = client_for(args).purge_temp_files(bucket, dry_run=args.dryrun)
    kinds = {key: Housekeeping.purged_kind(key) for key in removed}
    if args.json:
        report.json({"bucket": bucket, "dry_run": args.dryrun, "expired": removed, "kinds": kinds})
        return
    prefix = "(dryrun) purge" if args.dryrun else "purged"
    for key in removed:
        report.ok(f"{prefix}: s3://{bucket}/{key} ({kinds[key]})")
    counts = Counter(kinds.values())
    what = ", ".join(f"{n} {kind if n == 1 else _plural(kind)}" for kind, n in counts.items())
    verb = "would be removed" if args.dryrun else "removed"
    report.line(f"{what or 'nothing'} {verb} from {bucket}")


def _plural(kind: str) -> str:
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
