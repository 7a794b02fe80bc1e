"""Package-level promises: vendored code untouched, no process spawning,
and the codec's command line works as a user would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import mutate

import deltaglider
from deltaglider import xdelta
from deltaglider._xdelta3 import ffi, lib

REPO = Path(__file__).resolve().parent.parent


def test_version_and_library_identity() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", deltaglider.__version__)
    assert ffi.string(lib.dg_xdelta3_version()).decode().startswith("xdelta3 3.1.1")


def test_errors_are_exported_without_loading_the_sdk() -> None:
    """``from deltaglider import IntegrityError`` and the rest, each the
    engine's own class, without importing boto3."""
    code = (
        "import sys, deltaglider\n"
        "from deltaglider.core import errors\n"
        "names = [n for n in deltaglider.__all__ if n.endswith('Error')]\n"
        "assert all(getattr(deltaglider, n) is getattr(errors, n) for n in names), names\n"
        "assert issubclass(deltaglider.ObjectNotFoundError, FileNotFoundError)\n"
        "assert 'boto3' not in sys.modules\n"
        "print(len(names))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 10


@pytest.mark.skipif(not (REPO / "vendor").is_dir(), reason="needs the source tree")
def test_vendored_files_match_their_recorded_sha256() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "vendor_manifest.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_package_never_spawns_a_process() -> None:
    source_root = Path(deltaglider.__file__).parent
    pattern = re.compile(
        r"\b(subprocess|os\.system|os\.popen|os\.spawn|os\.exec|pty\.spawn|Popen)\b"
    )
    offenders = [
        f"{path.name}:{n}"
        for path in source_root.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def run_module(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deltaglider.xdelta", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_command_line_encode_inspect_decode(tmp_path: Path) -> None:
    source = tmp_path / "old.bin"
    source.write_bytes(bytes(range(256)) * 4000)
    target = tmp_path / "new.bin"
    target.write_bytes(mutate(source.read_bytes(), seed=3))
    assert run_module("encode", source, target, tmp_path / "x.delta").returncode == 0
    shown = run_module("inspect", tmp_path / "x.delta")
    assert "secondary compressor: lzma" in shown.stdout
    assert run_module("decode", source, tmp_path / "x.delta", tmp_path / "out").returncode == 0
    assert (tmp_path / "out").read_bytes() == target.read_bytes()


def test_command_line_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"abc")
    (tmp_path / "junk").write_bytes(b"not a delta")
    result = run_module("decode", tmp_path / "src", tmp_path / "junk", tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.startswith("error: decode:")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_demo_rebuilds_every_version(tmp_path: Path) -> None:
    result = run_module("demo", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("byte-exact") == 3
    assert "saved" in result.stdout
    for delta in tmp_path.glob("*.delta"):
        assert xdelta.inspect(delta.read_bytes()).has_checksums
