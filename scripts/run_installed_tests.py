"""Run the test suite against the installed package, from outside the tree.

    python scripts/run_installed_tests.py TESTS_DIR [pytest args...]

The tests are copied to a temporary folder so that nothing from the source
tree can be imported by accident; pytest runs there against whatever
``deltaglider`` is installed.  Used by cibuildwheel and scripts/check-wheel.sh.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    tests = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory(prefix="dg-installed-tests-") as tmp:
        copy = Path(tmp) / "tests"
        shutil.copytree(tests, copy, ignore=shutil.ignore_patterns("__pycache__", "fuzz"))
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(copy),
            str(copy),
            *sys.argv[2:],
        ]
        return subprocess.run(command, cwd=tmp).returncode


if __name__ == "__main__":
    sys.exit(main())
