"""The commands: each takes the parsed arguments and a Report."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from deltaglider.cli.filters import included
from deltaglider.cli.locations import (
    S3Location,
    download_path,
    parse,
    safe_local_path,
    upload_key,
)
from deltaglider.cli.report import Report, human
from deltaglider.client import DeltaGliderClient, UploadSummary, create_client


class UsageError(Exception):
    """The arguments do not make a command (exit code 2)."""


def _client(args: argparse.Namespace) -> DeltaGliderClient:
    options: dict[str, Any] = {"log_level": "DEBUG" if args.debug else "WARNING"}
    if args.profile:
        options["profile_name"] = args.profile
    if args.region:
        options["region_name"] = args.region
    return create_client(endpoint_url=args.endpoint_url, **options)


def _s3(text: str) -> S3Location:
    location = parse(text)
    if not isinstance(location, S3Location):
        raise UsageError(f"expected an s3://bucket/key URL, got {text!r}")
    return location


def _outcome(summary: UploadSummary) -> str:
    if not summary.is_delta:
        return f"stored as is, {human(summary.stored_size)}"
    if summary.stored_size > summary.original_size:
        return f"new reference, {human(summary.original_size)}"
    return f"delta, {human(summary.stored_size)} stored, {summary.savings_percent:.1f}% saved"


def _label(path: Path) -> str:
    return str(path) if path.is_absolute() else os.path.join(".", str(path))


# -- cp ----------------------------------------------------------------------


def cp(args: argparse.Namespace, report: Report) -> None:
    """``cp SRC DST``: local->S3, S3->local, S3->S3."""
    source, destination = parse(args.source), parse(args.destination)
    rules = getattr(args, "filters", None) or []
    if isinstance(source, Path) and isinstance(destination, Path):
        raise UsageError("one of SOURCE and DESTINATION must be an s3:// URL")
    client = _client(args)
    if isinstance(source, Path):
        assert isinstance(destination, S3Location)
        for file, target in _uploads(source, destination, args.recursive, rules):
            _upload(client, args, report, file, target)
    elif isinstance(destination, Path):
        for key, relative in _sources(client, source, args.recursive, rules):
            local: Path | None = download_path(source, destination, given=args.destination)
            if args.recursive:
                local = safe_local_path(destination, relative)
            if local is None:
                report.failure(
                    f"s3://{source.bucket}/{key}: skipped, the key would be written "
                    f"outside {destination}"
                )
                continue
            _download(client, args, report, S3Location(source.bucket, key), local)
    else:
        for key, relative in _sources(client, source, args.recursive, rules):
            if args.recursive:
                remote = destination.child(relative)
            else:
                remote = destination.child(relative) if destination.is_folder else destination
            _copy(client, args, report, S3Location(source.bucket, key), remote)


def _uploads(
    source: Path, destination: S3Location, recursive: bool, rules: list[tuple[bool, str]]
) -> Iterator[tuple[Path, S3Location]]:
    if not recursive:
        if source.is_dir():
            raise UsageError(f"{source} is a directory (use --recursive)")
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such file")
        yield source, upload_key(source, destination)
        return
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such directory")
    folder = (
        destination
        if destination.is_folder
        else S3Location(destination.bucket, destination.key + "/")
    )
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = file.relative_to(source).as_posix()
        if included(relative, rules):
            yield file, folder.child(relative)


def _sources(
    client: DeltaGliderClient, source: S3Location, recursive: bool, rules: list[tuple[bool, str]]
) -> Iterator[tuple[str, str]]:
    """(key, path relative to the source) of each object to copy."""
    if not recursive:
        if source.is_folder:
            raise UsageError(f"{source} is a prefix (use --recursive)")
        yield source.key, Path(source.key).name
        return
    prefix = source.key if source.is_folder else source.key + "/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if included(relative, rules):
                yield item["Key"], relative


def _attempt(
    args: argparse.Namespace,
    report: Report,
    label: str,
    name: str,
    action: Callable[[], str | None],
) -> None:
    """Do one object's work (or only show it with ``--dryrun``).  In a
    recursive run a failure is reported and the batch goes on; otherwise
    it ends the command with its own exit code."""
    if getattr(args, "dryrun", False):
        report.ok(f"(dryrun) {label}")
        return
    try:
        detail = action()
    except Exception as exc:
        if not args.recursive:
            raise
        report.failure(f"{name}: {exc}")
        return
    report.ok(f"{label} ({detail})" if detail else label)


def _upload(
    client: DeltaGliderClient,
    args: argparse.Namespace,
    report: Report,
    file: Path,
    target: S3Location,
) -> None:
    def action() -> str:
        return _outcome(client.upload(file, str(target), max_ratio=args.max_ratio))

    _attempt(args, report, f"upload: {_label(file)} to {target}", str(file), action)


def _download(
    client: DeltaGliderClient,
    args: argparse.Namespace,
    report: Report,
    source: S3Location,
    target: Path,
) -> None:
    def action() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download(str(source), target)

    _attempt(args, report, f"download: {source} to {_label(target)}", str(source), action)


def _copy(
    client: DeltaGliderClient,
    args: argparse.Namespace,
    report: Report,
    source: S3Location,
    target: S3Location,
) -> None:
    def action() -> None:
        client.copy_object(
            Bucket=target.bucket,
            Key=target.key,
            CopySource={"Bucket": source.bucket, "Key": source.key},
        )

    _attempt(args, report, f"copy: {source} to {target}", str(source), action)


# -- ls ----------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def ls(args: argparse.Namespace, report: Report) -> None:
    """``ls [s3://bucket[/prefix]]``."""
    client = _client(args)
    if not args.path:
        for bucket in client.list_buckets()["Buckets"]:
            report.line(f"{_when(bucket['CreationDate'])} {bucket['Name']}")
        return
    location = _s3(args.path)
    size_of = human if args.human_readable else str
    shown_from = location.key.rfind("/") + 1  # names shown relative to the last "/"
    count = total = 0
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket,
        Prefix=location.key,
        **({} if args.recursive else {"Delimiter": "/"}),
    )
    for page in pages:
        for prefix in page.get("CommonPrefixes", []):
            report.line(f"{'PRE':>30} {prefix['Prefix'][shown_from:]}")
        for item in page.get("Contents", []):
            name = item["Key"] if args.recursive else item["Key"][shown_from:]
            report.line(f"{_when(item['LastModified'])} {size_of(item['Size']):>10} {name}")
            count += 1
            total += item["Size"]
    if args.summarize:
        report.line("")
        report.line(f"Total Objects: {count}")
        report.line(f"   Total Size: {size_of(total)}")


# -- rm, mb, rb --------------------------------------------------------------


def rm(args: argparse.Namespace, report: Report) -> None:
    """``rm s3://bucket/key`` or ``rm -r s3://bucket/prefix``."""
    location = _s3(args.path)
    client = _client(args)
    rules = getattr(args, "filters", None) or []
    for key, _ in _sources(client, location, args.recursive, rules):
        target = S3Location(location.bucket, key)

        def action(key: str = key) -> None:
            client.delete_object(Bucket=location.bucket, Key=key)

        _attempt(args, report, f"delete: {target}", str(target), action)


def mb(args: argparse.Namespace, report: Report) -> None:
    """``mb s3://bucket``."""
    location = _s3(args.path)
    _client(args).create_bucket(Bucket=location.bucket)
    report.ok(f"make_bucket: {location.bucket}")


def rb(args: argparse.Namespace, report: Report) -> None:
    """``rb s3://bucket`` (``--force`` deletes its objects first)."""
    location = _s3(args.path)
    client = _client(args)
    if args.force:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=location.bucket, Key=item["Key"])
                report.ok(f"delete: s3://{location.bucket}/{item['Key']}")
    client.delete_bucket(Bucket=location.bucket)
    report.ok(f"remove_bucket: {location.bucket}")
