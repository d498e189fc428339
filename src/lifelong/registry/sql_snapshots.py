"""Content-addressed data snapshots in SQL: examples stored once, snapshots as member sets.

Inserts are bulk ``INSERT ... ON CONFLICT DO NOTHING``, so putting tens of thousands of
examples is one round of batched statements, existing examples cost nothing, and two processes
putting the same snapshot at once both succeed with one copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lifelong.core.errors import NotFound
from lifelong.core.types import Example, snapshot_id
from lifelong.registry.dbmodels import Base, ExampleRow, SnapshotMemberRow, SnapshotRow
from lifelong.registry.entities import SnapshotInfo

_BATCH = 5000


def put_snapshot(session: Session, examples: Sequence[Example], parent: str | None) -> SnapshotInfo:
    """Record ``examples`` as a snapshot; return the existing one if the content is known."""
    by_hash: dict[str, Example] = {}
    for example in examples:
        by_hash.setdefault(example.hash, example)
    sid = snapshot_id(by_hash)
    existing = session.get(SnapshotRow, sid)
    if existing is not None:
        return existing.to_entity()
    if parent is not None and session.get(SnapshotRow, parent) is None:
        raise NotFound(f"parent snapshot {parent} does not exist")
    _insert_ignoring_duplicates(
        session, "examples", [_example_values(h, e) for h, e in by_hash.items()]
    )
    counts = Counter(example.label for example in by_hash.values())
    _insert_ignoring_duplicates(
        session,
        "snapshots",
        [
            {
                "id": sid,
                "created_at": datetime.now(UTC),
                "size": len(by_hash),
                "label_counts": dict(sorted(counts.items())),
                "parent_id": parent,
            }
        ],
    )
    _insert_ignoring_duplicates(
        session,
        "snapshot_members",
        [{"snapshot_id": sid, "example_hash": h} for h in by_hash],
    )
    row = session.get(SnapshotRow, sid)
    assert row is not None, "inserted above or by a concurrent writer"
    return row.to_entity()


def get_snapshot(session: Session, sid: str) -> SnapshotInfo:
    row = session.get(SnapshotRow, sid)
    if row is None:
        raise NotFound(
            f"snapshot {sid} does not exist", hint="`lifelong models show V` names its snapshot"
        )
    return row.to_entity()


def get_snapshot_examples(session: Session, sid: str) -> list[Example]:
    get_snapshot(session, sid)
    rows = session.execute(
        select(ExampleRow.text, ExampleRow.label, ExampleRow.original, ExampleRow.meta)
        .join(SnapshotMemberRow, SnapshotMemberRow.example_hash == ExampleRow.hash)
        .where(SnapshotMemberRow.snapshot_id == sid)
        .order_by(ExampleRow.hash)
    )
    return [
        Example(
            text=text,
            label=label,
            original=original,
            source=meta.get("source"),
            line=meta.get("line"),
            timestamp=meta.get("timestamp"),
            meta=dict(meta.get("meta") or {}),
        )
        for text, label, original, meta in rows
    ]


def list_snapshots(session: Session) -> list[SnapshotInfo]:
    rows = session.scalars(select(SnapshotRow).order_by(SnapshotRow.created_at, SnapshotRow.id))
    return [row.to_entity() for row in rows]


def snapshot_problems(session: Session) -> list[str]:
    """Snapshots whose recorded size disagrees with their members (a half-written snapshot)."""
    members = (
        select(SnapshotMemberRow.snapshot_id, func.count().label("n"))
        .group_by(SnapshotMemberRow.snapshot_id)
        .subquery()
    )
    rows = session.execute(
        select(SnapshotRow.id, SnapshotRow.size, members.c.n).outerjoin(
            members, members.c.snapshot_id == SnapshotRow.id
        )
    )
    return [
        f"snapshot {sid} records {size} examples but has {n or 0}"
        for sid, size, n in rows
        if size != (n or 0)
    ]


def _insert_ignoring_duplicates(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    # imported here: only writes need them, and the PostgreSQL dialect would slow every read
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Base.metadata.tables[table]).on_conflict_do_nothing()
    for start in range(0, len(rows), _BATCH):
        session.execute(statement, rows[start : start + _BATCH])


def _example_values(example_hash: str, example: Example) -> dict[str, Any]:
    return {
        "hash": example_hash,
        "text": example.text,
        "original": example.original,
        "label": example.label,
        "meta": {
            "source": example.source,
            "line": example.line,
            "timestamp": example.timestamp,
            "meta": example.meta,
        },
    }
