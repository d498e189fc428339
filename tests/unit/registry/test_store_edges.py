"""The store's edges: empty, damaged, foreign or lost databases, read-only opens, full disks."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from lifelong.core.errors import RegistryError, StorageError
from lifelong.core.types import Example
from lifelong.registry import Registry, open_registry
from lifelong.registry import artifacts as artifacts_module
from lifelong.registry.sqlalchemy_store import SqlAlchemyStore
from lifelong.registry.sqlite_file import SQLITE_HEADER

BundleFactory = Callable[..., Path]


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _populate(url: str, artifacts: Path, make_bundle: BundleFactory) -> None:
    with open_registry(url, artifacts) as registry:
        snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(make_bundle(0), snapshot_id=snapshot, config={})
        registry.set_alias("champion", "1.0", reason="first", command="test")


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: what a reader must leave alone."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def _read_everything(url: str, artifacts: Path, *, read_only: bool) -> None:
    with open_registry(url, artifacts, read_only=read_only) as registry:
        registry.versions()
        registry.store.list_snapshots()


def test_a_new_store_file_is_never_empty(tmp_path: Path) -> None:
    with open_registry(_url(tmp_path / "r.db"), tmp_path / "a"):
        pass
    assert (tmp_path / "r.db").read_bytes()[:16] == SQLITE_HEADER
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_an_empty_database_file_is_refused_not_taken_for_new(tmp_path: Path) -> None:
    (tmp_path / "registry.db").write_bytes(b"")
    with pytest.raises(RegistryError, match=r"registry\.db is empty \(0 bytes\)") as caught:
        open_registry(_url(tmp_path / "registry.db"), tmp_path / "a")
    assert caught.value.hint is not None
    assert "backup" in caught.value.hint
    assert (tmp_path / "registry.db").read_bytes() == b""  # left as found


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "registry.db").write_bytes(os.urandom(5000))
    url = _url(tmp_path / "registry.db")
    for read_only in (False, True):
        with pytest.raises(RegistryError, match=r"registry\.db is (not an SQLite database|dam)"):
            open_registry(url, tmp_path / "a", read_only=read_only)


@pytest.mark.parametrize("damage", ["truncated", "garbage pages"])
def test_a_damaged_database_is_a_clear_error(
    tmp_path: Path, make_bundle: BundleFactory, damage: str
) -> None:
    db = tmp_path / "registry.db"
    _populate(_url(db), tmp_path / "a", make_bundle)
    page = 4096
    with db.open("r+b") as handle:
        if damage == "truncated":
            handle.truncate(page + 100)
        else:
            handle.seek(page)
            handle.write(os.urandom(db.stat().st_size - page))
    for read_only in (False, True):
        with pytest.raises(RegistryError, match=r"registry\.db is damaged") as caught:
            _read_everything(_url(db), tmp_path / "a", read_only=read_only)
        assert caught.value.hint is not None
    assert "backup" in caught.value.hint


def test_a_database_of_another_application_is_refused(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("sqlite"):
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"))
    engine.dispose()
    with pytest.raises(RegistryError, match=r"holds tables \(users\) .* not a lifelong registry"):
        open_registry(store_url, tmp_path / "a")


def test_a_lost_database_next_to_stored_bundles_is_refused(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    db = tmp_path / "registry.db"
    _populate(_url(db), tmp_path / "a", make_bundle)
    db.unlink()
    with pytest.raises(RegistryError, match=r"holds 1 model bundle.*database was lost") as caught:
        open_registry(_url(db), tmp_path / "a")
    assert caught.value.hint is not None
    assert "move" in caught.value.hint
    with open_registry(_url(db), tmp_path / "empty-artifacts") as registry:  # really new: fine
        assert registry.versions() == []


def test_a_read_only_open_writes_nothing(
    tmp_path: Path, make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing under the store is opened for writing by lifelong nor changed, and the
    connection itself refuses writes. SQLite may add its WAL index files, as any reader of a
    WAL database does where it can (where it cannot, the store is opened immutable)."""
    store = tmp_path / "store"
    url = _url(store / "registry.db")
    _populate(url, store / "artifacts", make_bundle)
    before = _tree(store)
    real_open = os.open

    def refuse_writes(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).is_relative_to(store) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "opened for writing on a read path", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_writes)
    with open_registry(url, store / "artifacts", read_only=True) as registry:
        assert [v.label for v in registry.versions()] == ["1.0"]
        assert registry.artifact_path("champion").is_dir()
        assert registry.check() == []
        with pytest.raises(StorageError, match=r"registry\.db: it is read-only here"):
            registry.set_alias("challenger", "1.0", reason="x", command="test")
    after = _tree(store)
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before
    assert after.get("registry.db-wal", (0, 0))[0] == 0


def test_a_writer_on_storage_it_cannot_write_gets_a_clear_error(
    tmp_path: Path, make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(_url(tmp_path / "r.db"), tmp_path / "a", make_bundle)
    real_open = os.open

    def read_only_artifacts(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).is_relative_to(tmp_path / "a") and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only_artifacts)
    with pytest.raises(StorageError, match=r"cannot write .*/a: read-only file system") as caught:
        open_registry(_url(tmp_path / "r.db"), tmp_path / "a")
    assert caught.value.hint is not None
    assert "models list" in caught.value.hint
    with open_registry(_url(tmp_path / "r.db"), tmp_path / "a", read_only=True) as registry:
        assert registry.resolve("champion").label == "1.0"


def _snapshot_ids(registry: Registry) -> list[str]:
    return [s.id for s in registry.store.list_snapshots()]


def test_a_full_disk_during_an_insert_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    """A real SQLITE_FULL: the database may not grow past the pages it has."""
    url = _url(tmp_path / "r.db")
    _populate(url, tmp_path / "a", make_bundle)
    with open_registry(url, tmp_path / "a") as registry:
        store = registry.store
        assert isinstance(store, SqlAlchemyStore)
        store.engine.dispose()  # new connections get the cap

        @event.listens_for(store.engine, "connect")
        def cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        before = (_snapshot_ids(registry), [v.label for v in registry.versions()])
        big = [Example.make(f"text {i} " + "x" * 500, "greet") for i in range(200)]
        with pytest.raises(StorageError, match=r"r\.db: the disk is full; .* unchanged"):
            registry.put_snapshot(big)
        with pytest.raises(StorageError, match="the disk is full"):
            registry.register(make_bundle(1), snapshot_id=before[0][0], config={"x": "y" * 9000})
    with open_registry(url, tmp_path / "a") as registry:
        assert (_snapshot_ids(registry), [v.label for v in registry.versions()]) == before


def test_a_full_disk_during_an_artifact_write_leaves_nothing_half_written(
    registry: Registry, make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id

    def full(_src: Path, _dst: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifacts_module, "_copy_file", full)
    with pytest.raises(StorageError, match=r"cannot write .*artifacts: the disk is full"):
        registry.register(make_bundle(0), snapshot_id=snapshot, config={})
    assert registry.versions() == []
    assert registry.artifacts.ids() == []
    assert list(registry.artifacts.root.glob(".tmp-*")) == []
