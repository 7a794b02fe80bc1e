"""DeltaGliderClient: boto3's S3 client surface over the delta engine.

Keys are logical keys: ``app.zip`` whether it is stored as is or as
``app.zip.delta``; sizes are the files' own sizes; ``reference.bin`` and
``.deltaglider/`` never show.  boto3-style methods take boto3's arguments,
return boto3's response shapes and raise botocore ``ClientError`` with S3's
codes; the simple API (``upload``, ``download``, ``verify``) raises standard
exceptions.  Any other S3 client method is passed to the underlying boto3
client (S3 backend only).

One client may be used from many threads, for reads and writes.  Its
methods live in rooms of their own: :mod:`~deltaglider.client.objects`,
:mod:`~deltaglider.client.lists`, :mod:`~deltaglider.client.buckets`,
:mod:`~deltaglider.client.transfers`, :mod:`~deltaglider.client.simple`,
:mod:`~deltaglider.client.compat62` and
:mod:`~deltaglider.client.passthrough`, over the shared state of
:mod:`~deltaglider.client.base`.
"""

from __future__ import annotations

from deltaglider.client.buckets import BucketMethods
from deltaglider.client.compat62 import Compat62Methods
from deltaglider.client.lists import ListMethods
from deltaglider.client.objects import ObjectMethods
from deltaglider.client.passthrough import RawS3Methods
from deltaglider.client.simple import SimpleApi
from deltaglider.client.transfers import TransferMethods


class DeltaGliderClient(
    ObjectMethods,
    ListMethods,
    BucketMethods,
    TransferMethods,
    SimpleApi,
    Compat62Methods,
    RawS3Methods,
):
    """The SDK client; make one with :func:`deltaglider.create_client`."""
