"""Engines for the registry's databases, set up so concurrent writers wait instead of failing.

SQLite: WAL journal (readers never block the writer), a busy timeout, foreign keys on, and
``BEGIN IMMEDIATE`` for write transactions, so two processes allocating version numbers are
serialized by the database lock rather than failing with "database is locked" on upgrade from
a read lock. pysqlite's own transaction handling is switched off so SQLAlchemy's ``begin``
event decides how each transaction starts (the recipe in SQLAlchemy's SQLite dialect docs).
PostgreSQL needs nothing special: row locks and unique constraints do the work.
The SQLite file holds every example's text, so it is made private (``0600``; SQLite gives its
``-wal`` and ``-shm`` files the database file's mode) on each new connection.

Readers (``models list``, ``serve``...) open the database read-only, so they work where the
store is on read-only storage; the database's refusals reach the user as clear errors.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from lifelong.core.errors import RegistryError
from lifelong.core.private import make_private, private_dir
from lifelong.registry.refusals import refusal
from lifelong.registry.sqlite_file import BUSY_TIMEOUT_S, connect_read_only, ensure_database_file

WRITE_OPTION = "lifelong_write"
"""Execution option marking a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""

SUPPORTED = ("sqlite", "postgresql")


def create_registry_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    ``read_only`` opens a database that must exist without writing anything: SQLite through
    a read-only connection (see :func:`~lifelong.registry.sqlite_file.connect_read_only`),
    PostgreSQL with read-only transactions. Otherwise a missing SQLite file is created whole
    and an existing one is checked (:func:`~lifelong.registry.sqlite_file.ensure_database_file`).
    Either way, the database's refusals (a full disk, a read-only file, damaged pages) are
    raised as :class:`StorageError` or :class:`RegistryError` naming the database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RegistryError(
            f"store url {url!r} is not a database URL",
            hint="use sqlite:///path/registry.db or postgresql+psycopg://user@host/db",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise RegistryError(
            f"store url {url!r}: unsupported database {backend!r}",
            hint="use sqlite:///path/registry.db or postgresql+psycopg://user@host/db",
        )
    if backend == "postgresql":
        options = {"options": "-c default_transaction_read_only=on"} if read_only else {}
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=options)
        shown = parsed.render_as_string(hide_password=True)
        event.listen(engine, "handle_error", _translator(shown))
        return engine
    database = sqlite_path(url)
    if database is None:
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    elif read_only:
        engine = create_engine(parsed, creator=lambda: connect_read_only(database, BUSY_TIMEOUT_S))
    else:
        private_dir(database.parent, tighten=False)  # a chosen folder (/tmp) is left as it is
        ensure_database_file(database)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", functools.partial(_make_private, database))
    on_connect = _sqlite_on_connect_read_only if read_only else _sqlite_on_connect
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    event.listen(engine, "handle_error", _translator(str(database or parsed)))
    return engine


def _make_private(database: Path, _dbapi_connection: Any, _record: Any) -> None:
    """Make the database file private before the connection first writes: opening creates
    it, and the journal files SQLite creates later copy its mode."""
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            make_private(path)


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite ``url``; ``None`` for PostgreSQL or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _translator(where: str) -> Callable[[ExceptionContext], None]:
    """A ``handle_error`` listener raising the database's refusals as clear errors."""

    def translate(context: ExceptionContext) -> None:
        error = context.original_exception
        clear = refusal(error, where)
        if clear is not None:
            raise clear from error

    return translate


def _sqlite_on_connect_read_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" event emit BEGIN
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, retrying while another process holds the lock.

    Turning a fresh database to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once instead of waiting on the busy timeout; several processes opening a new
    store together would fail. Once one succeeds the mode is persistent and the rest no-op.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 0.5)


def _sqlite_on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
