"""The command line's grammar: global options and one subcommand each."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import Any

from deltaglider._version import __version__
from deltaglider.cli.filters import FilterAction
from deltaglider.cli.report import (
    EXIT_FAILURE,
    EXIT_INTEGRITY,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)

EPILOG = f"""\
examples:
  deltaglider --endpoint-url file:///srv/store mb s3://releases
  deltaglider cp app-1.2.zip s3://releases/app/      # a delta against app/'s reference
  deltaglider sync ./dist s3://releases/app/ --delete
  deltaglider stats releases --detailed

exit codes:
  {EXIT_OK}  success
  {EXIT_FAILURE}  failure
  {EXIT_USAGE}  usage error
  {EXIT_NOT_FOUND}  an object, bucket or local file was not found
  {EXIT_INTEGRITY}  integrity failure: rebuilt bytes did not match their SHA-256
  {EXIT_PARTIAL}  partial failure: some objects of a batch failed (each is reported)

endpoints: --endpoint-url http://host:port for any S3-compatible server,
file:///path for a local directory (no cloud account needed).  Without it,
AWS_ENDPOINT_URL, then AWS's own configuration, is used.
"""


def _help_text(module: str) -> str:
    """The docstring of the command module ``deltaglider.cli.<module>`` as
    help shows it (``code`` as `code`), read without importing the module:
    the commands load boto3, which ``--version`` and ``--help`` need not."""
    source = Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
    return (ast.get_docstring(ast.parse(source)) or "").replace("``", "`")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include",
        action=FilterAction,
        metavar="PATTERN",
        help="include paths matching PATTERN (the last matching filter decides, as aws s3)",
    )
    parser.add_argument(
        "--exclude", action=FilterAction, metavar="PATTERN", help="exclude paths matching PATTERN"
    )


def _dryrun(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--dryrun", "--dry-run", dest="dryrun", action="store_true", help=f"show what would {what}"
    )


def _ratio(text: str) -> float:
    """A ``--max-ratio`` value: a number from 0 to 1 (else a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _transfer(parser: argparse.ArgumentParser, what: str) -> None:
    """SOURCE and DESTINATION, how files are stored, dry run and filters."""
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument(
        "--no-delta", action="store_true", help="store files as is, never as deltas"
    )
    parser.add_argument(
        "--max-ratio",
        type=_ratio,
        metavar="R",
        help="keep a delta only if it is at most R times the file's size (default 0.5)",
    )
    parser.add_argument(
        "--archive-deltas",
        choices=("all", "zip", "off"),
        help="store zip-family and gzip files as deltas of their contents: all (default, "
        "or DG_ARCHIVE_DELTAS), zip only (gets never re-deflate a .tar.gz), or off "
        "(only deltas deltaglider 6.2.0 reads)",
    )
    _dryrun(parser, what)
    _filters(parser)


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes, before or after its name (as aws
    takes them).  Given after the command, they override; only the top
    level holds their defaults."""
    group = parser.add_argument_group("global options") if not top else parser
    keep: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint URL, or file:///path", **keep
    )
    group.add_argument("--profile", help="AWS profile", **keep)
    group.add_argument("--region", help="AWS region", **keep)
    group.add_argument("--debug", action="store_true", help="log every request; tracebacks", **keep)
    group.add_argument(
        "--quiet",
        "--only-show-errors",
        dest="quiet",
        action="store_true",
        help="print errors only",
        **keep,
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress line (it is off unless a terminal)",
        **keep,
    )
    group.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="objects transferred at once in a batch (default 4)",
        **(keep or {"default": 4}),
    )


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, about: str
) -> argparse.ArgumentParser:
    command = sub.add_parser(
        name,
        help=summary,
        description=about,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(command, top=False)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog="deltaglider",
        description="Store versions of large files in S3 as xdelta3 deltas, like `aws s3`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"deltaglider {__version__}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cp = _command(
        sub,
        "cp",
        "copy files to, from or within S3",
        "Copy local->S3, S3->local or S3->S3, as `aws s3 cp`: a destination ending\n"
        "in / (or a bucket, or an existing folder) receives the file under its\n"
        "own name; otherwise the destination is the new name.",
    )
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a folder or prefix")
    _transfer(cp, "be copied")
    cp.set_defaults(run="commands:cp")

    mv = _command(
        sub,
        "mv",
        "move files to, from or within S3",
        "Move as `aws s3 mv`: as cp, then each source is removed once its copy\n"
        "is stored (a source whose copy failed is kept).",
    )
    mv.add_argument("-r", "--recursive", action="store_true", help="move a folder or prefix")
    _transfer(mv, "be moved")
    mv.set_defaults(run="commands:mv")

    sy = _command(
        sub,
        "sync",
        "copy only new and changed files (local<->S3, S3->S3)",
        _help_text("sync"),
    )
    sy.add_argument("--delete", action="store_true", help="delete files the source lacks")
    sy.add_argument("--size-only", action="store_true", help="compare sizes only")
    sy.add_argument(
        "--exact-timestamps",
        action="store_true",
        help="S3->local: also copy same-sized files whose times differ",
    )
    _transfer(sy, "be copied or deleted")
    sy.set_defaults(run="sync:sync")

    ls = _command(
        sub,
        "ls",
        "list buckets, or objects under a prefix",
        "List as `aws s3 ls`; sizes are the files' own.  With --show-stored, each\n"
        "line also gives the bytes stored for the file (its delta, or the file\n"
        "itself) and the savings; folder references are counted by `stats`.",
    )
    ls.add_argument("path", nargs="?", metavar="s3://bucket[/prefix]")
    ls.add_argument("-r", "--recursive", action="store_true", help="every level")
    ls.add_argument("--human-readable", action="store_true", help="sizes in KiB, MiB, ...")
    ls.add_argument("--summarize", action="store_true", help="totals at the end")
    ls.add_argument(
        "--show-stored", action="store_true", help="also the stored size and the savings"
    )
    ls.set_defaults(run="commands:ls")

    rm = _command(sub, "rm", "delete objects", "Delete as `aws s3 rm`.")
    rm.add_argument("path", metavar="s3://bucket/key")
    rm.add_argument("-r", "--recursive", action="store_true", help="everything under a prefix")
    _dryrun(rm, "be deleted")
    _filters(rm)
    rm.set_defaults(run="commands:rm")

    mb = _command(sub, "mb", "make a bucket", "Create a bucket.")
    mb.add_argument("path", metavar="s3://bucket")
    mb.set_defaults(run="commands:mb")

    rb = _command(sub, "rb", "remove a bucket", "Delete an empty bucket.")
    rb.add_argument("path", metavar="s3://bucket")
    rb.add_argument("--force", action="store_true", help="delete its objects first")
    rb.set_defaults(run="commands:rb")

    st = _command(
        sub,
        "stats",
        "objects, sizes and savings of a bucket",
        "Statistics of a bucket.  Quick (the default) lists the bucket and takes\n"
        "each delta's size to be its reference's; --sampled reads one delta per\n"
        "folder; --detailed reads every delta.  Sizes read are kept in the bucket\n"
        "(.deltaglider/stats/), so later runs read only new deltas.",
    )
    st.add_argument("bucket", metavar="BUCKET")
    depth = st.add_mutually_exclusive_group()
    depth.add_argument("--sampled", action="store_true", help="read one delta per folder")
    depth.add_argument("--detailed", action="store_true", help="read every delta")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.add_argument(
        "--no-cache", action="store_true", help="neither use nor update the bucket's size cache"
    )
    st.add_argument(
        "--refresh",
        action="store_true",
        help="count anew, reading every size again rather than from the cache",
    )
    st.set_defaults(run="maintenance:stats")

    ve = _command(
        sub,
        "verify",
        "rebuild objects and check their SHA-256",
        "Rebuild each object (nothing is written locally) and check it against\n"
        "its recorded SHA-256.  Exit code 4 when any object fails.",
    )
    ve.add_argument("path", metavar="s3://bucket/key")
    ve.add_argument("-r", "--recursive", action="store_true", help="everything under a prefix")
    ve.add_argument("--json", action="store_true", help="print JSON")
    _filters(ve)
    ve.set_defaults(run="maintenance:verify")

    pu = _command(
        sub,
        "purge",
        "remove expired temporary copies",
        "Remove the expired rebuilt copies that presigned URLs of delta-stored\n"
        "files point at (under .deltaglider/tmp/).",
    )
    pu.add_argument("bucket", metavar="BUCKET")
    _dryrun(pu, "be removed")
    pu.add_argument("--json", action="store_true", help="print JSON")
    pu.set_defaults(run="maintenance:purge")

    mi = _command(sub, "migrate", "copy plain S3 objects into delta storage", _help_text("migrate"))
    mi.add_argument("source", metavar="s3://SRC[/prefix]")
    mi.add_argument("destination", metavar="s3://DST[/prefix]")
    mi.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    mi.add_argument("--json", action="store_true", help="print the final report as JSON")
    mi.add_argument("--no-delta", action="store_true", help="store objects as is, never as deltas")
    mi.add_argument(
        "--max-ratio",
        type=_ratio,
        metavar="R",
        help="keep a delta only if it is at most R times the file's size (default 0.5)",
    )
    _dryrun(mi, "be migrated")
    _filters(mi)
    mi.set_defaults(run="migrate:migrate")

    _access_commands(sub)
    return parser


def _access_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``presign``, ``get-bucket-acl`` and ``put-bucket-acl``."""
    pr = _command(
        sub,
        "presign",
        "a presigned URL that downloads an object",
        "Print a URL that downloads the object without credentials, as `aws s3\n"
        "presign` does.  For a file stored as a delta it points at a verified\n"
        "copy rebuilt under .deltaglider/tmp/ (removed by `purge` once expired).",
    )
    pr.add_argument("path", metavar="s3://bucket/key")
    pr.add_argument(
        "--expires-in", type=int, default=3600, metavar="SECONDS", help="default 3600 (an hour)"
    )
    pr.set_defaults(run="access:presign")

    get = _command(sub, "get-bucket-acl", "print a bucket's ACL", "Print a bucket's ACL as JSON.")
    get.add_argument("bucket", metavar="BUCKET")
    get.set_defaults(run="access:get_bucket_acl")

    put = _command(
        sub,
        "put-bucket-acl",
        "set a bucket's ACL",
        "Set a bucket's ACL (an S3 endpoint; a local directory has file\npermissions instead).",
    )
    put.add_argument("bucket", metavar="BUCKET")
    put.add_argument(
        "--acl", choices=("private", "public-read", "public-read-write", "authenticated-read")
    )
    for grant in ("full-control", "read", "read-acp", "write", "write-acp"):
        put.add_argument(f"--grant-{grant}", metavar="GRANTEE")
    put.add_argument("--access-control-policy", metavar="JSON")
    put.set_defaults(run="access:put_bucket_acl")
