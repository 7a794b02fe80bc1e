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


def download_path(source: S3Location, destination: Path, *, given: str) -> Path | None:
    """``aws s3 cp s3://b/k PATH``: into PATH when it is a folder (existing,
    or written with a trailing separator), else PATH itself.  None when the
    key's name is not safe to write into the folder (see
    :func:`safe_local_path`)."""
    name = PurePosixPath(source.key).name
    if destination.is_dir() or given.endswith(("/", os.sep)):
        return safe_local_path(destination, name)
    return destination


# A backslash is a separator to Windows (and a key holding one was most
# likely a Windows path); a colon starts a drive or an NTFS stream there.
_UNSAFE_CHARACTERS = ("\\", ":") if os.name == "nt" else ("\\",)


def safe_local_path(root: Path, relative_key: str) -> Path | None:
    """``root`` joined with a key's relative part, or None when the key
    would land outside ``root`` (``..``, absolute paths, backslashes; on
    Windows drive letters and streams too): such keys are skipped, never
    written."""
    if relative_key.startswith("/") or any(c in relative_key for c in _UNSAFE_CHARACTERS):
        return None
    parts = relative_key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    target = root.joinpath(*parts)
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return target
