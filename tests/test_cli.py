"""The ``deltaglider`` command, run as users run it (a child process), on a
local directory and on SeaweedFS."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from archives import release
from client_backends import empty_and_delete, seaweed_client
from helpers import drop_size_markers, mutate
from seaweed import ACCESS_KEY, REGION, SECRET_KEY, s3_client

from deltaglider import DeltaGliderClient, archive, create_client
from deltaglider.core.models import PutOptions
from deltaglider.core.size_cache import SIZE_CACHE_KEY

V1 = os.urandom(200_000)
V2 = mutate(V1, seed=8, edits=10)
V3 = mutate(V2, seed=9, edits=10)
_NAMES = itertools.count()


@dataclass
class Cli:
    """The command on one backend, with a bucket of its own."""

    endpoint: str
    bucket: str
    client: DeltaGliderClient
    raw: object | None  # plain boto3 on SeaweedFS

    def __call__(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``deltaglider --endpoint-url ENDPOINT ARGS`` (the installed
        command when on PATH, else ``python -m deltaglider``)."""
        installed = shutil.which("deltaglider")
        command = [installed] if installed else [sys.executable, "-m", "deltaglider"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        env["AWS_DEFAULT_REGION"] = REGION
        return subprocess.run(
            [*command, "--endpoint-url", self.endpoint, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=180,
        )

    def binary(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        """The command with bytes on standard input and output."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        return subprocess.run(
            [sys.executable, "-m", "deltaglider", "--endpoint-url", self.endpoint, *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=180,
        )

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


@pytest.fixture(params=["local", "seaweedfs"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    bucket = f"cli-{next(_NAMES)}-{os.getpid()}"
    if request.param == "local":
        store = tmp_path / "store"
        store.mkdir()
        endpoint = store.as_uri()
        runner = Cli(endpoint, bucket, create_client(endpoint_url=endpoint), None)
    else:
        endpoint = request.getfixturevalue("seaweed_endpoint")
        runner = Cli(endpoint, bucket, seaweed_client(endpoint), s3_client(endpoint))
    made = runner("mb", runner.url())
    assert made.stdout == f"make_bucket: {bucket}\n", made.stderr
    yield runner
    if runner.raw is not None and runner.client.service.bucket_exists(bucket):
        empty_and_delete(runner.raw, bucket)


def shown(path: Path) -> str:
    """A local path as the command (like aws) prints it: relative to the
    working directory, however it was given."""
    return os.path.join(os.path.relpath(path.parent), path.name)


def _names(listing: str) -> list[str]:
    return [line.split()[-1] for line in listing.splitlines() if line.strip()]


def test_cp_stores_versions_as_deltas_and_reads_them_back(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "app-1.zip").write_bytes(V1)
    (tmp_path / "app-2.zip").write_bytes(V2)
    first = cli("cp", "app-1.zip", cli.url("rel/"), cwd=tmp_path)
    second = cli("cp", "app-2.zip", cli.url("rel/"), cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith(f"upload: ./app-1.zip to {cli.url('rel/app-1.zip')} (new ref")
    assert "(delta, " in second.stdout
    assert "% saved)" in second.stdout
    got = cli("cp", cli.url("rel/app-2.zip"), str(tmp_path / "out") + os.sep)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out" / "app-2.zip").read_bytes() == V2
    renamed = cli("cp", cli.url("rel/app-1.zip"), str(tmp_path / "copy.zip"))
    assert renamed.returncode == 0
    assert (tmp_path / "copy.zip").read_bytes() == V1
    copied = cli("cp", cli.url("rel/app-2.zip"), cli.url("other/"))
    assert copied.stdout.startswith(
        f"copy: {cli.url('rel/app-2.zip')} to {cli.url('other/app-2.zip')} (new reference"
    )
    assert cli.client.get_object(Bucket=cli.bucket, Key="other/app-2.zip")["Body"].read() == V2


def test_cp_streams_standard_input_and_output(cli: Cli) -> None:
    assert cli.binary("cp", "-", cli.url("pipe/a.zip")).returncode == 0  # empty: stored as is
    stored = cli.binary("cp", "-", cli.url("pipe/b.zip"), stdin=V1)
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout == b""  # as aws: no line for standard input
    second = cli.binary("cp", "-", cli.url("pipe/c.zip"), stdin=V2)
    assert second.returncode == 0, second.stderr
    assert cli.client.get_object_info(cli.url("pipe/c.zip")).is_delta
    out = cli.binary("cp", cli.url("pipe/c.zip"), "-")
    assert out.returncode == 0, out.stderr
    assert out.stdout == V2  # the bytes, and no result line among them
    assert cli("cp", "-", cli.url("pipe/")).returncode == 2  # no key to store under
    assert cli("cp", "-r", cli.url("pipe/"), "-").returncode == 2
    # A damaged delta: an integrity failure, and not one byte on stdout.
    service = cli.client.service
    damaged = bytearray(service.storage.open(cli.bucket, "pipe/c.zip.delta")[1].read())
    damaged[-1] ^= 0xFF
    head = service.storage.head(cli.bucket, "pipe/c.zip.delta")
    assert head is not None
    service.storage.put(cli.bucket, "pipe/c.zip.delta", bytes(damaged), head.metadata)
    bad = cli.binary("cp", cli.url("pipe/c.zip"), "-")
    assert bad.returncode == 4
    assert bad.stdout == b""


def test_no_delta_stores_files_as_is(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "app-1.zip").write_bytes(V1)
    (tmp_path / "app-2.zip").write_bytes(V2)
    cli("cp", str(tmp_path / "app-1.zip"), cli.url("nd/"))
    plain = cli("cp", "--no-delta", str(tmp_path / "app-2.zip"), cli.url("nd/"))
    assert plain.returncode == 0
    assert "(stored as is, 195.3 KiB)" in plain.stdout
    info = cli.client.get_object_info(cli.url("nd/app-2.zip"))
    assert info["is_delta"] is False
    shown = cli("ls", "--show-stored", cli.url("nd/")).stdout.splitlines()
    assert shown[1].split()[2:] == [str(len(V2)), str(len(V2)), "0.0%", "app-2.zip"]


def test_wheels_are_contents_deltas_unless_turned_off(cli: Cli, tmp_path: Path) -> None:
    for version in (1, 2):
        (tmp_path / f"pkg-1.{version}-py3-none-any.whl").write_bytes(release(version))
    for flags, folder in (((), "on/"), (("--archive-deltas", "off"), "off/")):
        for version in (1, 2):
            name = f"pkg-1.{version}-py3-none-any.whl"
            done = cli("cp", *flags, name, cli.url(folder), cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        stored = cli.client.service.reader.locate(cli.bucket, f"{folder}pkg-1.2-py3-none-any.whl")
        assert stored is not None
        # A wheel is a delta candidate by its bytes; with the setting off it
        # is what 6.2.0 would make of it: a file stored as is.
        assert (stored.delta_format == archive.FORMAT) == (folder == "on/")
        assert stored.is_delta == (folder == "on/")
        assert "(delta, " in done.stdout if folder == "on/" else "stored as is" in done.stdout
    got = cli("cp", cli.url("on/pkg-1.2-py3-none-any.whl"), str(tmp_path / "back.whl"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "back.whl").read_bytes() == release(2)
    assert cli("cp", "--archive-deltas", "sometimes", "x", cli.url()).returncode == 2


def test_recursive_cp_with_filters_and_dryrun(cli: Cli, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.zip").write_bytes(V1)
    (tree / "sub" / "b.zip").write_bytes(V2)
    (tree / "sub" / "notes.txt").write_text("n")
    dry = cli("cp", "-r", str(tree), cli.url("t"), "--dryrun")
    assert dry.stdout.count("(dryrun) upload:") == 3
    assert cli("ls", "-r", cli.url()).stdout == ""
    done = cli("cp", "--recursive", str(tree), cli.url("t"), "--exclude", "*", "--include", "*.zip")
    assert done.returncode == 0, done.stderr
    # A folder's middle file (here its only one) is stored first, so it
    # becomes the reference.
    assert f"upload: {shown(tree / 'a.zip')} to {cli.url('t/a.zip')} (new reference" in done.stdout
    listed = cli("ls", "--recursive", cli.url("t/")).stdout
    assert _names(listed) == ["t/a.zip", "t/sub/b.zip"]
    back = cli("cp", "-r", cli.url("t/"), str(tmp_path / "back"))
    assert back.returncode == 0
    assert (tmp_path / "back" / "sub" / "b.zip").read_bytes() == V2
    assert (tmp_path / "back" / "a.zip").read_bytes() == V1


def test_ls_levels_sizes_summary_and_stored_sizes(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(V1)
    (tmp_path / "b.zip").write_bytes(V2)
    cli("cp", str(tmp_path / "a.zip"), cli.url("x/a.zip"))
    cli("cp", str(tmp_path / "b.zip"), cli.url("x/b.zip"))
    cli("cp", str(tmp_path / "a.zip"), cli.url("top.zip"))
    top = cli("ls", cli.url()).stdout.splitlines()
    assert top[0].split() == ["PRE", "x/"]
    assert top[1].split()[-2:] == [str(len(V1)), "top.zip"]
    inner = cli("ls", "--summarize", "--human-readable", cli.url("x/")).stdout
    assert _names(inner)[:2] == ["a.zip", "b.zip"]
    assert "Total Objects: 2" in inner
    assert "KiB" in inner
    stored = cli("ls", "--show-stored", "--summarize", cli.url("x/")).stdout.splitlines()
    size, stored_size, saved = stored[1].split()[2:5]  # b.zip: a delta
    assert int(size) == len(V2)
    assert int(stored_size) < len(V2) // 10
    assert float(saved.rstrip("%")) > 90
    assert "Stored Size:" in stored[-1]
    assert cli.bucket in _names(cli("ls").stdout)


def test_ls_of_many_deltas_keeps_their_sizes_in_the_bucket(cli: Cli) -> None:
    base = os.urandom(20_000)
    files = {f"m/v{i:02d}.zip": mutate(base, seed=i, edits=2)[: 19_000 + i] for i in range(66)}
    for key, data in files.items():
        cli.client.put_object(Bucket=cli.bucket, Key=key, Body=data)
    storage = cli.client.service.storage
    marked = cli("ls", "-r", cli.url("m/"))  # sizes from the markers: no cache needed
    assert storage.head(cli.bucket, SIZE_CACHE_KEY) is None
    assert drop_size_markers(storage, cli.bucket) == 66  # as if 6.2.0 had written them
    first = cli("ls", "-r", cli.url("m/"))
    assert first.returncode == 0, first.stderr
    listed = {line.split()[-1]: int(line.split()[2]) for line in first.stdout.splitlines()}
    assert listed == {key: len(data) for key, data in files.items()}
    assert first.stdout == marked.stdout
    assert storage.head(cli.bucket, SIZE_CACHE_KEY) is not None  # the next ls reads it
    assert cli("ls", "-r", cli.url("m/")).stdout == first.stdout


def test_rm_rb_and_exit_codes(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(V1)
    cli("cp", str(tmp_path / "a.zip"), cli.url("d/a.zip"))
    missing = cli("cp", cli.url("d/none.zip"), str(tmp_path / "x"))
    assert missing.returncode == 3
    assert missing.stderr.startswith("deltaglider: error: ")
    assert "none.zip" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "x").exists()
    assert cli("cp", str(tmp_path / "nope.zip"), cli.url()).returncode == 3
    assert cli("cp", str(tmp_path), cli.url()).returncode == 2  # a folder, no -r
    assert cli("cp", "a", "b").returncode == 2
    assert cli("frobnicate").returncode == 2
    listed = subprocess.run(  # the endpoint after the command, as aws users write it
        [sys.executable, "-m", "deltaglider", "ls", "-r", cli.url(),
         "--endpoint-url", cli.endpoint],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY),
    )  # fmt: skip
    assert listed.stdout.split()[-1] == "d/a.zip", listed.stderr
    assert cli("--jobs", "0", "ls").returncode == 2
    assert cli("ls", "s3://no-such-bucket-here/").returncode == 3
    not_empty = cli("rb", cli.url())
    assert not_empty.returncode == 1
    assert "not empty" in not_empty.stderr.lower()
    assert (
        cli("rm", "--dryrun", cli.url("d/a.zip")).stdout
        == f"(dryrun) delete: {cli.url('d/a.zip')}\n"
    )
    assert cli("rm", cli.url("d/a.zip")).stdout == f"delete: {cli.url('d/a.zip')}\n"
    assert cli("ls", "-r", cli.url()).stdout == ""
    assert cli("stats", cli.bucket, "--detailed").returncode == 0  # leaves a stats cache
    buckets = cli("ls", "s3://")  # buckets, as aws lists them
    assert buckets.returncode == 0
    assert cli.bucket in buckets.stdout.split()
    again = cli("mb", cli.url())  # aws: make_bucket failed, BucketAlreadyOwnedByYou
    assert again.returncode == 1
    assert "BucketAlreadyOwnedByYou" in again.stderr
    ratio = cli("cp", "--max-ratio", "2", "x.zip", cli.url())
    assert ratio.returncode == 2
    assert "between 0 and 1" in ratio.stderr
    assert cli("rb", cli.url()).stdout == f"remove_bucket: {cli.bucket}\n"
    gone = cli("rb", cli.url())  # aws: remove_bucket failed, NoSuchBucket
    assert gone.returncode == 3
    assert gone.stdout == ""
    assert "does not exist" in gone.stderr


def test_a_mistyped_store_folder_is_reported_not_made(tmp_path: Path) -> None:
    typo = tmp_path / "stroe"
    runner = Cli(typo.as_uri(), "typo-bucket", create_client(endpoint_url=typo.as_uri()), None)
    for args in (("ls",), ("ls", runner.url()), ("cp", runner.url("a.zip"), str(tmp_path))):
        done = runner(*args)
        assert done.returncode == 3, (args, done.stderr)
        assert "does not exist" in done.stderr
    assert not typo.exists()
    assert runner("mb", runner.url()).returncode == 0  # mb makes it
    assert runner("ls").stdout.split()[-1] == "typo-bucket"


def test_rb_force_empties_the_bucket(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(V1)
    (tmp_path / "b.zip").write_bytes(V2)
    cli("cp", str(tmp_path / "a.zip"), cli.url("f/"))
    cli("cp", str(tmp_path / "b.zip"), cli.url("f/"))
    forced = cli("rb", "--force", cli.url())
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines()[-1] == f"remove_bucket: {cli.bucket}"
    assert not cli.client.service.bucket_exists(cli.bucket)


# -- sync ------------------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    """Set a file's modification time ``seconds`` into the past."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_sync_up_sends_only_new_and_changed_files(cli: Cli, tmp_path: Path) -> None:
    tree = tmp_path / "up"
    tree.mkdir()
    for name, data in (("a.zip", V1), ("b.zip", V2), ("keep.log", b"log")):
        (tree / name).write_bytes(data)
        _age(tree / name, 3600)
    first = cli("sync", str(tree), cli.url("s/"))
    assert first.returncode == 0, first.stderr
    assert sorted(line.split()[1] for line in first.stdout.splitlines()) == [
        shown(tree / n) for n in ("a.zip", "b.zip", "keep.log")
    ]
    assert cli("sync", str(tree), cli.url("s/")).stdout == ""  # nothing changed
    (tree / "b.zip").write_bytes(V3)  # new size
    (tree / "c.zip").write_bytes(V1)  # new file
    second = cli("sync", str(tree), cli.url("s/"))
    sent = [line.split()[1] for line in second.stdout.splitlines()]
    assert sorted(sent) == [shown(tree / "b.zip"), shown(tree / "c.zip")]
    assert "(delta, " in second.stdout
    (tree / "a.zip").write_bytes(V1)  # same size, newer than the object
    _age(tree / "a.zip", -5)  # by whole seconds, however fast the steps above ran
    newer = cli("sync", str(tree), cli.url("s/"))
    assert [line.split()[1] for line in newer.stdout.splitlines()] == [shown(tree / "a.zip")]
    (tree / "a.zip").write_bytes(V1)
    assert cli("sync", "--size-only", str(tree), cli.url("s/")).stdout == ""
    _age(tree / "a.zip", 3600)  # older than its object again: not sent below
    (tree / "c.zip").unlink()
    (tree / "keep.log").unlink()
    dry = cli("sync", "--delete", "--dryrun", str(tree), cli.url("s/"), "--exclude", "*.log")
    assert dry.stdout == f"(dryrun) delete: {cli.url('s/c.zip')}\n"
    gone = cli("sync", "--delete", str(tree), cli.url("s/"), "--exclude", "*.log")
    assert gone.stdout == f"delete: {cli.url('s/c.zip')}\n"
    assert _names(cli("ls", cli.url("s/")).stdout) == ["a.zip", "b.zip", "keep.log"]
    back = cli.client.get_object(Bucket=cli.bucket, Key="s/b.zip")["Body"].read()
    assert back == V3


def test_sync_down_follows_aws_timestamp_rules(cli: Cli, tmp_path: Path) -> None:
    for key, data in (("d/a.zip", V1), ("d/sub/b.zip", V2)):
        cli.client.put_object(Bucket=cli.bucket, Key=key, Body=data)
    local = tmp_path / "down"
    first = cli("sync", cli.url("d"), str(local))
    assert first.returncode == 0, first.stderr
    assert (local / "a.zip").read_bytes() == V1
    assert (local / "sub" / "b.zip").read_bytes() == V2
    listed = cli.client.list_objects_v2(Bucket=cli.bucket, Prefix="d/")["Contents"]
    stamp = {item["Key"]: item["LastModified"].timestamp() for item in listed}
    assert int((local / "a.zip").stat().st_mtime) == int(stamp["d/a.zip"])
    assert cli("sync", cli.url("d"), str(local)).stdout == ""
    # An object rewritten with the same size is older-or-equal for aws's
    # default rule, so only --exact-timestamps fetches it.
    time.sleep(1.1)
    changed = bytearray(V1)
    changed[100] ^= 0xFF
    cli.client.put_object(Bucket=cli.bucket, Key="d/a.zip", Body=bytes(changed))
    assert cli("sync", cli.url("d"), str(local)).stdout == ""
    exact = cli("sync", "--exact-timestamps", cli.url("d"), str(local))
    assert exact.stdout == f"download: {cli.url('d/a.zip')} to {shown(local / 'a.zip')}\n"
    assert (local / "a.zip").read_bytes() == bytes(changed)
    # A local file newer than the object (same size) is replaced.
    (local / "sub" / "b.zip").write_bytes(V2[::-1])
    newer = cli("sync", cli.url("d"), str(local))
    assert newer.stdout == (
        f"download: {cli.url('d/sub/b.zip')} to {shown(local / 'sub' / 'b.zip')}\n"
    )
    assert (local / "sub" / "b.zip").read_bytes() == V2
    (local / "extra.txt").write_text("x")
    gone = cli("sync", "--delete", cli.url("d"), str(local))
    assert gone.stdout == f"delete: {shown(local / 'extra.txt')}\n"
    assert not (local / "extra.txt").exists()
    assert cli("sync", "--exact-timestamps", str(local), cli.url("d")).returncode == 2


def test_sync_between_prefixes_copies_as_deltas(cli: Cli) -> None:
    cli.client.put_object(Bucket=cli.bucket, Key="src/a.zip", Body=V1)
    cli.client.put_object(Bucket=cli.bucket, Key="src/b.zip", Body=V2)
    first = cli("sync", cli.url("src/"), cli.url("dst/"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("copy: ") == 2
    assert cli("sync", cli.url("src/"), cli.url("dst/")).stdout == ""
    assert cli.client.get_object(Bucket=cli.bucket, Key="dst/b.zip")["Body"].read() == V2


# -- stats, verify, purge, migrate ---------------------------------------------


def test_stats_modes_and_json(cli: Cli) -> None:
    sizes = {"r/a.zip": V1, "r/b.zip": V2, "r/c.zip": V3, "r/notes.txt": b"hello"}
    for key, data in sizes.items():
        cli.client.put_object(Bucket=cli.bucket, Key=key, Body=data)
    total = sum(len(d) for d in sizes.values())
    marked = json.loads(cli("stats", cli.bucket, "--json").stdout)
    assert (marked["total_size"], marked["estimated_objects"]) == (total, 0)  # size markers
    assert drop_size_markers(cli.client.service.storage, cli.bucket) == 3
    detailed = json.loads(cli("stats", cli.bucket, "--detailed", "--json").stdout)
    assert detailed["object_count"] == 4
    assert detailed["total_size"] == total
    assert detailed["delta_objects"] == 3
    assert detailed["mode"] == "detailed"
    assert detailed["estimated_objects"] == 0
    assert detailed["compressed_size"] < total
    sampled = json.loads(cli("stats", f"s3://{cli.bucket}", "--sampled", "--json").stdout)
    assert sampled["total_size"] == total  # every size now comes from the stats cache
    uncached = json.loads(cli("stats", cli.bucket, "--sampled", "--no-cache", "--json").stdout)
    assert uncached["estimated_objects"] == 2  # one delta read in the one folder
    quick = cli("stats", cli.bucket)
    assert quick.returncode == 0
    assert f"Bucket:         {cli.bucket} (quick stats)" in quick.stdout
    assert "Objects:        4 (3 as deltas, 1 stored as is)" in quick.stdout
    assert cli("stats", "--sampled", "--detailed", cli.bucket).returncode == 2
    assert cli("stats", "no-such-bucket-x").returncode == 3


def test_verify_reports_good_and_damaged_objects(cli: Cli) -> None:
    cli.client.put_object(Bucket=cli.bucket, Key="v/a.zip", Body=V1)
    cli.client.put_object(Bucket=cli.bucket, Key="v/b.zip", Body=V2)
    good = cli("verify", cli.url("v/b.zip"))
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(f"verified: {cli.url('v/b.zip')} (delta, sha256 ")
    every = json.loads(cli("verify", "-r", "--json", cli.url("v/")).stdout)
    assert [(r["url"], r["valid"]) for r in every] == [
        (cli.url("v/a.zip"), True),
        (cli.url("v/b.zip"), True),
    ]
    damaged = bytearray(cli.client.service.storage.open(cli.bucket, "v/b.zip.delta")[1].read())
    damaged[-1] ^= 0xFF
    meta = cli.client.service.storage.head(cli.bucket, "v/b.zip.delta")
    assert meta is not None
    cli.client.service.storage.put(cli.bucket, "v/b.zip.delta", bytes(damaged), meta.metadata)
    bad = cli("verify", cli.url("v/b.zip"))
    assert bad.returncode == 4
    assert "v/b.zip" in bad.stderr
    assert "Traceback" not in bad.stderr
    batch = cli("verify", "-r", cli.url("v/"))
    assert batch.returncode == 4
    assert f"verified: {cli.url('v/a.zip')}" in batch.stdout
    assert cli("verify", cli.url("v/none.zip")).returncode == 3


def test_purge_removes_only_expired_temporary_copies(cli: Cli) -> None:
    cli.client.put_object(Bucket=cli.bucket, Key="p/a.zip", Body=V1)
    cli.client.put_object(Bucket=cli.bucket, Key="p/b.zip", Body=V2)
    service = cli.client.service
    stored = service.head(cli.bucket, "p/b.zip")
    assert stored is not None
    now = datetime.now(UTC)
    old = service.temp_copy(stored, now - timedelta(hours=1))
    fresh = service.temp_copy(stored, now + timedelta(hours=1))
    dry = json.loads(cli("purge", cli.bucket, "--dry-run", "--json").stdout)
    assert dry == {
        "bucket": cli.bucket,
        "dry_run": True,
        "expired": [old],
        "kinds": {old: "expired temporary copy"},
    }
    assert service.storage.head(cli.bucket, old) is not None
    done = cli("purge", cli.bucket)
    assert done.stdout.splitlines() == [
        f"purged: {cli.url(old)} (expired temporary copy)",
        f"1 expired temporary copy removed from {cli.bucket}",
    ]
    assert service.storage.head(cli.bucket, old) is None
    assert service.storage.head(cli.bucket, fresh) is not None


def test_purge_names_each_thing_it_removes(cli: Cli) -> None:
    """A reference left unused by a file stored as is over the folder's
    only delta is not an "expired temporary copy"."""
    service = cli.client.service
    service.put_bytes(cli.bucket, "u/a.zip", V1)
    service.put_bytes(cli.bucket, "u/a.zip", V2, PutOptions(delta=False))
    assert service.storage.head(cli.bucket, "u/reference.bin") is not None
    done = cli("purge", cli.bucket)
    assert f"purged: {cli.url('u/reference.bin')} (unused reference)" in done.stdout
    assert "temporary" not in done.stdout
    assert done.stdout.splitlines()[-1].startswith("1 unused reference")
    assert service.storage.head(cli.bucket, "u/reference.bin") is None


def test_migrate_is_resumable_and_reports_savings(cli: Cli) -> None:
    source = f"{cli.bucket}-src"
    cli.client.create_bucket(Bucket=source)
    try:
        for key, data in (("app/a.zip", V1), ("app/b.zip", V2), ("app/c.zip", V3)):
            # a plain bucket
            cli.client.service.put_bytes(source, key, data, PutOptions(delta=False))
        refused = cli("migrate", f"s3://{source}/app", cli.url("m/"))
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        dry = cli("migrate", "--dryrun", f"s3://{source}/app", cli.url("m/"))
        assert dry.stdout.count("(dryrun) migrate: ") == 3
        assert cli("ls", "-r", cli.url("m/")).stdout == ""
        cli.client.put_object(Bucket=cli.bucket, Key="m/a.zip", Body=V1)  # as if interrupted
        done = json.loads(
            cli("migrate", "--yes", "--json", f"s3://{source}/app", cli.url("m/")).stdout
        )
        assert done["skipped"] == 1
        assert done["migrated"] == 2
        assert done["failed"] == 0
        assert done["bytes_before"] == len(V2) + len(V3)
        assert done["bytes_after"] < done["bytes_before"] // 10
        again = cli("migrate", "--yes", f"s3://{source}/app", cli.url("m/"))
        assert again.returncode == 0
        assert "0 objects" in again.stdout.splitlines()[0]
        assert "3 already there" in again.stdout
        for key, data in (("m/b.zip", V2), ("m/c.zip", V3)):
            assert cli.client.get_object(Bucket=cli.bucket, Key=key)["Body"].read() == data
        assert cli.client.get_object_info(cli.url("m/c.zip"))["is_delta"] is True
        # A source object rewritten since, to the same size, is copied again.
        time.sleep(1.1)  # S3 times are kept to the second
        changed = V3[:-5] + b"XXXXX"
        cli.client.service.put_bytes(source, "app/c.zip", changed, PutOptions(delta=False))
        redone = json.loads(
            cli("migrate", "--yes", "--json", f"s3://{source}/app", cli.url("m/")).stdout
        )
        assert (redone["migrated"], redone["skipped"]) == (1, 2)
        assert cli.client.get_object(Bucket=cli.bucket, Key="m/c.zip")["Body"].read() == changed
        assert cli("migrate", "--yes", cli.url("a/"), cli.url("a/b/")).returncode == 2
    finally:
        cli.client.delete_objects_recursive(Bucket=source, Prefix="")
        cli.client.delete_bucket(Bucket=source)


# -- output, progress, hostile keys ----------------------------------------------


def test_progress_line_only_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    import pty

    tree = tmp_path / "p"
    tree.mkdir()
    (tree / "a.zip").write_bytes(V1)
    (tree / "b.zip").write_bytes(V2)
    leader, follower = pty.openpty()
    installed = shutil.which("deltaglider")
    command = [installed] if installed else [sys.executable, "-m", "deltaglider"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    with subprocess.Popen(
        [*command, "--endpoint-url", cli.endpoint, "cp", "-r", str(tree), cli.url("p/")],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    ) as child:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        out = child.stdout.read() if child.stdout else b""
    os.close(leader)
    assert child.returncode == 0
    assert b"\r" in shown
    assert b"objects" in shown
    assert b"\r" not in out
    assert out.decode().count("upload: ") == 2
    plain = cli("cp", "-r", str(tree), cli.url("q/"))
    assert "\r" not in plain.stderr


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback: unlike SeaweedFS (which refuses
    ``..`` segments and turns ``\\`` into ``/``), it keeps any key as given."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_hostile_keys_are_skipped_on_download(moto_endpoint: str, tmp_path: Path) -> None:
    cli = Cli(moto_endpoint, "hostile", seaweed_client(moto_endpoint), s3_client(moto_endpoint))
    cli.client.create_bucket(Bucket=cli.bucket)
    hostile = ["h/../evil.txt", "h/..\\..\\evil.txt", "h/a\\b.txt", "h//abs.txt", "h/x/../../e"]
    for key in ["h/ok.txt", "h/sub/ok2.txt", *hostile]:
        cli.raw.put_object(Bucket=cli.bucket, Key=key, Body=b"x")  # type: ignore[attr-defined]
    work = tmp_path / "work"
    (work / "dest").mkdir(parents=True)
    result = cli("cp", "-r", cli.url("h/"), str(work / "dest"))
    assert result.returncode == 5, result.stderr
    skipped = [line for line in result.stderr.splitlines() if ": skipped, " in line]
    assert sorted(line.split(": skipped, ")[0].split(": error: ")[1] for line in skipped) == sorted(
        cli.url(key) for key in hostile
    )
    assert sum("outside" in line for line in skipped) == 3  # '..' twice, the absolute key
    assert sum("backslash" in line for line in skipped) == 2
    synced = cli("sync", cli.url("h/"), str(work / "synced"))
    assert synced.returncode == 5
    assert _files(work) == [
        "dest/ok.txt",
        "dest/sub/ok2.txt",
        "synced/ok.txt",
        "synced/sub/ok2.txt",
    ]
    assert not (tmp_path / "evil.txt").exists()


def test_odd_but_safe_keys_download_inside_the_destination(cli: Cli, tmp_path: Path) -> None:
    if cli.raw is None:
        pytest.skip("written with plain boto3 (SeaweedFS); the local store has its own tests")
    keys = ["h/ok.txt", "h/2026-11-22T10:00.zip", "h/%2e%2e/x", "h/.../y", "h/sp ace/z"]
    for key in keys:
        cli.raw.put_object(Bucket=cli.bucket, Key=key, Body=key.encode())  # type: ignore[attr-defined]
    cli.raw.put_object(Bucket=cli.bucket, Key="h/folder/", Body=b"")  # type: ignore[attr-defined]
    result = cli("cp", "-r", cli.url("h/"), str(tmp_path / "dest"))
    assert result.returncode == 0, result.stderr
    assert _files(tmp_path) == sorted("dest/" + key[2:] for key in keys)
    assert (tmp_path / "dest" / "%2e%2e" / "x").read_bytes() == b"h/%2e%2e/x"


def test_help_documents_every_command_and_exit_codes() -> None:
    out = subprocess.run([sys.executable, "-m", "deltaglider", "--help"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    for word in ("cp", "sync", "ls", "rm", "mb", "rb", "stats", "verify", "purge", "migrate"):
        assert f"    {word} " in out
    for word in ("exit codes", "integrity", "partial", "file:///", "--no-progress"):
        assert word in out
    for command in ("cp", "sync", "stats", "migrate"):
        page = subprocess.run([sys.executable, "-m", "deltaglider", command, "--help"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert "usage: deltaglider " + command in page


def test_ctrl_c_that_python_turns_into_another_error_still_reads_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Ctrl-C landing inside threading.Condition.wait can surface as
    # "RuntimeError: release unlocked lock", with the interrupt as its context.
    from deltaglider.cli import main as cli_main

    def interrupted_run(*_: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("release unlocked lock") from None

    from deltaglider.cli import commands

    monkeypatch.setattr(commands, "ls", interrupted_run)
    assert cli_main.main(["ls"]) == 1
    assert capsys.readouterr().err.strip() == "deltaglider: error: interrupted"


def test_ctrl_c_stops_a_batch_and_leaves_no_partial_object(tmp_path: Path) -> None:
    import signal

    store = tmp_path / "store"
    tree = tmp_path / "many"
    tree.mkdir()
    for i in range(60):
        (tree / f"f{i:02}.bin").write_bytes(os.urandom(1 << 20))
    local = Cli(store.as_uri(), "ctrl-c", create_client(endpoint_url=store.as_uri()), None)
    assert local("mb", local.url()).returncode == 0
    with subprocess.Popen(
        [sys.executable, "-m", "deltaglider", "--endpoint-url", local.endpoint, "--jobs", "2",
         "cp", "-r", str(tree), local.url("m/")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background job ignores SIGINT and its children inherit
        # that: give the command line the disposition a terminal gives it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as child:  # fmt: skip
        assert child.stdout is not None
        first = child.stdout.readline()  # one object stored: the batch is under way
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=60)
    assert first.startswith("upload: ")
    assert child.returncode == 1
    assert "deltaglider: error: interrupted" in err
    stored = [line for line in (first + rest).splitlines() if line.startswith("upload: ")]
    assert len(stored) < 60
    listed = local("ls", "-r", local.url("m/")).stdout.splitlines()
    assert len(listed) == len(stored)  # what was reported is all there is
    leftovers = [p for p in store.rglob("*") if p.is_file() and "tmp-" in p.name]
    assert leftovers == []
