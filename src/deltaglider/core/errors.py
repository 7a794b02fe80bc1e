"""Errors of the storage engine.

Each derives from the standard exception a caller of the simple API expects
(FileNotFoundError, ValueError, ...), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class DeltaGliderError(Exception):
    """Base class of the engine's own errors."""


class InvalidKeyError(DeltaGliderError, ValueError):
    """A logical key that cannot be stored (reserved name, empty, folder)."""


class ObjectNotFoundError(DeltaGliderError, FileNotFoundError):
    """No object under this logical key (neither ``key`` nor ``key.delta``)."""


class MetadataError(DeltaGliderError, ValueError):
    """An object's deltaglider metadata is missing or malformed."""


class IntegrityError(DeltaGliderError, RuntimeError):
    """Bytes did not match their recorded SHA-256; nothing was handed over."""


class UnsupportedObjectError(DeltaGliderError, RuntimeError):
    """An object this package cannot rebuild exactly (e.g. a delta the xdelta3
    CLI made between decompressed streams)."""
