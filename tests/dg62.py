"""deltaglider 6.2.0, the existing tool, in a virtualenv of its own, driven
through its SDK in a child process (it also imports as ``deltaglider``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from seaweed import ACCESS_KEY, REGION, SECRET_KEY

VERSION = "6.2.0"

DRIVER = """
import sys
from deltaglider import create_client
operation, endpoint, *args = sys.argv[1:]
client = create_client(endpoint_url=endpoint, log_level="WARNING")
if operation == "upload":
    path, url = args
    summary = client.upload(path, url)
    print(summary.operation, summary.stored_size)
elif operation == "download":
    url, path = args
    client.download(url, path)
else:
    raise SystemExit(f"unknown operation {operation}")
"""


def install(folder: Path) -> Path:
    """A virtualenv with deltaglider 6.2.0; returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"deltaglider=={VERSION}",
        ],
        check=True,
        capture_output=True,
    )
    return python


class OldTool:
    """Runs 6.2.0's SDK against one S3 endpoint."""

    def __init__(self, python: Path, endpoint: str) -> None:
        self.python = python
        self.endpoint = endpoint

    def _run(self, *args: str) -> str:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }
        env.pop("AWS_ENDPOINT_URL", None)
        result = subprocess.run(
            [
                str(self.python),
                "-c",
                DRIVER,
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"deltaglider {VERSION} {args[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def upload(self, path: Path, url: str) -> str:
        """``client.upload(path, url)``; returns its operation and stored size."""
        return self._run("upload", self.endpoint, str(path), url)

    def download(self, url: str, path: Path) -> None:
        """``client.download(url, path)``."""
        self._run("download", self.endpoint, url, str(path))
