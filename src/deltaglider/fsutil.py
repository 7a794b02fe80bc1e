"""File-system helpers shared by the codec, storage and downloads."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, temp_prefix: str | None = None
) -> Iterator[BinaryIO]:
    """Write a file so that it appears under ``path`` only when complete.

    Bytes go to a temporary file in the same folder, which is flushed,
    fsynced and renamed over ``path`` when the block exits normally.  On an
    exception the temporary file is removed and ``path`` is left as it was.
    ``temp_prefix`` names the temporary file (default ``.<name>.``).
    """
    target = Path(path)
    prefix = temp_prefix if temp_prefix is not None else f".{target.name}."
    try:
        fd, temp_name = create_temp(target.parent, prefix, ".part")
    except OSError as exc:  # named by what the user asked for, not the hidden file
        raise type(exc)(exc.errno, f"cannot write {target}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(temp_name, target)
        except OSError as exc:
            raise type(exc)(exc.errno, f"cannot write {target}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def create_temp(folder: str | os.PathLike[str], prefix: str, suffix: str = "") -> tuple[int, str]:
    """Create a new file with a random name in ``folder`` and open it for
    writing; its mode is what ``open()`` gives under the user's umask
    (``tempfile.mkstemp`` makes it private, 0600, whatever the umask), so
    a file renamed into place from it is like any other the user writes."""
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{secrets.token_hex(8)}{suffix}")
        try:
            return os.open(name, _CREATE, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name")


class RandomAccessReader(io.RawIOBase):
    """A read-only stream of ``size`` bytes with a position; subclasses
    implement ``readinto`` from ``self.position``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.position = base + offset
        return self.position


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, shared: bool = False) -> Iterator[None]:
    """Hold a lock on ``path`` (created if missing) across processes:
    ``flock`` on POSIX (``shared`` holders exclude only exclusive ones),
    ``msvcrt.locking`` on Windows (always exclusive)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s; keep waiting
                    continue
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
