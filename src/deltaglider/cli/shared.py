"""What the commands share: the client, locations, and object listings on
both sides."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from deltaglider.cli.filters import included
from deltaglider.cli.locations import S3Location, UnsafeKeyError, local_path, parse
from deltaglider.cli.report import Report, UsageError
from deltaglider.cli.units import human
from deltaglider.client import DeltaGliderClient, create_client


def client_for(args: argparse.Namespace) -> DeltaGliderClient:
    """The SDK client the global options describe."""
    options: dict[str, Any] = {"log_level": "DEBUG" if args.debug else "WARNING"}
    if args.profile:
        options["profile_name"] = args.profile
    if args.region:
        options["region_name"] = args.region
    if getattr(args, "archive_deltas", None):
        options["archive_deltas"] = args.archive_deltas
    return create_client(endpoint_url=args.endpoint_url, **options)


def require_bucket(client: DeltaGliderClient, bucket: str) -> None:
    """Fail once, before a batch, rather than once per object."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
            raise FileNotFoundError(f"s3://{bucket}: no such bucket") from None
        raise


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
    """A local path as aws prints it: relative to the working directory,
    whatever was typed (``./a.zip``, ``src/a.zip``, ``../b/a.zip``);
    absolute where no relative path leads there (another drive)."""
    absolute = os.path.abspath(path)
    folder, name = os.path.split(absolute)
    try:
        return os.path.join(os.path.relpath(folder), name)
    except ValueError:
        return absolute


def outcome(info: dict[str, Any]) -> str:
    """How a file was stored, from a response's ``DeltaGlider`` part (the
    ``UploadSummary`` fields, plus ``ReferenceCreated`` when known)."""
    original, stored = int(info["OriginalSize"]), int(info["StoredSize"])
    if not info["IsDelta"]:
        return f"stored as is, {human(stored)}"
    if info.get("ReferenceCreated") or stored > original:
        return f"new reference, {human(original)}"
    saved = 100.0 * (1 - stored / original) if original else 0.0
    return f"delta, {human(stored)} stored, {saved:.1f}% saved"


def local_target(
    report: Report, source: S3Location, destination: Path, relative: str
) -> Path | None:
    """Where a recursive download writes ``relative``: None for a folder
    marker (folders are made as files land) and for a key that cannot be a
    file there (see :func:`local_path`), which is reported and skipped."""
    if relative.endswith("/"):
        return None
    try:
        return local_path(destination, relative)
    except UnsafeKeyError as problem:
        report.failure(f"{source}: skipped, {problem}")
        return None


# -- what is on each side ------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file or object: where it is, its size and modification time
    (seconds since the epoch)."""

    location: Path | S3Location
    size: int
    mtime: float


def s3_entries(
    client: DeltaGliderClient,
    folder: S3Location,
    rules: list[tuple[bool, str]],
    report: Report | None = None,
) -> dict[str, Entry]:
    """The objects under the prefix ``folder`` (a trailing ``/`` is
    implied), by path relative to it, filtered.  With ``report`` (a
    command that copies them), another tool's ``reference.bin`` files,
    which cannot be listed, are reported as left out."""
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
    client.save_delta_sizes()
    if report is not None:
        for key in client.foreign_references(Bucket=folder.bucket, Prefix=prefix):
            if included(key[len(prefix) :], rules):
                report.failure(
                    f"s3://{folder.bucket}/{key}: skipped, another tool's file named "
                    "reference.bin, the name deltaglider keeps folder references under "
                    "(fetch it with aws s3 cp)"
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


def single_or_listed(
    client: DeltaGliderClient,
    source: S3Location,
    recursive: bool,
    rules: list[tuple[bool, str]],
    report: Report | None = None,
) -> Iterator[tuple[str, str, int]]:
    """(key, path relative to the source, size) of each object a command
    names: the one key, or with ``recursive`` everything under it (with
    ``report``, what cannot be listed is reported: see :func:`s3_entries`)."""
    if not recursive:
        if source.is_folder:
            raise UsageError(f"{source} is a prefix (use --recursive)")
        try:  # its size, for progress
            size = int(client.head_object(Bucket=source.bucket, Key=source.key)["ContentLength"])
        except ClientError:
            size = 0  # missing (or unreadable): the command itself says so
        yield source.key, PurePosixPath(source.key).name, size
        return
    for relative, entry in s3_entries(client, source, rules, report).items():
        assert isinstance(entry.location, S3Location)
        yield entry.location.key, relative, entry.size
