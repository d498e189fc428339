"""The review queue's SQL: hold once per example, list, decide pending items only.

Holding is idempotent by ``example_hash`` (a source that redelivers after a crash, or two
sources sending the same example, hold it once), and a decision changes only items still
pending, so two reviewers deciding at once cannot flip an item the other already decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lifelong.registry.dbmodels import ReviewRow
from lifelong.registry.entities import ReviewItem, ReviewSpec, ReviewStatus


def hold(session: Session, specs: Sequence[ReviewSpec]) -> list[ReviewItem]:
    """Insert the specs whose example is not in the queue yet (in any status)."""
    wanted = {spec.example_hash: spec for spec in specs}
    if not wanted:
        return []
    known = set(
        session.scalars(select(ReviewRow.example_hash).where(ReviewRow.example_hash.in_(wanted)))
    )
    now = datetime.now(UTC)
    rows = [
        ReviewRow(
            example_hash=spec.example_hash,
            text=spec.text,
            intent=spec.intent,
            current=spec.current,
            reason=spec.reason,
            source=spec.source,
            detail=spec.detail,
            status="pending",
            created_at=now,
            decided_at=None,
            note="",
        )
        for key, spec in wanted.items()
        if key not in known
    ]
    session.add_all(rows)
    session.flush()
    return [row.to_entity() for row in rows]


def items(
    session: Session, *, status: ReviewStatus | None, ids: Sequence[int] | None
) -> list[ReviewItem]:
    """Items in queue order, of one status and/or these ids."""
    query = select(ReviewRow).order_by(ReviewRow.id)
    if status is not None:
        query = query.where(ReviewRow.status == status)
    if ids is not None:
        query = query.where(ReviewRow.id.in_(list(ids)))
    return [row.to_entity() for row in session.scalars(query)]


def decide(
    session: Session, ids: Sequence[int], status: ReviewStatus, note: str
) -> list[ReviewItem]:
    """Set the pending ones of ``ids`` to ``status`` (rows locked while deciding)."""
    query = (
        select(ReviewRow)
        .where(ReviewRow.id.in_(list(ids)), ReviewRow.status == "pending")
        .order_by(ReviewRow.id)
        .with_for_update()
    )
    now = datetime.now(UTC)
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.decided_at, row.note = status, now, note
    session.flush()
    return [row.to_entity() for row in rows]
