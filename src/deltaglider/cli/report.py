"""What a command prints, and the exit code its outcome earns."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTEGRITY = 4
EXIT_PARTIAL = 5

_UNITS = ("Bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


class Report:
    """Output lines shaped like ``aws s3``'s, and failures counted so a
    batch that partly failed exits with :data:`EXIT_PARTIAL`."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.done = 0
        self.failed = 0

    def line(self, text: str) -> None:
        """A result line on standard output (not with ``--quiet``)."""
        if not self.quiet:
            print(text, flush=True)

    def ok(self, text: str) -> None:
        """One object handled."""
        self.done += 1
        self.line(text)

    def error(self, text: str) -> None:
        """A one-line error on standard error."""
        print(f"deltaglider: error: {text}", file=sys.stderr, flush=True)

    def failure(self, text: str) -> None:
        """One object of a batch failed; the batch goes on."""
        self.failed += 1
        self.error(text)

    def exit_code(self) -> int:
        """0, or partial failure when some objects failed."""
        if not self.failed:
            return EXIT_OK
        return EXIT_PARTIAL if self.done else EXIT_FAILURE


def human(size: int) -> str:
    """``aws s3 ls --human-readable`` sizes: ``1.5 MiB``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} Bytes" if unit == "Bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
