"""The registry's files are private: the SQLite database (with -wal, -shm) and the artifacts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lifelong.config import parse_config
from lifelong.core.types import Example
from lifelong.pipelines.lock import cycle_lock
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.registry.artifacts import LOCK_FILE

pytestmark = pytest.mark.usefixtures("open_umask")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_is_private(tmp_path: Path, make_bundle: object) -> None:
    state = tmp_path / "project" / ".lifelong"
    with open_registry(f"sqlite:///{state}/registry.db", state / "artifacts") as registry:
        snap = registry.put_snapshot([Example.make("hello there", "greet")]).id
        registry.register(make_bundle(), snapshot_id=snap, config={})  # type: ignore[operator]
        database = state / "registry.db"
        made = [
            database,
            database.with_name("registry.db-wal"),
            database.with_name("registry.db-shm"),
        ]
        assert all(path.exists() for path in made)  # the journal files exist while it is open
        for path in (*made, state / "artifacts" / LOCK_FILE):
            assert _mode(path) & 0o077 == 0, path
        for folder in (state, state / "artifacts"):
            assert _mode(folder) == 0o700, folder


def test_an_existing_world_readable_store_is_tightened_on_open(tmp_path: Path) -> None:
    database = tmp_path / "registry.db"
    open_registry(f"sqlite:///{database}", tmp_path / "artifacts").close()
    database.chmod(0o644)
    (tmp_path / "artifacts").chmod(0o755)
    open_registry(f"sqlite:///{database}", tmp_path / "artifacts").close()
    assert _mode(database) == 0o600
    assert _mode(tmp_path / "artifacts") == 0o700


def test_a_chosen_existing_folder_of_the_database_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    open_registry(f"sqlite:///{shared}/registry.db", tmp_path / "artifacts").close()
    assert _mode(shared) == 0o755
    assert _mode(shared / "registry.db") == 0o600


def test_the_cycle_lock_beside_the_database_is_private(tmp_path: Path) -> None:
    database = tmp_path / "state" / "registry.db"
    project = Project(root=tmp_path, config=parse_config({}))
    with (
        open_registry(f"sqlite:///{database}", tmp_path / "artifacts") as registry,
        cycle_lock(project, registry),
    ):
        lock = database.with_name("registry.db.lock")
        assert lock.exists()
        assert _mode(lock) & 0o077 == 0
