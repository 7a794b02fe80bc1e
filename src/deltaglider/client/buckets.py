"""boto3's bucket methods, and bucket statistics."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from deltaglider.client.base import ClientBase
from deltaglider.client.models import BucketStats
from deltaglider.client.responses import with_headers
from deltaglider.core.stats import StatsMode

_STATS_RANK = {"quick": 0, "sampled": 1, "detailed": 2}


class BucketMethods(ClientBase):
    """``create_bucket``, ``delete_bucket``, ``list_buckets``, ``head_bucket``
    and ``get_bucket_stats``."""

    def create_bucket(
        self,
        Bucket: str,
        CreateBucketConfiguration: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a bucket; an existing one is success (idempotent).  On
        S3 every argument of boto3's (ACLs, object lock, ownership) is sent
        as it is; a local directory store refuses them, and takes a
        ``LocationConstraint`` (it has no regions) but no other setting."""
        if (CreateBucketConfiguration or kwargs) and self._boto3 is not None:
            with contextlib.suppress(self._boto3.exceptions.BucketAlreadyOwnedByYou):
                configuration = dict(CreateBucketConfiguration or {})
                extra = {"CreateBucketConfiguration": configuration} if configuration else {}
                self._boto3.create_bucket(Bucket=Bucket, **extra, **kwargs)
        else:
            self._no_other_arguments("CreateBucket", kwargs)
            other = set(CreateBucketConfiguration or {}) - {"LocationConstraint"}
            if other:  # a region means nothing to a directory; other settings would
                raise self._error(
                    "NotImplemented",
                    f"CreateBucketConfiguration {sorted(other)}: not on a local directory store",
                    "CreateBucket",
                    501,
                )
            with self._errors("CreateBucket"):
                self.service.create_bucket(Bucket)
        self._changed(Bucket)
        return with_headers({"Location": f"/{Bucket}"})

    def head_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Whether the bucket exists, as boto3's ``head_bucket``: a missing
        bucket raises ClientError ``404``."""
        self._no_other_arguments("HeadBucket", kwargs)
        with self._errors("HeadBucket", head=True):
            self._require_bucket(Bucket)
        return with_headers({})

    def delete_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Delete an empty bucket; a missing one raises ``NoSuchBucket``, as
        boto3 does."""
        self._no_other_arguments("DeleteBucket", kwargs)
        with self._errors("DeleteBucket"):
            self.service.delete_bucket(Bucket)
        self._changed(Bucket)
        return with_headers({}, 204)

    def list_buckets(self, Prefix: str = "", **kwargs: Any) -> dict[str, Any]:
        """Every bucket (whose name starts with ``Prefix``), with
        ``DeltaGliderStats`` where stats are cached."""
        self._no_other_arguments("ListBuckets", kwargs)
        with self._errors("ListBuckets"):
            infos = [b for b in self.service.list_buckets() if b.name.startswith(Prefix)]
        buckets = []
        for info in infos:
            entry: dict[str, Any] = {"Name": info.name, "CreationDate": info.created}
            with self._lock:
                stats = self._stats.get(info.name)
            if stats is not None:
                entry["DeltaGliderStats"] = {
                    "Cached": True,
                    "Detailed": stats.detailed,
                    "ObjectCount": stats.object_count,
                    "TotalSize": stats.total_size,
                    "CompressedSize": stats.compressed_size,
                    "SpaceSaved": stats.space_saved,
                    "AverageCompressionRatio": stats.average_compression_ratio,
                    "DeltaObjects": stats.delta_objects,
                    "DirectObjects": stats.direct_objects,
                }
            buckets.append(entry)
        response = with_headers({"Buckets": buckets, "Owner": self._owner()})
        if Prefix:
            response["Prefix"] = Prefix
        return response

    def get_bucket_stats(
        self,
        bucket: str,
        detailed_stats: bool = False,
        *,
        mode: StatsMode | None = None,
        use_cache: bool = True,
        refresh_cache: bool = False,
    ) -> BucketStats:
        """Counts and sizes of a bucket, cached for this client until it
        changes the bucket (or :meth:`clear_cache`).

        Quick stats (the default) estimate each delta's size as its
        reference's; ``mode="sampled"`` reads one delta per folder;
        detailed stats (``detailed_stats=True`` or ``mode="detailed"``)
        read every delta.  Sizes read are kept in the bucket, so later
        sampled or detailed runs read only new deltas; ``use_cache=False``
        ignores both caches; ``refresh_cache=True`` (6.2.0's name) reads
        every delta's size again and rewrites the bucket's cache."""
        chosen: StatsMode = mode or ("detailed" if detailed_stats else "quick")
        with self._lock:
            cached = self._stats.get(bucket)
        reuse = use_cache and not refresh_cache
        if reuse and cached is not None and _STATS_RANK[cached.mode] >= _STATS_RANK[chosen]:
            return cached
        stats = self.service.bucket_stats(
            bucket, mode=chosen, use_cache=use_cache, refresh=refresh_cache
        )
        with self._lock:
            self._stats[bucket] = stats
        return stats
