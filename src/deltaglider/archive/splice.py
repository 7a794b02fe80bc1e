"""Compressed bytes spliced from the reference's at the bit level: a
changed deflate stream that is the reference's stream but for one run of
bits (a zip member whose gzip header's time changed; a member stored
because its content does not compress) is rebuilt from the reference's
bits around that run, without deflating anything.

Deflate writes bits, not bytes, and a change moves everything after it by
a few bits; so the streams are compared as integers (bit ``i`` of a
stream is bit ``i % 8`` of its byte ``i // 8``), the end of one against
the end of the other shifted by each distance their lengths allow."""

from __future__ import annotations

from dataclasses import dataclass

_TAIL = 4096  # bytes of each stream's end that choose how they line up

NAME = "splice-1"
"""How a delta that splices records it, beside its deflate families (a
reader without it refuses the object)."""


@dataclass(frozen=True)
class Cut:
    """Where a stream differs from the reference's: its first ``keep``
    bits are the reference's, the next ``middle`` bits its own, the rest
    the reference's from bit ``skip`` on."""

    keep: int
    middle: int
    skip: int


def find(target: bytes | memoryview, reference: bytes | memoryview) -> Cut | None:
    """The cut that rebuilds ``target`` from ``reference`` with the fewest
    bits of its own (None for an empty stream)."""
    if not target or not reference:
        return None
    keep = _common_prefix_bits(target, reference)
    # Each stream ends within its last byte: the distance between their
    # ends, in bits, is the bytes' distance within 7 either way.  Which it
    # is, the streams' last bytes say; the whole streams are compared once.
    distance = 8 * (len(reference) - len(target))
    shifts = [s for s in range(distance - 7, distance + 8) if s + 8 * len(target) >= 0]
    if not shifts:
        return None
    shift = min(shifts, key=lambda s: _tail_difference(target, reference, s))
    ours = int.from_bytes(target, "little")
    theirs = int.from_bytes(reference, "little")
    aligned = theirs >> shift if shift >= 0 else theirs << -shift
    end = max((ours ^ aligned).bit_length(), keep)
    if not 0 <= end + shift <= 8 * len(reference):
        return None
    return Cut(keep, end - keep, end + shift)


def _tail_difference(target: bytes | memoryview, reference: bytes | memoryview, shift: int) -> int:
    """How far into the last :data:`_TAIL` bytes of ``target`` its bits
    and ``reference``'s, moved ``shift`` bits, differ (0: not at all)."""
    tail = min(len(target), _TAIL)
    start = 8 * (len(target) - tail) + shift  # the reference's bit under the tail's first
    ours = int.from_bytes(target[len(target) - tail :], "little")
    if start >= 0:
        theirs = int.from_bytes(reference[start // 8 :], "little") >> start % 8
    else:
        theirs = int.from_bytes(reference, "little") << -start
    return (ours ^ theirs).bit_length()


def _common_prefix_bits(a: bytes | memoryview, b: bytes | memoryview) -> int:
    size = min(len(a), len(b))
    low, high = 0, size  # bisect the longest equal prefix of whole bytes
    view_a, view_b = memoryview(a), memoryview(b)
    while low < high:
        middle = (low + high + 1) // 2
        if view_a[:middle] == view_b[:middle]:
            low = middle
        else:
            high = middle - 1
    if low == size:
        return 8 * size
    differ = view_a[low] ^ view_b[low]
    return 8 * low + (differ & -differ).bit_length() - 1


def middle_bytes(target: bytes | memoryview, cut: Cut) -> bytes:
    """The target's own bits of a cut, as the bytes a delta stores."""
    bits = int.from_bytes(target, "little") >> cut.keep
    return (bits & ((1 << cut.middle) - 1)).to_bytes((cut.middle + 7) // 8, "little")


def apply(reference: bytes | memoryview, cut: Cut, middle: bytes | memoryview, size: int) -> bytes:
    """The ``size`` bytes a cut rebuilds, or ValueError where its fields
    do not fit the reference, its middle or ``size``."""
    if cut.keep > 8 * len(reference) or cut.skip > 8 * len(reference):
        raise ValueError("the splice reads past the reference's bits")
    if len(middle) != (cut.middle + 7) // 8:
        raise ValueError("the splice's own bits are not the size it records")
    theirs = int.from_bytes(reference, "little")
    own = int.from_bytes(middle, "little")
    if own >> cut.middle:
        raise ValueError("the splice's own bits run past their count")
    head = theirs & ((1 << cut.keep) - 1)
    value = head | own << cut.keep | (theirs >> cut.skip) << (cut.keep + cut.middle)
    if value.bit_length() > 8 * size:
        raise ValueError("the splice rebuilds more bytes than it records")
    return value.to_bytes(size, "little")
