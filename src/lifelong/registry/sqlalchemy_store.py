"""The registry store on SQLAlchemy 2: SQLite by default, PostgreSQL by URL.

Every write is one transaction. Version numbers are allocated inside it and guarded by the
unique constraint on (major, minor): on PostgreSQL two writers may compute the same number, the
second insert then fails and the whole transaction is retried with a fresh read; on SQLite
writers are serialized by ``BEGIN IMMEDIATE`` (see :mod:`lifelong.registry.engine`). Alias moves
lock the alias row (``SELECT ... FOR UPDATE``) so a move and its history entry are never lost.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lifelong import __version__
from lifelong.core.errors import NotFound, RegistryError
from lifelong.core.types import Example, FileManifest
from lifelong.registry import sql_predictions, sql_review, sql_snapshots, sql_traffic
from lifelong.registry.dbmodels import AliasMoveRow, AliasRow, CycleRow, SnapshotRow, VersionRow
from lifelong.registry.engine import WRITE_OPTION
from lifelong.registry.entities import (
    EDGE_KINDS,
    AliasGuard,
    AliasMove,
    CycleRecord,
    ModelVersion,
    MoveKind,
    PredictionRecord,
    ReviewItem,
    ReviewSpec,
    ReviewStatus,
    SetKind,
    ShadowBucket,
    SnapshotInfo,
    TrafficBucket,
    VersionSpec,
    VersionStatus,
    parse_version,
    unknown_version,
    version_label,
)
from lifelong.registry.store import RegistryStore

T = TypeVar("T")
_RETRIES = 20


class SqlAlchemyStore(RegistryStore):
    """:class:`RegistryStore` over an SQLAlchemy engine whose schema is at head.

    Open it with :func:`lifelong.registry.open_registry`, which migrates the schema first.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _write(self, work: Callable[[Session], T], *, retries: int = _RETRIES) -> T:
        """Run ``work`` in a write transaction, retrying it when a unique key collides."""
        for attempt in range(retries):
            try:
                with (
                    Session(self._write_engine, expire_on_commit=False) as session,
                    session.begin(),
                ):
                    result = work(session)
                    session.flush()
                return result
            except IntegrityError:
                if attempt == retries - 1:
                    raise
                time.sleep(random.uniform(0.0, 0.01 * (attempt + 1)))
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _version_row(session: Session, label: str, *, lock: bool = False) -> VersionRow:
        major, minor = parse_version(label)
        query = select(VersionRow).where(VersionRow.major == major, VersionRow.minor == minor)
        row = session.scalars(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise unknown_version(label)
        return row

    # -- versions -------------------------------------------------------------------------

    def create_version(self, spec: VersionSpec) -> ModelVersion:
        if (spec.parent is None) != (spec.edge is None):
            raise RegistryError(
                f"parent {spec.parent!r} and edge {spec.edge!r}: give both (an update) or "
                "neither (a cold training)"
            )
        if spec.edge is not None and spec.edge not in EDGE_KINDS:
            raise RegistryError(f"edge {spec.edge!r} is not one of {', '.join(EDGE_KINDS)}")

        def work(session: Session) -> ModelVersion:
            if session.get(SnapshotRow, spec.snapshot_id) is None:
                raise NotFound(
                    f"snapshot {spec.snapshot_id} does not exist",
                    hint="store the training data with put_snapshot() before registering",
                )
            if spec.parent is None:
                top = session.scalar(select(func.max(VersionRow.major)))
                major, minor = (top or 0) + 1, 0
                parent: tuple[int | None, int | None] = (None, None)
            else:
                parent_row = self._version_row(session, spec.parent)
                major = parent_row.major
                top = session.scalar(
                    select(func.max(VersionRow.minor)).where(VersionRow.major == major)
                )
                minor = (top or 0) + 1
                parent = (parent_row.major, parent_row.minor)
            row = VersionRow(
                major=major,
                minor=minor,
                parent_major=parent[0],
                parent_minor=parent[1],
                edge=spec.edge,
                status="candidate",
                config=spec.config,
                snapshot_id=spec.snapshot_id,
                data_diff=spec.data_diff,
                metrics=spec.metrics,
                timings=spec.timings,
                training=spec.training,
                artifact_id=spec.artifact_id,
                artifact_files={k: asdict(v) for k, v in spec.artifact_files.items()},
                created_at=datetime.now(UTC),
                host=socket.gethostname(),
                lifelong_version=__version__,
                notes=spec.notes,
                verdict=None,
            )
            session.add(row)
            session.flush()
            return row.to_entity()

        return self._write(work)

    def get_version(self, label: str) -> ModelVersion:
        with self._read() as session:
            return self._version_row(session, label).to_entity()

    def list_versions(self) -> list[ModelVersion]:
        with self._read() as session:
            rows = session.scalars(select(VersionRow).order_by(VersionRow.major, VersionRow.minor))
            return [row.to_entity() for row in rows]

    def _update(self, label: str, change: Callable[[VersionRow], None]) -> ModelVersion:
        def work(session: Session) -> ModelVersion:
            row = self._version_row(session, label, lock=True)
            change(row)
            session.flush()
            return row.to_entity()

        return self._write(work)

    def set_verdict(self, label: str, verdict: dict[str, Any]) -> ModelVersion:
        def change(row: VersionRow) -> None:
            row.verdict = verdict

        return self._update(label, change)

    def update_metrics(self, label: str, metrics: dict[str, Any]) -> ModelVersion:
        def change(row: VersionRow) -> None:
            row.metrics = {**row.metrics, **metrics}

        return self._update(label, change)

    def set_status(self, label: str, status: VersionStatus) -> ModelVersion:
        def change(row: VersionRow) -> None:
            row.status = status

        return self._update(label, change)

    # -- aliases --------------------------------------------------------------------------

    def _move(
        self,
        name: str,
        label: str | None,
        kind: MoveKind,
        reason: str,
        command: str,
        choose: Callable[[Session, str | None], str | None] | None = None,
        guard: AliasGuard | None = None,
    ) -> AliasMove:
        """Move alias ``name`` (to ``label``, or to what ``choose`` picks under the lock)."""

        def work(session: Session) -> AliasMove:
            alias = session.scalars(
                select(AliasRow).where(AliasRow.name == name).with_for_update()
            ).one_or_none()
            current = None if alias is None else version_label(alias.major, alias.minor)
            if guard is not None:
                guard(current)
            target = label if choose is None else choose(session, current)
            now = datetime.now(UTC)
            if target is None:
                if alias is None:
                    raise NotFound(f"alias {name!r} does not exist")
                session.delete(alias)
            else:
                row = self._version_row(session, target)
                if row.status != "candidate":
                    raise RegistryError(
                        f"cannot point {name!r} at version {target}: it is {row.status} "
                        "(its artifact is gone)",
                        hint="promote a version listed as candidate in `lifelong models list`",
                    )
                if alias is None:
                    session.add(
                        AliasRow(name=name, major=row.major, minor=row.minor, updated_at=now)
                    )
                else:
                    alias.major, alias.minor, alias.updated_at = row.major, row.minor, now
            move = AliasMoveRow(
                alias=name,
                from_version=current,
                to_version=target,
                kind=kind,
                reason=reason,
                command=command,
                at=now,
            )
            session.add(move)
            session.flush()
            return move.to_entity()

        return self._write(work)

    def set_alias(
        self,
        name: str,
        label: str,
        *,
        reason: str,
        command: str,
        kind: SetKind = "set",
        guard: AliasGuard | None = None,
    ) -> AliasMove:
        return self._move(name, label, kind, reason, command, guard=guard)

    def remove_alias(self, name: str, *, reason: str, command: str) -> AliasMove:
        return self._move(name, None, "remove", reason, command)

    def rollback(self, name: str, *, reason: str, command: str) -> AliasMove:
        def choose(session: Session, current: str | None) -> str | None:
            moves = session.scalars(
                select(AliasMoveRow).where(AliasMoveRow.alias == name).order_by(AliasMoveRow.id)
            )
            stack = promotion_stack([m.to_entity() for m in moves])
            if len(stack) < 2 or stack[-2] is None:
                raise RegistryError(
                    f"nothing to roll back to: alias {name!r} has no earlier version in its "
                    "history",
                    hint="promote a version explicitly: `lifelong models promote V --reason ...`",
                )
            return stack[-2]

        return self._move(name, None, "rollback", reason, command, choose)

    def aliases(self) -> dict[str, str]:
        with self._read() as session:
            rows = session.scalars(select(AliasRow).order_by(AliasRow.name))
            return {row.name: version_label(row.major, row.minor) for row in rows}

    def alias_history(self, name: str | None = None) -> list[AliasMove]:
        with self._read() as session:
            query = select(AliasMoveRow).order_by(AliasMoveRow.id)
            if name is not None:
                query = query.where(AliasMoveRow.alias == name)
            return [row.to_entity() for row in session.scalars(query)]

    # -- snapshots ------------------------------------------------------------------------

    def put_snapshot(
        self, examples: Sequence[Example], *, parent: str | None = None
    ) -> SnapshotInfo:
        return self._write(lambda session: sql_snapshots.put_snapshot(session, examples, parent))

    def put_file_snapshot(
        self, files: Sequence[FileManifest], *, parent: str | None = None
    ) -> SnapshotInfo:
        return self._write(lambda session: sql_snapshots.put_file_snapshot(session, files, parent))

    def get_snapshot_files(self, snapshot_id: str) -> list[FileManifest]:
        with self._read() as session:
            return sql_snapshots.get_snapshot_files(session, snapshot_id)

    def get_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        with self._read() as session:
            return sql_snapshots.get_snapshot(session, snapshot_id)

    def get_snapshot_examples(self, snapshot_id: str) -> list[Example]:
        with self._read() as session:
            return sql_snapshots.get_snapshot_examples(session, snapshot_id)

    def get_snapshot_labels(self, snapshot_id: str) -> dict[str, str]:
        with self._read() as session:
            return sql_snapshots.get_snapshot_labels(session, snapshot_id)

    def get_examples(self, hashes: Collection[str]) -> list[Example]:
        with self._read() as session:
            return sql_snapshots.get_examples(session, hashes)

    def list_snapshots(self) -> list[SnapshotInfo]:
        with self._read() as session:
            return sql_snapshots.list_snapshots(session)

    def latest_snapshot(self) -> SnapshotInfo | None:
        snapshots = self.list_snapshots()
        return snapshots[-1] if snapshots else None

    # -- prediction log -------------------------------------------------------------------

    def log_predictions(self, rows: Sequence[PredictionRecord]) -> None:
        # A collision here is a duplicate prediction id (a bug), not a race worth retrying.
        self._write(lambda session: sql_predictions.log_predictions(session, rows), retries=1)

    def recent_predictions(
        self,
        *,
        limit: int | None = None,
        since: datetime | None = None,
        version: str | None = None,
    ) -> list[PredictionRecord]:
        with self._read() as session:
            return sql_predictions.recent_predictions(
                session, limit=limit, since=since, version=version
            )

    def prediction(self, prediction_id: str) -> PredictionRecord | None:
        with self._read() as session:
            return sql_predictions.prediction(session, prediction_id)

    def prune_predictions(
        self, *, keep_rows: int | None = None, older_than: datetime | None = None
    ) -> int:
        return self._write(
            lambda session: sql_predictions.prune_predictions(
                session, keep_rows=keep_rows, older_than=older_than
            )
        )

    def prediction_span(self, newest: int | None = None) -> tuple[datetime, datetime, int] | None:
        with self._read() as session:
            return sql_traffic.span(session, newest)

    def prediction_traffic(self, *, since: datetime, width: timedelta) -> list[TrafficBucket]:
        with self._read() as session:
            return sql_traffic.traffic(session, since=since, width=width)

    def confidence_histogram(
        self, *, since: datetime, bins: int = 20, version: str | None = None
    ) -> list[int]:
        with self._read() as session:
            return sql_traffic.confidence_histogram(
                session, since=since, bins=bins, version=version
            )

    def shadow_agreement(self, *, since: datetime, width: timedelta) -> list[ShadowBucket]:
        with self._read() as session:
            return sql_traffic.shadow_agreement(session, since=since, width=width)

    # -- continual loop -------------------------------------------------------------------

    def record_cycle(self, record: CycleRecord) -> CycleRecord:
        def work(session: Session) -> CycleRecord:
            row = CycleRow(
                started_at=record.started_at,
                finished_at=record.finished_at,
                outcome=record.outcome,
                trigger=record.trigger,
                data=record.data,
                strategy=record.strategy,
                versions={"labels": list(record.versions)},
                champion=record.champion,
                durations=record.durations,
                error=record.error,
            )
            session.add(row)
            session.flush()
            return row.to_entity()

        return self._write(work)

    def list_cycles(self, limit: int | None = None) -> list[CycleRecord]:
        with self._read() as session:
            query = select(CycleRow).order_by(CycleRow.id.desc())
            if limit is not None:
                query = query.limit(limit)
            rows = [row.to_entity() for row in session.scalars(query)]
        return rows[::-1]

    # -- review queue ---------------------------------------------------------------------

    def hold_for_review(self, specs: Sequence[ReviewSpec]) -> list[ReviewItem]:
        # A collision is another writer holding the same example: the retry then skips it.
        return self._write(lambda session: sql_review.hold(session, specs))

    def review_items(
        self, *, status: ReviewStatus | None = None, ids: Sequence[int] | None = None
    ) -> list[ReviewItem]:
        with self._read() as session:
            return sql_review.items(session, status=status, ids=ids)

    def decide_review(
        self, ids: Sequence[int], status: ReviewStatus, *, note: str = ""
    ) -> list[ReviewItem]:
        if status == "pending":
            raise RegistryError("a review decision is `accepted` or `rejected`, not `pending`")
        return self._write(lambda session: sql_review.decide(session, ids, status, note))

    # -- lifecycle ------------------------------------------------------------------------

    def check(self) -> list[str]:
        with self._read() as session:
            problems = sql_snapshots.snapshot_problems(session)
        versions = self.list_versions()
        problems += version_problems(versions)
        by_label = {v.label: v for v in versions}
        history = self.alias_history()
        for name, label in self.aliases().items():
            if by_label[label].status != "candidate":
                problems.append(f"alias {name!r} points at {by_label[label].status} {label}")
            last = [m for m in history if m.alias == name][-1:]
            if not last or last[0].to_version != label:
                problems.append(f"alias {name!r} points at {label} but its history disagrees")
        return problems

    def close(self) -> None:
        self.engine.dispose()


def promotion_stack(moves: Sequence[AliasMove]) -> list[str | None]:
    """Replay an alias's history: promotions push, rollbacks pop; the top is the current value.

    A forced promotion pushes like any other (rolling back undoes it); a removal pushes None.

    >>> from datetime import datetime
    >>> def m(to, kind="set"):
    ...     return AliasMove(0, "champion", None, to, kind, "", "", datetime.now())
    >>> promotion_stack([m("1.0"), m("1.1"), m("1.2"), m("1.1", "rollback")])
    ['1.0', '1.1']
    >>> promotion_stack([m("1.0"), m("2.0", "forced"), m("1.0", "rollback")])
    ['1.0']
    """
    stack: list[str | None] = []
    for move in moves:
        if move.kind == "rollback":
            del stack[-1:]
        else:
            stack.append(move.to_version)
    return stack


def version_problems(versions: Sequence[ModelVersion]) -> list[str]:
    """Numbering and lineage rules every store must keep."""
    problems = []
    labels = {v.label for v in versions}
    for v in versions:
        if (v.parent is None) != (v.edge is None):
            problems.append(f"version {v.label}: parent {v.parent} with edge {v.edge}")
        if v.parent is None and v.minor != 0:
            problems.append(f"version {v.label}: a cold version must have minor 0")
        if v.parent is not None and (
            v.parent not in labels or parse_version(v.parent)[0] != v.major
        ):
            problems.append(f"version {v.label}: parent {v.parent} is not in its major line")
    return problems
