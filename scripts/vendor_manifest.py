"""Print or check the SHA-256 manifest of vendor/ recorded in vendor/README.md.

python scripts/vendor_manifest.py          # print the manifest table rows
python scripts/vendor_manifest.py --check  # exit 1 if vendor/ differs
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "vendor"
ROW = re.compile(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$")


def current() -> dict[str, str]:
    """SHA-256 of every vendored file except vendor/README.md."""
    return {
        path.relative_to(VENDOR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(VENDOR.rglob("*"))
        if path.is_file() and path.relative_to(VENDOR).as_posix() != "README.md"
    }


def recorded() -> dict[str, str]:
    """The manifest rows of vendor/README.md."""
    rows = {}
    for line in (VENDOR / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def main() -> int:
    if "--check" not in sys.argv:
        for name, digest in current().items():
            print(f"| `{name}` | `{digest}` |")
        return 0
    have, want = current(), recorded()
    problems = [f"changed: {n}" for n in have if n in want and have[n] != want[n]]
    problems += [f"not in manifest: {n}" for n in have if n not in want]
    problems += [f"missing: {n}" for n in want if n not in have]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
