"""boto3's arguments: each one a method takes is honoured or refused,
never dropped.

A name boto3's S3 model does not have is refused as boto3 refuses it
(``ParamValidationError``).  A name it has that this client does not
honour (on this backend) is refused with S3's answer to a header it does
not implement: ``ClientError`` ``NotImplemented`` (501), naming the
argument, before anything is read or written.  README.md's table says,
per argument, which.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from typing import Any

from botocore.exceptions import ParamValidationError
from botocore.utils import parse_timestamp

from deltaglider.client.errors import client_error, s3_model

DEFAULTS = {"StorageClass": "STANDARD", "RequestPayer": "requester", "ChecksumMode": "ENABLED"}
"""Values that ask for what every object here already is or does: the
standard storage class, the caller accepting requester-pays charges (the
store bills as it bills), checksums in responses where recorded."""


@cache
def members(operation: str) -> tuple[str, ...]:
    """The arguments boto3's S3 model gives ``operation`` (``PutObject``)."""
    return tuple(s3_model().operation_model(operation).input_shape.members)


def check(
    operation: str,
    given: Mapping[str, Any],
    honoured: Collection[str],
    exceptions: Any = None,
    backend: str = "",
) -> None:
    """Refuse every argument in ``given`` not in ``honoured`` (or holding
    its :data:`DEFAULTS` value): unknown to boto3, or not implemented."""
    known = members(operation)
    for name in given:
        if name not in known:
            raise ParamValidationError(
                report=f'Unknown parameter in input: "{name}", must be one of: ' + ", ".join(known)
            )
    refused = sorted(
        name
        for name, value in given.items()
        if name not in honoured and DEFAULTS.get(name) != value
    )
    if refused:
        where = f" on {backend}" if backend else ""
        raise client_error(
            "NotImplemented",
            f"{operation}: deltaglider does not implement {', '.join(refused)}{where}; "
            "the request was refused and nothing was changed",
            operation,
            501,
            exceptions,
        )


def field_value(name: str, value: Any) -> str:
    """An object field's value as the storage port keeps it."""
    if name == "Expires":
        return format_datetime(timestamp(value), usegmt=True)
    if name == "BucketKeyEnabled":
        return "true" if value else "false"
    return str(value)


def timestamp(value: datetime | str) -> datetime:
    """A boto3 timestamp argument (a datetime, naive meaning UTC, or a
    string) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else parse_timestamp(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}


def response_overrides(given: Mapping[str, Any]) -> dict[str, Any]:
    """The response fields the ``Response*`` arguments set."""
    fields: dict[str, Any] = {}
    for argument, name in _OVERRIDES.items():
        if argument in given:
            if name == "Expires":
                fields["ExpiresString"] = field_value("Expires", given[argument])
                fields[name] = timestamp(given[argument])
            else:
                fields[name] = str(given[argument])
    return fields


def other_arguments(given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` without the ``Response*`` overrides."""
    return {name: value for name, value in given.items() if name not in _OVERRIDES}
