"""Errors of the archive-aware delta library."""

from __future__ import annotations


class ArchiveDeltaError(Exception):
    """Base of every error this library raises."""


class CorruptContentsDeltaError(ArchiveDeltaError):
    """A contents delta that cannot be rebuilt: damaged, truncated, or
    asking for more than its limits allow.  Never wrong bytes."""


class UnsupportedDeflateError(ArchiveDeltaError):
    """The delta was made with a deflate implementation this build does not
    have; re-deflating with another could give other bytes."""
