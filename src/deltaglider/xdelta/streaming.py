"""Encode and decode files of any size with bounded memory.

Python drives the C state machine: it feeds target or delta bytes, writes
output as it comes, and answers source-block requests from a small cache of
blocks read from the (seekable) source file.  Every C step releases the
GIL.  Peak memory is the source window plus its match table and a few
windows of buffers, whatever the file sizes.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeAlias

from deltaglider._xdelta3 import ffi, lib
from deltaglider.fsutil import atomic_writer
from deltaglider.xdelta.errors import CorruptDeltaError, raise_for
from deltaglider.xdelta.options import (
    DEFAULT_LEVEL,
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SECONDARY,
    DEFAULT_TARGET_WINDOW,
    EncodeSettings,
    KiB,
    MiB,
    Secondary,
    SoftMatcher,
    pow2_floor,
)

PathOrFile: TypeAlias = str | os.PathLike[str] | IO[bytes]
"""A file path, or an open binary file object."""

DECODE_BLOCK_SIZE = 1 * MiB
DECODE_CACHE_BYTES = 64 * MiB
_DELTA_CHUNK = 1 * MiB
_MIN_BLOCK = 64 * KiB
_MAX_BLOCK = 4 * MiB


class _SourceBlocks:
    """Fixed-size blocks of a seekable file, with an LRU of recent blocks.

    The C stream keeps every block it was given and reads it again without
    asking; a block leaving the LRU is released from the stream first."""

    def __init__(
        self, stream: Any, file: IO[bytes], size: int, block_size: int, capacity: int
    ) -> None:
        self._stream = stream
        self._file = file
        self._size = size
        self._block_size = block_size
        self._capacity = max(2, capacity)
        self._cache: OrderedDict[int, tuple[bytearray, Any, int]] = OrderedDict()

    def get(self, number: int) -> tuple[Any, int]:
        """The C pointer and length of block ``number`` (0 past the end)."""
        entry = self._cache.get(number)
        if entry is not None:
            self._cache.move_to_end(number)
            return entry[1], entry[2]
        if len(self._cache) >= self._capacity:
            evicted, (buffer, _, _) = self._cache.popitem(last=False)
            lib.dg_stream_release_block(self._stream, evicted)
        else:
            buffer = bytearray(self._block_size)
        length = self._read_at(number * self._block_size, buffer)
        pointer = ffi.from_buffer("unsigned char[]", buffer)
        self._cache[number] = (buffer, pointer, length)
        return pointer, length

    def _read_at(self, offset: int, buffer: bytearray) -> int:
        if offset >= self._size:
            return 0
        self._file.seek(offset)
        return _read_full(self._file, memoryview(buffer)[: min(len(buffer), self._size - offset)])


def _read_full(file: IO[bytes], view: memoryview) -> int:
    """Fill ``view`` from ``file``; fewer bytes only at end of file."""
    filled = 0
    readinto = getattr(file, "readinto", None)
    while filled < len(view):
        if readinto is not None:
            n = readinto(view[filled:])
        else:
            chunk = file.read(len(view) - filled)
            n = len(chunk)
            view[filled : filled + n] = chunk
        if not n:
            break
        filled += n
    return filled


def _file_size(file: IO[bytes]) -> int:
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        position = file.seek(0, io.SEEK_END)
        file.seek(0)
        return position


@contextlib.contextmanager
def _reading(source: PathOrFile) -> Iterator[IO[bytes]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb", buffering=0) as handle:
            yield handle
    else:
        yield source


@contextlib.contextmanager
def _writing(destination: PathOrFile) -> Iterator[IO[bytes]]:
    if isinstance(destination, (str, os.PathLike)):
        with atomic_writer(destination) as handle:
            yield handle
    else:
        yield destination


def _pump(
    stream: Any,
    read: Callable[[], tuple[Any, int, bool]],
    blocks: _SourceBlocks,
    write: Callable[[memoryview], object],
    operation: str,
) -> None:
    """Run the C state machine to the end, serving its requests."""
    data = ffi.new("const unsigned char **")
    length = ffi.new("size_t *")
    pending_input: Any = None  # keeps the current input alive for C
    while True:
        event = lib.dg_stream_run(stream)
        if event == lib.DG_EVENT_OUTPUT:
            lib.dg_stream_output(stream, data, length)
            write(memoryview(ffi.buffer(data[0], length[0])))
        elif event == lib.DG_EVENT_INPUT:
            pending_input, size, final = read()
            code = lib.dg_stream_input(stream, pending_input, size, 1 if final else 0)
            if code != lib.DG_OK:
                raise_for(code, _message(stream), operation)
        elif event == lib.DG_EVENT_BLOCK:
            number = lib.dg_stream_block_wanted(stream)
            pointer, size = blocks.get(number)
            code = lib.dg_stream_provide_block(stream, number, pointer, size)
            if code != lib.DG_OK:
                raise_for(code, _message(stream), operation)
        elif event == lib.DG_EVENT_DONE:
            return
        else:
            raise_for(event, _message(stream), operation)


def _message(stream: Any) -> str:
    return str(ffi.string(lib.dg_stream_message(stream)).decode())


def _new_stream(factory: Callable[..., Any], *args: Any) -> Any:
    error = ffi.new("int *")
    message = ffi.new("const char **")
    stream = factory(*args, error, message)
    if stream == ffi.NULL:
        raise_for(error[0], ffi.string(message[0]).decode(), "stream setup")
    return ffi.gc(stream, lib.dg_stream_free)


def _window_reader(file: IO[bytes], window: int) -> Callable[[], tuple[Any, int, bool]]:
    """Reads the target one whole window at a time, as the CLI does."""
    buffer = bytearray(window)
    view = memoryview(buffer)
    pointer = ffi.from_buffer("unsigned char[]", buffer)

    def read() -> tuple[Any, int, bool]:
        n = _read_full(file, view)
        return pointer, n, n < window

    return read


def _chunk_reader(file: IO[bytes]) -> Callable[[], tuple[Any, int, bool]]:
    buffer = bytearray(_DELTA_CHUNK)
    view = memoryview(buffer)
    pointer = ffi.from_buffer("unsigned char[]", buffer)

    def read() -> tuple[Any, int, bool]:
        n = _read_full(file, view)
        return pointer, n, n == 0

    return read


def _block_size_for(window: int) -> int:
    # Like the CLI: the source window split into 32 blocks.
    return min(_MAX_BLOCK, max(_MIN_BLOCK, pow2_floor(max(window // 32, 1))))


def encode_file(
    source: PathOrFile,
    target: PathOrFile,
    out: PathOrFile,
    *,
    level: int = DEFAULT_LEVEL,
    secondary: Secondary = DEFAULT_SECONDARY,
    secondary_level: int | None = None,
    max_size: int | None = None,
    source_window: int | None = None,
    target_window: int = DEFAULT_TARGET_WINDOW,
    checksum: bool = True,
    app_header: bytes = b"",
    matcher: SoftMatcher | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> int:
    """Encode ``target`` against ``source`` into ``out``, streaming.

    ``source`` must be seekable; ``target`` is read once, front to back;
    ``out`` is written front to back.  A path given as ``out`` is written
    atomically: it appears only once the delta is complete.  The source
    window is as large as ``memory_budget`` allows (its blocks plus the
    match table), up to the whole source
    (:func:`~deltaglider.xdelta.options.plan_source`).  Other arguments are those of
    :func:`deltaglider.xdelta.encode`.

    Returns:
        The size of the delta in bytes.
    """
    settings = EncodeSettings(
        level, secondary, secondary_level, target_window, checksum, app_header, matcher
    )
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size}")
    with _reading(source) as src, _reading(target) as tgt:
        source_size = _file_size(src)
        window, settings = settings.planned(
            source_size, source_window, memory_budget, streaming=True
        )
        block_size = _block_size_for(min(window, source_size))
        options, keep = settings.to_c(window, settings.target_window)
        stream = _new_stream(lib.dg_stream_new_encoder, options, source_size, block_size)
        if max_size is not None:
            lib.dg_stream_set_output_limit(stream, max_size)
        blocks = _SourceBlocks(
            stream, src, source_size, block_size, min(window, source_size) // block_size + 2
        )
        with _writing(out) as dst:
            _pump(stream, _window_reader(tgt, options.target_window), blocks, dst.write, "encode")
        del keep
        return int(lib.dg_stream_total_out(stream))


def decode_file(
    source: PathOrFile,
    delta: PathOrFile,
    out: PathOrFile,
    *,
    size: int | None = None,
    cache_bytes: int = DECODE_CACHE_BYTES,
) -> int:
    """Decode ``delta`` against ``source`` into ``out``, streaming.

    ``source`` must be seekable.  A path given as ``out`` is written
    atomically.  With ``size``, the output must be exactly that many bytes
    (more raises :class:`OutputLimitError` before anything past it is
    written; fewer raises :class:`CorruptDeltaError`).

    Returns:
        The number of bytes written.
    """
    if size is not None and size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    with _reading(source) as src, _reading(delta) as dlt:
        source_size = _file_size(src)
        stream = _new_stream(lib.dg_stream_new_decoder, source_size, DECODE_BLOCK_SIZE)
        if size is not None:
            lib.dg_stream_set_output_limit(stream, size)
        blocks = _SourceBlocks(
            stream, src, source_size, DECODE_BLOCK_SIZE, cache_bytes // DECODE_BLOCK_SIZE
        )
        with _writing(out) as dst:
            _pump(stream, _chunk_reader(dlt), blocks, dst.write, "decode")
            written = int(lib.dg_stream_total_out(stream))
            if size is not None and written != size:
                raise CorruptDeltaError(
                    f"decode: the delta produced {written} bytes, expected {size}"
                )
        return written
