"""Byte-exact interoperability with the stock xdelta3 command line tool,
which is what the existing deltaglider 6.2.0 and the proxy call."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable

import pytest
from helpers import mutate

from deltaglider import xdelta

pytestmark = pytest.mark.interop

RunCli = Callable[..., bytes]
CLI_SECONDARY = {"lzma": [], "djw": ["-S", "djw"], "fgk": ["-S", "fgk"], "none": ["-S", "none"]}


def cases(release_archives: dict[str, tuple[bytes, bytes]]) -> dict[str, tuple[bytes, bytes]]:
    random_source = os.urandom(300_000)
    return {
        "zip": release_archives["zip"],
        "tar": release_archives["tar"],
        "edits": (random_source, mutate(random_source, seed=11, edits=60)),
        "empty-target": (random_source, b""),
        "unrelated": (os.urandom(50_000), os.urandom(70_000)),
    }


@pytest.mark.parametrize("secondary", list(CLI_SECONDARY))
def test_cli_decodes_our_deltas(
    run_cli: RunCli, release_archives: dict[str, tuple[bytes, bytes]], secondary: str
) -> None:
    for name, (source, target) in cases(release_archives).items():
        delta = xdelta.encode(source, target, secondary=secondary)  # type: ignore[arg-type]
        out = run_cli(
            ["-d", "-f", "-s", "ref.bin", "x.delta", "out"],
            {"ref.bin": source, "x.delta": delta},
            "out",
        )
        assert out == target, f"{name} with {secondary}"


@pytest.mark.parametrize("secondary", list(CLI_SECONDARY))
def test_we_decode_cli_deltas(
    run_cli: RunCli, release_archives: dict[str, tuple[bytes, bytes]], secondary: str
) -> None:
    for name, (source, target) in cases(release_archives).items():
        delta = run_cli(
            ["-e", "-9", "-f", *CLI_SECONDARY[secondary], "-s", "ref.bin", "new", "x.delta"],
            {"ref.bin": source, "new": target},
            "x.delta",
        )
        header = xdelta.inspect(delta)
        assert header.secondary == secondary
        assert header.target_size == len(target)
        assert xdelta.read_app_header(delta[:4096]) == header.app_header != b""
        assert xdelta.decode(source, delta, size=len(target)) == target, f"{name} with {secondary}"


def test_multi_window_cli_delta(run_cli: RunCli) -> None:
    source = os.urandom(20 << 20)
    target = mutate(source, seed=5, edits=30)
    delta = run_cli(
        ["-e", "-9", "-f", "-s", "ref.bin", "new", "x.delta"],
        {"ref.bin": source, "new": target},
        "x.delta",
    )
    assert xdelta.inspect(delta).window_count == 3
    assert xdelta.decode(source, delta, size=len(target)) == target
    ours = xdelta.encode(source, target)
    assert len(ours) <= len(delta)


def test_delta_size_against_the_cli(
    run_cli: RunCli, release_archives: dict[str, tuple[bytes, bytes]]
) -> None:
    # Debian's CLI is xdelta3 3.0.11, whose matcher finds slightly more than
    # 3.1.1's -9 on small archives; the deep matcher beats it.
    for kind in ("zip", "tar"):
        source, target = release_archives[kind]
        cli = run_cli(
            ["-e", "-9", "-f", "-A=", "-s", "ref.bin", "new", "x.delta"],
            {"ref.bin": source, "new": target},
            "x.delta",
        )
        assert len(xdelta.encode(source, target, matcher=xdelta.DEEP_MATCHER)) <= len(cli), kind
        assert len(xdelta.encode(source, target)) <= len(cli) * 1.02, kind


def test_cli_app_header_names_and_external_compression(run_cli: RunCli) -> None:
    # 6.2.0 never passed -D: for gzip inputs the CLI diffs the decompressed
    # streams and says so in the app header.  inspect() must expose that.
    raw_old = b"version one\n" * 5000
    raw_new = b"version one\n" * 4000 + b"version two\n" * 1000
    old, new = gzip.compress(raw_old, mtime=0), gzip.compress(raw_new, mtime=0)
    plain = run_cli(
        ["-e", "-9", "-f", "-s", "a.bin", "b.bin", "p.delta"],
        {"a.bin": raw_old, "b.bin": raw_new},
        "p.delta",
    )
    assert xdelta.inspect(plain).app_header_fields == ("b.bin", "", "a.bin", "")
    assert xdelta.inspect(plain).external_compression is None
    recompressed = run_cli(
        ["-e", "-9", "-f", "-s", "a.tar.gz", "b.tar.gz", "g.delta"],
        {"a.tar.gz": old, "b.tar.gz": new},
        "g.delta",
    )
    header = xdelta.inspect(recompressed)
    assert header.app_header_fields == ("b.tar.gz", "G", "a.tar.gz", "G")
    assert header.external_compression == ("G", "G")
    # The streaming get reads the same markers from the first bytes alone.
    assert xdelta.read_app_header(recompressed[:64]) == b"b.tar.gz/G/a.tar.gz/G"
    # Decoding gives the decompressed stream, not the stored .gz bytes: this
    # is why such deltas must never be returned without a SHA-256 check.
    assert xdelta.decode(raw_old, recompressed, size=header.target_size) == raw_new


def test_cli_delta_without_checksums(run_cli: RunCli) -> None:
    source = os.urandom(100_000)
    target = mutate(source, seed=9)
    delta = run_cli(
        ["-e", "-9", "-n", "-f", "-s", "ref.bin", "new", "x.delta"],
        {"ref.bin": source, "new": target},
        "x.delta",
    )
    assert not xdelta.inspect(delta).has_checksums
    assert xdelta.decode(source, delta, size=len(target)) == target
