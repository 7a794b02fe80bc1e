"""The command line's rules, without a store: ``aws s3 cp`` destination
names, ``aws s3 sync`` decisions, filters, and keys that must never be
written outside the destination folder."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from deltaglider.cli.filters import included
from deltaglider.cli.locations import (
    S3Location,
    UnsafeKeyError,
    download_path,
    local_path,
    parse,
    upload_key,
)
from deltaglider.cli.report import UsageError
from deltaglider.cli.shared import Entry
from deltaglider.cli.sync import Direction, needs_transfer


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        ("a.zip", "s3://b/", "s3://b/a.zip"),
        ("a.zip", "s3://b", "s3://b/a.zip"),
        ("a.zip", "s3://b/dir/", "s3://b/dir/a.zip"),
        ("a.zip", "s3://b/dir", "s3://b/dir"),
        ("a.zip", "s3://b/new-name.zip", "s3://b/new-name.zip"),
        ("sub/a.zip", "s3://b/x/", "s3://b/x/a.zip"),
        ("/abs/a.zip", "s3://b/x/y/", "s3://b/x/y/a.zip"),
    ],
)
def test_upload_destination_rules_as_aws_s3_cp(
    source: str, destination: str, expected: str
) -> None:
    target = parse(destination)
    assert isinstance(target, S3Location)
    assert str(upload_key(Path(source), target)) == expected


def test_download_destination_rules(tmp_path: Path) -> None:
    source = S3Location("b", "rel/a.zip")
    assert download_path(source, tmp_path, given=str(tmp_path)) == tmp_path / "a.zip"
    new = tmp_path / "new"
    assert download_path(source, new, given=str(new) + "/") == new / "a.zip"
    assert download_path(source, new, given=str(new)) == new
    windows_style = S3Location("b", "rel/..\\..\\evil.zip")
    with pytest.raises(UnsafeKeyError, match="backslash"):
        download_path(windows_style, tmp_path, given=str(tmp_path))


def test_s3_urls_and_windows_paths() -> None:
    assert parse("s3://b") == S3Location("b", "")
    assert parse("s3://b/k/") == S3Location("b", "k/")
    with pytest.raises(UsageError, match="no bucket"):
        parse("s3:///k")
    # A Windows path is a local path, never a URL; its name is the file's.
    windows = PureWindowsPath(r"C:\builds\app-1.zip")
    assert isinstance(parse(str(windows)), Path)
    assert windows.name == "app-1.zip"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("../evil.zip", "outside"),
        ("a/../../evil.zip", "outside"),
        ("/etc/passwd", "absolute"),
        ("a\\..\\evil", "backslash"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("..", "outside"),
        ("a/", "empty"),
    ],
)
@pytest.mark.parametrize("windows", [False, True])
def test_hostile_keys_never_leave_the_destination(
    tmp_path: Path, key: str, why: str, windows: bool
) -> None:
    with pytest.raises(UnsafeKeyError, match=why):
        local_path(tmp_path, key, windows=windows)


def test_a_link_leading_out_of_the_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "dest" / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeKeyError, match="link"):
        local_path(tmp_path / "dest", "link/x.zip")


@pytest.mark.parametrize("windows", [False, True])
def test_ordinary_keys_land_inside_the_destination(tmp_path: Path, windows: bool) -> None:
    for key in ["a/b c/d.zip", "..a/b..zip", "console/nullable.zip", "com10.txt", "v1.0/app.zip"]:
        assert local_path(tmp_path, key, windows=windows) == tmp_path.joinpath(*key.split("/"))


def test_colons_are_ordinary_characters_off_windows(tmp_path: Path) -> None:
    assert local_path(tmp_path, "C:/x", windows=False) == tmp_path / "C:" / "x"
    stamp = "2026-11-22T10:00.zip"
    assert local_path(tmp_path, stamp, windows=False) == tmp_path / stamp


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("C:/x", "forbids"),
        ("a/file.zip:stream", "forbids"),
        ("2026-11-22T10:00.zip", "forbids"),
        ("what?.zip", "forbids"),
        ('say "hi".txt', "forbids"),
        ("a/b|c", "forbids"),
        ("tab\there", "forbids"),
        ("NUL", "device"),
        ("logs/nul.txt", "device"),
        ("con.tar.gz", "device"),
        ("Aux", "device"),
        ("COM1.zip", "device"),
        ("lpt9", "device"),
        ("COM\u00b9", "device"),
        ("CONOUT$", "device"),
        ("nul .txt", "device"),
        ("release.", "dot or space"),
        ("folder /a.zip", "dot or space"),
    ],
)
def test_windows_names_that_cannot_be_files_are_refused(tmp_path: Path, key: str, why: str) -> None:
    with pytest.raises(UnsafeKeyError, match=why):
        local_path(tmp_path, key, windows=True)
    if ":" not in key and "\t" not in key and "|" not in key:
        # Elsewhere these are ordinary names (a colon too, tested above).
        assert local_path(tmp_path, key, windows=False).name


def test_filters_follow_aws_rules() -> None:
    rules = [(False, "*"), (True, "*.zip")]
    assert included("a.zip", rules)
    assert not included("a.txt", rules)
    assert not included("a.zip", [*rules, (False, "a*")])
    assert included("sub/a.zip", rules)  # * matches across "/", as in aws
    assert included("anything", [])


def _at(size: int, mtime: float) -> Entry:
    return Entry(Path("x"), size, mtime)


# (direction, source (size, time), destination (size, time) or None, flags, transfer?)
SYNC_CASES: list[tuple[Direction, tuple[int, float], tuple[int, float] | None, str, bool]] = [
    ("upload", (10, 100), None, "", True),
    ("upload", (10, 100), (11, 200), "", True),  # size differs
    ("upload", (10, 300), (10, 200), "", True),  # source newer
    ("upload", (10, 100), (10, 200), "", False),  # destination newer
    ("upload", (10, 200), (10, 200), "", False),
    ("upload", (10, 200.9), (10, 200.1), "", False),  # same second
    ("upload", (10, 300), (10, 200), "size_only", False),
    ("upload", (10, 300), (11, 200), "size_only", True),
    ("copy", (10, 300), (10, 200), "", True),
    ("copy", (10, 100), (10, 200), "", False),
    ("download", (10, 100), None, "", True),
    ("download", (10, 100), (11, 100), "", True),
    ("download", (10, 300), (10, 200), "", False),  # object newer, same size: kept (aws)
    ("download", (10, 100), (10, 200), "", True),  # local file newer: replaced
    ("download", (10, 200), (10, 200), "", False),
    ("download", (10, 300), (10, 200), "exact_timestamps", True),
    ("download", (10, 200), (10, 200), "exact_timestamps", False),
    ("download", (10, 100), (10, 200), "size_only", False),
]


@pytest.mark.parametrize(("direction", "source", "destination", "flag", "expected"), SYNC_CASES)
def test_sync_decisions_match_aws_s3_sync(
    direction: Direction,
    source: tuple[int, float],
    destination: tuple[int, float] | None,
    flag: str,
    expected: bool,
) -> None:
    flags = {flag: True} if flag else {}
    there = _at(*destination) if destination is not None else None
    assert needs_transfer(direction, _at(*source), there, **flags) is expected


def test_global_options_go_before_or_after_the_command_as_with_aws() -> None:
    from deltaglider.cli.parser import build_parser

    parser = build_parser()
    before = parser.parse_args(["--endpoint-url", "file:///a", "--jobs", "2", "ls"])
    assert (before.endpoint_url, before.jobs, before.debug) == ("file:///a", 2, False)
    after = parser.parse_args(["cp", "x.zip", "s3://b/", "--endpoint-url", "file:///b", "--quiet"])
    assert (after.endpoint_url, after.jobs, after.quiet) == ("file:///b", 4, True)
    both = parser.parse_args(["--endpoint-url", "file:///a", "sync", "d", "s3://b/",
                              "--endpoint-url", "file:///c", "--no-progress"])  # fmt: skip
    assert (both.endpoint_url, both.no_progress) == ("file:///c", True)
