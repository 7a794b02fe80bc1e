"""The local-directory store: the storage contract, plus what is particular
to a file system (metadata records, atomic files, reserved names)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storage_contract import BUCKET, StorageContract

from deltaglider.adapters import local_storage
from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.core.errors import BucketNotFoundError, InvalidKeyError, PreconditionFailedError


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path / "root")
    storage.create_bucket(BUCKET)
    return storage


class TestLocalStorageContract(StorageContract):
    pass


class TestLocalStorageWithSidecars(StorageContract):
    """The same contract where extended attributes are unavailable."""

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStorage:
        monkeypatch.setattr(
            LocalStorage, "_attach_record", staticmethod(lambda temp, record: False)
        )
        monkeypatch.delattr(os, "getxattr", raising=False)
        storage = LocalStorage(tmp_path / "root")
        storage.create_bucket(BUCKET)
        return storage


def test_layout_is_a_browsable_tree(store: LocalStorage) -> None:
    store.put(BUCKET, "releases/v1/app.zip", b"zip bytes", {"dg-note": "x"})
    path = store.root / BUCKET / "releases" / "v1" / "app.zip"
    assert path.read_bytes() == b"zip bytes"
    names = sorted(p.name for p in path.parent.iterdir())
    assert names in (["app.zip"], ["app.zip", "app.zip.dgmeta"])
    if names == ["app.zip"]:  # metadata in the proxy's extended attribute
        assert b'"dg-note": "x"' in os.getxattr(path, local_storage.XATTR)


def test_failed_write_leaves_nothing(store: LocalStorage) -> None:
    class Exploding:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError("network went away")
            return b"x" * n

    store.put(BUCKET, "keep.zip", b"previous", {})
    with pytest.raises(OSError, match="network"):
        store.put(BUCKET, "keep.zip", Exploding(), {})  # type: ignore[arg-type]
    assert (store.root / BUCKET / "keep.zip").read_bytes() == b"previous"
    leftovers = [p.name for p in (store.root / BUCKET).iterdir() if p.name.startswith(".dg-")]
    assert leftovers == []


@pytest.mark.parametrize(
    "key",
    ["a//b", "../escape", "a/./b", "a/../b", "x\\y", "dir/.dg-tmp-1", "file.dgmeta", ".dg-x"],
)
def test_unsafe_or_reserved_keys_are_refused(store: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.put(BUCKET, key, b"", {})
    assert not (store.root / "escape").exists()


def test_file_and_folder_of_the_same_name(store: LocalStorage) -> None:
    store.put(BUCKET, "a", b"file", {})
    with pytest.raises(InvalidKeyError, match="cannot hold both"):
        store.put(BUCKET, "a/b", b"", {})


def test_delete_prunes_empty_folders(store: LocalStorage) -> None:
    store.put(BUCKET, "x/y/z.zip", b"1", {})
    store.delete(BUCKET, "x/y/z.zip")
    assert list((store.root / BUCKET).iterdir()) == []


def test_from_url_and_a_store_folder_only_mb_makes(tmp_path: Path) -> None:
    storage = LocalStorage.from_url((tmp_path / "data dir").as_uri())
    assert storage.root == tmp_path / "data dir"
    # A mistyped path is reported by reads, never made by them.
    assert not storage.bucket_exists("bucket")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.list_buckets()
    with pytest.raises(BucketNotFoundError):
        list(storage.iter_objects("bucket"))
    assert not storage.root.exists()
    storage.create_bucket("bucket")
    assert storage.root.is_dir()
    assert [b.name for b in storage.list_buckets()] == ["bucket"]
    with pytest.raises(ValueError, match="file:///"):
        LocalStorage.from_url("http://example.invalid/x")


@pytest.mark.parametrize("name", ["ab", "UPPER", "-start", "a" * 64, "under_score", "a..b"])
def test_bucket_names_follow_s3_rules(store: LocalStorage, name: str) -> None:
    with pytest.raises(ValueError, match="bucket name"):
        store.create_bucket(name)


def test_prefixes_with_dot_dot_list_nothing_outside(store: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the store's")
    store.put(BUCKET, "app/a.zip", b"1", {})
    for prefix in ("app/../../../outside/", "../outside/", "app/../", "./app/"):
        page = store.list_objects(BUCKET, prefix)
        assert (page.objects, page.common_prefixes) == ([], []), prefix


def test_links_inside_the_store_are_never_followed(store: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.zip").write_bytes(b"outside")
    bucket_dir = store.root / BUCKET
    (bucket_dir / "linked").symlink_to(outside, target_is_directory=True)
    (bucket_dir / "file.zip").symlink_to(outside / "secret.zip")
    for key in ("linked/secret.zip", "file.zip", "linked/new.zip"):
        with pytest.raises(InvalidKeyError, match="symbolic link"):
            store.head(BUCKET, key)
        with pytest.raises(InvalidKeyError, match="symbolic link"):
            store.open(BUCKET, key)
        with pytest.raises(InvalidKeyError, match="symbolic link"):
            store.put(BUCKET, key, b"overwritten", {})
        with pytest.raises(InvalidKeyError, match="symbolic link"):
            store.delete(BUCKET, key)
    assert (outside / "secret.zip").read_bytes() == b"outside"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.zip"]
    assert [o.key for o in store.iter_objects(BUCKET)] == []
    assert store.list_objects(BUCKET, "linked/").objects == []


def test_names_too_long_for_the_file_system_are_refused_first(tmp_path: Path) -> None:
    from helpers import make_service

    storage = LocalStorage(tmp_path / "root")
    storage.create_bucket(BUCKET)
    service = make_service(storage)
    fits = "r/" + "n" * (local_storage.MAX_NAME_BYTES - len(".zip")) + ".zip"
    with pytest.raises(InvalidKeyError, match="at most"):
        service.put_bytes(BUCKET, fits, os.urandom(1000))  # its .delta would not fit
    with pytest.raises(InvalidKeyError, match="at most"):
        storage.put(BUCKET, "r/" + "é" * 130, b"x", {})
    assert list((storage.root / BUCKET).iterdir()) == []  # no reference, no folder


def test_conditional_removal_holds_across_processes(store: LocalStorage) -> None:
    """Processes racing a conditional removal against rewrites of one key:
    a removal never takes a version it did not name."""
    import multiprocessing

    store.put(BUCKET, "k.zip", b"v0", {})
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        removed = pool.starmap(
            _remove_or_rewrite, [(str(store.root), "remove"), (str(store.root), "rewrite")]
        )
    head = store.head(BUCKET, "k.zip")
    rewrites = removed[1]
    if head is not None:  # the last rewrite stands unless a removal named it
        assert head.etag == rewrites[-1]
    assert removed[0] <= set(rewrites) | {_etag(b"v0")}


def _etag(data: bytes) -> str:
    import hashlib

    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def _remove_or_rewrite(root: str, role: str):  # type: ignore[no-untyped-def]
    storage = LocalStorage(root)
    if role == "rewrite":
        etags = []
        for n in range(200):
            etags.append(storage.put(BUCKET, "k.zip", f"v{n + 1}".encode(), {}))
        return etags
    removed = set()
    for _ in range(200):
        head = storage.head(BUCKET, "k.zip")
        if head is None:
            continue
        try:
            storage.delete(BUCKET, "k.zip", if_match=head.etag)
        except PreconditionFailedError:
            continue
        removed.add(head.etag)
    return removed
