"""Stored rows to frozen records: the one mapping, shared by the ORM and the stdlib reader.

A version, an alias move and a cycle are read two ways: as SQLAlchemy ORM rows
(:mod:`lifelong.registry.dbmodels`) and, by the read commands on an SQLite store, as plain
sqlite3 rows (:mod:`lifelong.registry.sqlite_reader`), which never import SQLAlchemy. Both hand
their columns, already decoded (JSON as dicts, times as datetimes), to the functions here, so
the two readers cannot drift apart in how a record is made. The protocols name the columns a
function reads; the ORM classes satisfy them (mypy checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, cast

from lifelong.registry.entities import (
    AliasMove,
    ArtifactFile,
    CycleRecord,
    EdgeKind,
    ModelVersion,
    MoveKind,
    VersionStatus,
    version_label,
)


def utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every time the registry stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class VersionColumns(Protocol):
    """The columns of a ``versions`` row."""

    @property
    def major(self) -> int: ...
    @property
    def minor(self) -> int: ...
    @property
    def parent_major(self) -> int | None: ...
    @property
    def parent_minor(self) -> int | None: ...
    @property
    def edge(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def snapshot_id(self) -> str: ...
    @property
    def data_diff(self) -> dict[str, Any]: ...
    @property
    def metrics(self) -> dict[str, Any]: ...
    @property
    def timings(self) -> dict[str, Any]: ...
    @property
    def training(self) -> dict[str, Any]: ...
    @property
    def artifact_id(self) -> str: ...
    @property
    def artifact_files(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def host(self) -> str: ...
    @property
    def lifelong_version(self) -> str: ...
    @property
    def notes(self) -> str: ...
    @property
    def verdict(self) -> dict[str, Any] | None: ...


def version_record(row: VersionColumns) -> ModelVersion:
    """The :class:`ModelVersion` a ``versions`` row holds."""
    parent = None
    if row.parent_major is not None and row.parent_minor is not None:
        parent = version_label(row.parent_major, row.parent_minor)
    return ModelVersion(
        major=row.major,
        minor=row.minor,
        parent=parent,
        edge=cast(EdgeKind | None, row.edge),
        status=cast(VersionStatus, row.status),
        config=row.config,
        snapshot_id=row.snapshot_id,
        data_diff=row.data_diff,
        metrics=row.metrics,
        timings=row.timings,
        training=row.training,
        artifact_id=row.artifact_id,
        artifact_files={
            name: ArtifactFile(sha256=f["sha256"], size=f["size"])
            for name, f in row.artifact_files.items()
        },
        created_at=utc(row.created_at),
        host=row.host,
        lifelong_version=row.lifelong_version,
        notes=row.notes,
        verdict=row.verdict,
    )


class AliasMoveColumns(Protocol):
    """The columns of an ``alias_moves`` row."""

    @property
    def id(self) -> int: ...
    @property
    def alias(self) -> str: ...
    @property
    def from_version(self) -> str | None: ...
    @property
    def to_version(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def command(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def alias_move_record(row: AliasMoveColumns) -> AliasMove:
    """The :class:`AliasMove` an ``alias_moves`` row holds."""
    return AliasMove(
        id=row.id,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        kind=cast(MoveKind, row.kind),
        reason=row.reason,
        command=row.command,
        at=utc(row.at),
    )


class CycleColumns(Protocol):
    """The columns of a ``cycles`` row."""

    @property
    def id(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime: ...
    @property
    def outcome(self) -> str: ...
    @property
    def trigger(self) -> dict[str, Any]: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def strategy(self) -> dict[str, Any]: ...
    @property
    def versions(self) -> dict[str, Any]: ...
    @property
    def champion(self) -> str | None: ...
    @property
    def durations(self) -> dict[str, Any]: ...
    @property
    def error(self) -> str: ...


def cycle_record(row: CycleColumns) -> CycleRecord:
    """The :class:`CycleRecord` a ``cycles`` row holds."""
    return CycleRecord(
        id=row.id,
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
        outcome=row.outcome,
        trigger=row.trigger,
        data=row.data,
        strategy=row.strategy,
        versions=list(row.versions.get("labels", [])),
        champion=row.champion,
        durations={k: float(v) for k, v in row.durations.items()},
        error=row.error,
    )
