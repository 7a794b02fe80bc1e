"""What a command prints, and the exit code its outcome earns."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from deltaglider.cli.progress import Progress
from deltaglider.core.errors import IntegrityError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTEGRITY = 4
EXIT_PARTIAL = 5


class UsageError(Exception):
    """The arguments do not make a command (exit code 2)."""


class Report:
    """Output lines shaped like ``aws s3``'s, a progress line on a
    terminal, and failures counted so a batch that partly failed exits
    with :data:`EXIT_PARTIAL`."""

    def __init__(self, *, quiet: bool = False, progress: bool = False) -> None:
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.integrity_failures = 0
        self._lock = threading.Lock()  # jobs report from worker threads
        self.progress = Progress(sys.stderr, enabled=progress and not quiet)

    def line(self, text: str) -> None:
        """A result line on standard output (not with ``--quiet``)."""
        if not self.quiet:
            with self._lock:
                self.progress.clear()
                print(text, flush=True)

    def json(self, document: Any) -> None:
        """Machine output: one JSON document on standard output (printed
        even with ``--quiet``, which only silences the human lines)."""
        self.progress.clear()
        print(json.dumps(document, indent=2, default=str), flush=True)

    def ok(self, text: str) -> None:
        """One object handled."""
        with self._lock:
            self.done += 1
        self.line(text)

    def error(self, text: str) -> None:
        """A one-line error on standard error."""
        with self._lock:
            self.progress.clear()
            print(f"deltaglider: error: {text}", file=sys.stderr, flush=True)

    def failure(self, text: str, cause: BaseException | None = None) -> None:
        """One object of a batch failed; the batch goes on."""
        with self._lock:
            self.failed += 1
            if cause is not None and exit_code_for(cause) == EXIT_INTEGRITY:
                self.integrity_failures += 1
        self.error(text)

    def exit_code(self) -> int:
        """0; an integrity failure when any object failed its SHA-256;
        else partial failure when some objects failed and others not."""
        if not self.failed:
            return EXIT_OK
        if self.integrity_failures:
            return EXIT_INTEGRITY
        return EXIT_PARTIAL if self.done else EXIT_FAILURE


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a command that ``exc`` ended."""
    from botocore.exceptions import ClientError  # loaded by every command that raises one

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
