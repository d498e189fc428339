"""The prediction log's SQL: bulk appends, recent reads, retention.

The server appends in batches from a background thread (one ``executemany`` per flush), so the
request path never waits on the database. Retention keeps the table bounded either by row count
(the newest ``keep_rows`` by insertion order) or by age.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Dialect, Table, delete, select
from sqlalchemy.orm import Session

from lifelong.core.errors import RegistryError
from lifelong.registry.dbmodels import PredictionRow
from lifelong.registry.entities import PredictionRecord

_COLUMNS = PredictionRecord._fields
_TABLE = cast(Table, PredictionRow.__table__)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

Row = tuple[Any, ...]


def log_predictions(session: Session, rows: Sequence[PredictionRecord]) -> None:
    """Insert ``rows`` in one ``executemany`` of the database driver.

    The server logs every prediction it makes, and at batch rates SQLAlchemy's per-row work
    (a parameter dict, bind processing, then the driver's own call) cost more of the server's
    one Python core than scoring the text. So the rows, already tuples in column order, go to
    the driver as they are, through the column types' own bind processors where the dialect has
    any (SQLite stores datetimes as text), in the dialect's parameter style.
    """
    if rows:
        connection = session.connection()
        sql, convert = _driver_insert(connection.dialect)
        connection.exec_driver_sql(sql, convert(rows))


@functools.cache
def _driver_insert(
    dialect: Dialect,
) -> tuple[str, Callable[[Sequence[PredictionRecord]], Sequence[Row]]]:
    """The driver-level INSERT of the predictions table for ``dialect``, and the converter of
    rows to its parameters."""
    mark = _PLACEHOLDERS.get(str(dialect.paramstyle))
    if mark is None:
        raise RegistryError(f"unsupported DB-API parameter style {dialect.paramstyle!r}")
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(_TABLE.name)} ({', '.join(quote(c) for c in _COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
    )
    processors = [
        (i, process)
        for i, name in enumerate(_COLUMNS)
        if (process := _TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    if not processors:
        return sql, lambda rows: rows

    def convert(rows: Sequence[PredictionRecord]) -> list[Row]:
        """Each processed column's distinct values processed once: the rows of a flush share
        a few timestamps (one per request), and SQLite's datetime-to-text costs per call."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for i, process in processors:
            processed = {value: process(value) for value in set(columns[i]) - {None}}
            columns[i] = list(map(processed.get, columns[i]))
        return list(zip(*columns, strict=True))

    return sql, convert


def recent_predictions(
    session: Session,
    *,
    limit: int | None = None,
    since: datetime | None = None,
    version: str | None = None,
) -> list[PredictionRecord]:
    """The newest ``limit`` predictions (after ``since``, of ``version``), oldest first."""
    query = select(PredictionRow).order_by(PredictionRow.id.desc())
    if since is not None:
        query = query.where(PredictionRow.at >= since)
    if version is not None:
        query = query.where(PredictionRow.version == version)
    if limit is not None:
        query = query.limit(limit)
    return [row.to_entity() for row in reversed(list(session.scalars(query)))]


def prediction(session: Session, prediction_id: str) -> PredictionRecord | None:
    """The row with ``prediction_id`` (a lookup in its unique index), or ``None``."""
    query = select(PredictionRow).where(PredictionRow.prediction_id == prediction_id)
    row = session.scalars(query).one_or_none()
    return None if row is None else row.to_entity()


def prune_predictions(
    session: Session, *, keep_rows: int | None = None, older_than: datetime | None = None
) -> int:
    """Delete all but the newest ``keep_rows`` rows and rows logged before ``older_than``.

    Returns the number of rows deleted.
    """
    if keep_rows is None and older_than is None:
        raise RegistryError("prune_predictions needs keep_rows or older_than")
    if keep_rows is not None and keep_rows < 0:
        raise RegistryError(f"keep_rows must be 0 or more, not {keep_rows}")
    deleted = 0
    if older_than is not None:
        deleted += _delete(session, PredictionRow.at < older_than)
    if keep_rows is not None:
        newest_dropped = session.scalar(
            select(PredictionRow.id).order_by(PredictionRow.id.desc()).offset(keep_rows).limit(1)
        )
        if newest_dropped is not None:
            deleted += _delete(session, PredictionRow.id <= newest_dropped)
    return deleted


def _delete(session: Session, where: ColumnElement[bool]) -> int:
    result = cast(CursorResult[Any], session.execute(delete(PredictionRow).where(where)))
    return result.rowcount
