"""The prediction log summed up in SQL: traffic per time bucket, confidence histogram, shadow
agreement.

A dashboard over a million logged predictions cannot fetch them: each figure is one
``GROUP BY`` the database computes, returning a few hundred rows. Time buckets are computed
from seconds since the epoch, which SQLite (text timestamps, ``julianday``) and PostgreSQL
(``extract(epoch ...)``) spell differently; everything else is portable SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from lifelong.registry.dbmodels import PredictionRow
from lifelong.registry.entities import ShadowBucket, TrafficBucket
from lifelong.registry.rows import utc

_UNIX_JULIAN_DAY = 2440587.5


def _epoch_seconds(session: Session, column: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - _UNIX_JULIAN_DAY) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _floor(session: Session, value: ColumnElement[float]) -> ColumnElement[int]:
    """Floor of a non-negative value: SQLite's integer cast truncates, PostgreSQL's rounds."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(value, Integer)
    return cast(func.floor(value), Integer)


def _bucket(session: Session, column: Any, since: datetime, width: timedelta) -> ColumnElement[int]:
    offset = _epoch_seconds(session, column) - since.timestamp()
    return _floor(session, offset / width.total_seconds())


def span(session: Session, newest: int | None = None) -> tuple[datetime, datetime, int] | None:
    """First and last logging time and the row count of the whole log (``None``: empty).

    With ``newest``, the first time is that of the ``newest``-th newest row: the start of a
    window a page can sum up quickly however long the log is. Each figure is its own query,
    answered from an index (together, min, max and count would scan the table).
    """
    count = session.scalar(select(func.count()).select_from(PredictionRow)) or 0
    if count == 0:
        return None
    first = session.scalar(select(func.min(PredictionRow.at)))
    last = session.scalar(select(func.max(PredictionRow.at)))
    if newest is not None and newest < count:
        first = session.scalar(
            select(PredictionRow.at)
            .order_by(PredictionRow.id.desc())
            .offset(max(newest - 1, 0))
            .limit(1)
        )
    assert first is not None  # the log holds rows
    assert last is not None
    return utc(first), utc(last), int(count)


def traffic(session: Session, *, since: datetime, width: timedelta) -> list[TrafficBucket]:
    """Primary predictions per (bucket of ``width`` from ``since``, version)."""
    bucket = _bucket(session, PredictionRow.at, since, width).label("bucket")
    query = (
        select(bucket, PredictionRow.version, func.count(), func.avg(PredictionRow.confidence))
        .where(PredictionRow.at >= since, PredictionRow.shadow_of.is_(None))
        .group_by(bucket, PredictionRow.version)
        .order_by(bucket, PredictionRow.version)
    )
    return [
        TrafficBucket(since.astimezone(UTC) + width * int(b), version, int(n), float(mean))
        for b, version, n, mean in session.execute(query)
    ]


def confidence_histogram(
    session: Session, *, since: datetime, bins: int, version: str | None = None
) -> list[int]:
    """Counts of primary predictions since ``since`` in ``bins`` equal bins of [0, 1]."""
    index = _floor(session, PredictionRow.confidence * float(bins)).label("bin")
    query = select(index, func.count()).where(
        PredictionRow.at >= since, PredictionRow.shadow_of.is_(None)
    )
    if version is not None:
        query = query.where(PredictionRow.version == version)
    counts = [0] * bins
    for b, n in session.execute(query.group_by(index)):
        counts[min(max(int(b), 0), bins - 1)] += int(n)  # a confidence of exactly 1.0
    return counts


def shadow_agreement(session: Session, *, since: datetime, width: timedelta) -> list[ShadowBucket]:
    """Shadow rows since ``since`` joined to their primary (by its unique prediction id), per
    bucket: how many pairs, how many predicted the same intent."""
    shadow = aliased(PredictionRow)
    primary = aliased(PredictionRow)
    bucket = _bucket(session, shadow.at, since, width).label("bucket")
    same = func.sum(case((shadow.intent == primary.intent, 1), else_=0))
    query = (
        select(bucket, func.count(), same)
        .select_from(shadow)
        .join(primary, and_(primary.prediction_id == shadow.shadow_of))
        .where(shadow.at >= since, shadow.shadow_of.is_not(None))
        .group_by(bucket)
        .order_by(bucket)
    )
    return [
        ShadowBucket(since.astimezone(UTC) + width * int(b), int(n), int(agreed or 0))
        for b, n, agreed in session.execute(query)
    ]
