"""Where a command reads and writes: local paths and ``s3://`` URLs, and
``aws s3 cp``'s rules for naming the destination."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deltaglider.cli.report import UsageError


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/key`` (key may be empty or a prefix ending in ``/``)."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def is_folder(self) -> bool:
        """The bucket itself, or a key ending with ``/``."""
        return self.key == "" or self.key.endswith("/")

    @property
    def space(self) -> str:
        """``bucket/prefix`` of the folder (DeltaSpace) the key is in."""
        return f"{self.bucket}/{self.key.rpartition('/')[0]}"

    def child(self, relative: str) -> S3Location:
        """The location ``relative`` below this folder."""
        base = self.key if self.is_folder else self.key + "/"
        return S3Location(self.bucket, base + relative)


def parse(text: str) -> S3Location | Path:
    """An ``s3://`` URL, or a local path.

    Raises:
        UsageError: an s3:// URL without a bucket.
    """
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise UsageError(f"no bucket in {text!r}")
        return S3Location(bucket, key)
    return Path(text)


def upload_key(source: Path, destination: S3Location) -> S3Location:
    """``aws s3 cp FILE s3://b/k``: into the folder when the URL ends with
    ``/`` (or is a bucket), else under the key given."""
    return destination.child(source.name) if destination.is_folder else destination


def download_path(source: S3Location, destination: Path, *, given: str) -> Path:
    """``aws s3 cp s3://b/k PATH``: into PATH when it is a folder (existing,
    or written with a trailing separator), else PATH itself.  Raises
    :class:`UnsafeKeyError` when the key's name cannot be a file in the folder."""
    name = PurePosixPath(source.key).name
    if destination.is_dir() or given.endswith(("/", os.sep)):
        return local_path(destination, name)
    return destination


class UnsafeKeyError(Exception):
    """A key that cannot be written as a file under the destination folder;
    the message says why, to follow "skipped, "."""


ON_WINDOWS = os.name == "nt"

# Names Windows gives to devices in every folder, whatever the extension:
# writing "nul.txt" there would discard the data, "con.zip" would print it.
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*') | frozenset(chr(c) for c in range(32))


def local_path(root: Path, relative_key: str, *, windows: bool = ON_WINDOWS) -> Path:
    """``root`` joined with a key's relative part.  Raises :class:`UnsafeKeyError`
    for a key that would land outside ``root`` (``..``, absolute paths,
    backslashes, links leading out) or, on Windows, one that names a device,
    holds a character Windows forbids, or ends in a dot or space (which
    Windows drops, so two keys would share one file)."""
    if relative_key.startswith("/"):
        raise UnsafeKeyError(f"the key is an absolute path and would be written outside {root}")
    if "\\" in relative_key:
        raise UnsafeKeyError("the key holds a backslash, a path separator on Windows")
    parts = relative_key.split("/")
    if ".." in parts:
        raise UnsafeKeyError(f"the key climbs with '..' and would be written outside {root}")
    if any(part in ("", ".") for part in parts):
        raise UnsafeKeyError("the key has an empty or '.' path segment")
    if windows:
        for part in parts:
            _check_windows_name(part)
    target = root.joinpath(*parts)
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        raise UnsafeKeyError(f"a link in the path leads outside {root}") from None
    return target


def _check_windows_name(name: str) -> None:
    forbidden = sorted(set(name) & _WINDOWS_FORBIDDEN)
    if forbidden:
        shown = " ".join(repr(c) for c in forbidden)
        raise UnsafeKeyError(f"{name!r} holds characters Windows forbids in file names: {shown}")
    if name.endswith((".", " ")):
        raise UnsafeKeyError(f"{name!r} ends in a dot or space, which Windows drops")
    if name.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        raise UnsafeKeyError(f"{name!r} is a device name on Windows")
