"""Apply one of our patch files to a copy of a vendored library.

CMake runs ``python csrc/apply_patch.py SOURCE_DIR PATCH OUT_DIR``: every
file of SOURCE_DIR is copied to OUT_DIR, then the unified diff PATCH is
applied to the copies.  Each hunk must match exactly where it says (no
fuzz, no offsets): a vendored file that differs from what the patch was
written against stops the build instead of building something else.  Only
Python's standard library: the build stays offline and needs no ``patch``.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _files(patch: list[str]) -> dict[str, list[str]]:
    """Each patched file's path (after ``+++ ``, without its first folder)
    and its lines of hunks."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in patch:
        if line.startswith("+++ "):
            name = line[4:].split("\t")[0].strip()
            current = files.setdefault(name.split("/", 1)[1], [])
        elif line.startswith("--- "):
            current = None
        elif current is not None:
            current.append(line)
    return files


def apply(original: list[str], hunks: list[str], name: str) -> list[str]:
    """``original``'s lines with ``hunks`` applied, or SystemExit."""
    out: list[str] = []
    pos = 0  # next line of original not yet copied
    index = 0
    while index < len(hunks):
        match = _HUNK.match(hunks[index])
        if match is None:
            raise SystemExit(f"{name}: expected a hunk header, found {hunks[index]!r}")
        start = int(match.group(1)) - 1 if match.group(2) != "0" else int(match.group(1))
        out.extend(original[pos:start])
        pos = start
        index += 1
        while index < len(hunks) and not hunks[index].startswith("@@"):
            line = hunks[index] or " "  # a blank context line, its space trimmed
            tag, text = line[:1], line[1:]
            if tag in (" ", "-"):
                if pos >= len(original) or original[pos] != text:
                    raise SystemExit(f"{name}:{pos + 1}: the patch does not match the source")
                pos += 1
                if tag == " ":
                    out.append(text)
            elif tag == "+":
                out.append(text)
            elif tag != "\\":  # "\ No newline at end of file"
                raise SystemExit(f"{name}: unexpected patch line {line!r}")
            index += 1
    out.extend(original[pos:])
    return out


def main(source: Path, patch: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    lines = patch.read_text(encoding="utf-8").splitlines()
    for name, hunks in _files(lines).items():
        path = target / name
        original = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(apply(original, hunks, name)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: apply_patch.py SOURCE_DIR PATCH OUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
