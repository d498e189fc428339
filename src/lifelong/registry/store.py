"""The abstract registry store: versions, aliases with history, data snapshots.

One interface, several back ends (SQLite for a laptop, PostgreSQL for a team); the contract test
suite runs every implementation through the same checks. The store keeps records only; artifact
files live in an :class:`~lifelong.registry.artifacts.ArtifactStore`.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from lifelong.core.types import Example, FileManifest
from lifelong.registry.entities import (
    AliasGuard,
    AliasMove,
    CycleRecord,
    ModelVersion,
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
)


class ReadStore(abc.ABC):
    """The reads of the read commands (``models list``/``show``, ``lineage``, ``history``).

    Every :class:`RegistryStore` is one; :class:`~lifelong.registry.sqlite_reader.SqliteReader`
    is one that needs only the standard library, so those commands start without SQLAlchemy.
    """

    @abc.abstractmethod
    def get_version(self, label: str) -> ModelVersion:
        """The version ``MAJOR.MINOR``; :class:`NotFound` if there is none."""

    @abc.abstractmethod
    def list_versions(self) -> list[ModelVersion]:
        """Every version, deleted tombstones included, ordered by (major, minor)."""

    @abc.abstractmethod
    def aliases(self) -> dict[str, str]:
        """Alias name -> version label."""

    @abc.abstractmethod
    def alias_history(self, name: str | None = None) -> list[AliasMove]:
        """Recorded moves, oldest first, of one alias or of all."""

    @abc.abstractmethod
    def list_cycles(self, limit: int | None = None) -> list[CycleRecord]:
        """Cycles, oldest first; with ``limit`` only the newest ``limit``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""


class RegistryStore(ReadStore):
    """Records of versions, aliases and snapshots; every write is one atomic transaction."""

    # -- versions -------------------------------------------------------------------------

    @abc.abstractmethod
    def create_version(self, spec: VersionSpec) -> ModelVersion:
        """Allocate the next number and record ``spec``.

        A spec without parent opens a new major (``max + 1``, minor 0); with a parent it takes
        the parent's major and its next free minor. Concurrent callers never get one number.
        """

    @abc.abstractmethod
    def set_verdict(self, label: str, verdict: dict[str, Any]) -> ModelVersion:
        """Attach the gate's verdict (the one field filled after registration)."""

    @abc.abstractmethod
    def update_metrics(self, label: str, metrics: dict[str, Any]) -> ModelVersion:
        """Merge evaluation results computed after registration into the version's metrics."""

    @abc.abstractmethod
    def set_status(self, label: str, status: VersionStatus) -> ModelVersion:
        """Mark a version ``pruned`` (artifact dropped) or ``deleted`` (removed by the user)."""

    # -- aliases --------------------------------------------------------------------------

    @abc.abstractmethod
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
        """Point ``name`` at ``label`` and record the move (as ``kind``), atomically.

        ``guard`` sees the alias's current version under the same lock as the move and may
        refuse it by raising.
        """

    @abc.abstractmethod
    def remove_alias(self, name: str, *, reason: str, command: str) -> AliasMove:
        """Remove ``name`` (recorded as a move to nothing)."""

    @abc.abstractmethod
    def rollback(self, name: str, *, reason: str, command: str) -> AliasMove:
        """Move ``name`` back to the version it pointed at before its latest promotion.

        Rollbacks undo promotions one at a time, so two rollbacks after three promotions give
        the first promotion's version, never an oscillation between the last two.
        """

    # -- snapshots ------------------------------------------------------------------------

    @abc.abstractmethod
    def put_snapshot(
        self, examples: Sequence[Example], *, parent: str | None = None
    ) -> SnapshotInfo:
        """Store a content-addressed snapshot; the same examples give the same id, once."""

    @abc.abstractmethod
    def put_file_snapshot(
        self, files: Sequence[FileManifest], *, parent: str | None = None
    ) -> SnapshotInfo:
        """Store a snapshot of data files (large data, see :class:`FileManifest`); the same
        files give the same id, once."""

    @abc.abstractmethod
    def get_snapshot_files(self, snapshot_id: str) -> list[FileManifest]:
        """The files of a snapshot of files, by path (none for a snapshot of examples)."""

    @abc.abstractmethod
    def get_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        """The snapshot ``snapshot_id``; :class:`NotFound` if there is none."""

    @abc.abstractmethod
    def get_snapshot_examples(self, snapshot_id: str) -> list[Example]:
        """The examples of a snapshot, ordered by hash (a stable order)."""

    @abc.abstractmethod
    def get_snapshot_labels(self, snapshot_id: str) -> dict[str, str]:
        """Example hash -> label of a snapshot's examples (none for a snapshot of files)."""

    @abc.abstractmethod
    def get_examples(self, hashes: Collection[str]) -> list[Example]:
        """The stored examples of ``hashes`` (unknown hashes skipped), ordered by hash."""

    @abc.abstractmethod
    def list_snapshots(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest first."""

    @abc.abstractmethod
    def latest_snapshot(self) -> SnapshotInfo | None:
        """The newest snapshot, or ``None`` in an empty store."""

    # -- prediction log -------------------------------------------------------------------

    @abc.abstractmethod
    def log_predictions(self, rows: Sequence[PredictionRecord]) -> None:
        """Append served predictions (one transaction for the whole batch)."""

    @abc.abstractmethod
    def recent_predictions(
        self,
        *,
        limit: int | None = None,
        since: datetime | None = None,
        version: str | None = None,
    ) -> list[PredictionRecord]:
        """The newest ``limit`` predictions logged at or after ``since`` (of ``version`` only,
        if given), oldest first; shadow rows included (``shadow_of`` set)."""

    @abc.abstractmethod
    def prediction(self, prediction_id: str) -> PredictionRecord | None:
        """The logged prediction with this id, or ``None`` (never logged, or pruned)."""

    @abc.abstractmethod
    def prune_predictions(
        self, *, keep_rows: int | None = None, older_than: datetime | None = None
    ) -> int:
        """Keep the newest ``keep_rows`` predictions and drop those before ``older_than``;
        returns how many rows were deleted."""

    @abc.abstractmethod
    def prediction_span(self, newest: int | None = None) -> tuple[datetime, datetime, int] | None:
        """First and last logging time and the number of logged rows (``None``: none); with
        ``newest``, the first time is that of the ``newest``-th newest row."""

    @abc.abstractmethod
    def prediction_traffic(self, *, since: datetime, width: timedelta) -> list[TrafficBucket]:
        """Primary predictions per version in buckets of ``width`` from ``since``, summed by
        the database (a dashboard reads a handful of rows, not the log)."""

    @abc.abstractmethod
    def confidence_histogram(
        self, *, since: datetime, bins: int = 20, version: str | None = None
    ) -> list[int]:
        """Counts of primary predictions since ``since`` in ``bins`` equal confidence bins."""

    @abc.abstractmethod
    def shadow_agreement(self, *, since: datetime, width: timedelta) -> list[ShadowBucket]:
        """Shadow/primary pairs since ``since`` per bucket of ``width``, and how many agreed."""

    # -- continual loop -------------------------------------------------------------------

    @abc.abstractmethod
    def record_cycle(self, record: CycleRecord) -> CycleRecord:
        """Append a cycle to the history (``record.id`` is ignored and assigned)."""

    # -- review queue ---------------------------------------------------------------------

    @abc.abstractmethod
    def hold_for_review(self, specs: Sequence[ReviewSpec]) -> list[ReviewItem]:
        """Queue the specs whose example (``example_hash``) was never queued; return those.

        An example already in the queue, whatever its status, is not queued again: redelivery
        after a crash is harmless and a rejected example stays rejected.
        """

    @abc.abstractmethod
    def review_items(
        self, *, status: ReviewStatus | None = None, ids: Sequence[int] | None = None
    ) -> list[ReviewItem]:
        """Queued items, oldest first; only those of ``status`` and/or ``ids`` if given."""

    @abc.abstractmethod
    def decide_review(
        self, ids: Sequence[int], status: ReviewStatus, *, note: str = ""
    ) -> list[ReviewItem]:
        """Mark the still-pending items of ``ids`` ``accepted`` or ``rejected``; return them
        (an id already decided, or unknown, is left out)."""

    # -- lifecycle ------------------------------------------------------------------------

    @abc.abstractmethod
    def check(self) -> list[str]:
        """Consistency problems of the records (empty when all is well)."""
