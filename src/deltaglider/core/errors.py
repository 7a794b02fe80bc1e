"""Every error of the package below the SDK (the codec's own are in
:mod:`deltaglider.xdelta.errors`, the archive library's in
:mod:`deltaglider.archive.errors`): the engine's, the stores', the cache's
and the codec port's, in one place at the bottom of the layers; the ones a
caller can meet are exported from :mod:`deltaglider`.

Each derives from the standard exception a caller of the simple API expects
(FileNotFoundError, ValueError, ...), so ``except ValueError`` keeps working;
the SDK's boto3-style methods turn them into botocore ``ClientError``s.
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


class MissingReferenceError(IntegrityError):
    """A delta's reference is neither in its space nor retired."""


class BucketNotFoundError(DeltaGliderError, FileNotFoundError):
    """The bucket does not exist."""


class BucketNotEmptyError(DeltaGliderError, OSError):
    """A bucket that still holds objects cannot be deleted."""


class PreconditionFailedError(DeltaGliderError):
    """A conditional request lost: the object exists (``if_none_match``) or
    is another version than the one named (``if_match``)."""


class CacheCorruptError(IntegrityError):
    """A cache entry failed authentication while being read: the entry is
    evicted and the read that used it is done again."""


class CacheUnavailableError(IntegrityError):
    """The cache failed while storing a stream that cannot be read again:
    fetch the reference again (the cache then keeps it another way)."""


class ChecksumMismatchError(DeltaGliderError, ValueError):
    """A checksum the caller gave is not the body's (S3's ``BadDigest``)."""


class SpaceChangedError(DeltaGliderError):
    """The space's reference changed while a put was using it: the put
    starts again (a few times, then DeltaGliderError)."""


# The codec port's contract (deltaglider.ports.codec): the adapter turns the
# codec's own errors into these, and the engine never lets them out.


class DeltaTooLargeError(DeltaGliderError):
    """The delta would exceed the size cap: store the file directly."""


class UnsupportedDeltaError(DeltaGliderError):
    """A delta this codec cannot rebuild (made with what it does not have)."""


class CorruptDeltaError(DeltaGliderError):
    """A delta that does not decode against the reference given: damaged,
    or not a delta.  The decode methods raise it, and only it, for what the
    delta's bytes say; errors of the streams around them (a reference's
    cache, the output) come through as they are."""
