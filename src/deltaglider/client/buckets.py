"""boto3's bucket methods, and bucket statistics."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from deltaglider.client.base import ClientBase
from deltaglider.client.models import BucketStats
from deltaglider.client.responses import response_metadata
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
        """Create a bucket; an existing one is success (idempotent)."""
        self._ignored("create_bucket", kwargs)
        if CreateBucketConfiguration and self._boto3 is not None:
            with contextlib.suppress(self._boto3.exceptions.BucketAlreadyOwnedByYou):
                self._boto3.create_bucket(
                    Bucket=Bucket, CreateBucketConfiguration=dict(CreateBucketConfiguration)
                )
        else:
            with self._errors("CreateBucket"):
                self.service.create_bucket(Bucket)
        self._changed(Bucket)
        return {"Location": f"/{Bucket}", "ResponseMetadata": response_metadata()}

    def head_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Whether the bucket exists, as boto3's ``head_bucket``: a missing
        bucket raises ClientError ``404``."""
        self._ignored("head_bucket", kwargs)
        with self._errors("HeadBucket", head=True):
            self._require_bucket(Bucket)
        return {"ResponseMetadata": response_metadata()}

    def delete_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Delete an empty bucket; a missing one raises ``NoSuchBucket``, as
        boto3 does."""
        self._ignored("delete_bucket", kwargs)
        with self._errors("DeleteBucket"):
            self.service.delete_bucket(Bucket)
        self._changed(Bucket)
        return {"ResponseMetadata": response_metadata(204)}

    def list_buckets(self, **kwargs: Any) -> dict[str, Any]:
        """Every bucket, with ``DeltaGliderStats`` where stats are cached."""
        self._ignored("list_buckets", kwargs)
        with self._errors("ListBuckets"):
            infos = self.service.list_buckets()
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
        return {
            "Buckets": buckets,
            "Owner": {"DisplayName": "", "ID": ""},
            "ResponseMetadata": response_metadata(),
        }

    def get_bucket_stats(
        self,
        bucket: str,
        detailed_stats: bool = False,
        *,
        mode: StatsMode | None = None,
        use_cache: bool = True,
    ) -> BucketStats:
        """Counts and sizes of a bucket, cached for this client until it
        changes the bucket (or :meth:`clear_cache`).

        Quick stats (the default) estimate each delta's size as its
        reference's; ``mode="sampled"`` reads one delta per folder;
        detailed stats (``detailed_stats=True`` or ``mode="detailed"``)
        read every delta.  Sizes read are kept in the bucket, so later
        sampled or detailed runs read only new deltas; ``use_cache=False``
        ignores both caches."""
        chosen: StatsMode = mode or ("detailed" if detailed_stats else "quick")
        with self._lock:
            cached = self._stats.get(bucket)
        if use_cache and cached is not None and _STATS_RANK[cached.mode] >= _STATS_RANK[chosen]:
            return cached
        stats = self.service.bucket_stats(bucket, mode=chosen, use_cache=use_cache)
        with self._lock:
            self._stats[bucket] = stats
        return stats
