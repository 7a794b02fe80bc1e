"""``deltaglider``: an ``aws s3``-style command line with delta compression."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from deltaglider.cli.parser import build_parser
from deltaglider.cli.report import EXIT_FAILURE, Report, UsageError, exit_code_for


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    report = Report(
        # With --json the document is the output; result lines would corrupt it.
        quiet=args.quiet or getattr(args, "json", False),
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    module, _, name = args.run.partition(":")  # loaded now: only this command's imports
    run: Callable[[argparse.Namespace, Report], None] = getattr(
        importlib.import_module(f"deltaglider.cli.{module}"), name
    )
    try:
        run(args, report)
    except UsageError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        report.error("interrupted")
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`... - | head`): stop quietly, and keep the
        # interpreter from complaining as it flushes the dead pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        if _caused_by_interrupt(exc):
            report.error("interrupted")
            return EXIT_FAILURE
        if args.debug:
            traceback.print_exc()
        report.error(str(exc) or type(exc).__name__)
        return exit_code_for(exc)
    return report.exit_code()


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a Ctrl-C unwound: CPython can turn
    a ``KeyboardInterrupt`` that lands inside ``threading.Condition.wait``
    into ``RuntimeError: release unlocked lock`` on the way out."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def entry() -> None:
    """The console script."""
    sys.exit(main())
