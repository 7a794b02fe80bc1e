"""Sizes as ``aws s3 ls --human-readable`` prints them."""

from __future__ import annotations

_UNITS = ("Bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human(size: int) -> str:
    """``1.5 MiB``; below 1 KiB, ``123 Bytes``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} Bytes" if unit == "Bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
