"""Opening a registry for reading: the stdlib path takes only the plain case, and every other
store (new, older, newer, damaged, not SQLite) ends as ``open_registry(read_only=True)`` ends.

What the reader returns is compared with SQLAlchemy's in
``tests/contract/test_sqlite_reader_contract.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from lifelong.core.errors import LifelongError, SchemaMismatch
from lifelong.core.types import Example
from lifelong.registry import Registry, RegistryReader, open_reader, open_registry
from lifelong.registry.engine import sqlite_path
from lifelong.registry.sqlite_reader import SqliteReader, open_sqlite_reader, sqlite_database

BundleFactory = Callable[..., Path]


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _populate(url: str, artifacts: Path, make_bundle: BundleFactory) -> None:
    with open_registry(url, artifacts) as registry:
        snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(make_bundle(0), snapshot_id=snapshot, config={})
        registry.set_alias("champion", "1.0", reason="first", command="test")


def _set_revision(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def _outcome(open_: Callable[[], RegistryReader]) -> tuple[str, str]:
    """What a read command gets: the versions it lists, or the error it prints."""
    try:
        with open_() as opened:
            return "ok", ",".join(v.label for v in opened.versions())
    except LifelongError as error:
        return type(error).__name__, f"{error.message} | {error.hint}"


def test_a_store_at_head_is_read_through_sqlite3(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    url = _url(tmp_path / "registry.db")
    _populate(url, tmp_path / "a", make_bundle)
    with open_reader(url, tmp_path / "a") as reader:
        assert type(reader) is RegistryReader
        assert isinstance(reader.store, SqliteReader)
        assert reader.resolve("champion").label == "1.0"
        assert [node.version.label for node in reader.tree()] == ["1.0"]


def test_a_newer_store_is_refused_with_the_same_error(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    url = _url(tmp_path / "registry.db")
    _populate(url, tmp_path / "a", make_bundle)
    _set_revision(url, "9999")
    assert open_sqlite_reader(url) is None
    with pytest.raises(SchemaMismatch, match="registry schema 9999 is newer than this lifelong"):
        open_reader(url, tmp_path / "a")
    assert _outcome(lambda: open_reader(url, tmp_path / "a")) == _outcome(
        lambda: open_registry(url, tmp_path / "a", read_only=True)
    )


def test_an_older_store_is_upgraded_as_a_read_only_open_upgrades_it(
    tmp_path: Path, make_bundle: BundleFactory
) -> None:
    from alembic import command

    from lifelong.registry.migrate import alembic_config, current_revision
    from lifelong.registry.schema import HEAD_REVISION

    url = _url(tmp_path / "registry.db")
    _populate(url, tmp_path / "a", make_bundle)
    engine = create_engine(url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
    assert open_sqlite_reader(url) is None
    with open_reader(url, tmp_path / "a") as reader:
        assert isinstance(reader, Registry)
        assert [v.label for v in reader.versions()] == ["1.0"]
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()
    with open_reader(url, tmp_path / "a") as reader:
        assert isinstance(reader.store, SqliteReader)  # at head now: the plain case


def test_a_missing_store_is_created_as_a_read_only_open_creates_it(tmp_path: Path) -> None:
    url = _url(tmp_path / "state" / "registry.db")
    with open_reader(url, tmp_path / "a") as reader:
        assert isinstance(reader, Registry)
        assert reader.versions() == []
    assert (tmp_path / "state" / "registry.db").is_file()


@pytest.mark.parametrize("damage", ["empty", "not sqlite", "truncated", "garbage pages", "no rev"])
def test_a_broken_store_gives_the_read_only_opens_error(
    tmp_path: Path, make_bundle: BundleFactory, damage: str
) -> None:
    db = tmp_path / "registry.db"
    url = _url(db)
    _populate(url, tmp_path / "a", make_bundle)
    page = 4096
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "not sqlite":
        db.write_bytes(os.urandom(5000))
    elif damage == "no rev":
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        engine.dispose()
    else:
        with db.open("r+b") as handle:
            if damage == "truncated":
                handle.truncate(page + 100)
            else:
                handle.seek(page)
                handle.write(os.urandom(db.stat().st_size - page))
    fast = _outcome(lambda: open_reader(url, tmp_path / "a"))
    assert fast[0] == "RegistryError"
    assert fast == _outcome(lambda: open_registry(url, tmp_path / "a", read_only=True))


def test_reading_writes_nothing(tmp_path: Path, make_bundle: BundleFactory) -> None:
    store = tmp_path / "store"
    url = _url(store / "registry.db")
    _populate(url, store / "artifacts", make_bundle)
    before = {str(p): p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()}
    with open_reader(url, store / "artifacts") as reader:
        assert isinstance(reader.store, SqliteReader)
        assert reader.store.aliases() == {"champion": "1.0"}
        assert reader.store.list_cycles() == []
    after = {str(p): p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///r.db?mode=ro",
        "sqlite:///a%20b.db",
        "sqlite+pysqlite:///r.db",
        "postgresql+psycopg://user@host/db",
    ],
)
def test_urls_beyond_a_plain_file_are_left_to_sqlalchemy(url: str) -> None:
    assert sqlite_database(url) is None


@settings(max_examples=200, deadline=None)
@given(path=st.text(min_size=1, max_size=30))
def test_a_plain_url_names_the_file_sqlalchemy_would_open(path: str) -> None:
    """Where the stdlib path takes a URL, it opens the very file SQLAlchemy opens."""
    url = f"sqlite:///{path}"
    found = sqlite_database(url)
    if found is not None:
        assert found == sqlite_path(url)
