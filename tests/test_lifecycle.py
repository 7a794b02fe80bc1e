"""lifecycle_policy: files under a prefix expire, references never do."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from helpers import make_service, mutate
from moto import mock_aws

from deltaglider import DeltaGliderClient, create_client
from deltaglider.adapters.s3_storage import S3Storage
from deltaglider.client import lifecycle

V1 = os.urandom(100_000)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeltaGliderClient]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        raw = boto3.client("s3", region_name="us-east-1")
        storage = S3Storage(raw)
        storage.create_bucket("lc-bucket")
        yield DeltaGliderClient(make_service(storage), raw_client=raw)


def test_rules_match_tagged_files_only_and_files_get_the_tag(client: DeltaGliderClient) -> None:
    client.put_object(Bucket="lc-bucket", Key="logs/a.zip", Body=V1)
    client.put_object(Bucket="lc-bucket", Key="logs/b.zip", Body=mutate(V1, 1, 10))
    client.put_object(Bucket="lc-bucket", Key="logs/notes.txt", Body=b"n", Tagging="keep=me")
    client.put_object(Bucket="lc-bucket", Key="other/c.zip", Body=V1)
    client.lifecycle_policy("s3://lc-bucket/logs/", days_before_archive=30, days_before_delete=90)
    client.lifecycle_policy("s3://lc-bucket/logs/", days_before_archive=7, days_before_delete=60)
    rules = client.get_bucket_lifecycle_configuration(Bucket="lc-bucket")["Rules"]
    assert len(rules) == 1  # the second call replaced the first rule
    (rule,) = rules
    assert rule["ID"] == "deltaglider:logs/"
    assert rule["Filter"]["And"]["Prefix"] == "logs/"
    assert rule["Filter"]["And"]["Tags"] == [{"Key": "deltaglider-lifecycle", "Value": "file"}]
    assert rule["Expiration"] == {"Days": 60}
    assert rule["Transitions"][0]["Days"] == 7
    storage = client.service.storage
    tagged = {"deltaglider-lifecycle": "file"}
    # Existing files were tagged, keeping their own tags; the reference was not.
    assert storage.get_tags("lc-bucket", "logs/a.zip.delta") == tagged
    assert storage.get_tags("lc-bucket", "logs/notes.txt") == {"keep": "me", **tagged}
    assert storage.get_tags("lc-bucket", "logs/reference.bin") == {}
    assert storage.get_tags("lc-bucket", "other/c.zip.delta") == {}
    # New files under the prefix get the tag as they are stored, by any client.
    fresh = DeltaGliderClient(client.service, raw_client=client.service.storage.client)
    fresh.put_object(Bucket="lc-bucket", Key="logs/d.zip", Body=mutate(V1, 2, 10))
    fresh.put_object(Bucket="lc-bucket", Key="other/e.zip", Body=mutate(V1, 3, 10))
    assert storage.get_tags("lc-bucket", "logs/d.zip.delta") == tagged
    assert storage.get_tags("lc-bucket", "other/e.zip.delta") == {}
    assert storage.get_tags("lc-bucket", "logs/reference.bin") == {}


def test_other_rules_are_kept(client: DeltaGliderClient) -> None:
    client.put_bucket_lifecycle_configuration(
        Bucket="lc-bucket",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "mine",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 1},
                }
            ]
        },
    )
    client.lifecycle_policy("s3://lc-bucket/logs/", days_before_archive=0, days_before_delete=5)
    rules = {
        r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket="lc-bucket")["Rules"]
    }
    assert set(rules) == {"mine", "deltaglider:logs/"}
    assert "Transitions" not in rules["deltaglider:logs/"]


def test_bad_days_and_backends(tmp_path: Path) -> None:
    for archive, delete in ((30, 30), (-1, 5), (0, 0)):
        with pytest.raises(ValueError, match="days"):
            lifecycle.rule("p/", archive, delete)
    local = create_client(endpoint_url=tmp_path.as_uri())
    with pytest.raises(NotImplementedError, match="S3"):
        local.lifecycle_policy("s3://b/p/")


def test_acls_and_presigned_posts(client: DeltaGliderClient, tmp_path: Path) -> None:
    client.put_bucket_acl(Bucket="lc-bucket", ACL="private")
    grants = client.get_bucket_acl(Bucket="lc-bucket")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    post = client.generate_presigned_post("lc-bucket", "up/a.zip", ExpiresIn=60)
    assert post["fields"]["key"] == "up/a.zip"
    assert "lc-bucket" in post["url"]
    local = create_client(endpoint_url=tmp_path.as_uri())
    local.create_bucket(Bucket="local-bucket")
    assert local.get_bucket_acl(Bucket="local-bucket")["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(local.exceptions.NoSuchBucket):
        local.get_bucket_acl(Bucket="missing-bucket")
    for call in (
        lambda: local.put_bucket_acl(Bucket="local-bucket", ACL="private"),
        lambda: local.generate_presigned_post("local-bucket", "k"),
    ):
        with pytest.raises(local.exceptions.ClientError, match="NotImplemented"):
            call()
