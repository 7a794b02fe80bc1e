"""The boto3-compatible SDK: :func:`create_client` and its client."""

from deltaglider.client.facade import DeltaGliderClient
from deltaglider.client.factory import create_client
from deltaglider.client.models import BucketStats, CompressionEstimate, ObjectInfo, UploadSummary

__all__ = [
    "BucketStats",
    "CompressionEstimate",
    "DeltaGliderClient",
    "ObjectInfo",
    "UploadSummary",
    "create_client",
]
