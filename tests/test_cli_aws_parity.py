"""The commands and options `aws s3` (and deltaglider 6.2.0) users reach
for: ``mv``, ``presign``, the bucket ACL commands, ``--only-show-errors``,
``stats --refresh``, ``migrate --no-delta/--max-ratio``, and paths printed
as aws prints them."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from test_cli import V1, V2, V3, Cli, cli  # noqa: F401 - the fixture

from deltaglider.core.models import PutOptions


def test_mv_moves_each_way_and_keeps_sources_whose_copy_failed(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "app-1.zip").write_bytes(V1)
    (tmp_path / "app-2.zip").write_bytes(V2)
    up = cli("mv", "app-1.zip", cli.url("rel/"), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert up.stdout.startswith(f"move: ./app-1.zip to {cli.url('rel/app-1.zip')} (new ref")
    assert not (tmp_path / "app-1.zip").exists()
    across = cli("mv", cli.url("rel/app-1.zip"), cli.url("old/app-1.zip"))
    assert across.stdout.startswith(
        f"move: {cli.url('rel/app-1.zip')} to {cli.url('old/app-1.zip')}"
    )
    down = cli("mv", cli.url("old/app-1.zip"), "back.zip", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back.zip").read_bytes() == V1
    assert cli("ls", "-r", cli.url()).stdout == ""
    missing = cli("mv", "app-2.zip", "s3://no-such-bucket-here/x.zip", cwd=tmp_path)
    assert missing.returncode == 3
    assert (tmp_path / "app-2.zip").read_bytes() == V2  # its copy failed: kept
    itself = cli("mv", cli.url("a.zip"), cli.url("a.zip"))
    assert itself.returncode == 2


def test_recursive_mv_of_a_folder(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    tree = tmp_path / "dist"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.zip").write_bytes(V1)
    (tree / "sub" / "b.zip").write_bytes(V2)
    moved = cli("mv", "-r", "dist", cli.url("d/"), cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert sorted(moved.stdout.splitlines()) == [
        f"move: dist/a.zip to {cli.url('d/a.zip')} (new reference, 195.3 KiB)",
        f"move: dist/sub/b.zip to {cli.url('d/sub/b.zip')} (new reference, 195.3 KiB)",
    ]
    assert [p for p in tree.rglob("*") if p.is_file()] == []


def test_paths_print_as_aws_prints_them(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.zip").write_bytes(V1)
    given = cli("cp", "./src/a.zip", cli.url("p/"), cwd=tmp_path)
    absolute = cli("cp", str(tmp_path / "src" / "a.zip"), cli.url("q/"), cwd=tmp_path)
    for result in (given, absolute):
        assert result.stdout.startswith("upload: src/a.zip to "), result.stdout
    stdin = cli.binary("cp", "-", cli.url("s.bin"), stdin=b"from a pipe")
    assert (stdin.returncode, stdin.stdout) == (0, b"")


def test_only_show_errors(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "a.zip").write_bytes(V1)
    quiet = cli("cp", "--only-show-errors", "a.zip", cli.url(), cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout) == (0, "")
    failed = cli("cp", "--only-show-errors", "nothing.zip", cli.url(), cwd=tmp_path)
    assert failed.returncode == 3
    assert "nothing.zip" in failed.stderr


def test_presign(cli: Cli) -> None:  # noqa: F811
    cli.client.put_object(Bucket=cli.bucket, Key="p/a.zip", Body=V1)
    cli.client.put_object(Bucket=cli.bucket, Key="p/b.zip", Body=V2)
    result = cli("presign", cli.url("p/b.zip"), "--expires-in", "300")
    if cli.raw is None:
        assert result.returncode == 1
        assert "S3 endpoint" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    with urllib.request.urlopen(result.stdout.strip()) as answer:
        assert answer.read() == V2
    assert cli("presign", cli.url("p/b.zip"), "--expires-in", "0").returncode == 2


def test_bucket_acls(cli: Cli) -> None:  # noqa: F811
    shown = cli("get-bucket-acl", cli.bucket)
    assert shown.returncode == 0, shown.stderr
    acl = json.loads(shown.stdout)
    assert "Owner" in acl
    assert acl["Grants"]
    put = cli("put-bucket-acl", cli.url(), "--acl", "private")
    if cli.raw is None:
        assert put.returncode == 1
        assert "file permissions" in put.stderr
    else:
        assert put.returncode == 0, put.stderr
        assert put.stdout == f"put_bucket_acl: {cli.bucket}\n"
    assert cli("put-bucket-acl", cli.bucket).returncode == 2  # nothing to set


def test_stats_refresh_reads_sizes_again(cli: Cli) -> None:  # noqa: F811
    for key, body in (("s/a.zip", V1), ("s/b.zip", V2), ("s/c.zip", V3)):
        cli.client.put_object(Bucket=cli.bucket, Key=key, Body=body)
    first = json.loads(cli("stats", "--detailed", "--json", cli.bucket).stdout)
    refreshed = json.loads(cli("stats", "--detailed", "--refresh", "--json", cli.bucket).stdout)
    assert refreshed == first
    assert refreshed["detailed"] is True
    assert refreshed["total_size"] == len(V1) + len(V2) + len(V3)


def test_migrate_takes_no_delta_and_max_ratio(cli: Cli) -> None:  # noqa: F811
    source = f"{cli.bucket}-src"
    cli.client.create_bucket(Bucket=source)
    try:
        for key, data in (("app/a.zip", V1), ("app/b.zip", V2)):
            cli.client.service.put_bytes(source, key, data, PutOptions(delta=False))
        plain = cli("migrate", "--yes", "--no-delta", f"s3://{source}/app", cli.url("n/"))
        assert plain.returncode == 0, plain.stderr
        assert cli.client.get_object_info(cli.url("n/b.zip")).is_delta is False
        strict = cli("migrate", "--yes", "--max-ratio", "0", f"s3://{source}/app", cli.url("r/"))
        assert strict.returncode == 0, strict.stderr
        assert cli.client.get_object_info(cli.url("r/b.zip")).is_delta is False
        assert cli("migrate", "--max-ratio", "2", f"s3://{source}/app", cli.url()).returncode == 2
    finally:
        cli.client.delete_objects_recursive(Bucket=source, Prefix="")
        cli.client.delete_bucket(Bucket=source)


def test_listing_and_stats_give_one_savings_figure(cli: Cli) -> None:  # noqa: F811
    """The file whose bytes are its folder's reference is listed with what
    it costs (its full size), so the listing's stored total is what
    `stats` counts."""
    for key, body in (("s/a.zip", V1), ("s/b.zip", V2), ("s/c.zip", V3)):
        cli.client.put_object(Bucket=cli.bucket, Key=key, Body=body)
    shown = cli("ls", "--show-stored", "--summarize", cli.url("s/")).stdout.splitlines()
    first = shown[0].split()
    assert first[-1] == "a.zip"
    assert int(first[3]) >= len(V1)  # the reference's bytes
    assert first[4] == "0.0%"
    stats = json.loads(cli("stats", "--detailed", "--json", cli.bucket).stdout)
    assert shown[-1] == (
        f"  Stored Size: {stats['compressed_size']} "
        f"({100 * stats['average_compression_ratio']:.1f}% less)"
    )


def test_messages_name_what_is_wrong(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "taken").mkdir()
    typo = cli("--endpoint-url", "htp://localhost:9000", "ls")
    assert "must be http://host[:port]" in typo.stderr
    if cli.raw is None:
        return
    import os
    import subprocess
    import sys

    env = dict(os.environ, AWS_ACCESS_KEY_ID="anyone", AWS_SECRET_ACCESS_KEY="wrong")
    wrong = subprocess.run(
        [sys.executable, "-m", "deltaglider", "--endpoint-url", cli.endpoint, "cp",
         str(tmp_path / "taken"), cli.url("x/"), "--recursive"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert "InvalidAccessKeyId" in wrong.stderr or "SignatureDoesNotMatch" in wrong.stderr


def test_a_file_that_cannot_be_written_is_named_not_its_temporary(tmp_path: Path) -> None:
    from deltaglider.fsutil import atomic_writer

    folder = tmp_path / "a.zip"
    folder.mkdir()  # the name is taken by a folder
    with pytest.raises(IsADirectoryError) as caught, atomic_writer(folder) as out:
        out.write(b"data")
    assert str(caught.value) == f"[Errno 21] cannot write {folder}: Is a directory"
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]  # no temporary left
    missing = tmp_path / "no" / "such" / "b.zip"
    with pytest.raises(FileNotFoundError) as caught_missing, atomic_writer(missing):
        pass
    assert (
        str(caught_missing.value) == f"[Errno 2] cannot write {missing}: No such file or directory"
    )
