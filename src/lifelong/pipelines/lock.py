"""One training cycle per store at a time.

SQLite (one machine) uses a file lock beside the database file (``registry.db.lock``), so every
project folder whose ``store.url`` names that file shares it; only cycles, which write, take it.
PostgreSQL (a shared registry, maybe several machines) uses a session-level advisory lock, per
database, which the server releases by itself when the holder's connection dies, so a killed
cycle never leaves the store locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import text

from lifelong.core.errors import LockHeld
from lifelong.core.private import PRIVATE_FILE
from lifelong.core.storage import storage_errors
from lifelong.project import Project
from lifelong.registry import Registry
from lifelong.registry.engine import sqlite_path

# Arbitrary, fixed 64-bit key naming "the lifelong training cycle" among advisory locks.
ADVISORY_KEY = 0x11FE10C6


@contextmanager
def cycle_lock(project: Project, registry: Registry) -> Iterator[None]:
    """Hold the store's training lock for the ``with`` block, or raise :class:`LockHeld`."""
    engine = getattr(registry.store, "engine", None)
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
            if not got:
                raise LockHeld(
                    "another lifelong cycle is training on this registry (PostgreSQL lock)",
                    hint="wait for it to finish; `lifelong history` shows cycles",
                )
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                connection.commit()
        return
    lock_file = store_lock_path(project, registry)
    with storage_errors(lock_file):
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(lock_file, mode=PRIVATE_FILE)  # empty, but private like the store
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise LockHeld(
                f"another lifelong cycle is training on the registry beside {lock_file} "
                "(that lock file is held)",
                hint="wait for it to finish; `lifelong history` shows cycles",
            ) from None
    try:
        yield
    finally:
        lock.release()


def store_lock_path(project: Project, registry: Registry) -> Path:
    """The lock file of ``registry``'s store: beside its SQLite file (``registry.db.lock``), so
    projects sharing one store share the lock; the project's own for an in-memory store."""
    engine = getattr(registry.store, "engine", None)
    database = None if engine is None else sqlite_path(engine.url.render_as_string())
    if database is None:
        return project.state_dir / "cycle.lock"
    return database.with_name(database.name + ".lock")
