"""SQLAlchemy 2 ORM rows of the registry; :meth:`to_entity` turns them into frozen records.

Versions, alias moves and cycles become records through :mod:`lifelong.registry.rows`, which
the SQLite reader of the read commands shares.

The schema itself is owned by the Alembic migrations in ``migrations/``; these classes must
match the head revision (a test compares them). Versions reference each other by their natural
key (major, minor) so a row can be read without joins, and the unique constraint on that key
is what makes concurrent number allocation safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lifelong.registry.entities import (
    AliasMove,
    CycleRecord,
    ModelVersion,
    PredictionRecord,
    ReviewItem,
    ReviewStatus,
    SnapshotInfo,
    version_label,
)
from lifelong.registry.rows import alias_move_record, cycle_record, utc, version_record

HASH = String(64)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}  # noqa: RUF012 - SQLAlchemy's own API


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("major", "minor", name="uq_versions_number"),
        ForeignKeyConstraint(
            ["parent_major", "parent_minor"],
            ["versions.major", "versions.minor"],
            name="fk_versions_parent",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    parent_major: Mapped[int | None] = mapped_column(Integer)
    parent_minor: Mapped[int | None] = mapped_column(Integer)
    edge: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]]
    snapshot_id: Mapped[str] = mapped_column(HASH, ForeignKey("snapshots.id"))
    data_diff: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    timings: Mapped[dict[str, Any]]
    training: Mapped[dict[str, Any]]
    artifact_id: Mapped[str] = mapped_column(HASH)
    artifact_files: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    host: Mapped[str] = mapped_column(String(255))
    lifelong_version: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text)
    verdict: Mapped[dict[str, Any] | None]

    @property
    def label(self) -> str:
        return version_label(self.major, self.minor)

    def to_entity(self) -> ModelVersion:
        return version_record(self)


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["major", "minor"], ["versions.major", "versions.minor"], name="fk_aliases_version"
        ),
    )

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AliasMoveRow(Base):
    """History of alias moves. Versions are kept as labels, not keys: history outlives rows."""

    __tablename__ = "alias_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alias: Mapped[str] = mapped_column(String(128), index=True)
    from_version: Mapped[str | None] = mapped_column(String(32))
    to_version: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    command: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def to_entity(self) -> AliasMove:
        return alias_move_record(self)


class ExampleRow(Base):
    """One example, stored once however many snapshots hold it."""

    __tablename__ = "examples"

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    original: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]]


class SnapshotRow(Base):
    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(HASH, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # BIGINT since revision 0006 (large data); SQLite's INTEGER column holds 64 bits already
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    label_counts: Mapped[dict[str, Any]]
    parent_id: Mapped[str | None] = mapped_column(HASH, ForeignKey("snapshots.id"))
    kind: Mapped[str] = mapped_column(String(16), server_default="examples")

    def to_entity(self) -> SnapshotInfo:
        return SnapshotInfo(
            id=self.id,
            size=self.size,
            label_counts=dict(self.label_counts),
            created_at=utc(self.created_at),
            parent=self.parent_id,
            kind=self.kind,
        )


class SnapshotFileRow(Base):
    """One file of a snapshot of large data (see :class:`~lifelong.core.types.FileManifest`)."""

    __tablename__ = "snapshot_files"

    snapshot_id: Mapped[str] = mapped_column(HASH, ForeignKey("snapshots.id"), primary_key=True)
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    sha256: Mapped[str] = mapped_column(HASH)
    bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    labels: Mapped[dict[str, Any]]
    splits: Mapped[dict[str, Any]]


class SnapshotMemberRow(Base):
    __tablename__ = "snapshot_members"

    snapshot_id: Mapped[str] = mapped_column(HASH, ForeignKey("snapshots.id"), primary_key=True)
    example_hash: Mapped[str] = mapped_column(HASH, ForeignKey("examples.hash"), primary_key=True)


class PredictionRow(Base):
    """One served prediction; appended in batches by the server, pruned by retention."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prediction_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    text_hash: Mapped[str] = mapped_column(HASH)
    text: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(32))
    intent: Mapped[str] = mapped_column(String(255))
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    shadow_of: Mapped[str | None] = mapped_column(String(36))
    value: Mapped[float | None] = mapped_column(Float)

    def to_entity(self) -> PredictionRecord:
        return PredictionRecord(
            prediction_id=self.prediction_id,
            at=utc(self.at),
            text_hash=self.text_hash,
            version=self.version,
            intent=self.intent,
            confidence=self.confidence,
            latency_ms=self.latency_ms,
            text=self.text,
            shadow_of=self.shadow_of,
            value=self.value,
        )


class CycleRow(Base):
    """History of continual-loop cycles (append-only)."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    strategy: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    champion: Mapped[str | None] = mapped_column(String(32))
    durations: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)

    def to_entity(self) -> CycleRecord:
        return cycle_record(self)


class ReviewRow(Base):
    """The review queue: incoming examples held until a person accepts or rejects them."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    example_hash: Mapped[str] = mapped_column(HASH, unique=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(255))
    current: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text)

    def to_entity(self) -> ReviewItem:
        return ReviewItem(
            id=self.id,
            text=self.text,
            intent=self.intent,
            example_hash=self.example_hash,
            reason=self.reason,
            source=self.source,
            current=self.current,
            detail=dict(self.detail),
            status=cast(ReviewStatus, self.status),
            created_at=utc(self.created_at),
            decided_at=None if self.decided_at is None else utc(self.decided_at),
            note=self.note,
        )
