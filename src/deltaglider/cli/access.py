"""``presign``, ``get-bucket-acl`` and ``put-bucket-acl``: who may reach
what, as ``aws s3 presign`` and ``aws s3api`` (and 6.2.0) answer."""

from __future__ import annotations

import argparse
import json
from typing import Any

from deltaglider.cli.report import Report, UsageError
from deltaglider.cli.shared import client_for, s3_location

MAX_EXPIRY = 604_800  # a week: the longest a SigV4 presigned URL lasts

_GRANTS = {
    "grant_full_control": "GrantFullControl",
    "grant_read": "GrantRead",
    "grant_read_acp": "GrantReadACP",
    "grant_write": "GrantWrite",
    "grant_write_acp": "GrantWriteACP",
}


def presign(args: argparse.Namespace, report: Report) -> None:
    """``presign s3://bucket/key``: a URL that GETs the file (a delta's
    rebuilt copy, kept as long as the URL lasts)."""
    location = s3_location(args.path)
    if location.is_folder:
        raise UsageError(f"{location}: give the key of one object")
    if not 1 <= args.expires_in <= MAX_EXPIRY:
        raise UsageError(f"--expires-in must be 1 to {MAX_EXPIRY} seconds, got {args.expires_in}")
    url = client_for(args).generate_presigned_url(
        "get_object",
        Params={"Bucket": location.bucket, "Key": location.key},
        ExpiresIn=args.expires_in,
    )
    print(url, flush=True)  # the URL is the output, even with --quiet


def _bucket(text: str) -> str:
    """``s3://bucket`` or a bare bucket name."""
    if text.startswith("s3://"):
        location = s3_location(text)
        if location.key:
            raise UsageError(f"{text}: give a bucket, not a key")
        return location.bucket
    if not text or "/" in text:
        raise UsageError(f"not a bucket name: {text!r}")
    return text


def get_bucket_acl(args: argparse.Namespace, report: Report) -> None:
    """``get-bucket-acl BUCKET``: the ACL as JSON, as ``aws s3api`` prints it."""
    response = client_for(args).get_bucket_acl(Bucket=_bucket(args.bucket))
    report.json({k: v for k, v in response.items() if k != "ResponseMetadata"})


def put_bucket_acl(args: argparse.Namespace, report: Report) -> None:
    """``put-bucket-acl BUCKET --acl ...`` or ``--grant-...``."""
    bucket = _bucket(args.bucket)
    request: dict[str, Any] = {}
    if args.acl is not None:
        request["ACL"] = args.acl
    for option, name in _GRANTS.items():
        if getattr(args, option) is not None:
            request[name] = getattr(args, option)
    if args.access_control_policy is not None:
        try:
            request["AccessControlPolicy"] = json.loads(args.access_control_policy)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--access-control-policy is not JSON: {exc}") from None
    if not request:
        raise UsageError("give --acl, a --grant-... option or --access-control-policy")
    client_for(args).put_bucket_acl(Bucket=bucket, **request)
    report.ok(f"put_bucket_acl: {bucket}")
