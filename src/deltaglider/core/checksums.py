"""The CRC32 S3 reports for an object (``ChecksumCRC32``), recorded for
the file a put stores, whatever form it is stored in."""

from __future__ import annotations

import base64
import zlib

CRC32_FIELD = "dg-file-crc32"
"""Metadata holding the file's CRC32 (base64 of its 4 big-endian bytes)."""


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """The CRC32 of ``data``, continuing from ``value``."""
    return zlib.crc32(data, value)


def crc32_text(value: int) -> str:
    """A CRC32 as S3 writes it."""
    return base64.b64encode(value.to_bytes(4, "big")).decode()
