"""What the commands share: the client, object listings on both sides, and
running a batch of per-object jobs with progress and failure reporting."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from deltaglider.cli.filters import included
from deltaglider.cli.locations import S3Location, parse
from deltaglider.cli.report import Report
from deltaglider.cli.units import human
from deltaglider.client import DeltaGliderClient, create_client


class UsageError(Exception):
    """The arguments do not make a command (exit code 2)."""


def client_for(args: argparse.Namespace) -> DeltaGliderClient:
    """The SDK client the global options describe."""
    options: dict[str, Any] = {"log_level": "DEBUG" if args.debug else "WARNING"}
    if args.profile:
        options["profile_name"] = args.profile
    if args.region:
        options["region_name"] = args.region
    return create_client(endpoint_url=args.endpoint_url, **options)


def s3_location(text: str) -> S3Location:
    """``text`` as an ``s3://`` URL, or a usage error."""
    location = parse(text)
    if not isinstance(location, S3Location):
        raise UsageError(f"expected an s3://bucket/key URL, got {text!r}")
    return location


def filter_rules(args: argparse.Namespace) -> list[tuple[bool, str]]:
    """The ``--include``/``--exclude`` rules, in the order given."""
    rules: list[tuple[bool, str]] = getattr(args, "filters", None) or []
    return rules


def local_label(path: Path) -> str:
    """A local path as aws prints it: relative ones start with ``./``."""
    return str(path) if path.is_absolute() else os.path.join(".", str(path))


def outcome(info: dict[str, Any]) -> str:
    """How a file was stored, from a response's ``DeltaGlider`` part."""
    original, stored = int(info["OriginalSize"]), int(info["StoredSize"])
    if not info["IsDelta"]:
        return f"stored as is, {human(stored)}"
    if info.get("ReferenceCreated") or stored > original:
        return f"new reference, {human(original)}"
    saved = 100.0 * (1 - stored / original) if original else 0.0
    return f"delta, {human(stored)} stored, {saved:.1f}% saved"


# -- what is on each side ------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file or object: where it is, its size and modification time
    (seconds since the epoch)."""

    location: Path | S3Location
    size: int
    mtime: float


def s3_entries(
    client: DeltaGliderClient, folder: S3Location, rules: list[tuple[bool, str]]
) -> dict[str, Entry]:
    """The objects under the prefix ``folder`` (a trailing ``/`` is
    implied), by path relative to it, filtered."""
    prefix = folder.key if folder.is_folder else folder.key + "/"
    found: dict[str, Entry] = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=folder.bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if included(relative, rules):
                modified: datetime = item["LastModified"]
                found[relative] = Entry(
                    S3Location(folder.bucket, item["Key"]), item["Size"], modified.timestamp()
                )
    return found


def local_entries(root: Path, rules: list[tuple[bool, str]]) -> dict[str, Entry]:
    """The files under ``root``, by ``/``-separated path relative to it,
    filtered."""
    found: dict[str, Entry] = {}
    for file in sorted(root.rglob("*")):
        if not file.is_file():
            continue
        relative = file.relative_to(root).as_posix()
        if included(relative, rules):
            status = file.stat()
            found[relative] = Entry(file, status.st_size, status.st_mtime)
    return found


# -- running a batch -----------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One object's work: the line printed when it is done, the name
    errors give, the bytes it moves, and the action (which may return a
    detail for the line)."""

    label: str
    name: str
    size: int
    action: Callable[[], str | None]


def run_jobs(report: Report, jobs: Sequence[Job], *, dryrun: bool, batch: bool) -> None:
    """Do each job in order (or only show it with ``dryrun``), with
    progress.  In a batch a failure is reported and the rest go on;
    otherwise it ends the command with its own exit code."""
    report.progress.start(len(jobs), sum(job.size for job in jobs))
    try:
        for job in jobs:
            if dryrun:
                report.ok(f"(dryrun) {job.label}")
                continue
            report.progress.working_on(job.name)
            try:
                detail = job.action()
            except Exception as exc:
                if not batch:
                    raise
                report.failure(f"{job.name}: {exc}", exc)
                continue
            report.ok(f"{job.label} ({detail})" if detail else job.label)
            report.progress.advance(job.size)
    finally:
        report.progress.stop()


def single_or_listed(
    client: DeltaGliderClient,
    source: S3Location,
    recursive: bool,
    rules: list[tuple[bool, str]],
) -> Iterator[tuple[str, str, int]]:
    """(key, path relative to the source, size) of each object a command
    names: the one key, or with ``recursive`` everything under it."""
    if not recursive:
        if source.is_folder:
            raise UsageError(f"{source} is a prefix (use --recursive)")
        yield source.key, PurePosixPath(source.key).name, 0
        return
    for relative, entry in s3_entries(client, source, rules).items():
        assert isinstance(entry.location, S3Location)
        yield entry.location.key, relative, entry.size
