"""Content-addressed data snapshots in SQL: examples stored once, snapshots as member sets.

A snapshot of data too large to store row by row (a streamed training's) records its files
instead: one ``snapshot_files`` row per file with its sha256, row count and label and split
counts (``snapshots.kind = 'files'``).

Inserts are bulk ``INSERT ... ON CONFLICT DO NOTHING``, so putting tens of thousands of
examples is one round of batched statements, existing examples cost nothing, and two processes
putting the same snapshot at once both succeed with one copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lifelong.core.errors import NotFound
from lifelong.core.types import Example, FileManifest, files_snapshot_id, snapshot_id
from lifelong.registry.dbmodels import (
    Base,
    ExampleRow,
    SnapshotFileRow,
    SnapshotMemberRow,
    SnapshotRow,
)
from lifelong.registry.entities import SnapshotInfo

_BATCH = 5000
_LOOKUP_BATCH = 900  # bound parameters per query: under the 999 of SQLite before 3.32


def put_snapshot(session: Session, examples: Sequence[Example], parent: str | None) -> SnapshotInfo:
    """Record ``examples`` as a snapshot; return the existing one if the content is known."""
    by_hash: dict[str, Example] = {}
    for example in examples:
        by_hash.setdefault(example.hash, example)
    sid = snapshot_id(by_hash)
    existing = session.get(SnapshotRow, sid)
    if existing is not None:
        return existing.to_entity()
    _check_parent(session, parent)
    stored = _stored_hashes(session, list(by_hash))
    _insert_ignoring_duplicates(
        session,
        "examples",
        [_example_values(h, e) for h, e in by_hash.items() if h not in stored],
    )
    counts = Counter(example.label for example in by_hash.values())
    _insert_snapshot(session, sid, "examples", len(by_hash), counts, parent)
    _insert_ignoring_duplicates(
        session,
        "snapshot_members",
        [{"snapshot_id": sid, "example_hash": h} for h in by_hash],
    )
    return _stored(session, sid)


def put_file_snapshot(
    session: Session, files: Sequence[FileManifest], parent: str | None
) -> SnapshotInfo:
    """Record a snapshot of ``files`` (see the module's docstring); the same files (paths and
    contents) give the same id."""
    sid = files_snapshot_id(files)
    existing = session.get(SnapshotRow, sid)
    if existing is not None:
        return existing.to_entity()
    _check_parent(session, parent)
    counts: Counter[str] = Counter()
    for manifest in files:
        counts.update(manifest.labels)
    _insert_snapshot(session, sid, "files", sum(f.rows for f in files), counts, parent)
    _insert_ignoring_duplicates(
        session,
        "snapshot_files",
        [{"snapshot_id": sid, **manifest.to_dict()} for manifest in files],
    )
    return _stored(session, sid)


def get_snapshot_files(session: Session, sid: str) -> list[FileManifest]:
    """The files of a snapshot of files, by path (none for a snapshot of examples)."""
    get_snapshot(session, sid)
    rows = session.scalars(
        select(SnapshotFileRow)
        .where(SnapshotFileRow.snapshot_id == sid)
        .order_by(SnapshotFileRow.path)
    )
    return [
        FileManifest(r.path, r.sha256, r.bytes, r.rows, dict(r.labels), dict(r.splits))
        for r in rows
    ]


def _check_parent(session: Session, parent: str | None) -> None:
    if parent is not None and session.get(SnapshotRow, parent) is None:
        raise NotFound(f"parent snapshot {parent} does not exist")


def _insert_snapshot(
    session: Session,
    sid: str,
    kind: str,
    size: int,
    counts: Counter[str],
    parent: str | None,
) -> None:
    _insert_ignoring_duplicates(
        session,
        "snapshots",
        [
            {
                "id": sid,
                "created_at": datetime.now(UTC),
                "size": size,
                "label_counts": dict(sorted(counts.items())),
                "parent_id": parent,
                "kind": kind,
            }
        ],
    )


def _stored(session: Session, sid: str) -> SnapshotInfo:
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
    """The examples of a snapshot, by hash (none for a snapshot of files)."""
    get_snapshot(session, sid)
    rows = session.execute(
        select(ExampleRow.text, ExampleRow.label, ExampleRow.original, ExampleRow.meta)
        .join(SnapshotMemberRow, SnapshotMemberRow.example_hash == ExampleRow.hash)
        .where(SnapshotMemberRow.snapshot_id == sid)
        .order_by(ExampleRow.hash)
    )
    return [_example(row.text, row.label, row.original, row.meta) for row in rows]


def get_snapshot_labels(session: Session, sid: str) -> dict[str, str]:
    """Example hash -> label of a snapshot's members: two short columns, no example decoded.

    What an update needs of its parent's data (which examples are new, which labels existed):
    reading the examples themselves, their JSON metadata decoded row by row, was 0.4-0.5 s of
    an update on 13,500 examples.
    """
    get_snapshot(session, sid)
    rows = session.execute(
        select(ExampleRow.hash, ExampleRow.label)
        .join(SnapshotMemberRow, SnapshotMemberRow.example_hash == ExampleRow.hash)
        .where(SnapshotMemberRow.snapshot_id == sid)
    )
    return {row.hash: row.label for row in rows}


def get_examples(session: Session, hashes: Collection[str]) -> list[Example]:
    """The stored examples of ``hashes``, ordered by hash; unknown hashes are skipped."""
    ordered = sorted(set(hashes))
    found = []
    for start in range(0, len(ordered), _LOOKUP_BATCH):
        batch = ordered[start : start + _LOOKUP_BATCH]
        rows = session.execute(
            select(ExampleRow.text, ExampleRow.label, ExampleRow.original, ExampleRow.meta)
            .where(ExampleRow.hash.in_(batch))
            .order_by(ExampleRow.hash)
        )
        found += [_example(row.text, row.label, row.original, row.meta) for row in rows]
    return found


def _example(text: str, label: str, original: str, meta: dict[str, Any]) -> Example:
    return Example(
        text=text,
        label=label,
        original=original,
        source=meta.get("source"),
        line=meta.get("line"),
        timestamp=meta.get("timestamp"),
        meta=dict(meta.get("meta") or {}),
    )


def list_snapshots(session: Session) -> list[SnapshotInfo]:
    rows = session.scalars(select(SnapshotRow).order_by(SnapshotRow.created_at, SnapshotRow.id))
    return [row.to_entity() for row in rows]


def snapshot_problems(session: Session) -> list[str]:
    """Snapshots whose recorded size disagrees with their members, or with their files' rows
    (a half-written snapshot)."""
    members = (
        select(SnapshotMemberRow.snapshot_id, func.count().label("n"))
        .group_by(SnapshotMemberRow.snapshot_id)
        .subquery()
    )
    files = (
        select(SnapshotFileRow.snapshot_id, func.sum(SnapshotFileRow.rows).label("n"))
        .group_by(SnapshotFileRow.snapshot_id)
        .subquery()
    )
    rows = session.execute(
        select(SnapshotRow.id, SnapshotRow.kind, SnapshotRow.size, members.c.n, files.c.n)
        .outerjoin(members, members.c.snapshot_id == SnapshotRow.id)
        .outerjoin(files, files.c.snapshot_id == SnapshotRow.id)
    )
    problems = []
    for sid, kind, size, n_members, n_rows in rows:
        found = int(n_rows or 0) if kind == "files" else int(n_members or 0)
        if size != found:
            what = "rows in its files" if kind == "files" else "examples"
            problems.append(f"snapshot {sid} records {size} {what} but has {found}")
    return problems


def _insert_ignoring_duplicates(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    # imported here: only writes need them, and the PostgreSQL dialect would slow every read
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Base.metadata.tables[table]).on_conflict_do_nothing()
    for start in range(0, len(rows), _BATCH):
        session.execute(statement, rows[start : start + _BATCH])


def _stored_hashes(session: Session, hashes: list[str]) -> set[str]:
    """Which of ``hashes`` the examples table already holds.

    An update's snapshot is mostly its parent's examples: building and sending their rows for
    the insert to ignore was most of its 0.9 s on 15,000 examples, asking which are stored
    a few hundredths. Examples are never deleted, so the ones found stay stored.
    """
    found: set[str] = set()
    for start in range(0, len(hashes), _LOOKUP_BATCH):
        batch = hashes[start : start + _LOOKUP_BATCH]
        found.update(session.scalars(select(ExampleRow.hash).where(ExampleRow.hash.in_(batch))))
    return found


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
