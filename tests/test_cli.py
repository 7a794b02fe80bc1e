"""The ``deltaglider`` command, run as users run it (a child process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import mutate

from deltaglider.cli.filters import included
from deltaglider.cli.locations import S3Location, download_path, safe_local_path, upload_key

V1 = os.urandom(200_000)
V2 = mutate(V1, seed=8, edits=10)


def run(store: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``deltaglider --endpoint-url file://STORE ARGS`` (the installed
    command when on PATH, else ``python -m deltaglider``)."""
    installed = shutil.which("deltaglider")
    command = [installed] if installed else [sys.executable, "-m", "deltaglider"]
    return subprocess.run(
        [*command, "--endpoint-url", store.as_uri(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir()
    assert run(folder, "mb", "s3://cli-bucket").stdout == "make_bucket: cli-bucket\n"
    return folder


def test_cp_stores_versions_as_deltas_and_reads_them_back(store: Path, tmp_path: Path) -> None:
    (tmp_path / "app-1.zip").write_bytes(V1)
    (tmp_path / "app-2.zip").write_bytes(V2)
    first = run(store, "cp", "app-1.zip", "s3://cli-bucket/rel/", cwd=tmp_path)
    second = run(store, "cp", "app-2.zip", "s3://cli-bucket/rel/", cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    assert first.stdout.startswith(
        "upload: ./app-1.zip to s3://cli-bucket/rel/app-1.zip (new reference"
    )
    assert "(delta, " in second.stdout
    assert "% saved)" in second.stdout
    got = run(store, "cp", "s3://cli-bucket/rel/app-2.zip", str(tmp_path / "out") + os.sep)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out" / "app-2.zip").read_bytes() == V2
    renamed = run(store, "cp", "s3://cli-bucket/rel/app-1.zip", str(tmp_path / "copy.zip"))
    assert renamed.returncode == 0
    assert (tmp_path / "copy.zip").read_bytes() == V1
    copied = run(store, "cp", "s3://cli-bucket/rel/app-2.zip", "s3://cli-bucket/other/")
    assert (
        copied.stdout == "copy: s3://cli-bucket/rel/app-2.zip to s3://cli-bucket/other/app-2.zip\n"
    )


def test_recursive_cp_with_filters_and_dryrun(store: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.zip").write_bytes(V1)
    (tree / "sub" / "b.zip").write_bytes(V2)
    (tree / "sub" / "notes.txt").write_text("n")
    dry = run(store, "cp", "-r", str(tree), "s3://cli-bucket/t", "--dryrun")
    assert dry.stdout.count("(dryrun) upload:") == 3
    assert run(store, "ls", "-r", "s3://cli-bucket/").stdout == ""
    done = run(store, "cp", "--recursive", str(tree), "s3://cli-bucket/t",
               "--exclude", "*", "--include", "*.zip")  # fmt: skip
    assert done.returncode == 0
    listed = run(store, "ls", "--recursive", "s3://cli-bucket/t/").stdout.splitlines()
    assert [line.split()[-1] for line in listed] == ["t/a.zip", "t/sub/b.zip"]
    back = run(store, "cp", "-r", "s3://cli-bucket/t/", str(tmp_path / "back"))
    assert back.returncode == 0
    assert (tmp_path / "back" / "sub" / "b.zip").read_bytes() == V2


def test_ls_levels_sizes_and_summary(store: Path, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(V1)
    (tmp_path / "b.zip").write_bytes(V2)
    run(store, "cp", str(tmp_path / "a.zip"), "s3://cli-bucket/x/a.zip")
    run(store, "cp", str(tmp_path / "b.zip"), "s3://cli-bucket/x/b.zip")
    run(store, "cp", str(tmp_path / "a.zip"), "s3://cli-bucket/top.zip")
    top = run(store, "ls", "s3://cli-bucket").stdout.splitlines()
    assert top[0].split() == ["PRE", "x/"]
    assert top[1].split()[-2:] == [str(len(V1)), "top.zip"]
    inner = run(store, "ls", "--summarize", "--human-readable", "s3://cli-bucket/x/").stdout
    assert [line.split()[-1] for line in inner.splitlines()[:2]] == ["a.zip", "b.zip"]
    assert "Total Objects: 2" in inner
    assert "KiB" in inner
    buckets = run(store, "ls").stdout
    assert buckets.split()[-1] == "cli-bucket"


def test_rm_rb_and_exit_codes(store: Path, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(V1)
    run(store, "cp", str(tmp_path / "a.zip"), "s3://cli-bucket/d/a.zip")
    missing = run(store, "cp", "s3://cli-bucket/d/none.zip", str(tmp_path / "x"))
    assert missing.returncode == 3
    assert missing.stderr.startswith("deltaglider: error: ")
    assert "none.zip" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "x").exists()
    assert run(store, "cp", str(tmp_path / "nope.zip"), "s3://cli-bucket/").returncode == 3
    assert run(store, "cp", str(tmp_path), "s3://cli-bucket/").returncode == 2  # a folder
    assert run(store, "cp", "a", "b").returncode == 2
    assert run(store, "frobnicate").returncode == 2
    not_empty = run(store, "rb", "s3://cli-bucket")
    assert not_empty.returncode == 1
    assert "not empty" in not_empty.stderr
    assert run(store, "rm", "s3://cli-bucket/d/a.zip").stdout == "delete: s3://cli-bucket/d/a.zip\n"
    assert run(store, "ls", "-r", "s3://cli-bucket").stdout == ""
    assert run(store, "rb", "s3://cli-bucket").stdout == "remove_bucket: cli-bucket\n"


def test_help_documents_commands_and_exit_codes() -> None:
    out = subprocess.run([sys.executable, "-m", "deltaglider", "--help"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    for word in ("cp", "ls", "rm", "mb", "rb", "exit codes", "integrity", "partial", "file:///"):
        assert word in out


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        ("a.zip", "s3://b/", "s3://b/a.zip"),
        ("a.zip", "s3://b", "s3://b/a.zip"),
        ("a.zip", "s3://b/dir/", "s3://b/dir/a.zip"),
        ("a.zip", "s3://b/dir", "s3://b/dir"),
        ("a.zip", "s3://b/new-name.zip", "s3://b/new-name.zip"),
    ],
)
def test_upload_destination_rules_as_aws_s3_cp(
    source: str, destination: str, expected: str
) -> None:
    bucket, _, key = destination[5:].partition("/")
    assert str(upload_key(Path(source), S3Location(bucket, key))) == expected


def test_download_destination_rules(tmp_path: Path) -> None:
    source = S3Location("b", "rel/a.zip")
    assert download_path(source, tmp_path, given=str(tmp_path)) == tmp_path / "a.zip"
    new = tmp_path / "new"
    assert download_path(source, new, given=str(new) + "/") == new / "a.zip"
    assert download_path(source, new, given=str(new)) == new


@pytest.mark.parametrize(
    "key", ["../evil.zip", "a/../../evil.zip", "/etc/passwd", "a\\..\\evil", "C:/x", "a//b", "./a"]
)
def test_hostile_keys_never_leave_the_destination(tmp_path: Path, key: str) -> None:
    assert safe_local_path(tmp_path, key) is None


def test_filters_follow_aws_rules() -> None:
    rules = [(False, "*"), (True, "*.zip")]
    assert included("a.zip", rules)
    assert not included("a.txt", rules)
    assert not included("a.zip", [*rules, (False, "a*")])
    assert included("anything", [])
