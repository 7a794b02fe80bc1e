"""deltaglider.archive: contents deltas of zip-family archives and gzip
streams rebuild the exact bytes, on ordinary and adversarial archives, and
a damaged delta is refused, never turned into other bytes."""

from __future__ import annotations

import contextlib
import gzip
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from archives import RNG, edited, hand_made_zip, make_zip, release, source_tarball, tarball, text

from deltaglider import archive, xdelta
from deltaglider.archive import containers
from deltaglider.archive import deflate as deflate_module
from deltaglider.archive.deflate import Params, ParamSearch, deflate


def roundtrip(reference: bytes, target: bytes) -> archive.Description:
    payload = archive.encode(reference, target)
    assert payload is not None, "the contents path was not taken"
    assert archive.decode(reference, payload, size=len(target)) == target
    return archive.describe(payload)


def test_a_release_stores_only_what_changed() -> None:
    v1, v2 = release(1), release(2)
    facts = roundtrip(v1, v2)
    payload = archive.encode(v1, v2)
    assert payload is not None
    plain = xdelta.encode(v1, v2)
    assert len(payload) * 3 < len(plain)
    assert facts.redeflated == 1  # the changed module
    # Everything else is copied (RECORD too, though its folder's name
    # changed) but for a header and the directory.
    assert facts.directory_entries == 41
    assert facts.copied_bytes + facts.redeflated_bytes > len(v2) - 5000
    assert facts.carried_bytes < 200


@pytest.mark.parametrize("level", range(0, 10))
def test_members_deflated_at_every_level(level: int) -> None:
    roundtrip(release(1, level=level), release(3, level=level))


@pytest.mark.parametrize(
    "strategy", [zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED]
)
def test_members_deflated_with_every_strategy(strategy: int) -> None:
    def raw(data: bytes) -> bytes:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8, strategy)
        return compressor.compress(data) + compressor.flush()

    def zipped(version: int) -> bytes:
        members = [(f"m{i}.txt", text(i) if i != 2 else edited(text(2), version)) for i in range(5)]
        return hand_made_zip([(name, raw(data), data, 8) for name, data in members])

    facts = roundtrip(zipped(1), zipped(2))
    assert facts.redeflated >= 1


def test_stored_bzip2_and_lzma_members_are_carried() -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        v1, v2 = release(1, method=method), release(2, method=method)
        payload = archive.encode(v1, v2)
        if payload is not None:  # unchanged members are still copied
            assert archive.decode(v1, payload, size=len(v2)) == v2


def test_mixed_methods_in_one_archive() -> None:
    def mixed(version: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for i, method in enumerate([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                        zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA] * 3):  # fmt: skip
                data = edited(text(i), version) if i % 4 == 1 else text(i)
                zf.writestr(zipfile.ZipInfo(f"f{i}", (2024, 1, 1, 0, 0, 0)), data, method)
        return buf.getvalue()

    roundtrip(mixed(1), mixed(2))


def test_zip64_archives() -> None:
    roundtrip(release(1, zip64=True), release(2, zip64=True))


def test_data_descriptors() -> None:
    def described(version: int) -> bytes:
        members = []
        for i in range(6):
            content = edited(text(i), version) if i == 3 else text(i)
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            members.append((f"d{i}", compressor.compress(content) + compressor.flush(), content, 8))
        return hand_made_zip(members, descriptor=True)

    facts = roundtrip(described(1), described(2))
    assert facts.redeflated >= 1


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member_names() -> None:
    def duplicated(version: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(4):
                data = edited(text(i), version) if i == 2 else text(i)
                zf.writestr(zipfile.ZipInfo("same.txt", (2024, 1, 1, 0, 0, 0)), data)
        return buf.getvalue()

    roundtrip(duplicated(1), duplicated(2))


def test_prepended_stub_trailing_bytes_and_comment() -> None:
    stub = b"MZ" + bytes(5000)  # a self-extractor's executable part
    v1 = stub + release(1, comment=b"release one") + b"trailing garbage"
    v2 = stub + release(2, comment=b"release two") + b"trailing garbage!"
    facts = roundtrip(v1, v2)
    assert facts.redeflated >= 1


def test_central_directory_disagreeing_with_local_headers() -> None:
    v2 = bytearray(release(2))
    # Point the third central-directory entry's header offset at nothing.
    entry = v2.find(b"PK\x01\x02")
    for _ in range(2):
        entry = v2.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", v2, entry + 42, 7)
    payload = archive.encode(release(1), bytes(v2))
    assert payload is not None
    assert archive.decode(release(1), payload, size=len(v2)) == v2


def test_truncated_and_empty_archives() -> None:
    v1 = release(1)
    truncated = release(2)[:-200]  # no end record: nothing to take apart
    assert archive.encode(v1, truncated) is None
    empty = make_zip([])
    assert archive.kind(empty) == "zip"
    assert archive.encode(v1, empty) is None


def test_encrypted_members_are_carried() -> None:
    members = [(f"e{i}", text(i), text(i), 0) for i in range(3)]
    v1 = hand_made_zip(members, flags=1)
    v2 = hand_made_zip([*members[:2], ("e2", text(9), text(9), 0)], flags=1)
    payload = archive.encode(v1, v2)
    if payload is not None:
        assert archive.decode(v1, payload, size=len(v2)) == v2


def test_gzip_inside_zip_is_expanded() -> None:
    def with_gz(version: int) -> bytes:
        doc = edited(text(5, 3000), version)
        inner = gzip.compress(doc, compresslevel=9, mtime=version)
        return make_zip([("data/service.json.gz", inner), ("a.py", text(1))])

    facts = roundtrip(with_gz(1), with_gz(2))
    assert facts.redeflated == 2  # the zip member and the gzip stream inside it
    payload = archive.encode(with_gz(1), with_gz(2))
    assert payload is not None
    assert len(payload) < 2000


# -- gzip ----------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 6, 9])
def test_gzip_streams(level: int) -> None:
    v1 = gzip.compress(tarball(1), compresslevel=level, mtime=1)
    v2 = gzip.compress(tarball(2), compresslevel=level, mtime=2)
    facts = roundtrip(v1, v2)
    assert facts.redeflated == 1
    payload = archive.encode(v1, v2)
    assert payload is not None
    assert len(payload) < len(v2) // 20


def test_gzip_header_fields_and_several_members() -> None:
    def stream(version: int) -> bytes:
        out = io.BytesIO()
        with gzip.GzipFile(filename="pkg.tar", mode="wb", fileobj=out, mtime=version) as handle:
            handle.write(tarball(version))
        first = bytearray(out.getvalue())
        # FEXTRA, FCOMMENT and FHCRC on a hand-made second member.
        body = zlib.compressobj(6, zlib.DEFLATED, -15)
        content = text(99, 50)
        deflated = body.compress(content) + body.flush()
        header = b"\x1f\x8b\x08" + bytes([4 | 16 | 2]) + struct.pack("<I", 7) + b"\x00\x03"
        header += struct.pack("<H", 4) + b"ABCD" + b"a comment\x00"
        header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
        second = header + deflated + struct.pack("<II", zlib.crc32(content), len(content))
        return bytes(first) + second + b"\x00\x00 trailing"

    v1, v2 = stream(1), stream(2)
    assert gzip.decompress(v2.split(b"\x00\x00 trailing")[0])
    facts = roundtrip(v1, v2)
    assert facts.redeflated == 2


def test_a_gzip_bomb_is_not_expanded() -> None:
    bomb = gzip.compress(bytes(300 << 20), compresslevel=9, mtime=0)  # > 100x and > 1 MiB
    assert containers.gzip_member(memoryview(bomb), 0) is None
    assert archive.encode(gzip.compress(b"x" * 1000), bomb) is None


def test_truncated_gzip_is_carried() -> None:
    v1 = gzip.compress(tarball(1), mtime=1)
    v2 = gzip.compress(tarball(2), mtime=2)[:-1000]
    assert archive.encode(v1, v2) is None


def test_references_of_other_kinds() -> None:
    zipped, gzipped, opaque = release(2), gzip.compress(tarball(2), mtime=0), RNG.randbytes(5000)
    for reference in (gzipped, opaque, b""):
        payload = archive.encode(reference, zipped)
        if payload is not None:
            assert archive.decode(reference, payload, size=len(zipped)) == zipped
    for reference in (zipped, opaque):
        payload = archive.encode(reference, gzipped)
        assert payload is not None
        assert archive.decode(reference, payload, size=len(gzipped)) == gzipped


# -- deflate and damage ----------------------------------------------------------


def test_parameters_found_and_redeflated_exactly() -> None:
    content = text(3, 2000)
    for level, mem, strategy in [(6, 8, 0), (9, 8, 0), (1, 8, 0), (6, 9, 0), (9, 8, 1)]:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, mem, strategy)
        compressed = compressor.compress(content) + compressor.flush()
        params = ParamSearch("zip").find(content, compressed)
        assert params is not None
        assert bytes(deflate(params, content, len(compressed))) == compressed
    assert Params.unpack(Params(5, 12, 3, 2).pack()) == Params(5, 12, 3, 2)


def test_the_right_parameters_cost_one_deflate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search deflates the matching candidate's content once, not a probe
    of its first block and then all of it again; a wrong candidate stops at
    its first output that differs."""
    content = text(5, 20_000)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = compressor.compress(content) + compressor.flush()
    assert len(compressed) > 16 << 10  # long enough that a probe was worth it
    calls: list[tuple[Params, int]] = []
    original = deflate_module._matches

    def counted(params: Params, data: Any, stream: Any, probe: int) -> bool:
        calls.append((params, probe))
        return original(params, data, stream, probe)

    monkeypatch.setattr(deflate_module, "_matches", counted)
    search = ParamSearch("zip")
    search.find(content, compressed)  # 9 is not the first level tried
    assert calls[-1][0] == Params(9)
    assert [probe for params, probe in calls if params == Params(9)] == [0]
    calls.clear()
    assert search.find(content, compressed) == Params(9)  # what worked comes first
    assert calls == [(Params(9), 0)]


def test_another_deflate_implementation_is_refused() -> None:
    v1, v2 = release(1), release(2)
    payload = archive.encode(v1, v2)
    assert payload is not None
    with pytest.raises(archive.UnsupportedDeflateError, match=r"zlib-0\.9"):
        archive.decode(v1, payload, size=len(v2), implementation="zlib-0.9")


def test_damaged_deltas_are_refused_or_checked() -> None:
    """Every single-byte change of a delta is either refused by the library
    or yields other bytes (which the engine's SHA-256 check refuses); it
    never raises anything but the library's and the codec's errors."""
    v1, v2 = release(1), release(2)
    payload = archive.encode(v1, v2)
    assert payload is not None
    rnd = random.Random(5)
    for _ in range(300):
        damaged = bytearray(payload)
        damaged[rnd.randrange(len(damaged))] ^= 1 << rnd.randrange(8)
        with contextlib.suppress(archive.ArchiveDeltaError, xdelta.XDeltaError):
            archive.decode(v1, bytes(damaged), size=len(v2))
    with pytest.raises(archive.CorruptContentsDeltaError):
        archive.decode(v1, payload[:-50], size=len(v2))
    with pytest.raises(archive.CorruptContentsDeltaError):
        archive.decode(v1, payload, size=len(v2) + 1)
    with pytest.raises(archive.CorruptContentsDeltaError):
        archive.decode(v1, b"not a delta", size=len(v2))


def test_the_command_encodes_explains_and_rebuilds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deltaglider.archive.__main__ import main

    (tmp_path / "v1.whl").write_bytes(release(1))
    (tmp_path / "v2.whl").write_bytes(release(2))
    (tmp_path / "notes.txt").write_bytes(b"not an archive")
    delta, out = str(tmp_path / "v2.delta"), str(tmp_path / "v2.out")
    assert main(["encode", str(tmp_path / "v1.whl"), str(tmp_path / "v2.whl"), delta]) == 0
    assert main(["inspect", delta]) == 0
    shown = capsys.readouterr().out
    assert "re-deflated:           1 streams" in shown
    assert f"rebuilds:              {len(release(2))} bytes" in shown
    assert main(["decode", str(tmp_path / "v1.whl"), delta, out]) == 0
    assert Path(out).read_bytes() == release(2)
    notes = str(tmp_path / "notes.txt")
    assert main(["encode", str(tmp_path / "v1.whl"), notes, str(tmp_path / "x")]) == 1
    assert "not a zip or gzip archive" in capsys.readouterr().err
    assert main(["inspect", notes]) == 1
    assert "not a contents delta" in capsys.readouterr().err


def test_a_source_tarball_is_matched_file_by_file() -> None:
    v1, v2 = source_tarball(1), source_tarball(3)
    facts = roundtrip(v1, v2)
    assert facts.redeflated == 1
    payload = archive.encode(v1, v2)
    assert payload is not None
    # Only the changed and new files are in the data stream, not the tar.
    assert facts.data_size < len(gzip.decompress(v2)) // 4
    assert len(payload) < len(v2) // 10


def test_a_rebuild_that_changes_every_timestamp_costs_little_more() -> None:
    v1 = release(1)
    same_day, next_day = release(2), release(2, day=3)  # every member's time changed
    kept = archive.encode(v1, same_day)
    moved = archive.encode(v1, next_day)
    assert kept is not None
    assert moved is not None
    assert archive.decode(v1, moved, size=len(next_day)) == next_day
    # The directory's times are stored against the local headers' (which
    # say the same), so only the headers' new times cost anything.
    assert len(moved) - len(kept) < 100  # 116 bytes when the directory stores them again


# -- splices: compressed bits of the reference around a run of the target's ----


def _json_gz_wheel(mtime: int, doc: bytes) -> bytes:
    """A wheel-like zip holding a gzip stream (zipped again, as botocore's
    ``.json.gz`` members are), the stream's header time ``mtime``."""
    return make_zip(
        [("data/service.json.gz", gzip.compress(doc, 9, mtime=mtime)), ("a.py", text(1))]
    )


def test_a_member_whose_gzip_time_changed_is_spliced_not_re_deflated() -> None:
    doc = text(5, 3000)
    v1, v2 = _json_gz_wheel(1, doc), _json_gz_wheel(2, doc)
    facts = roundtrip(v1, v2)
    assert facts.spliced == 1
    assert facts.redeflated == 0  # neither the member nor the gzip stream inside it
    payload = archive.encode(v1, v2)
    assert payload is not None
    assert archive.deflate_names(payload) == "splice-1"
    assert len(payload) < 400


def test_members_that_do_not_compress_are_spliced_around_their_change() -> None:
    rnd = random.Random(3)
    noise = bytes(rnd.getrandbits(8) for _ in range(200_000))
    v1 = make_zip([("blob.bin", noise), ("a.py", text(1))])
    v2 = make_zip([("blob.bin", noise[:90_000] + b"new bytes" + noise[90_009:]), ("a.py", text(1))])
    facts = roundtrip(v1, v2)
    assert (facts.spliced, facts.redeflated) == (1, 0)
    payload = archive.encode(v1, v2)
    assert payload is not None
    assert len(payload) < 600


@pytest.mark.parametrize("seed", range(40))
def test_a_cut_rebuilds_any_stream_from_any_other(seed: int) -> None:
    """Bit strings edited at the start, the end, in between or everywhere,
    by insertions that move what follows by any number of bits."""
    from deltaglider.archive import splice

    rnd = random.Random(seed)
    reference = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000)))
    bits = int.from_bytes(reference, "little")
    length = 8 * len(reference) - rnd.randrange(8)
    bits &= (1 << length) - 1  # the stream ends within its last byte, zeros after
    reference = bits.to_bytes(len(reference), "little")
    at = rnd.randrange(length + 1)
    end = rnd.randrange(at, length + 1)
    inserted = rnd.randrange(0, 50)
    own = rnd.getrandbits(inserted) if inserted else 0
    low = bits & ((1 << at) - 1)
    edited_bits = low | own << at | (bits >> end) << (at + inserted)
    target = edited_bits.to_bytes((length - (end - at) + inserted + 7) // 8 or 1, "little")
    cut = splice.find(target, reference)
    assert cut is not None
    assert cut.middle <= inserted + 8  # never more than the edit (and one byte's slack)
    middle = splice.middle_bytes(target, cut)
    assert splice.apply(reference, cut, middle, len(target)) == target


def test_damaged_splices_are_refused() -> None:
    from deltaglider.archive import recipe, splice

    doc = text(5, 3000)
    v1, v2 = _json_gz_wheel(1, doc), _json_gz_wheel(2, doc)
    payload = archive.encode(v1, v2)
    assert payload is not None
    parsed, vcdiff, _ = recipe.split(payload)
    (op,) = [op for op in parsed.ops if isinstance(op, recipe.Splice)]
    reference_bits = 8 * op.source.size
    for cut in (
        splice.Cut(reference_bits + 1, op.cut.middle, op.cut.skip),  # past the reference
        splice.Cut(op.cut.keep, op.cut.middle, reference_bits + 9),
        splice.Cut(op.cut.keep, op.cut.middle + 8, op.cut.skip),  # reads data not its own
    ):
        ops = tuple(
            recipe.Splice(op.source, op.size, cut) if isinstance(o, recipe.Splice) else o
            for o in parsed.ops
        )
        damaged = recipe.dump(
            recipe.Recipe(parsed.output_size, parsed.data_size, parsed.sources, ops)
        )
        with pytest.raises(archive.CorruptContentsDeltaError):
            archive.decode(v1, damaged + bytes(vcdiff), size=len(v2))
    # An object that does not record the splice, and a reader without it.
    with pytest.raises(archive.CorruptContentsDeltaError, match="splice-1"):
        archive.decode(v1, payload, size=len(v2), implementation="zlib-1.3.1")
    with pytest.raises(archive.UnsupportedDeflateError, match="splice-2"):
        archive.decode(v1, payload, size=len(v2), implementation="splice-2")
