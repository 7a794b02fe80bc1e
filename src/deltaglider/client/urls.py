"""``s3://bucket/key`` URLs."""

from __future__ import annotations


def parse_s3_url(url: str, *, need_key: bool = False) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``.

    Raises:
        ValueError: not an s3:// URL, no bucket, or no key when one is needed.
    """
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise ValueError(f"not an S3 URL (expected s3://bucket/key): {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in S3 URL {url!r}")
    if need_key and (not key or key.endswith("/")):
        raise ValueError(f"no object key in S3 URL {url!r}")
    return bucket, key
