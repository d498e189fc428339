"""The read commands' queries on an SQLite registry, with the standard library's sqlite3.

``models list``, ``models show``, ``lineage`` and ``history`` read a handful of rows, yet
opening the store through SQLAlchemy's ORM cost them more than half their time (about 0.3 s of
imports on a 2-core machine). :class:`SqliteReader` answers the reads of :class:`ReadStore`
with sqlite3 instead. It decodes columns as SQLAlchemy does on SQLite, by their declared type
(``JSON``: JSON text; ``DATETIME``: ISO text, in UTC), and makes records with the functions the
ORM uses (:mod:`lifelong.registry.rows`); a contract test compares the two on the same stores.

Only the plain case is opened here: an existing file at this code's schema revision
(:data:`~lifelong.registry.schema.HEAD_REVISION`). Anything else (a new, older, newer, damaged
or unreadable store, a URL with options) is left to the SQLAlchemy path, which creates,
migrates or refuses it with the errors it always gave.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lifelong.registry.entities import (
    AliasMove,
    CycleRecord,
    ModelVersion,
    parse_version,
    unknown_version,
    version_label,
)
from lifelong.registry.refusals import refusal
from lifelong.registry.rows import alias_move_record, cycle_record, version_record
from lifelong.registry.schema import HEAD_REVISION, VERSION_TABLE
from lifelong.registry.sqlite_file import BUSY_TIMEOUT_S, connect_read_only
from lifelong.registry.store import ReadStore

_PREFIX = "sqlite:///"
# SQLAlchemy's SQLite types store JSON as its text and times as ISO text without a zone.
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "JSON": json.loads,
    "DATETIME": datetime.fromisoformat,
}


def sqlite_database(url: str) -> Path | None:
    """The database file of a plain ``sqlite:///PATH`` URL; ``None`` for any other URL.

    PATH is taken as written, so only URLs SQLAlchemy reads the same way qualify: none with a
    query (``?``) or an escape (``%``), which it would interpret, nor an in-memory database.

    >>> sqlite_database("sqlite:////srv/registry.db")
    PosixPath('/srv/registry.db')
    >>> sqlite_database("postgresql+psycopg://db/registry") is None
    True
    """
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX) :]
    if path in ("", ":memory:") or "?" in path or "%" in path:
        return None
    return Path(path)


def open_sqlite_reader(url: str) -> SqliteReader | None:
    """A reader of the SQLite registry at ``url``, or ``None`` when it is not the plain case.

    ``None`` for a URL that is not a plain SQLite file, a file that does not exist, one that
    cannot be opened or read, and one whose schema is not at this code's revision: the caller
    then opens the store the full way, which reports each of those as it always did.
    """
    database = sqlite_database(url)
    if database is None or not database.exists():
        return None
    try:
        connection = connect_read_only(database, BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return None
    try:
        found = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except sqlite3.Error:  # no version table, or a file that is not a database
        found = None
    if found is None or found[0] != HEAD_REVISION:
        connection.close()
        return None
    return SqliteReader(connection, str(database))


class _Columns:
    """One row's decoded columns, read by attribute as the record functions read them."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


class SqliteReader(ReadStore):
    """:class:`ReadStore` over a read-only sqlite3 connection to a registry at head.

    Open it with :func:`open_sqlite_reader`, which checks the schema revision first.
    """

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self._connection = connection
        self._where = where
        self._decoders: dict[str, dict[str, Callable[[Any], Any]]] = {}

    def _rows(self, table: str, tail: str = "", params: Sequence[object] = ()) -> list[_Columns]:
        """``SELECT * FROM table tail``, each column decoded by its declared type.

        The database's refusals (damaged pages, a failing disk) are raised as the same clear
        errors the SQLAlchemy engines raise.
        """
        try:
            decoders = self._decoders_of(table)
            cursor = self._connection.execute(f"SELECT * FROM {table} {tail}", params)
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            clear = refusal(error, self._where)
            if clear is None:
                raise
            raise clear from error
        return [
            _Columns(
                {
                    name: value if value is None or name not in decoders else decoders[name](value)
                    for name, value in zip(names, row, strict=True)
                }
            )
            for row in rows
        ]

    def _decoders_of(self, table: str) -> dict[str, Callable[[Any], Any]]:
        """Column name -> decoder, for the columns of ``table`` that need one."""
        if table not in self._decoders:
            info = self._connection.execute(f"PRAGMA table_info({table})").fetchall()
            declared = {column[1]: str(column[2]).upper() for column in info}
            self._decoders[table] = {
                name: _DECODERS[kind] for name, kind in declared.items() if kind in _DECODERS
            }
        return self._decoders[table]

    def get_version(self, label: str) -> ModelVersion:
        found = self._rows("versions", "WHERE major = ? AND minor = ?", parse_version(label))
        if not found:
            raise unknown_version(label)
        return version_record(found[0])

    def list_versions(self) -> list[ModelVersion]:
        return [version_record(row) for row in self._rows("versions", "ORDER BY major, minor")]

    def aliases(self) -> dict[str, str]:
        rows = self._rows("aliases", "ORDER BY name")
        return {row.name: version_label(row.major, row.minor) for row in rows}

    def alias_history(self, name: str | None = None) -> list[AliasMove]:
        if name is None:
            rows = self._rows("alias_moves", "ORDER BY id")
        else:
            rows = self._rows("alias_moves", "WHERE alias = ? ORDER BY id", (name,))
        return [alias_move_record(row) for row in rows]

    def list_cycles(self, limit: int | None = None) -> list[CycleRecord]:
        if limit is None:
            rows = self._rows("cycles", "ORDER BY id DESC")
        else:
            rows = self._rows("cycles", "ORDER BY id DESC LIMIT ?", (limit,))
        return [cycle_record(row) for row in reversed(rows)]

    def close(self) -> None:
        self._connection.close()
