"""What the fuzz targets share: run one under atheris, seeding a fresh
corpus directory when the command line names none."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable

import atheris


def run(seed_corpus: Callable[[str], None], test_one_input: Callable[[bytes], None]) -> None:
    """Fuzz ``test_one_input`` with the command line's libFuzzer flags."""
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = tempfile.mkdtemp(prefix="dg-fuzz-")
        seed_corpus(corpus)
        argv.append(corpus)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
