"""Bucket layout rules."""

from __future__ import annotations

import pytest

from deltaglider.core import keys
from deltaglider.core.models import DeltaSpace


@pytest.mark.parametrize(
    ("key", "space", "reference"),
    [
        ("releases/v1/app.zip", "releases/v1", "releases/v1/reference.bin"),
        ("app.zip", "", "reference.bin"),
        ("a/b c/ünï côde.tar.gz", "a/b c", "a/b c/reference.bin"),
        ("deep/" * 20 + "x.jar", ("deep/" * 20).rstrip("/"), "deep/" * 20 + "reference.bin"),
    ],
)
def test_spaces_and_references(key: str, space: str, reference: str) -> None:
    assert DeltaSpace.of("bkt", key) == DeltaSpace("bkt", space)
    assert DeltaSpace.of("bkt", key).reference_key() == reference


@pytest.mark.parametrize(
    ("name", "candidate"),
    [
        ("a.zip", True),
        ("A.ZIP", True),
        ("x.tar.gz", True),
        ("db.sql", True),
        ("x.JAR", True),
        ("notes.txt", False),
        ("zip", False),
        ("image.png", False),
        ("archive.zip.sig", False),
    ],
)
def test_delta_candidates(name: str, candidate: bool) -> None:
    assert keys.is_delta_candidate(name) is candidate


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "empty"),
        ("dir/", "folder"),
        ("reference.bin", "reference"),
        ("a/b/reference.bin", "reference"),
        ("a/x.zip.delta", ".delta"),
        (".deltaglider/stats.json", "reserves"),
    ],
)
def test_reserved_keys_are_refused_with_a_reason(key: str, problem: str) -> None:
    reason = keys.key_problem(key)
    assert reason is not None
    assert problem in reason


@pytest.mark.parametrize("key", ["a.zip", "a/reference.bin.zip", "x.delta.zip", "my reference.bin"])
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert keys.key_problem(key) is None


def test_physical_and_logical_keys() -> None:
    assert keys.delta_key("a/x.zip") == "a/x.zip.delta"
    assert keys.logical_key("a/x.zip.delta") == "a/x.zip"
    assert keys.logical_key("a/x.zip") == "a/x.zip"
    assert keys.is_internal("a/reference.bin")
    assert keys.is_internal(".deltaglider/tmp/x")
    assert not keys.is_internal("a/x.zip.delta")
