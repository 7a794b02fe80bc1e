"""Bucket layout rules: DeltaSpaces, reserved names, delta candidates.

A logical key ``releases/v1/app.zip`` lives in the DeltaSpace ``releases/v1``
(the prefix up to the last ``/``, empty for a key without one).  The space
keeps one ``reference.bin``; a delta-compressed file is stored as
``<key>.delta``; ``.deltaglider/`` holds control objects.
"""

from __future__ import annotations

REFERENCE_NAME = "reference.bin"
DELTA_SUFFIX = ".delta"
CONTROL_PREFIX = ".deltaglider/"
TEMP_PREFIX = CONTROL_PREFIX + "tmp/"
"""Rebuilt copies of delta-stored files that presigned URLs point at."""

# deltaglider 6.2.0's candidates plus deltaglider_proxy's additions.
DELTA_CANDIDATE_SUFFIXES = (
    ".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz",
    ".7z", ".rar", ".dmg", ".iso", ".pkg", ".deb", ".rpm", ".apk", ".jar", ".war", ".ear",
    ".sql", ".dump", ".bak", ".backup",
)  # fmt: skip


def split_key(key: str) -> tuple[str, str]:
    """``"a/b/c.zip"`` -> ``("a/b", "c.zip")``; ``"c.zip"`` -> ``("", "c.zip")``."""
    prefix, _, name = key.rpartition("/")
    return prefix, name


def join_key(prefix: str, name: str) -> str:
    """The key of ``name`` in the space ``prefix``."""
    return f"{prefix}/{name}" if prefix else name


def reference_key(prefix: str) -> str:
    """The key of the reference of the space ``prefix``."""
    return join_key(prefix, REFERENCE_NAME)


def delta_key(key: str) -> str:
    """The physical key of the delta of logical ``key``."""
    return key + DELTA_SUFFIX


def is_delta_candidate(name: str) -> bool:
    """Whether a file of this name is worth storing as a delta."""
    return name.lower().endswith(DELTA_CANDIDATE_SUFFIXES)


def is_internal(physical_key: str) -> bool:
    """Objects users never see as their own: references and control objects."""
    return physical_key.startswith(CONTROL_PREFIX) or split_key(physical_key)[1] == REFERENCE_NAME


def logical_key(physical_key: str) -> str:
    """The user's key for a stored object (``x.zip.delta`` -> ``x.zip``)."""
    if physical_key.endswith(DELTA_SUFFIX):
        return physical_key[: -len(DELTA_SUFFIX)]
    return physical_key


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a logical key, or None if it can."""
    if not key:
        return "the key is empty"
    if key.endswith("/"):
        return f"{key!r} ends with '/': it names a folder, not a file"
    if key.startswith(CONTROL_PREFIX):
        return f"{key!r} is under {CONTROL_PREFIX!r}, which deltaglider reserves"
    name = split_key(key)[1]
    if name == REFERENCE_NAME:
        return f"{key!r}: {REFERENCE_NAME!r} is the name of each folder's reference file"
    if name.endswith(DELTA_SUFFIX):
        return f"{key!r}: names ending in {DELTA_SUFFIX!r} are deltaglider's stored deltas"
    return None
