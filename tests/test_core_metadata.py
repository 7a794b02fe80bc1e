"""Metadata compatible with deltaglider 6.2.0, older releases and the proxy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deltaglider.core import metadata
from deltaglider.core.errors import MetadataError

SHA_A = "a" * 64
SHA_B = "b" * 64
WHEN = datetime(2026, 11, 21, 20, 30, 5, 123456, tzinfo=UTC)


def test_writes_the_62_key_set_plus_proxy_pointer() -> None:
    meta = metadata.delta_metadata(
        tool="deltaglider/0.1.0",
        original_name="app.zip",
        sha256=SHA_A,
        size=1000,
        created_at=WHEN,
        ref_key="rel/v1/reference.bin",
        ref_sha256=SHA_B,
        delta_size=42,
    )
    assert meta == {
        "dg-tool": "deltaglider/0.1.0",
        "dg-original-name": "app.zip",
        "dg-file-sha256": SHA_A,
        "dg-file-size": "1000",
        "dg-created-at": "2026-11-21T20:30:05.123456Z",
        "dg-ref-key": "rel/v1/reference.bin",
        "dg-ref-path": "reference.bin",
        "dg-ref-sha256": SHA_B,
        "dg-delta-size": "42",
        "dg-delta-cmd": "xdelta3 -e -9 -s reference.bin app.zip app.zip.delta",
    }
    direct = metadata.direct_metadata(
        tool="t", original_name="n.txt", sha256=SHA_A, size=3, created_at=WHEN
    )
    assert direct["dg-compression"] == "none"
    reference = metadata.reference_metadata(
        tool="t", source_name="app.zip", sha256=SHA_B, created_at=WHEN
    )
    assert reference["dg-note"] == "reference"
    assert reference["dg-source-name"] == "app.zip"


def test_time_format_round_trips_and_matches_62() -> None:
    text = metadata.format_time(WHEN)
    assert text == "2026-11-21T20:30:05.123456Z"
    # 6.2.0 parses with datetime.fromisoformat(text.rstrip("Z")).
    assert datetime.fromisoformat(text.rstrip("Z")) == WHEN.replace(tzinfo=None)
    assert metadata.parse_time(text) == WHEN
    assert metadata.parse_time("2025-01-02T03:04:05") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(MetadataError):
        metadata.parse_time("yesterday")


@pytest.mark.parametrize(
    ("prefix", "separator"),
    [("dg-", "-"), ("dg_", "_"), ("", "_"), ("", "-")],
    ids=["dg-dashes", "dg_underscores", "bare_underscores", "bare-dashes"],
)
def test_reads_every_alias_spelling(prefix: str, separator: str) -> None:
    def name(field: str) -> str:
        return prefix + field.replace("_", separator)

    meta = {
        name("file_sha256"): SHA_A,
        name("file_size"): "77",
        name("ref_key"): "x/reference.bin",
        name("ref_sha256"): SHA_B,
        name("original_name"): "a.zip",
    }
    info = metadata.parse_delta(meta, "x/a.zip.delta")
    assert (info.sha256, info.size, info.ref_key, info.ref_sha256) == (
        SHA_A,
        77,
        "x/reference.bin",
        SHA_B,
    )
    assert info.original_name == "a.zip"


def test_first_non_empty_alias_wins() -> None:
    meta = {"dg-file-sha256": "", "dg_file_sha256": SHA_A, "file_sha256": SHA_B}
    assert metadata.read(meta, "file_sha256") == SHA_A


def test_proxy_relative_reference_path() -> None:
    meta = {
        "dg-file-sha256": SHA_A,
        "dg-file-size": "5",
        "dg-ref-path": "reference.bin",
        "dg-ref-sha256": SHA_B,
        "dg-note": "delta",
    }
    assert metadata.parse_delta(meta, "a/b/x.zip.delta").ref_key == "a/b/reference.bin"
    assert metadata.parse_delta(meta, "x.zip.delta").ref_key == "reference.bin"


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"dg-file-size": "5", "dg-ref-key": "r", "dg-ref-sha256": SHA_B}, "dg-file-sha256"),
        ({"dg-file-sha256": SHA_A, "dg-ref-key": "r", "dg-ref-sha256": SHA_B}, "dg-file-size"),
        ({"dg-file-sha256": SHA_A, "dg-file-size": "5", "dg-ref-sha256": SHA_B}, "dg-ref-key"),
        ({"dg-file-sha256": SHA_A, "dg-file-size": "5", "dg-ref-key": "r"}, "dg-ref-sha256"),
        (
            {
                "dg-file-sha256": "xyz",
                "dg-file-size": "5",
                "dg-ref-key": "r",
                "dg-ref-sha256": SHA_B,
            },
            "not a SHA-256",
        ),
        (
            {
                "dg-file-sha256": SHA_A,
                "dg-file-size": "-1",
                "dg-ref-key": "r",
                "dg-ref-sha256": SHA_B,
            },
            "negative",
        ),
        (
            {
                "dg-file-sha256": SHA_A,
                "dg-file-size": "big",
                "dg-ref-key": "r",
                "dg-ref-sha256": SHA_B,
            },
            "not a size",
        ),
    ],
)
def test_missing_or_bad_delta_fields_are_named(meta: dict[str, str], problem: str) -> None:
    with pytest.raises(MetadataError, match=problem):
        metadata.parse_delta(meta, "k.delta")


def test_direct_and_plain_objects() -> None:
    direct = metadata.parse_direct({"dg-file-sha256": SHA_A.upper(), "dg-file-size": "3"}, "n")
    assert direct is not None
    assert (direct.sha256, direct.size) == (SHA_A, 3)
    # The proxy's passthrough objects carry a SHA-256 but no dg-compression.
    passthrough = metadata.parse_direct({"dg-file-sha256": SHA_A, "dg-note": "passthrough"}, "n")
    assert passthrough is not None
    assert passthrough.size is None
    assert metadata.parse_direct({"owner": "me"}, "plain.txt") is None


def test_user_metadata_round_trip_without_collisions() -> None:
    base = metadata.direct_metadata(
        tool="t", original_name="n", sha256=SHA_A, size=1, created_at=WHEN
    )
    stored = metadata.with_user_metadata(base, {"Owner": "ops", "dg-file-sha256": "mine"})
    assert stored["dg-file-sha256"] == SHA_A
    assert metadata.user_metadata(stored) == {"owner": "ops", "dg-file-sha256": "mine"}
    assert metadata.user_metadata({"owner": "plain"}) == {"owner": "plain"}
    with pytest.raises(ValueError, match="header"):
        metadata.with_user_metadata(base, {"bad name": "x"})
