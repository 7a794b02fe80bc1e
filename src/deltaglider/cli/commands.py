"""``cp``, ``ls``, ``rm``, ``mb`` and ``rb``: each takes the parsed
arguments and a Report."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deltaglider.cli.batch import Job, run_jobs
from deltaglider.cli.locations import S3Location, UnsafeKeyError, download_path, parse, upload_key
from deltaglider.cli.report import Report, UsageError
from deltaglider.cli.shared import (
    client_for,
    filter_rules,
    local_entries,
    local_label,
    local_target,
    outcome,
    require_bucket,
    s3_location,
    single_or_listed,
)
from deltaglider.cli.units import human
from deltaglider.client import DeltaGliderClient
from deltaglider.metering import ProgressCallback

# -- cp ----------------------------------------------------------------------

STREAM = "-"


def cp(args: argparse.Namespace, report: Report) -> None:
    """``cp SRC DST``: local->S3, S3->local, S3->S3; ``-`` is standard
    input or output."""
    if STREAM in (args.source, args.destination):
        _cp_stream(args, report)
        return
    client = client_for(args)
    jobs = _transfer_jobs(args, report, client)
    run_jobs(report, jobs, dryrun=args.dryrun, batch=args.recursive, workers=args.jobs)


def mv(args: argparse.Namespace, report: Report) -> None:
    """``mv SRC DST``: as ``cp``, each source removed once its copy is
    stored (a failed copy leaves its source)."""
    if STREAM in (args.source, args.destination):
        raise UsageError("mv does not take - (standard input or output); use cp")
    if args.source.rstrip("/") == args.destination.rstrip("/"):
        raise UsageError(f"cannot move {args.source} onto itself")
    client = client_for(args)
    jobs = [_moving(client, job) for job in _transfer_jobs(args, report, client)]
    run_jobs(report, jobs, dryrun=args.dryrun, batch=args.recursive, workers=args.jobs)


def _moving(client: DeltaGliderClient, job: Job) -> Job:
    """``job`` (a copy from its source, ``job.name``), then the source removed."""

    def action(moved: ProgressCallback) -> str | None:
        detail = job.action(moved)
        source = parse(job.name)
        if isinstance(source, S3Location):
            client.delete_object(Bucket=source.bucket, Key=source.key)
        else:
            source.unlink()
        return detail

    label = "move: " + job.label.split(": ", 1)[1]
    return Job(label, job.name, job.size, action, space=job.space)


def _transfer_jobs(
    args: argparse.Namespace, report: Report, client: DeltaGliderClient
) -> list[Job]:
    """``cp``'s (and ``mv``'s) jobs: one per file or object to copy."""
    source, destination = parse(args.source), parse(args.destination)
    if isinstance(source, Path) and isinstance(destination, Path):
        raise UsageError("one of SOURCE and DESTINATION must be an s3:// URL")
    if isinstance(destination, S3Location):
        require_bucket(client, destination.bucket)
    if isinstance(source, Path):
        assert isinstance(destination, S3Location)
        jobs = [
            upload_job(client, file, target, size, args)
            for file, target, size in _uploads(source, destination, args.recursive, args)
        ]
    elif isinstance(destination, Path):
        jobs = []
        for key, relative, size in single_or_listed(
            client, source, args.recursive, filter_rules(args), report
        ):
            remote = S3Location(source.bucket, key)
            if args.recursive:
                local = local_target(report, remote, destination, relative)
            else:
                try:
                    local = download_path(source, destination, given=args.destination)
                except UnsafeKeyError as problem:
                    report.failure(f"{remote}: skipped, {problem}")
                    local = None
            if local is not None:
                jobs.append(download_job(client, remote, local, size))
    else:
        jobs = []
        for key, relative, size in single_or_listed(
            client, source, args.recursive, filter_rules(args)
        ):
            if args.recursive or destination.is_folder:
                remote = destination.child(relative)
            else:
                remote = destination
            source_object = S3Location(source.bucket, key)
            jobs.append(
                copy_job(
                    client,
                    source_object,
                    remote,
                    size,
                    delta=not args.no_delta,
                    max_ratio=args.max_ratio,
                )
            )
    return jobs


def _cp_stream(args: argparse.Namespace, report: Report) -> None:
    """``cp - s3://b/key`` stores standard input; ``cp s3://b/key -``
    writes the object, verified before its first byte is written, to
    standard output.  Neither prints a result line, as with aws."""
    if args.recursive:
        raise UsageError("--recursive does not apply to - (standard input or output)")
    if args.source == STREAM:
        target = s3_location(args.destination)
        if target.is_folder:
            raise UsageError(f"{target}: give the key to store standard input under")
        client = client_for(args)
        require_bucket(client, target.bucket)
        if args.dryrun:
            report.ok(f"(dryrun) upload: - to {target}")
            return
        client.put_object(
            Bucket=target.bucket,
            Key=target.key,
            Body=sys.stdin.buffer,
            delta=not args.no_delta,
            max_ratio=args.max_ratio,
        )
        return  # aws prints nothing for standard input either
    source = s3_location(args.source)
    if args.destination != STREAM or source.is_folder:
        raise UsageError("cp with - copies one object to standard output: cp s3://b/key -")
    if args.dryrun:
        report.ok(f"(dryrun) download: {source} to -")
        return
    body = client_for(args).get_object(Bucket=source.bucket, Key=source.key)["Body"]
    out = sys.stdout.buffer
    for chunk in iter(lambda: body.read(1 << 20), b""):
        out.write(chunk)
    out.flush()


def _uploads(
    source: Path, destination: S3Location, recursive: bool, args: argparse.Namespace
) -> list[tuple[Path, S3Location, int]]:
    if not recursive:
        if source.is_dir():
            raise UsageError(f"{source} is a directory (use --recursive)")
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such file")
        return [(source, upload_key(source, destination), source.stat().st_size)]
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such directory")
    folder = destination if destination.is_folder else destination.child("")
    return [
        (entry.location, folder.child(relative), entry.size)
        for relative, entry in local_entries(source, filter_rules(args)).items()
        if isinstance(entry.location, Path)
    ]


def upload_job(
    client: DeltaGliderClient, file: Path, target: S3Location, size: int, args: argparse.Namespace
) -> Job:
    """Store a local file at ``target`` (``--no-delta``, ``--max-ratio``)."""

    def action(moved: ProgressCallback) -> str:
        summary = client.upload(
            file, str(target), max_ratio=args.max_ratio, delta=not args.no_delta, progress=moved
        )
        return outcome(
            {"IsDelta": summary.is_delta, "OriginalSize": summary.original_size,
             "StoredSize": summary.stored_size}
        )  # fmt: skip

    label = f"upload: {local_label(file)} to {target}"
    return Job(label, str(file), size, action, space=target.space)


def download_job(
    client: DeltaGliderClient,
    source: S3Location,
    target: Path,
    size: int,
    mtime: float | None = None,
) -> Job:
    """Rebuild an object into ``target`` (written only once verified);
    ``mtime`` sets the file's modification time, as ``aws s3 sync``
    does, so the next sync sees it unchanged."""

    def action(moved: ProgressCallback) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download(str(source), target, progress=moved)
        if mtime is not None:
            os.utime(target, (mtime, mtime))

    return Job(f"download: {source} to {local_label(target)}", str(source), size, action)


def copy_job(
    client: DeltaGliderClient,
    source: S3Location,
    target: S3Location,
    size: int,
    *,
    delta: bool = True,
    max_ratio: float | None = None,
    label: str = "copy",
    record: Callable[[dict[str, Any]], object] | None = None,
) -> Job:
    """Copy an object within the store, delta-compressed at the target
    (unless ``delta`` is False; ``max_ratio`` as for an upload); ``record``
    receives how it was stored."""

    def action(moved: ProgressCallback) -> str:
        response = client.copy_object(
            Bucket=target.bucket,
            Key=target.key,
            CopySource={"Bucket": source.bucket, "Key": source.key},
            delta=delta,
            max_ratio=max_ratio,
        )
        if record is not None:
            record(response["DeltaGlider"])
        return outcome(response["DeltaGlider"])

    return Job(f"{label}: {source} to {target}", str(source), size, action, space=target.space)


# -- ls ----------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def ls(args: argparse.Namespace, report: Report) -> None:
    """``ls [s3://bucket[/prefix]]``."""
    client = client_for(args)
    if not args.path or args.path.rstrip("/") == "s3:":  # ls, or ls s3:// as aws takes it
        for bucket in client.list_buckets()["Buckets"]:
            report.line(f"{_when(bucket['CreationDate'])} {bucket['Name']}")
        return
    location = s3_location(args.path)
    size_of = human if args.human_readable else str
    shown_from = location.key.rfind("/") + 1  # names shown relative to the last "/"
    count = total = stored_total = 0
    references: set[str] = set()
    counted: set[str] = set()  # references whose size is in the stored total
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket,
        Prefix=location.key,
        FetchMetadata=args.show_stored,
        **({} if args.recursive else {"Delimiter": "/"}),
    )
    for page in pages:
        for prefix in page.get("CommonPrefixes", []):
            report.line(f"{'PRE':>30} {prefix['Prefix'][shown_from:]}")
        for item in page.get("Contents", []):
            name = item["Key"] if args.recursive else item["Key"][shown_from:]
            columns = f"{_when(item['LastModified'])} {size_of(item['Size']):>10}"
            if args.show_stored:
                metadata = item.get("Metadata", {})
                stored = item["Size"]
                if metadata.get("deltaglider-is-delta") == "true":
                    stored = int(metadata["deltaglider-stored-size"])
                    reference = metadata["deltaglider-reference-key"]
                    if metadata.get("deltaglider-is-reference") == "true" and (
                        reference not in counted
                    ):
                        stored += item["Size"]  # this file's bytes are the reference
                        counted.add(reference)
                    references.add(reference)
                stored_total += stored
                columns += f" {size_of(stored):>10} {_saved(item['Size'], stored):>6}"
            report.line(f"{columns} {name}")
            count += 1
            total += item["Size"]
    client.save_delta_sizes()
    if args.summarize:
        report.line("")
        report.line(f"Total Objects: {count}")
        report.line(f"   Total Size: {size_of(total)}")
        if args.show_stored:
            line = f"  Stored Size: {size_of(stored_total)} ({_saved(total, stored_total)} less)"
            if references - counted:  # references whose file is not listed here
                line += (
                    f", plus {len(references - counted)} folder reference(s) "
                    "counted by `deltaglider stats`"
                )
            report.line(line)


def _saved(size: int, stored: int) -> str:
    saved = 100.0 * (1 - stored / size) if size else 0.0
    return f"{saved if saved <= -0.05 else max(saved, 0.0):.1f}%"  # never "-0.0%"


# -- rm, mb, rb --------------------------------------------------------------


def rm(args: argparse.Namespace, report: Report) -> None:
    """``rm s3://bucket/key`` or ``rm -r s3://bucket/prefix``."""
    location = s3_location(args.path)
    client = client_for(args)
    jobs = [
        delete_job(client, S3Location(location.bucket, key))
        for key, _, _ in single_or_listed(client, location, args.recursive, filter_rules(args))
    ]
    run_jobs(report, jobs, dryrun=args.dryrun, batch=args.recursive, workers=args.jobs)


def delete_job(client: DeltaGliderClient, target: S3Location) -> Job:
    """Delete one object (its delta and, once unused, its reference)."""

    def action(moved: ProgressCallback) -> None:
        client.delete_object(Bucket=target.bucket, Key=target.key)

    return Job(f"delete: {target}", str(target), 0, action, removal=True)


def mb(args: argparse.Namespace, report: Report) -> None:
    """``mb s3://bucket``."""
    location = s3_location(args.path)
    client = client_for(args)
    try:
        client.head_bucket(Bucket=location.bucket)
    except ClientError:
        client.create_bucket(Bucket=location.bucket)  # absent: make it
    else:  # as aws does, an existing bucket is not made again
        message = f"make_bucket failed: s3://{location.bucket}: the bucket exists and is yours"
        error = {"Error": {"Code": "BucketAlreadyOwnedByYou", "Message": message}}
        raise client.exceptions.BucketAlreadyOwnedByYou(error, "CreateBucket")
    report.ok(f"make_bucket: {location.bucket}")


def rb(args: argparse.Namespace, report: Report) -> None:
    """``rb s3://bucket`` (``--force`` deletes its objects first)."""
    location = s3_location(args.path)
    client = client_for(args)
    if args.force:
        rules: list[tuple[bool, str]] = []
        jobs = [
            delete_job(client, S3Location(location.bucket, key))
            for key, _, _ in single_or_listed(client, S3Location(location.bucket, ""), True, rules)
        ]
        run_jobs(report, jobs, dryrun=False, batch=False, workers=args.jobs)
    client.delete_bucket(Bucket=location.bucket)
    report.ok(f"remove_bucket: {location.bucket}")
