"""One bad object never blocks a bucket: a plain object named ``*.delta``
(another tool's) and a delta whose metadata was damaged are listed, the
first read as the plain object it is, the second refused on its own, and
every other object still listed, copied and verified."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from client_backends import backend  # noqa: F401 - fixture
from helpers import mutate
from test_cli import Cli, cli  # noqa: F401 - fixture

from deltaglider import DeltaGliderClient

V1 = os.urandom(150_000)
V2 = mutate(V1, seed=3, edits=10)
NOTES = b"a plain object some other tool stored under a .delta name\n"


def store_with_damaged_delta(client: DeltaGliderClient, bucket: str, **fields: str) -> None:
    """rel/a.zip and rel/b.zip stored by us, then rel/b.zip.delta's metadata
    rewritten with ``fields`` (``dg_file_size`` for ``dg-file-size``)."""
    client.put_object(Bucket=bucket, Key="rel/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="rel/b.zip", Body=V2)
    storage = client.service.storage
    head, body = storage.open(bucket, "rel/b.zip.delta")
    with body:
        delta = body.read()
    damaged = {name.replace("_", "-"): value for name, value in fields.items()}
    storage.put(bucket, "rel/b.zip.delta", delta, {**head.metadata, **damaged})


def plant_bad_objects(client: DeltaGliderClient, bucket: str) -> None:
    """rel/a.zip and rel/b.zip stored by us; rel/notes.delta written
    without our metadata; rel/b.zip.delta's dg-file-size damaged."""
    store_with_damaged_delta(client, bucket, dg_file_size="lots")
    client.service.storage.put(bucket, "rel/notes.delta", NOTES, {"origin": "other-tool"})


def test_listings_and_reads_go_on_past_bad_objects(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    plant_bad_objects(client, bucket)
    listed = client.list_objects_v2(Bucket=bucket, Prefix="rel/")
    sizes = {item["Key"]: item["Size"] for item in listed["Contents"]}
    assert sizes["rel/a.zip"] == len(V1)
    assert sizes["rel/notes.delta"] == len(NOTES)
    assert set(sizes) == {"rel/a.zip", "rel/b.zip", "rel/notes.delta"}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={})
    assert sum(len(p.get("Contents", [])) for p in pages) == 3
    detailed = client.list_objects_v2(Bucket=bucket, Prefix="rel/b", FetchMetadata=True)
    assert "metadata is damaged" in detailed["Contents"][0]["Metadata"]["deltaglider-problem"]

    got = client.get_object(Bucket=bucket, Key="rel/notes.delta")
    assert got["Body"].read() == NOTES
    assert got["Metadata"] == {"origin": "other-tool"}
    assert client.get_object(Bucket=bucket, Key="rel/a.zip")["Body"].read() == V1
    with pytest.raises(ClientError) as refused:
        client.get_object(Bucket=bucket, Key="rel/b.zip")
    assert "metadata is damaged" in str(refused.value)
    assert client.verify(f"s3://{bucket}/rel/a.zip") is True
    assert client.verify(f"s3://{bucket}/rel/b.zip") is False


def test_batch_commands_report_a_bad_object_and_carry_on(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    plant_bad_objects(cli.client, cli.bucket)
    listing = cli("ls", "-r", cli.url())
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[-1] for line in listing.stdout.splitlines()]
    assert names == ["rel/a.zip", "rel/b.zip", "rel/notes.delta"]

    copied = cli("cp", "-r", cli.url("rel/"), str(tmp_path / "out"))
    # The other objects are restored; the damaged one is named on one line.
    assert copied.returncode == 4, copied.stdout + copied.stderr  # an integrity failure
    assert (tmp_path / "out" / "a.zip").read_bytes() == V1
    assert (tmp_path / "out" / "notes.delta").read_bytes() == NOTES
    assert not (tmp_path / "out" / "b.zip").exists()
    errors = [line for line in copied.stderr.splitlines() if "b.zip" in line]
    assert len(errors) == 1, copied.stderr
    assert "metadata is damaged" in errors[0]

    checked = cli("verify", "-r", cli.url("rel/"))
    assert checked.returncode == 4, checked.stdout + checked.stderr
    assert "metadata is damaged" in checked.stdout + checked.stderr


def test_a_restore_names_another_tools_reference_bin(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.client.put_object(Bucket=cli.bucket, Key="rel/a.zip", Body=V1)
    storage = cli.client.service.storage
    storage.put(cli.bucket, "docs/reference.bin", b"someone's own file\n", {})
    storage.put(cli.bucket, "docs/readme.txt", b"hello\n", {})
    assert cli.client.foreign_references(Bucket=cli.bucket) == ["docs/reference.bin"]
    for command in (["cp", "-r"], ["sync"]):
        out = tmp_path / "-".join(command)
        restored = cli(*command, cli.url(), str(out))
        assert restored.returncode == 5, restored.stdout + restored.stderr  # partial
        assert (out / "docs" / "readme.txt").read_bytes() == b"hello\n"
        assert (out / "rel" / "a.zip").read_bytes() == V1
        skipped = [line for line in restored.stderr.splitlines() if "reference.bin" in line]
        assert len(skipped) == 1, restored.stderr
        assert "docs/reference.bin: skipped, another tool's file" in skipped[0]


def test_a_listed_key_whose_reference_is_gone_is_an_integrity_error(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    client.put_object(Bucket=bucket, Key="gone/a.zip", Body=V1)
    client.put_object(Bucket=bucket, Key="gone/b.zip", Body=V2)
    client.service.storage.delete(bucket, "gone/reference.bin")  # another tool's doing
    client.clear_cache()
    with pytest.raises(ClientError) as refused:
        client.get_object(Bucket=bucket, Key="gone/b.zip")
    assert refused.value.response["Error"]["Code"] == "DeltaGliderIntegrityError"
    assert "reference" in str(refused.value)
    assert "missing" in str(refused.value)
    assert client.verify(f"s3://{bucket}/gone/b.zip") is False
    with pytest.raises(ParamValidationError, match="Invalid type for parameter Body"):
        client.put_object(Bucket=bucket, Key="gone/c.zip", Body=12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "reference", ["../../etc/reference.bin", "rel/../reference.bin", "/rel/reference.bin"]
)
def test_a_reference_key_outside_the_bucket_is_damage_not_a_crash(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
    reference: str,
) -> None:
    """verify() raised (InvalidKeyError from the local store) for a
    dg-ref-key that climbs with '..'; now it is damaged metadata."""
    client, bucket = backend
    store_with_damaged_delta(client, bucket, dg_ref_key=reference)
    result = client.verify_object(f"s3://{bucket}/rel/b.zip")
    assert not result.valid
    assert "is not a key of the bucket" in (result.details or "")
    with pytest.raises(ClientError) as error:
        client.get_object(Bucket=bucket, Key="rel/b.zip")
    assert "is not a key of the bucket" in str(error.value)


def test_sizes_in_other_digits_are_damage(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    client, bucket = backend
    arabic = "".join(chr(0x0660 + int(d)) for d in str(len(V2)))
    store_with_damaged_delta(client, bucket, dg_file_size=arabic)
    assert not client.verify(f"s3://{bucket}/rel/b.zip")


def test_a_recursive_delete_removes_another_tools_delta_named_object(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
) -> None:
    """It was counted as deleted and left in place (the listing showed it
    as ``rel/notes``, the delete took that name)."""
    client, bucket = backend
    plant_bad_objects(client, bucket)
    answer = client.delete_objects_recursive(Bucket=bucket, Prefix="rel/")
    deleted = {item["Key"] for item in answer["Deleted"]}
    assert "rel/notes.delta" in deleted
    left = [o.key for o in client.service.storage.iter_objects(bucket, "rel/")]
    assert left == [], left
    assert "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix="rel/")
