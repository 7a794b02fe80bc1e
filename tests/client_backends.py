"""Clients for the SDK tests: one on a local directory, one on SeaweedFS."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from seaweed import ACCESS_KEY, REGION, SECRET_KEY, s3_client

from deltaglider import DeltaGliderClient, create_client

_NAMES = itertools.count()


def seaweed_client(endpoint: str, **kwargs: Any) -> DeltaGliderClient:
    """create_client() for the test SeaweedFS server."""
    return create_client(
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
        **kwargs,
    )


def empty_and_delete(raw: Any, bucket: str) -> None:
    """Remove a SeaweedFS bucket and everything in it (plain boto3)."""
    for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            raw.delete_object(Bucket=bucket, Key=item["Key"])
    raw.delete_bucket(Bucket=bucket)


@pytest.fixture(params=["local", "seaweedfs"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[DeltaGliderClient, str]]:
    """A client and an empty bucket it may use, on each backend."""
    bucket = f"sdk-{next(_NAMES)}-{request.node.name[:20].lower().replace('_', '-')}"
    bucket = "".join(c if c.isalnum() or c == "-" else "-" for c in bucket).strip("-")
    if request.param == "local":
        client = create_client(endpoint_url=(tmp_path / "store").as_uri())
        client.create_bucket(Bucket=bucket)
        yield client, bucket
        return
    endpoint = request.getfixturevalue("seaweed_endpoint")
    client = seaweed_client(endpoint)
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    empty_and_delete(s3_client(endpoint), bucket)
