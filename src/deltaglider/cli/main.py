"""``deltaglider``: an ``aws s3``-style command line with delta compression."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence

from botocore.exceptions import ClientError

from deltaglider._version import __version__
from deltaglider.cli import commands
from deltaglider.cli.filters import FilterAction
from deltaglider.cli.report import (
    EXIT_FAILURE,
    EXIT_INTEGRITY,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    Report,
)
from deltaglider.core.errors import IntegrityError

EPILOG = f"""\
exit codes:
  {EXIT_OK}  success
  {EXIT_FAILURE}  failure
  {EXIT_USAGE}  usage error
  {EXIT_NOT_FOUND}  an object, bucket or local file was not found
  {EXIT_INTEGRITY}  integrity failure: rebuilt bytes did not match their SHA-256
  5  partial failure: some objects of a batch failed (each is reported)

endpoints: --endpoint-url http://host:port for any S3-compatible server,
file:///path for a local directory (no cloud account needed).
"""


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include",
        action=FilterAction,
        metavar="PATTERN",
        help="include paths matching PATTERN (after --exclude, aws s3 rules)",
    )
    parser.add_argument(
        "--exclude", action=FilterAction, metavar="PATTERN", help="exclude paths matching PATTERN"
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog="deltaglider",
        description="Store versions of large files in S3 as xdelta3 deltas, like `aws s3`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"deltaglider {__version__}")
    parser.add_argument("--endpoint-url", help="S3 endpoint URL, or file:///path")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--region", help="AWS region")
    parser.add_argument("--debug", action="store_true", help="log everything; tracebacks")
    parser.add_argument("--quiet", action="store_true", help="print errors only")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cp = sub.add_parser(
        "cp",
        help="copy files to, from or within S3",
        description="Copy local->S3, S3->local or S3->S3, as `aws s3 cp`.",
    )
    cp.add_argument("source")
    cp.add_argument("destination")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a folder or prefix")
    cp.add_argument("--max-ratio", type=float, help="largest delta/file size ratio kept as delta")
    cp.add_argument("--dryrun", action="store_true", help="show what would be copied")
    _add_filters(cp)
    cp.set_defaults(run=commands.cp)

    ls = sub.add_parser(
        "ls",
        help="list buckets, or objects under a prefix",
        description="List as `aws s3 ls`; sizes are the files' own.",
    )
    ls.add_argument("path", nargs="?")
    ls.add_argument("-r", "--recursive", action="store_true", help="every level")
    ls.add_argument("--human-readable", action="store_true", help="sizes in KiB, MiB, ...")
    ls.add_argument("--summarize", action="store_true", help="totals at the end")
    ls.set_defaults(run=commands.ls)

    rm = sub.add_parser("rm", help="delete objects", description="Delete as `aws s3 rm`.")
    rm.add_argument("path")
    rm.add_argument("-r", "--recursive", action="store_true", help="everything under a prefix")
    rm.add_argument("--dryrun", action="store_true", help="show what would be deleted")
    _add_filters(rm)
    rm.set_defaults(run=commands.rm)

    mb = sub.add_parser("mb", help="make a bucket", description="Create a bucket.")
    mb.add_argument("path")
    mb.set_defaults(run=commands.mb)

    rb = sub.add_parser("rb", help="remove a bucket", description="Delete an empty bucket.")
    rb.add_argument("path")
    rb.add_argument("--force", action="store_true", help="delete its objects first")
    rb.set_defaults(run=commands.rb)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    report = Report(quiet=args.quiet)
    run: Callable[[argparse.Namespace, Report], None] = args.run
    try:
        run(args, report)
    except commands.UsageError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        report.error("interrupted")
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        report.error(str(exc) or type(exc).__name__)
        return _code_for(exc)
    return report.exit_code()


def _code_for(exc: BaseException) -> int:
    if isinstance(exc, IntegrityError):
        return EXIT_INTEGRITY
    if isinstance(exc, FileNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            return EXIT_NOT_FOUND
        if code == "DeltaGliderIntegrityError":
            return EXIT_INTEGRITY
    return EXIT_FAILURE


def entry() -> None:
    """The console script."""
    sys.exit(main())
