"""create_client: the SDK's entry point."""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any
from urllib.parse import urlsplit

from botocore.config import Config

from deltaglider._version import __version__
from deltaglider.adapters.basics import LoggingMetrics, Sha256Hasher, StdLogger, UtcClock
from deltaglider.adapters.cache import cache_from_env
from deltaglider.adapters.codec_xdelta import XDeltaCodec
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.client.facade import DeltaGliderClient
from deltaglider.core.service import STREAM_THRESHOLD, DeltaService
from deltaglider.ports.storage import StoragePort
from deltaglider.xdelta.options import DEFAULT_MEMORY_BUDGET

_SESSION_ARGS = (
    "region_name",
    "profile_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
)
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MiB = 1 << 20


def create_client(
    endpoint_url: str | None = None, log_level: str | None = None, **kwargs: Any
) -> DeltaGliderClient:
    """A configured client.

    Args:
        endpoint_url: an S3-compatible endpoint (MinIO, R2, SeaweedFS...),
            ``file:///path`` for a local directory (no cloud account), or
            None for AWS S3 (or ``AWS_ENDPOINT_URL``).
        log_level: ``DEBUG`` (codec decisions and S3 calls), ``INFO``,
            ``WARNING`` or ``ERROR``; default ``DG_LOG_LEVEL`` or ``INFO``.
        **kwargs: ``tool_version``, ``max_ratio`` (default ``DG_MAX_RATIO``
            or 0.5), ``stream_threshold`` (bytes; default
            ``DG_STREAM_THRESHOLD_MB`` or 256 MiB), ``memory_budget``
            (bytes of match tables and source windows all of the client's
            encodes at once may hold; default ``DG_MEMORY_BUDGET_MB`` or
            512 MiB; see README's "Memory"), ``archive_deltas``
            (``"all"``, ``"zip"`` or ``"off"``; default ``DG_ARCHIVE_DELTAS``
            or ``"all"``: zip-family and gzip files stored as deltas of
            their contents; ``"off"`` for buckets deltaglider 6.2.0 must
            read), boto3 session arguments
            (``region_name``, ``profile_name``, ``aws_access_key_id``,
            ``aws_secret_access_key``, ``aws_session_token``) and a botocore
            ``config``.  ``cache_dir`` (older releases) is accepted and
            ignored with a DeprecationWarning: the cache is ephemeral and
            encrypted.

    Raises:
        ValueError: an unknown argument, or a bad setting.
    """
    options = dict(kwargs)
    if options.pop("cache_dir", None) is not None:
        warnings.warn(
            "create_client(cache_dir=...) is deprecated and ignored: the reference cache is "
            "ephemeral, process-private and encrypted (see DG_CACHE_* to tune it)",
            DeprecationWarning,
            stacklevel=2,
        )
    env = os.environ
    level = (log_level or env.get("DG_LOG_LEVEL") or "INFO").upper()
    if level not in _LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(_LEVELS)}, got {level!r}")
    logging.getLogger("deltaglider").setLevel(level)
    tool_version = str(options.pop("tool_version", f"deltaglider/{__version__}"))
    max_ratio = options.pop("max_ratio", None)
    if max_ratio is None:
        max_ratio = _env_number("DG_MAX_RATIO", 0.5)
    threshold = options.pop("stream_threshold", None)
    if threshold is None:
        threshold = int(
            _env_number("DG_STREAM_THRESHOLD_MB", STREAM_THRESHOLD / (1 << 20)) * (1 << 20)
        )
    budget = options.pop("memory_budget", None)
    if budget is None:
        budget = int(_env_number("DG_MEMORY_BUDGET_MB", DEFAULT_MEMORY_BUDGET / MiB) * MiB)
    if int(budget) <= 0:
        raise ValueError(f"memory_budget must be positive, got {budget}")
    archive_deltas = str(
        options.pop("archive_deltas", None) or env.get("DG_ARCHIVE_DELTAS") or "all"
    ).lower()
    session = {name: options.pop(name) for name in _SESSION_ARGS if name in options}
    config = options.pop("config", None)
    if options:
        raise ValueError(f"create_client: unknown arguments {sorted(options)}")
    endpoint = endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    storage: StoragePort
    raw_client = None
    if endpoint is not None and endpoint.startswith("file:"):
        storage = LocalStorage.from_url(endpoint)
    else:
        _check_endpoint(endpoint)
        if config is not None and not isinstance(config, Config):
            raise ValueError("config must be a botocore.config.Config")
        s3 = S3Storage.connect(endpoint_url=endpoint, config=config, **session)
        storage, raw_client = s3, s3.client
    service = DeltaService(
        storage,
        XDeltaCodec(memory_budget=int(budget)),
        Sha256Hasher(),
        cache_from_env(),
        UtcClock(),
        StdLogger(),
        LoggingMetrics(),
        tool_version=tool_version,
        max_ratio=float(max_ratio),
        stream_threshold=int(threshold),
        archive_deltas=archive_deltas,
    )
    return DeltaGliderClient(service, endpoint_url=endpoint, raw_client=raw_client)


def _check_endpoint(endpoint: str | None) -> None:
    """Refuse an endpoint botocore would misread (``htp://h`` becomes a
    region error, ``localhost:9000`` a host named ``localhost``)."""
    if endpoint is None:
        return
    parsed = urlsplit(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(
            f"endpoint URL {endpoint!r} must be http://host[:port], https://host[:port] "
            "or file:///path"
        )
    try:
        parsed.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise ValueError(f"endpoint URL {endpoint!r}: {exc}") from None


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc
