"""Contents deltas of archives that other tools compressed: GNU gzip,
busybox and pigz tarballs, Info-ZIP zips, gzip members made by GNU gzip
inside a zip; each tool's real output made at test time, re-created byte
for byte by its deflate family, and the family recorded so that a reader
without it refuses the delta."""

from __future__ import annotations

import gzip
import io
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from client_backends import backend  # noqa: F401 - fixture
from producers import compressed, go_producer, module, tar, tool, tree, zipped

from deltaglider import DeltaGliderClient, archive
from deltaglider.archive import containers, parse, restarts
from deltaglider.archive.deflate import FAMILY_NAMES, PIGZ, Params, ParamSearch

ROOT = Path(__file__).resolve().parent.parent
GNU, BUSYBOX, INFOZIP, ZLIB, CHUNKED = (
    "zlib-1.3.1-gnu-gzip",
    "zlib-1.3.1-busybox",
    "zlib-1.3.1-info-zip",
    "zlib-1.3.1",
    "zlib-1.3.1-pigz",
)


@pytest.fixture(scope="module")
def tars(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    root = tmp_path_factory.mktemp("trees")
    return tar(tree(root, 1)), tar(tree(root, 2))


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("zip-trees")
    return tree(root, 1), tree(root, 2)


def families(payload: bytes) -> set[str]:
    return set(archive.deflate_names(payload).split(","))


def round_trip(reference: bytes, target: bytes) -> bytes:
    """The contents delta of target, checked to rebuild it as a reader does
    (from the names the delta records)."""
    payload = archive.encode(reference, target)
    assert payload is not None, "no contents delta"
    rebuilt = archive.decode(
        reference, payload, size=len(target), implementation=archive.deflate_names(payload)
    )
    assert rebuilt == target
    return payload


GZIP_PRODUCERS = [
    (["gzip", "-1", "-n", "-c"], {GNU}),
    (["gzip", "-6", "-n", "-c"], {GNU}),
    (["gzip", "-9", "-n", "-c"], {GNU}),
    (["busybox", "gzip", "-c"], {GNU, BUSYBOX, INFOZIP}),  # alike but at the end
    (["pigz", "-6", "-n", "-c"], {CHUNKED}),
    (["pigz", "-9", "-n", "-p", "1", "-c"], {CHUNKED}),
]


@pytest.mark.parametrize(
    ("command", "expected"), GZIP_PRODUCERS, ids=[" ".join(c[:2]) for c, _ in GZIP_PRODUCERS]
)
def test_tarballs_of_gzip_producers_are_small_deltas(
    tars: tuple[bytes, bytes], command: list[str], expected: set[str]
) -> None:
    tool(command[0])
    v1, v2 = (compressed(command, data) for data in tars)
    assert archive.encode(v1, v2, kinds=frozenset({"zip"})) is None  # not a zip
    payload = round_trip(v1, v2)
    assert families(payload) <= expected
    assert len(payload) <= 0.02 * len(v2), f"{len(payload)} bytes of {len(v2)}"


def test_multi_member_gzip_of_gnu_gzip(tars: tuple[bytes, bytes]) -> None:
    tool("gzip")
    half = len(tars[0]) // 2
    v1 = compressed(["gzip", "-n", "-c"], tars[0][:half]) + compressed(
        ["gzip", "-9", "-n", "-c"], tars[0][half:]
    )
    v2 = compressed(["gzip", "-n", "-c"], tars[1][:half]) + compressed(
        ["gzip", "-9", "-n", "-c"], tars[1][half:]
    )
    payload = round_trip(v1, v2)
    assert families(payload) == {GNU}
    assert archive.describe(payload).redeflated == 2
    assert len(payload) <= 0.02 * len(v2)


@pytest.mark.parametrize("level", ["-1", "-6", "-9"])
def test_info_zip_zips_are_small_deltas(
    trees: tuple[Path, Path], tmp_path: Path, level: str
) -> None:
    tool("zip")
    v1, v2 = (zipped(["zip", "-q", "-r", level], root, tmp_path / "a.zip") for root in trees)
    payload = round_trip(v1, v2)
    facts = archive.describe(payload)
    assert facts.redeflated + facts.spliced >= 1  # the changed module
    assert len(payload) <= 0.005 * len(v2), f"{len(payload)} bytes of {len(v2)}"


def test_every_info_zip_member_is_re_created(trees: tuple[Path, Path], tmp_path: Path) -> None:
    """Each member's parameters are found and deflate gives its bytes."""
    tool("zip")
    data = zipped(["zip", "-q", "-r", "-9"], trees[1], tmp_path / "b.zip")
    members = containers.ZipIndex(memoryview(data)).members
    assert members
    search = ParamSearch("zip")
    for member in members:
        if member.method == 8:
            stream = memoryview(data)[member.data : member.end]
            content, _ = containers.inflate(stream, None)  # type: ignore[misc]
            assert search.find(content, stream) is not None, member.name


def test_info_zip_and_gnu_gzip_part_at_the_end_of_a_window(tmp_path: Path) -> None:
    """A file that ends in the last bytes of deflate's 64 KiB window, its
    last bytes a repeat: Info-ZIP matches them as zlib would, gzip no longer
    searches there (its window does not slide once the input ended).  Each
    is re-created by its own family only."""
    tool("zip")
    tool("gzip")
    rnd = random.Random(3)  # few matches: more symbols than zlib's blocks hold
    body = bytes(rnd.choice(b"abcdefghijklmnop") for _ in range(65536 - 100))
    (tmp_path / "f.txt").write_bytes(body + body[1000:1060])
    made = {
        INFOZIP: _member(zipped(["zip", "-q", "-9"], tmp_path / "f.txt", tmp_path / "f.zip")),
        GNU: _gzip_stream(compressed(["gzip", "-9", "-n"], (tmp_path / "f.txt").read_bytes())),
    }
    assert made[INFOZIP] != made[GNU]
    for family, (content, stream) in made.items():
        params = ParamSearch("zip" if family == INFOZIP else "gzip").find(content, stream)
        assert params is not None
        assert params.name == family


def _member(data: bytes) -> tuple[bytes, memoryview]:
    member = containers.ZipIndex(memoryview(data)).members[0]  # type: ignore[index]
    stream = memoryview(data)[member.data : member.end]
    content, _ = containers.inflate(stream, None)  # type: ignore[misc]
    return content, stream


def _gzip_stream(data: bytes) -> tuple[bytes, memoryview]:
    member, content = containers.gzip_member(memoryview(data), 0)  # type: ignore[misc]
    return content, memoryview(data)[member.stream : member.trailer]


def test_gnu_gzip_members_inside_a_zip(tars: tuple[bytes, bytes]) -> None:
    """A wheel whose data files are .json.gz made by GNU gzip (botocore's):
    the changed one is re-created inside its zip member."""
    tool("gzip")

    def wheel(tarball: bytes) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(4):
                part = tarball[i * 150_000 : (i + 1) * 150_000]
                zf.writestr(f"pkg/data/part{i}.json.gz", compressed(["gzip", "-9", "-n"], part))
            zf.writestr("pkg/__init__.py", b"VERSION = 1\n")
        return buf.getvalue()

    v1, v2 = wheel(tars[0]), wheel(tars[1])
    payload = round_trip(v1, v2)
    assert GNU in families(payload)
    assert len(payload) <= 0.02 * len(v2)


PARSED = {  # optimal parsers' choices change far past a change: their parses delta less
    "7-Zip": (lambda work: ["7zz", "a", "-tgzip", "-si", "-so", "-bd", "t.gz"], 0.4),
    "libdeflate -6": (lambda work: ["libdeflate-gzip", "-6", "-n", "-c"], 0.05),
    "libdeflate -12": (lambda work: ["libdeflate-gzip", "-12", "-n", "-c"], 0.4),
    "Go": (lambda work: [str(go_producer(work)), "gzip"], 0.03),
}


@pytest.mark.parametrize(("make", "share"), PARSED.values(), ids=PARSED.keys())
def test_tarballs_no_family_re_creates_are_written_from_their_parse(
    tars: tuple[bytes, bytes], tmp_path: Path, make: Any, share: float
) -> None:
    """7-Zip's, libdeflate's (its optimal parser at -12 too) and Go's
    deflate are none of ours: their tarballs are written back from their
    content and parse, the parse against the reference's."""
    command = make(tmp_path)
    tool(command[0])
    v1, v2 = (compressed(command, data) for data in tars)
    payload = round_trip(v1, v2)
    assert families(payload) == {parse.NAME}
    assert archive.describe(payload).parsed == 1
    assert len(payload) <= share * len(v2), f"{len(payload)} bytes of {len(v2)}"


@pytest.mark.parametrize("name", ["zlib_ng", "isal"])
def test_tarballs_of_zlib_ng_and_isa_l_are_written_from_their_parse(
    tars: tuple[bytes, bytes], name: str
) -> None:
    gzip_module = module(f"{name}.gzip_ng" if name == "zlib_ng" else f"{name}.igzip")
    v1, v2 = (gzip_module.compress(data, mtime=0) for data in tars)
    payload = round_trip(v1, v2)
    assert families(payload) == {parse.NAME}
    assert len(payload) <= 0.05 * len(v2), f"{len(payload)} bytes of {len(v2)}"


@pytest.mark.parametrize("maker", ["7-Zip", "Go"])
def test_zips_no_family_re_creates_are_written_from_their_parse(
    trees: tuple[Path, Path], tmp_path: Path, maker: str
) -> None:
    """Their changed members are written from their parse; the rest copied."""
    made = []
    for root in trees:
        out = tmp_path / f"{root.name}.zip"
        if maker == "7-Zip":
            tool("7zz")
            made.append(zipped(["7zz", "a", "-tzip", "-bd"], root, out))
        else:
            subprocess.run([go_producer(tmp_path), "zip", out, root], check=True)
            made.append(out.read_bytes())
    payload = round_trip(made[0], made[1])
    assert families(payload) == {parse.NAME}
    assert archive.describe(payload).parsed >= 1  # the changed module
    assert len(payload) <= 0.005 * len(made[1]), f"{len(payload)} bytes of {len(made[1])}"


def test_multi_member_gzip_no_family_re_creates(tars: tuple[bytes, bytes]) -> None:
    """Each member written from its parse, against the reference members'
    parses joined (its content is not one stream's: they are read member
    by member)."""
    tool("7zz")
    command = ["7zz", "a", "-tgzip", "-si", "-so", "-bd", "t.gz"]
    half = len(tars[0]) // 2
    v1, v2 = (compressed(command, t[:half]) + compressed(command, t[half:]) for t in tars)
    payload = round_trip(v1, v2)
    assert families(payload) == {parse.NAME}
    assert archive.describe(payload).parsed == 2


def test_a_reader_without_the_parse_refuses(tars: tuple[bytes, bytes]) -> None:
    tool("7zz")
    v1, v2 = (compressed(["7zz", "a", "-tgzip", "-si", "-so", "-bd", "t.gz"], t) for t in tars)
    payload = round_trip(v1, v2)
    with pytest.raises(archive.CorruptContentsDeltaError, match=parse.NAME):
        archive.decode(v1, payload, size=len(v2), implementation=ZLIB)  # says zlib only
    with pytest.raises(archive.UnsupportedDeflateError, match="deflate-parse-2"):
        archive.decode(v1, payload, size=len(v2), implementation="deflate-parse-2")


def test_a_damaged_reference_stream_is_carried_not_parsed(tars: tuple[bytes, bytes]) -> None:
    """A reference whose stream does not parse (cut short) gives nothing to
    delta a parse against: the target's stream is carried, exactly."""
    tool("7zz")
    v1, v2 = (compressed(["7zz", "a", "-tgzip", "-si", "-so", "-bd", "t.gz"], t) for t in tars)
    payload = archive.encode(v1[: len(v1) // 2], v2)
    if payload is not None:
        assert archive.describe(payload).parsed == 0
        assert archive.decode(v1[: len(v1) // 2], payload, size=len(v2)) == v2


def test_a_reader_without_the_family_refuses(tars: tuple[bytes, bytes]) -> None:
    tool("gzip")
    v1, v2 = (compressed(["gzip", "-9", "-n"], data) for data in tars)
    payload = round_trip(v1, v2)
    # As readers from before the families: the object says zlib only.
    with pytest.raises(archive.CorruptContentsDeltaError, match="gnu-gzip"):
        archive.decode(v1, payload, size=len(v2), implementation=ZLIB)
    with pytest.raises(archive.UnsupportedDeflateError, match=r"zlib-1\.3\.1-future"):
        archive.decode(v1, payload, size=len(v2), implementation=f"{GNU},zlib-1.3.1-future")


def test_zlib_made_deltas_record_what_they_did_before(tars: tuple[bytes, bytes]) -> None:
    """A delta of zlib-made archives records zlib alone (older readers of
    this package read it) unless its stream is long enough to be rebuilt in
    chunks (restarts, which older readers refuse by name)."""
    short = [data[: restarts.MIN_CONTENT // 2] for data in tars]
    v1, v2 = (gzip.compress(data, mtime=1) for data in short)
    assert archive.deflate_names(round_trip(v1, v2)) == ZLIB == archive.IMPLEMENTATION
    assert len(tars[1]) > restarts.MIN_CONTENT
    v1, v2 = (gzip.compress(data, mtime=1) for data in tars)
    assert archive.deflate_names(round_trip(v1, v2)) == f"{ZLIB},{restarts.NAME}"


def test_family_parameters_pack_and_damage_is_refused() -> None:
    chunked = Params(9, family=PIGZ, block=128 << 10)
    assert Params.unpack(chunked.pack()) == chunked
    for family in FAMILY_NAMES:
        block = 128 << 10 if family == PIGZ else 0
        assert Params.unpack(Params(6, family=family, block=block).pack()).family == family
    for bad in (
        Params(6).pack() | 7 << 16,  # no such family
        Params(6).pack() | PIGZ << 16,  # chunks of no size
        Params(6).pack() | 64 << 19,  # zlib's stream with a chunk size
        Params(6).pack() | PIGZ << 16 | 16 << 19,  # chunks under pigz's dictionary
    ):
        with pytest.raises(archive.CorruptContentsDeltaError):
            Params.unpack(bad)


THROUGH_THE_SDK = {  # a command making a gzip stream, the family recorded, the most stored
    "GNU gzip": (lambda work: [tool("gzip"), "-9", "-n"], GNU, 0.02),
    "Go (parsed)": (lambda work: [str(go_producer(work)), "gzip"], parse.NAME, 0.03),
}


@pytest.mark.parametrize(("make", "family", "share"), THROUGH_THE_SDK.values(),
                         ids=THROUGH_THE_SDK.keys())  # fmt: skip
def test_tarballs_through_the_sdk(
    backend: tuple[DeltaGliderClient, str],  # noqa: F811
    tars: tuple[bytes, bytes],
    tmp_path: Path,
    make: Any,
    family: str,
    share: float,
) -> None:
    client, bucket = backend
    versions = [compressed(make(tmp_path), data) for data in tars]
    for i, data in enumerate(versions):
        client.put_object(Bucket=bucket, Key=f"rel/pkg-{i}.tar.gz", Body=data)
    for i, data in enumerate(versions):
        assert client.get_object(Bucket=bucket, Key=f"rel/pkg-{i}.tar.gz")["Body"].read() == data
    head = client.service.storage.head(bucket, "rel/pkg-1.tar.gz.delta")
    assert head is not None
    assert head.metadata["dg-deflate"] == family
    assert int(head.metadata["dg-delta-size"]) <= share * len(versions[1])


@pytest.mark.skipif(not (ROOT / "vendor").is_dir(), reason="needs the source tree")
def test_the_patch_is_applied_exactly(tmp_path: Path) -> None:
    """The build's patch step makes the GNU copy, and stops on a source
    that is not the one the patch was written for."""
    script = ROOT / "csrc" / "apply_patch.py"
    patch = ROOT / "vendor" / "patches" / "zlib-gnu-gzip.patch"
    out = tmp_path / "gnu"
    subprocess.run([sys.executable, script, ROOT / "vendor" / "zlib", patch, out], check=True)
    assert "GNU_GZIP_BLOCKS" in (out / "trees.c").read_text(encoding="utf-8")
    assert (out / "zlib.h").read_bytes() == (ROOT / "vendor" / "zlib" / "zlib.h").read_bytes()
    source = tmp_path / "changed"
    shutil.copytree(ROOT / "vendor" / "zlib", source)
    trees = source / "trees.c"
    text = trees.read_text(encoding="utf-8")
    trees.write_text(text.replace("return (s->sym_next == s->sym_end);", "return 0;"))
    failed = subprocess.run(
        [sys.executable, script, source, patch, tmp_path / "bad"], capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "does not match" in failed.stderr


def test_top_folders_of_versions_with_more_numbers_are_paired(tmp_path: Path) -> None:
    """pip-24.1/ and pip-24.1.1/: a release's top folder pairs with its
    predecessor's whatever the number of parts in their versions."""
    roots = []
    for version, name in ((1, "pkg-24.1"), (2, "pkg-24.1.1")):
        root = tmp_path / name
        shutil.copytree(tree(tmp_path / f"t{version}", version), root)
        roots.append(root)
    v1, v2 = (gzip.compress(tar(root), mtime=1) for root in roots)
    payload = round_trip(v1, v2)
    assert len(payload) <= 0.02 * len(v2), f"{len(payload)} bytes of {len(v2)}"


def test_a_member_no_family_re_creates_is_spliced_from_its_old_bits(tmp_path: Path) -> None:
    """A 7-Zip member changed at its end is rebuilt from its old
    compressed bits up to the change, and its own after it: the unchanged
    start of the stream costs nothing."""
    tool("7zz")
    library = Path(gzip.__file__).parent
    body = b"".join((library / name).read_bytes() for name in ("argparse.py", "typing.py"))
    zips = []
    for version, data in enumerate((body, body + b"# released again\n")):
        root = tmp_path / f"v{version}" / "pkg"
        root.mkdir(parents=True)
        (root / "big.py").write_bytes(data)
        zips.append(zipped(["7zz", "a", "-tzip", "-bd"], root, tmp_path / f"v{version}.zip"))
    payload = round_trip(zips[0], zips[1])
    facts = archive.describe(payload)
    assert facts.redeflated == 0  # 7-Zip's deflate is none of ours
    assert facts.spliced == 1
    assert len(payload) < 0.1 * len(zips[1]), f"{len(payload)} bytes of {len(zips[1])}"
