"""What only S3 itself can do, handed to the raw boto3 client: ACLs,
presigned URLs and POSTs, lifecycle rules, and any other S3 method."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from deltaglider.client import lifecycle
from deltaglider.client.base import ClientBase
from deltaglider.client.responses import with_headers
from deltaglider.client.urls import parse_s3_url
from deltaglider.core import keys


class RawS3Methods(ClientBase):
    """ACLs, presigning, lifecycle, and ``__getattr__`` to boto3."""

    def __getattr__(self, name: str) -> Any:
        """Any other S3 client method, from the underlying boto3 client."""
        raw = self.__dict__.get("_boto3")
        if raw is None or name.startswith("_"):
            where = " (the local-directory backend has no boto3 client)" if raw is None else ""
            raise AttributeError(f"DeltaGliderClient has no attribute {name!r}{where}")
        return getattr(raw, name)

    def _s3_only(self, what: str, operation: str) -> None:
        """Refuse, with ``NotImplemented``, what only an S3 endpoint does."""
        if self._boto3 is None:
            message = f"{what} need an S3 endpoint (not the local-directory backend)"
            raise self._error("NotImplemented", message, operation, 501)

    def get_bucket_acl(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """The bucket's ACL (from S3; a local directory is its owner's alone)."""
        if self._boto3 is not None:
            acl: dict[str, Any] = self._boto3.get_bucket_acl(Bucket=Bucket, **kwargs)
            return acl
        self._no_other_arguments("GetBucketAcl", kwargs)
        with self._errors("GetBucketAcl"):
            self._require_bucket(Bucket)
        owner = self._owner()
        grant = {"Grantee": {**owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
        return with_headers({"Owner": owner, "Grants": [grant]})

    def put_bucket_acl(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Set the bucket's ACL (S3 backend; a local directory has file
        permissions instead)."""
        self._s3_only("bucket ACLs (a local directory has file permissions)", "PutBucketAcl")
        acl: dict[str, Any] = self._boto3.put_bucket_acl(Bucket=Bucket, **kwargs)
        return acl

    def generate_presigned_url(
        self,
        ClientMethod: str,
        Params: Mapping[str, Any] | None = None,
        ExpiresIn: int = 3600,
        HttpMethod: str | None = None,
    ) -> str:
        """A presigned URL (S3 backend).  A ``get_object`` URL for a file
        stored as a delta points at a verified copy of the file rebuilt
        under ``.deltaglider/tmp/`` that expires with the URL (remove expired
        copies with :meth:`purge_temp_files`); one for a key that does not
        exist is signed as boto3 signs it (it will answer 404).  Other
        methods are signed by boto3 as they are: a presigned PUT stores the
        file as is."""
        self._s3_only("presigned URLs", "GeneratePresignedUrl")
        params = dict(Params or {})
        if ClientMethod == "get_object" and "Range" not in params:
            temp_key = self.rehydrate_for_download(params["Bucket"], params["Key"], ExpiresIn)
            if temp_key is not None:
                params["Key"] = temp_key
        url: str = self._boto3.generate_presigned_url(
            ClientMethod, Params=params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    def generate_presigned_post(
        self,
        Bucket: str,
        Key: str,
        Fields: Mapping[str, Any] | None = None,
        Conditions: list[Any] | None = None,
        ExpiresIn: int = 3600,
    ) -> dict[str, Any]:
        """A presigned POST (S3 backend), signed by boto3: a browser upload
        through it stores the file as is, without delta compression (the
        bucket's folder stays readable; ``copy_object`` onto itself later
        would compress it)."""
        self._s3_only("presigned POSTs", "GeneratePresignedPost")
        post: dict[str, Any] = self._boto3.generate_presigned_post(
            Bucket, Key, Fields=Fields, Conditions=Conditions, ExpiresIn=ExpiresIn
        )
        return post

    def rehydrate_for_download(self, Bucket: str, Key: str, ExpiresIn: int = 3600) -> str | None:
        """For a file stored as a delta, the key of a verified copy rebuilt
        under ``.deltaglider/tmp/`` (expiring after ``ExpiresIn`` seconds,
        removed by :meth:`purge_temp_files`); None for a file stored as is
        or a key that does not exist, or one no file is stored under (such
        as a rebuilt copy's own key); 6.2.0's method."""
        if keys.key_problem(Key) is not None:
            return None
        with self._errors("GetObject"):
            stored = self.service.head(Bucket, Key)
            if stored is None or not stored.is_delta:
                return None
            expires = datetime.now(UTC) + timedelta(seconds=ExpiresIn)
            return self.service.temp_copy(stored, expires)

    def generate_presigned_url_with_rehydration(
        self, Bucket: str, Key: str, ExpiresIn: int = 3600
    ) -> str:
        """A presigned GET of the file under ``Key`` (a rebuilt copy for a
        delta, downloaded under the file's own name); 6.2.0's method."""
        self._s3_only("presigned URLs", "GeneratePresignedUrl")
        params: dict[str, Any] = {"Bucket": Bucket, "Key": Key}
        temp_key = self.rehydrate_for_download(Bucket, Key, ExpiresIn)
        if temp_key is not None:
            name = keys.split_key(Key)[1].replace('"', "")
            params["Key"] = temp_key
            params["ResponseContentDisposition"] = f'attachment; filename="{name}"'
        url: str = self._boto3.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=ExpiresIn
        )
        return url

    def purge_temp_files(self, bucket: str, dry_run: bool = False) -> list[str]:
        """Remove the expired rebuilt copies under ``.deltaglider/tmp/``;
        returns their keys (only listed with ``dry_run``)."""
        return self.service.purge_temp_copies(bucket, datetime.now(UTC), dry_run=dry_run)

    def lifecycle_policy(
        self, s3_prefix: str, days_before_archive: int = 30, days_before_delete: int = 90
    ) -> None:
        """Archive (to GLACIER) and then delete the files under ``s3_prefix``
        after so many days, never a ``reference.bin`` (S3 backend).

        The bucket gets a lifecycle rule matching only objects tagged as
        files (see :mod:`deltaglider.client.lifecycle`); the files already
        under the prefix are tagged now, new ones as they are stored.
        ``days_before_archive=0`` deletes without archiving first.

        Raises:
            ValueError: a bad URL or days out of order.
            NotImplementedError: the local-directory backend (no lifecycle).
        """
        bucket, prefix = parse_s3_url(s3_prefix)
        new_rule = lifecycle.rule(prefix, days_before_archive, days_before_delete)
        if self._boto3 is None:
            raise NotImplementedError("lifecycle rules need an S3 endpoint")
        rules = lifecycle.merged(lifecycle.read_rules(self._boto3, bucket), new_rule)
        self._boto3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
        self._lifecycle.remember(bucket, lifecycle.managed_prefixes(rules))
        for entry in self.service.list_logical(bucket, prefix).objects:
            tags = self.service.get_tags(bucket, entry.key)
            if tags.get(lifecycle.TAG[0]) != lifecycle.TAG[1]:
                self.service.put_tags(
                    bucket, entry.key, {**tags, lifecycle.TAG[0]: lifecycle.TAG[1]}
                )
