"""A one-line progress display on a terminal: objects and bytes done of the
total, rate, and the object in hand.  Redrawn a few times a second by a
ticker thread, so a long transfer of one large file still shows time
passing.  Off when standard error is not a terminal, with ``--quiet`` or
with ``--no-progress``: then only the result lines are printed."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from deltaglider.cli.units import human

_REDRAW_SECONDS = 0.25
_BAR = 20


class Progress:
    """Counts what a command has done and shows it on one terminal line."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.total_objects: int | None = None
        self.total_bytes: int | None = None
        self.objects = 0
        self.bytes = 0
        self.current = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._shown = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, objects: int | None = None, nbytes: int | None = None) -> None:
        """Begin showing progress towards these totals (when known)."""
        self.total_objects, self.total_bytes = objects, nbytes
        self._started = time.monotonic()
        if self.enabled and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    @contextlib.contextmanager
    def activity(self, name: str) -> Iterator[None]:
        """Show ``name`` and the time passing while a step with no counts
        (a listing, a statistics run) goes on."""
        self.start()
        self.working_on(name)
        try:
            yield
        finally:
            self.stop()

    def working_on(self, name: str) -> None:
        """Name the object now in hand."""
        with self._lock:
            self.current = name
        self._draw()

    def moved(self, nbytes: int) -> None:
        """``nbytes`` more of the object in hand moved."""
        with self._lock:
            self.bytes += nbytes

    def advance(self, nbytes: int = 0) -> None:
        """One more object done, with ``nbytes`` more (those not already
        counted by :meth:`moved`)."""
        with self._lock:
            self.objects += 1
            self.bytes += nbytes
            self.current = ""
        self._draw()

    def clear(self) -> None:
        """Erase the progress line (before printing a result line)."""
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._shown = False

    def stop(self) -> None:
        """Stop the ticker, erase the line, and reset the counts."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        self._stop.clear()
        self.clear()
        self.objects = self.bytes = 0
        self.current = ""

    def _tick(self) -> None:
        while not self._stop.wait(_REDRAW_SECONDS):
            self._draw()

    def _draw(self) -> None:
        if not self.enabled or self._ticker is None:
            return
        with self._lock:
            text = self._counts()
            width = shutil.get_terminal_size((80, 24)).columns - 1
            room = width - len(text) - 2
            if self.current and room > 8:  # the name's end says the most
                name = self.current
                text += "  " + (name if len(name) <= room else "..." + name[-(room - 3) :])
            self.stream.write("\r\x1b[2K" + text[:width])
            self.stream.flush()
            self._shown = True

    def _counts(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        if self.total_objects is None and not self.objects:
            return f"{int(elapsed)}s"
        parts = []
        if self.total_bytes:
            filled = min(_BAR, _BAR * self.bytes // self.total_bytes)
            parts.append("[" + "#" * filled + "." * (_BAR - filled) + "]")
        count = f"{self.objects}/{self.total_objects}" if self.total_objects else f"{self.objects}"
        parts.append(f"{count} objects")
        size = human(self.bytes)
        if self.total_bytes:
            size += f" / {human(self.total_bytes)}"
        parts.append(size)
        parts.append(f"{human(int(self.bytes / elapsed))}/s")
        parts.append(f"{int(elapsed)}s")
        return "  ".join(parts)
