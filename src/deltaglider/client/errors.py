"""boto3-style errors: the engine's exceptions as botocore ``ClientError``s
with S3's codes, so ``except client.exceptions.NoSuchKey`` works."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError

from deltaglider.client.responses import response_metadata
from deltaglider.core.errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    ChecksumMismatchError,
    DeltaGliderError,
    IntegrityError,
    InvalidKeyError,
    MetadataError,
    ObjectNotFoundError,
    PreconditionFailedError,
    UnsupportedObjectError,
)

# Engine error -> (S3 error code, HTTP status).  Checked in order: the
# bucket errors derive from FileNotFoundError/OSError like others here.
_CODES: tuple[tuple[type[BaseException], str, int], ...] = (
    (BucketNotFoundError, "NoSuchBucket", 404),
    (ObjectNotFoundError, "NoSuchKey", 404),
    (BucketNotEmptyError, "BucketNotEmpty", 409),
    (PreconditionFailedError, "PreconditionFailed", 412),
    (ChecksumMismatchError, "BadDigest", 400),
    (InvalidKeyError, "InvalidArgument", 400),
    (MetadataError, "InvalidObjectState", 400),
    (IntegrityError, "DeltaGliderIntegrityError", 500),
    (UnsupportedObjectError, "NotImplemented", 501),
    (PermissionError, "AccessDenied", 403),
    (DeltaGliderError, "InternalError", 500),  # the engine's others: never a bare exception
)


@cache
def s3_model() -> Any:
    """botocore's model of the S3 API."""
    return botocore.session.get_session().get_service_model("s3")


@cache
def s3_exceptions() -> Any:
    """botocore's modeled S3 exception classes (``NoSuchKey``, ...)."""
    return ClientExceptionsFactory().create_client_exceptions(s3_model())


def client_error(
    code: str,
    message: str,
    operation: str,
    status: int,
    exceptions: Any = None,
    headers: Mapping[str, str] | None = None,
) -> ClientError:
    """A ClientError of the modeled class for ``code`` (plain ClientError
    for codes S3 does not model, as botocore does), from ``exceptions`` (a
    boto3 client's, so its ``exceptions.NoSuchKey`` catches it), with the
    HTTP ``headers`` S3 sends with it."""
    metadata = response_metadata(status, headers)
    response: Any = {
        "Error": {"Code": code, "Message": message, "RequestId": metadata["RequestId"]},
        "ResponseMetadata": metadata,
    }
    factory = exceptions if exceptions is not None else s3_exceptions()
    error: ClientError = factory.from_code(code)(response, operation)
    return error


@contextlib.contextmanager
def as_client_errors(
    operation: str, *, head: bool = False, exceptions: Any = None
) -> Iterator[None]:
    """Raise the engine's errors inside as ClientErrors.  ``head``: like
    S3's HEAD, the code is the bare status (``404``, ``412``)."""
    try:
        yield
    except ClientError:
        raise
    except Exception as exc:
        for kind, code, status in _CODES:
            if isinstance(exc, kind):
                if head:  # a HEAD's answer has no body: its code is its status
                    code = str(status)
                raise client_error(code, str(exc), operation, status, exceptions) from exc
        raise
