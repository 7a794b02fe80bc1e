"""How the storage engine behaves, whatever the store.  A test module
subclasses :class:`ServiceBehaviour` and provides ``service`` (a
DeltaService on an empty bucket :data:`BUCKET`) and ``storage`` (its store)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import mutate

from deltaglider import xdelta
from deltaglider.core import metadata
from deltaglider.core.errors import (
    IntegrityError,
    InvalidKeyError,
    ObjectNotFoundError,
    UnsupportedObjectError,
)
from deltaglider.core.models import DeltaSpace, ObjectKey, PutOptions
from deltaglider.core.service import DeltaService
from deltaglider.ports.storage import ObjectHead, StoragePort

BUCKET = "engine-bucket"
V1 = os.urandom(400_000)
V2 = mutate(V1, seed=1, edits=30)
V3 = mutate(V1, seed=2, edits=30)


def physical(storage: StoragePort, prefix: str = "") -> list[str]:
    """The stored objects under ``prefix``, control objects (size markers,
    caches) left out."""
    return [
        o.key for o in storage.iter_objects(BUCKET, prefix) if not o.key.startswith(".deltaglider/")
    ]


def plant_cli_gzip_delta(service: DeltaService, storage: StoragePort, prefix: str) -> None:
    """``prefix/b.tar.gz`` as 6.2.0 stores it when the xdelta3 CLI diffed the
    decompressed streams (its app header says so), against ``a.tar.gz``."""
    service.put_bytes(BUCKET, f"{prefix}/a.tar.gz", V1)
    delta = xdelta.encode(V1, V2, app_header=b"b.tar.gz/G/a.tar.gz/G")
    meta = metadata.delta_metadata(
        tool="deltaglider/6.2.0",
        original_name="b.tar.gz",
        sha256=service.hasher.sha256(V2),
        size=len(V2),
        created_at=service.clock.now(),
        ref_key=f"{prefix}/reference.bin",
        ref_sha256=service.hasher.sha256(V1),
        delta_size=len(delta),
    )
    storage.put(BUCKET, f"{prefix}/b.tar.gz.delta", delta, meta)


def tamper_reference(service: DeltaService, storage: StoragePort, prefix: str) -> ObjectHead:
    """Flip a byte of ``prefix/reference.bin`` (holding V1), keeping its
    metadata, and empty the cache; returns the reference's head."""
    head = storage.head(BUCKET, f"{prefix}/reference.bin")
    assert head is not None
    bad = bytearray(V1)
    bad[1000] ^= 0xFF
    storage.put(BUCKET, f"{prefix}/reference.bin", bytes(bad), head.metadata)
    service.cache.clear()
    return head


class ServiceBehaviour:
    def test_first_file_is_reference_plus_zero_diff(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        summary = service.put_bytes(BUCKET, "rel/v1/app.zip", V1)
        assert summary.operation == "PUT_DELTA"
        assert physical(storage) == ["rel/v1/app.zip.delta", "rel/v1/reference.bin"]
        ref = storage.head(BUCKET, "rel/v1/reference.bin")
        delta = storage.head(BUCKET, "rel/v1/app.zip.delta")
        assert ref is not None
        assert delta is not None
        assert ref.metadata["dg-note"] == "reference"
        assert ref.metadata["dg-source-name"] == "app.zip"
        assert delta.metadata["dg-note"] == metadata.NOTE_ZERO_DIFF
        assert delta.metadata["dg-ref-key"] == "rel/v1/reference.bin"
        assert delta.size < 200
        assert service.get_bytes(BUCKET, "rel/v1/app.zip")[0] == V1

    def test_later_versions_are_small_deltas(self, service: DeltaService) -> None:
        service.put_bytes(BUCKET, "rel/app-1.zip", V1)
        summary = service.put_bytes(BUCKET, "rel/app-2.zip", V2)
        assert summary.operation == "PUT_DELTA"
        assert summary.delta_size is not None
        assert summary.delta_size < len(V2) // 20
        assert summary.reference_hash == service.hasher.sha256(V1)
        data, stored = service.get_bytes(BUCKET, "rel/app-2.zip")
        assert data == V2
        assert (stored.kind, stored.size, stored.key) == ("delta", len(V2), "rel/app-2.zip")

    @pytest.mark.parametrize(
        "key",
        ["root.zip", "a b/ünï côde (1).zip", "d/" * 12 + "deep.tar.gz", "x/y.JAR"],
    )
    def test_names_and_prefixes(self, service: DeltaService, key: str) -> None:
        service.put_bytes(BUCKET, key, V1)
        service.put_bytes(BUCKET, key.replace(".", "-2."), V2)
        assert service.get_bytes(BUCKET, key)[0] == V1
        assert service.get_bytes(BUCKET, key.replace(".", "-2."))[0] == V2

    def test_non_candidates_and_empty_files_are_stored_directly(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        assert service.put_bytes(BUCKET, "docs/notes.txt", b"hello").operation == "PUT"
        service.put_bytes(BUCKET, "rel/app-1.zip", V1)
        assert service.put_bytes(BUCKET, "rel/empty.zip", b"").operation == "PUT"
        head = storage.head(BUCKET, "docs/notes.txt")
        assert head is not None
        assert head.metadata["dg-compression"] == "none"
        assert service.get_bytes(BUCKET, "docs/notes.txt")[0] == b"hello"
        assert service.get_bytes(BUCKET, "rel/empty.zip")[0] == b""

    def test_max_ratio_stores_directly_instead_of_a_big_delta(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        service.put_bytes(BUCKET, "rel/a.zip", V1)
        unrelated = os.urandom(300_000)
        assert service.put_bytes(BUCKET, "rel/b.zip", unrelated).operation == "PUT"
        assert "rel/b.zip" in physical(storage)
        no_delta = PutOptions(max_ratio=0.0)
        assert service.put_bytes(BUCKET, "rel/c.zip", V2, no_delta).operation == "PUT"
        assert service.get_bytes(BUCKET, "rel/b.zip")[0] == unrelated
        with pytest.raises(ValueError, match="max_ratio"):
            service.put_bytes(BUCKET, "rel/d.zip", V2, PutOptions(max_ratio=1.5))

    @pytest.mark.parametrize(
        "key", ["reference.bin", "a/reference.bin", "a/x.zip.delta", "dir/", ""]
    )
    def test_reserved_keys_are_refused(self, service: DeltaService, key: str) -> None:
        with pytest.raises(InvalidKeyError):
            service.put_bytes(BUCKET, key, V1)
        # A name ending in .delta may be another tool's plain object: reads
        # look for it (here there is none) rather than refuse the name.
        expected = ObjectNotFoundError if key.endswith(".delta") else InvalidKeyError
        with pytest.raises(expected):
            service.get_bytes(BUCKET, key)

    def test_overwrites_switch_forms_cleanly(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        service.put_bytes(BUCKET, "s/a.zip", V1)
        service.put_bytes(BUCKET, "s/b.zip", V2)
        service.put_bytes(BUCKET, "s/b.zip", os.urandom(100_000))  # now direct
        assert "s/b.zip.delta" not in physical(storage)
        service.put_bytes(BUCKET, "s/b.zip", V3)  # a delta again
        assert "s/b.zip" not in physical(storage)
        assert service.get_bytes(BUCKET, "s/b.zip")[0] == V3

    def test_delete_keeps_needed_references_and_drops_the_last(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        service.put_bytes(BUCKET, "s/a.zip", V1)
        service.put_bytes(BUCKET, "s/b.zip", V2)
        assert service.delete(BUCKET, "s/a.zip") == ["s/a.zip.delta"]
        assert service.get_bytes(BUCKET, "s/b.zip")[0] == V2
        assert service.delete(BUCKET, "s/b.zip") == ["s/b.zip.delta", "s/reference.bin"]
        assert physical(storage, "s/") == []
        assert service.delete(BUCKET, "s/b.zip") == []
        with pytest.raises(ObjectNotFoundError):
            service.get_bytes(BUCKET, "s/b.zip")

    def test_a_reference_no_delta_needs_goes_at_the_next_delete_or_purge(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        # A put never removes a reference (a delta put racing it would have
        # to start again): the last delta replaced by a file stored as is
        # leaves the reference until a delete in the space, or purge.
        service.put_bytes(BUCKET, "s/a.zip", V1)
        service.put_bytes(BUCKET, "s/a.zip", b"")  # empty: stored directly
        assert physical(storage, "s/") == ["s/a.zip", "s/reference.bin"]
        service.delete(BUCKET, "s/a.zip")
        assert physical(storage, "s/") == []
        service.put_bytes(BUCKET, "u/a.zip", V1)
        service.put_bytes(BUCKET, "u/a.zip", b"")
        removed = service.purge_temp_copies(BUCKET, datetime.now(UTC), dry_run=False)
        assert [k for k in removed if not k.startswith(".deltaglider/")] == ["u/reference.bin"]
        # and the size markers of the deltas the files stored as is replaced
        orphans = sorted(k.split("!")[0] for k in removed if k.startswith(".deltaglider/"))
        assert orphans == [".deltaglider/sizes/s/a.zip.delta", ".deltaglider/sizes/u/a.zip.delta"]
        assert physical(storage, "u/") == ["u/a.zip"]

    def test_tampered_delta_or_reference_is_never_returned(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        service.put_bytes(BUCKET, "t/a.zip", V1)
        service.put_bytes(BUCKET, "t/b.zip", V2)
        tamper_reference(service, storage, "t")
        with pytest.raises(IntegrityError):
            service.get_bytes(BUCKET, "t/b.zip")
        out = tmp_path / "out.zip"
        with pytest.raises(IntegrityError):
            service.get(ObjectKey(BUCKET, "t/b.zip"), out)
        assert not out.exists()
        result = service.verify(ObjectKey(BUCKET, "t/b.zip"))
        assert not result.valid
        assert result.details is not None

    def test_external_compression_deltas_are_refused_clearly(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        plant_cli_gzip_delta(service, storage, "g")
        with pytest.raises(UnsupportedObjectError, match="decompressed"):
            service.get_bytes(BUCKET, "g/b.tar.gz")

    def test_reads_proxy_style_metadata(self, service: DeltaService, storage: StoragePort) -> None:
        service.put_bytes(BUCKET, "p/a.zip", V1)
        delta = xdelta.encode(V1, V2)
        storage.put(
            BUCKET,
            "p/b.zip.delta",
            delta,
            {
                "dg-file-sha256": service.hasher.sha256(V2),
                "dg-file-size": str(len(V2)),
                "dg-ref-path": "reference.bin",
                "dg-ref-sha256": service.hasher.sha256(V1),
                "dg-note": "delta",
                "user-owner": "proxy",
            },
        )
        data, stored = service.get_bytes(BUCKET, "p/b.zip")
        assert data == V2
        assert stored.user_metadata == {"owner": "proxy"}

    def test_reference_written_with_uppercase_hex_is_accepted(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        sha = service.hasher.sha256(V1).upper()
        storage.put(BUCKET, "u/reference.bin", V1, {"dg-file-sha256": sha, "dg-note": "reference"})
        assert service.put_bytes(BUCKET, "u/b.zip", V2).operation == "PUT_DELTA"
        assert service.get_bytes(BUCKET, "u/b.zip")[0] == V2

    def test_user_metadata_and_content_type_survive(self, service: DeltaService) -> None:
        options = PutOptions(user_metadata={"Build": "42"}, content_type="application/zip")
        service.put_bytes(BUCKET, "m/a.zip", V1, options)
        service.put_bytes(BUCKET, "m/readme.txt", b"x", PutOptions(user_metadata={"owner": "ops"}))
        _, stored = service.get_bytes(BUCKET, "m/a.zip")
        assert (stored.user_metadata, stored.content_type) == ({"build": "42"}, "application/zip")
        assert service.get_bytes(BUCKET, "m/readme.txt")[1].user_metadata == {"owner": "ops"}

    def test_concurrent_first_uploads_all_stay_readable(self, service: DeltaService) -> None:
        # 6.2.0 defect 1: racing first uploads "succeed" but only one reads back.
        versions = {f"race/app-{i}.zip": mutate(V1, seed=100 + i) for i in range(6)}
        barrier = threading.Barrier(len(versions))
        errors: list[BaseException] = []

        def put(key: str, data: bytes) -> None:
            barrier.wait()
            try:
                service.put_bytes(BUCKET, key, data)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=put, args=item) for item in versions.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for key, data in versions.items():
            assert service.get_bytes(BUCKET, key)[0] == data

    def test_parallel_puts_of_one_basename_keep_their_own_bytes(
        self, service: DeltaService
    ) -> None:
        # 6.2.0 defect 2: a shared temp path mixed up same-named uploads.
        versions = {f"space-{i}/app.zip": mutate(V1, seed=200 + i) for i in range(6)}
        threads = [
            threading.Thread(target=service.put_bytes, args=(BUCKET, k, v))
            for k, v in versions.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, data in versions.items():
            assert service.get_bytes(BUCKET, key)[0] == data

    def test_file_api_and_verify(self, service: DeltaService, tmp_path: Path) -> None:
        source = tmp_path / "app-1.zip"
        source.write_bytes(V1)
        summary = service.put(source, DeltaSpace(BUCKET, "files"))
        assert summary.key == "files/app-1.zip"
        out = tmp_path / "down" / "app.zip"
        out.parent.mkdir()
        got = service.get(ObjectKey(BUCKET, "files/app-1.zip"), out)
        assert out.read_bytes() == V1
        assert (got.size, got.hash, got.reconstructed) == (len(V1), summary.file_hash, True)
        assert service.verify(ObjectKey(BUCKET, "files/app-1.zip")).valid
        with pytest.raises(FileNotFoundError):
            service.verify(ObjectKey(BUCKET, "files/missing.zip"))

    def test_files_stored_as_is_stream_through_put_and_get(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        data = os.urandom(3 << 20)
        source = tmp_path / "disk.img.raw"
        source.write_bytes(data)
        summary = service.put(source, DeltaSpace(BUCKET, "raw"))
        assert (summary.operation, summary.file_size) == ("PUT", len(data))
        assert summary.file_hash == service.hasher.sha256(data)
        out = tmp_path / "copy.raw"
        got = service.get(ObjectKey(BUCKET, "raw/disk.img.raw"), out)
        assert out.read_bytes() == data
        assert (got.size, got.hash, got.reconstructed) == (len(data), summary.file_hash, False)
        head = storage.head(BUCKET, "raw/disk.img.raw")
        assert head is not None
        storage.put(BUCKET, "raw/disk.img.raw", data[:-1] + b"!", head.metadata)
        out.write_bytes(b"previous")
        with pytest.raises(IntegrityError, match="nothing was handed over"):
            service.get(ObjectKey(BUCKET, "raw/disk.img.raw"), out)
        assert out.read_bytes() == b"previous"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    def test_reference_is_fetched_once_then_cached(
        self, service: DeltaService, storage: StoragePort
    ) -> None:
        service.put_bytes(BUCKET, "c/a.zip", V1)
        service.put_bytes(BUCKET, "c/b.zip", V2)
        opened: list[str] = []
        original = storage.open

        def counting_open(bucket: str, key: str):  # type: ignore[no-untyped-def]
            opened.append(key)
            return original(bucket, key)

        storage.open = counting_open  # type: ignore[method-assign]
        service.cache.clear()
        for _ in range(3):
            service.get_bytes(BUCKET, "c/b.zip")
        service.put_bytes(BUCKET, "c/c.zip", V3)
        assert opened.count("c/reference.bin") == 1

    def test_large_candidates_stream_and_read_back_either_way(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        # Files over stream_threshold take the streaming codec path; what it
        # writes is read by the in-memory path and the other way round.
        service.stream_threshold = 100_000
        unrelated = os.urandom(len(V1))
        sources = {}
        for name, data in (("app-1.zip", V1), ("app-2.zip", V2), ("other.zip", unrelated)):
            sources[name] = tmp_path / name
            sources[name].write_bytes(data)
        first = service.put(sources["app-1.zip"], DeltaSpace(BUCKET, "big"))
        second = service.put(sources["app-2.zip"], DeltaSpace(BUCKET, "big"))
        third = service.put(sources["other.zip"], DeltaSpace(BUCKET, "big"))
        assert first.operation == second.operation == "PUT_DELTA"
        assert third.operation == "PUT"  # its delta would pass max_ratio
        assert second.delta_size is not None
        assert second.delta_size < len(V2) // 20
        delta_head = storage.head(BUCKET, "big/app-2.zip.delta")
        assert delta_head is not None
        assert second.delta_hash is not None
        _, body = storage.open(BUCKET, "big/app-2.zip.delta")
        with body:
            assert service.hasher.sha256(body.read()) == second.delta_hash
        assert physical(storage, "big/") == [
            "big/app-1.zip.delta",
            "big/app-2.zip.delta",
            "big/other.zip",
            "big/reference.bin",
        ]
        for name, data in (("app-1.zip", V1), ("app-2.zip", V2), ("other.zip", unrelated)):
            out = tmp_path / f"out-{name}"
            got = service.get(ObjectKey(BUCKET, f"big/{name}"), out)
            assert out.read_bytes() == data
            assert got.hash == service.hasher.sha256(data)
            assert service.verify(ObjectKey(BUCKET, f"big/{name}")).valid
        service.put_bytes(BUCKET, "big/app-3.zip", V3)  # in memory, against the same reference
        service.stream_threshold = 1 << 30
        assert service.get_bytes(BUCKET, "big/app-2.zip")[0] == V2
        service.stream_threshold = 100_000
        service.cache.clear()
        out = tmp_path / "out-3.zip"
        service.get(ObjectKey(BUCKET, "big/app-3.zip"), out)
        assert out.read_bytes() == V3

    def test_an_output_that_fails_is_not_called_a_damaged_delta(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        """A full disk while a streamed delta is rebuilt is the disk's error;
        it was reported as "the delta is damaged" (the codec's contract now
        says which errors are the delta's)."""
        service.put_bytes(BUCKET, "so/a.zip", V1)
        service.put_bytes(BUCKET, "so/b.zip", V2)
        service.stream_threshold = 100_000
        stored, body = service.reader.open(BUCKET, "so/b.zip")
        assert stored.is_delta
        assert not service.reader.in_memory(stored)

        class Full:
            def write(self, data: bytes | bytearray | memoryview) -> int:
                raise OSError(28, "No space left on device")

        with pytest.raises(OSError, match="No space left on device"):
            service.reader.rebuild(stored, body, Full())

    def test_streamed_get_never_exposes_unverified_bytes(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        service.put_bytes(BUCKET, "ts/a.zip", V1)
        service.put_bytes(BUCKET, "ts/b.zip", V2)
        service.stream_threshold = 100_000
        out = tmp_path / "b.zip"
        out.write_bytes(b"previous")
        ref_head = tamper_reference(service, storage, "ts")
        with pytest.raises(IntegrityError, match=r"reference\.bin"):
            service.get(ObjectKey(BUCKET, "ts/b.zip"), out)
        assert not service.verify(ObjectKey(BUCKET, "ts/b.zip")).valid
        storage.put(BUCKET, "ts/reference.bin", V1, ref_head.metadata)
        delta_head = storage.head(BUCKET, "ts/b.zip.delta")
        assert delta_head is not None
        meta = dict(delta_head.metadata, **{"dg-file-sha256": "0" * 64})
        _, body = storage.open(BUCKET, "ts/b.zip.delta")
        with body:
            storage.put(BUCKET, "ts/b.zip.delta", body.read(), meta)
        with pytest.raises(IntegrityError, match="nothing was handed over"):
            service.get(ObjectKey(BUCKET, "ts/b.zip"), out)
        assert out.read_bytes() == b"previous"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    def test_streamed_get_refuses_external_compression_deltas(
        self, service: DeltaService, storage: StoragePort, tmp_path: Path
    ) -> None:
        plant_cli_gzip_delta(service, storage, "gs")
        service.stream_threshold = 100_000
        with pytest.raises(UnsupportedObjectError, match="decompressed"):
            service.get(ObjectKey(BUCKET, "gs/b.tar.gz"), tmp_path / "b.tar.gz")
        assert not (tmp_path / "b.tar.gz").exists()
