"""One training cycle per store at a time.

SQLite (one machine) uses a file lock beside the database; PostgreSQL (a shared registry, maybe
several machines) uses a session-level advisory lock, which the server releases by itself when
the holder's connection dies, so a killed cycle never leaves the store locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from sqlalchemy import text

from lifelong.core.errors import LockHeld
from lifelong.project import Project
from lifelong.registry import Registry

# Arbitrary, fixed 64-bit key naming "the lifelong training cycle" among advisory locks.
ADVISORY_KEY = 0x11FE10C6


@contextmanager
def cycle_lock(project: Project, registry: Registry) -> Iterator[None]:
    """Hold the project's training lock for the ``with`` block, or raise :class:`LockHeld`."""
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
    project.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(project.state_dir / "cycle.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockHeld(
            f"another lifelong cycle is training in {project.root} ({lock.lock_file} is held)",
            hint="wait for it to finish; `lifelong history` shows cycles",
        ) from None
    try:
        yield
    finally:
        lock.release()
