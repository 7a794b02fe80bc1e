"""Real producers' archives for the tests, made at test time: tarballs of
two versions of a tree of real files (this Python's own library) compressed
by gzip, busybox, pigz, 7-Zip, libdeflate, Go, zlib-ng and ISA-L; the trees
zipped by Info-ZIP's zip, 7-Zip and Go.  A tool that is not installed skips its tests, unless
DG_REQUIRE_PRODUCERS=1 (CI installs them all)."""

from __future__ import annotations

import importlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

LIBRARY = Path(os.__file__).parent
PACKAGES = ("email", "json", "http", "logging", "importlib", "asyncio", "unittest", "xml")


def tool(name: str) -> str:
    """The path of a producer's command, or skip (fail under CI)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("DG_REQUIRE_PRODUCERS") == "1":
            pytest.fail(f"{name} required (DG_REQUIRE_PRODUCERS=1) but not on PATH")
        pytest.skip(f"{name} not installed")
    return path


def tree(root: Path, version: int) -> Path:
    """A release's tree: some of this Python's packages, version 2 with one
    module edited and a file added."""
    top = root / f"pkg-{version}"
    if top.exists():
        return top
    for name in PACKAGES:
        shutil.copytree(LIBRARY / name, top / name, ignore=shutil.ignore_patterns("__pycache__"))
    if version > 1:
        message = top / "email" / "message.py"
        message.write_bytes(message.read_bytes() + b"\n# released again\n")
        (top / "CHANGES").write_text("version 2: message.py changed\n", encoding="utf-8")
    return top


def tar(root: Path) -> bytes:
    """A reproducible tar of a tree (sorted, fixed times and owners)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for path in sorted(root.rglob("*")):
            info = archive.gettarinfo(str(path), arcname=f"{root.name}/{path.relative_to(root)}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 1_700_000_000, 0, 0, "", ""
            if path.is_file():
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
            else:
                archive.addfile(info)
    return buf.getvalue()


def compressed(command: list[str], data: bytes) -> bytes:
    """``data`` through a compressor's standard input and output."""
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


def zipped(command: list[str], root: Path, out: Path) -> bytes:
    """A tree (or a file) zipped by a command run in its parent (``command`` ends with
    the archive's name; the tree's folder name is appended)."""
    out.unlink(missing_ok=True)
    subprocess.run([*command, str(out), root.name], cwd=root.parent, check=True,
                   capture_output=True)  # fmt: skip
    return out.read_bytes()


GO_PRODUCER = """package main

import (
	"archive/zip"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// gzip: standard input to standard output; zip OUT DIR: DIR's files, walked in order,
// named from DIR.
func main() {
	if os.Args[1] == "gzip" {
		w, _ := gzip.NewWriterLevel(os.Stdout, gzip.DefaultCompression)
		io.Copy(w, os.Stdin)
		w.Close()
		return
	}
	out, _ := os.Create(os.Args[2])
	w := zip.NewWriter(out)
	filepath.WalkDir(os.Args[3], func(path string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		name, _ := filepath.Rel(os.Args[3], path)
		f, _ := w.Create(filepath.ToSlash(name))
		data, _ := os.ReadFile(path)
		f.Write(data)
		return nil
	})
	w.Close()
	out.Close()
}
"""


def build_go_producer(work: Path, go: str = "go") -> Path:
    """A Go program that gzips its input and zips a tree with Go's standard
    library (compress/gzip, archive/zip), built once in ``work`` (offline)."""
    binary = work / "go-producer"
    if not binary.exists():
        (work / "main.go").write_text(GO_PRODUCER, encoding="utf-8")
        (work / "go.mod").write_text("module producer\n\ngo 1.19\n", encoding="utf-8")
        env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
        subprocess.run([go, "build", "-o", str(binary), "."], cwd=work, check=True,
                       capture_output=True, env=env)  # fmt: skip
    return binary


def go_producer(work: Path) -> Path:
    """The Go producer (:func:`build_go_producer`), or skip (fail under CI)."""
    return build_go_producer(work, tool("go"))


def module(name: str) -> Any:
    """A producer that comes as a Python module (zlib-ng, isal), or skip
    (fail under CI)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("DG_REQUIRE_PRODUCERS") == "1":
            pytest.fail(f"{name} required (DG_REQUIRE_PRODUCERS=1) but not installed")
        pytest.skip(f"{name} not installed")
