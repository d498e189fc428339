"""Opening a registry: URLs, SQLite settings, number allocation as a property."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from lifelong.core.errors import RegistryError
from lifelong.core.types import Example
from lifelong.registry import open_registry, parse_version
from lifelong.registry.sqlalchemy_store import SqlAlchemyStore


def test_unsupported_or_malformed_url(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="unsupported database 'mysql'"):
        open_registry("mysql://x@localhost/db", tmp_path)
    with pytest.raises(RegistryError, match="is not a database URL"):
        open_registry("not a url", tmp_path)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"cannot open the registry at postgresql\+psycopg"):
        open_registry("postgresql+psycopg://nobody:secret@127.0.0.1:1/none", tmp_path)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    with open_registry(f"sqlite:///{tmp_path}/deep/dir/r.db", tmp_path / "a") as registry:
        store = registry.store
        assert isinstance(store, SqlAlchemyStore)
        with store.engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA busy_timeout")) >= 10_000
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1


@settings(max_examples=15, deadline=None)
@given(parents=st.lists(st.integers(min_value=-1, max_value=50), min_size=1, max_size=15))
def test_allocated_numbers_are_unique_and_dense_per_major(parents: list[int]) -> None:
    """Each draw is cold (-1) or an update of an earlier version picked by index."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "weights.safetensors").write_bytes(b"w")
        with open_registry(f"sqlite:///{tmp}/r.db", Path(tmp) / "arts") as registry:
            snap = registry.put_snapshot([Example.make("hi", "greet")]).id
            labels: list[str] = []
            for pick in parents:
                parent = None if pick < 0 or not labels else labels[pick % len(labels)]
                created = registry.register(
                    bundle,
                    snapshot_id=snap,
                    config={},
                    parent=parent,
                    edge="finetune" if parent else None,
                )
                if parent is not None:
                    assert created.major == parse_version(parent)[0]
                labels.append(created.label)
            assert len(set(labels)) == len(labels)
            by_major: dict[int, list[int]] = {}
            for major, minor in map(parse_version, labels):
                by_major.setdefault(major, []).append(minor)
            assert sorted(by_major) == list(range(1, len(by_major) + 1))
            for minors in by_major.values():
                assert sorted(minors) == list(range(len(minors)))
            assert registry.check() == []


def test_the_known_head_revision_is_alembics_head(tmp_path: Path) -> None:
    """Read commands compare against ``HEAD_REVISION`` without Alembic; it must stay the head
    of the packaged migrations, and a freshly opened store must be at it."""
    from alembic.script import ScriptDirectory

    from lifelong.registry.migrate import alembic_config, current_revision
    from lifelong.registry.schema import HEAD_REVISION

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
    with open_registry(f"sqlite:///{tmp_path}/r.db", tmp_path / "a") as registry:
        store = registry.store
        assert isinstance(store, SqlAlchemyStore)
        assert current_revision(store.engine) == HEAD_REVISION
