"""Lifecycle rules that can never expire or archive a reference.

S3 lifecycle filters cannot tell ``reference.bin`` from the files around
it by name, so the files are told apart by an object tag instead: the
stored form of every logical file under a managed prefix (its delta, or the
file itself) carries :data:`TAG`, and the rule only matches objects with
that tag.  References are never tagged, so no rule of ours removes or
archives one while deltas need it; a reference whose deltas have all
expired stays until its folder is emptied by deltaglider.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

TAG = ("deltaglider-lifecycle", "file")
RULE_PREFIX = "deltaglider:"


def rule(prefix: str, days_before_archive: int, days_before_delete: int) -> dict[str, Any]:
    """The lifecycle rule for the files under ``prefix``.

    Raises:
        ValueError: days that are not whole, positive and in order.
    """
    if days_before_delete < 1:
        raise ValueError(f"days_before_delete must be at least 1, got {days_before_delete}")
    if not 0 <= days_before_archive < days_before_delete:
        raise ValueError(
            "days_before_archive must be 0 (no archiving) or less than days_before_delete, "
            f"got {days_before_archive} and {days_before_delete}"
        )
    body: dict[str, Any] = {
        "ID": RULE_PREFIX + prefix,
        "Status": "Enabled",
        "Filter": {"And": {"Prefix": prefix, "Tags": [{"Key": TAG[0], "Value": TAG[1]}]}},
        "Expiration": {"Days": days_before_delete},
    }
    if days_before_archive:
        body["Transitions"] = [{"Days": days_before_archive, "StorageClass": "GLACIER"}]
    return body


def merged(existing: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The bucket's rules with ``new`` in place of any rule of the same ID."""
    return [r for r in existing if r.get("ID") != new["ID"]] + [new]


def managed_prefixes(rules: list[dict[str, Any]]) -> list[str]:
    """The prefixes our rules manage."""
    return [
        str(r["ID"])[len(RULE_PREFIX) :]
        for r in rules
        if str(r.get("ID", "")).startswith(RULE_PREFIX) and r.get("Status") == "Enabled"
    ]


def read_rules(boto3_client: Any, bucket: str) -> list[dict[str, Any]]:
    """A bucket's lifecycle rules; none when it has none."""
    try:
        response = boto3_client.get_bucket_lifecycle_configuration(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return []
        raise
    return list(response.get("Rules", []))


class ManagedPrefixes:
    """Per bucket, the prefixes under which new files get :data:`TAG`
    (read once per client; a bucket whose rules cannot be read has none)."""

    def __init__(self, boto3_client: Any) -> None:
        self._client = boto3_client
        self._known: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def tags_for(self, bucket: str, key: str, tags: Mapping[str, str] | None) -> dict[str, str]:
        """``tags`` plus :data:`TAG` when ``key`` is under a managed prefix."""
        result = dict(tags or {})
        if self._client is None:
            return result
        with self._lock:
            prefixes = self._known.get(bucket)
        if prefixes is None:
            try:
                prefixes = managed_prefixes(read_rules(self._client, bucket))
            except ClientError:
                prefixes = []  # no right to read them, or no lifecycle support
            self.remember(bucket, prefixes)
        if any(key.startswith(p) for p in prefixes):
            result[TAG[0]] = TAG[1]
        return result

    def remember(self, bucket: str, prefixes: list[str]) -> None:
        """Record a bucket's managed prefixes."""
        with self._lock:
            self._known[bucket] = prefixes
