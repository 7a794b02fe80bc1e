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
    cause: BaseException | None = None,
) -> ClientError:
    """A ClientError of the modeled class for ``code`` (plain ClientError
    for codes S3 does not model, as botocore does), from ``exceptions`` (a
    boto3 client's, so its ``exceptions.NoSuchKey`` catches it), with the
    HTTP ``headers`` S3 sends with it; the request ids are those of the
    server's answer that ``cause`` (an engine error) came from, if any."""
    metadata = response_metadata(status, headers)
    if cause is not None:  # the server's ids, not made-up ones
        server = _server_metadata(cause)
        if server.get("RequestId"):
            metadata["RequestId"] = server["RequestId"]
            metadata["HostId"] = server.get("HostId", "")
            sent = server.get("HTTPHeaders", {})
            for name in ("x-amz-request-id", "x-amz-id-2"):
                if name in sent:
                    metadata["HTTPHeaders"][name] = sent[name]
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
                raise client_error(
                    code, str(exc), operation, status, exceptions, cause=exc
                ) from exc
        raise


def _server_metadata(error: BaseException) -> Mapping[str, Any]:
    """The ``ResponseMetadata`` of the S3 answer an engine error came from
    (the botocore ClientError in its chain of causes), or nothing."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ClientError):
            metadata: Mapping[str, Any] = seen.response.get("ResponseMetadata", {})
            return metadata
        seen = seen.__cause__ or seen.__context__
    return {}
