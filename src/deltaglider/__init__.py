"""deltaglider: many versions of large files in S3, stored as xdelta3 deltas.

``create_client()`` gives a boto3-compatible client that stores each
folder's files as one reference plus small deltas.  xdelta3 is compiled
into the package (``deltaglider.xdelta``): no binary to install, no child
process, no temporary files.

The errors a caller can meet are exported here too; each also derives from
the standard exception a caller of the simple API expects
(``FileNotFoundError``, ``ValueError``...), and the boto3-shaped SDK turns
them into botocore ``ClientError``s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deltaglider._version import __version__
from deltaglider.core.errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    ChecksumMismatchError,
    DeltaGliderError,
    IntegrityError,
    InvalidKeyError,
    MetadataError,
    MissingReferenceError,
    ObjectNotFoundError,
    PreconditionFailedError,
    UnsupportedObjectError,
)

if TYPE_CHECKING:
    from deltaglider.client import (
        BucketStats,
        CompressionEstimate,
        DeltaGliderClient,
        ObjectInfo,
        UploadSummary,
        create_client,
    )

__all__ = [
    "BucketNotEmptyError",
    "BucketNotFoundError",
    "BucketStats",
    "ChecksumMismatchError",
    "CompressionEstimate",
    "DeltaGliderClient",
    "DeltaGliderError",
    "IntegrityError",
    "InvalidKeyError",
    "MetadataError",
    "MissingReferenceError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "PreconditionFailedError",
    "UnsupportedObjectError",
    "UploadSummary",
    "__version__",
    "create_client",
]

_CLIENT_NAMES = {
    "BucketStats",
    "CompressionEstimate",
    "DeltaGliderClient",
    "ObjectInfo",
    "UploadSummary",
    "create_client",
}


def __getattr__(name: str) -> Any:
    # The SDK (boto3, cryptography) loads on first use, so importing only the
    # codec (deltaglider.xdelta) stays light.
    if name in _CLIENT_NAMES:
        from deltaglider import client

        return getattr(client, name)
    raise AttributeError(f"module 'deltaglider' has no attribute {name!r}")
