"""What the registry hands out: frozen records, detached from any database session.

Callers (training pipeline, CLI, server) never see ORM rows, so a record stays valid after its
session is closed and cannot be changed by accident: versions are immutable once registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from lifelong.core.errors import NotFound

EdgeKind = Literal["finetune", "compress", "distill"]
EDGE_KINDS: tuple[EdgeKind, ...] = ("finetune", "compress", "distill")

VersionStatus = Literal["candidate", "pruned", "deleted"]
"""``candidate``: artifact on disk; ``pruned``: artifact dropped by gc, row and lineage kept;
``deleted``: removed by ``models rm`` (a tombstone, so numbers are never reused and the lineage
of its descendants stays whole)."""

MoveKind = Literal["set", "forced", "rollback", "remove"]
"""``set``: a move the rules allowed; ``forced``: a champion promotion that overrode the gate's
verdict (``--force``, with a reason); ``rollback`` and ``remove`` as named."""

SetKind = Literal["set", "forced"]
"""The kinds a direct move (not a rollback or removal) is recorded as."""

AliasGuard = Callable[[str | None], None]
"""Called with an alias's current version under the alias's row lock, just before it moves;
raising refuses the move (so a check and the move it allows are one atomic step)."""

ReviewStatus = Literal["pending", "accepted", "rejected"]
"""``pending``: held, trains nothing; ``accepted``: written into the data once; ``rejected``:
kept for the audit, never trained."""

CHAMPION = "champion"
CHALLENGER = "challenger"

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def parse_version(label: str) -> tuple[int, int]:
    """Split ``"MAJOR.MINOR"`` into integers.

    >>> parse_version("1.12")
    (1, 12)
    """
    match = _VERSION.match(label.strip())
    if match is None:
        raise NotFound(
            f"{label!r} is not a version: expected MAJOR.MINOR such as 1.2",
            hint="`lifelong models list` shows the versions",
        )
    return int(match[1]), int(match[2])


def is_version_label(text: str) -> bool:
    """True for ``"1.2"``, false for an alias name such as ``"champion"``."""
    return _VERSION.match(text.strip()) is not None


def version_label(major: int, minor: int) -> str:
    """``"MAJOR.MINOR"``; the inverse of :func:`parse_version`."""
    return f"{major}.{minor}"


def unknown_version(label: str) -> NotFound:
    """The error for a version that has no record (every reader raises this one)."""
    return NotFound(f"version {label} does not exist", hint="`lifelong models list` shows versions")


@dataclass(frozen=True)
class ArtifactFile:
    """One file of an artifact bundle as recorded in its manifest."""

    sha256: str
    size: int


@dataclass(frozen=True)
class VersionSpec:
    """Everything a caller says about a new version; the store adds number, time and host.

    Parameters
    ----------
    artifact_id
        Content address returned by :meth:`ArtifactStore.put`.
    artifact_files
        The artifact's manifest (file name -> hash and size), kept in the row so a lost
        artifact folder can still be identified.
    parent
        Label of the version this one was updated from; ``None`` for a cold training, which
        opens a new major.
    edge
        How it came from ``parent``; required exactly when ``parent`` is given.
    config
        The resolved configuration (after overrides), so a version can be reproduced.
    snapshot_id
        The data snapshot it was trained on (see :meth:`RegistryStore.put_snapshot`).
    data_diff
        What changed in the data since the parent (examples, labels added and removed).
    metrics, timings, training
        Evaluation results; seconds spent in featurize/train/evaluate; how training started
        (init strategy and its parameters, labels added or removed, epochs).
    notes
        Free text from the user.
    """

    artifact_id: str
    artifact_files: dict[str, ArtifactFile]
    snapshot_id: str
    config: dict[str, Any]
    parent: str | None = None
    edge: EdgeKind | None = None
    data_diff: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class ModelVersion:
    """One registered model: where it came from, what it saw, how good it was."""

    major: int
    minor: int
    parent: str | None
    edge: EdgeKind | None
    status: VersionStatus
    config: dict[str, Any]
    snapshot_id: str
    data_diff: dict[str, Any]
    metrics: dict[str, Any]
    timings: dict[str, float]
    training: dict[str, Any]
    artifact_id: str
    artifact_files: dict[str, ArtifactFile]
    created_at: datetime
    host: str
    lifelong_version: str
    notes: str
    verdict: dict[str, Any] | None

    @property
    def label(self) -> str:
        """``"MAJOR.MINOR"``."""
        return version_label(self.major, self.minor)

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: numeric, so 1.10 comes after 1.9."""
        return self.major, self.minor

    def to_dict(self) -> dict[str, Any]:
        """The whole record as JSON-safe values (``models show --json``)."""
        return {
            "version": self.label,
            "major": self.major,
            "minor": self.minor,
            "parent": self.parent,
            "edge": self.edge,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "host": self.host,
            "lifelong_version": self.lifelong_version,
            "snapshot_id": self.snapshot_id,
            "artifact_id": self.artifact_id,
            "artifact_files": {
                name: {"sha256": f.sha256, "size": f.size}
                for name, f in sorted(self.artifact_files.items())
            },
            "config": self.config,
            "data_diff": self.data_diff,
            "metrics": self.metrics,
            "timings": self.timings,
            "training": self.training,
            "verdict": self.verdict,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class AliasMove:
    """One recorded move of an alias: when, from where to where, why, by which command."""

    id: int
    alias: str
    from_version: str | None
    to_version: str | None
    kind: MoveKind
    reason: str
    command: str
    at: datetime


@dataclass(frozen=True)
class SnapshotInfo:
    """A content-addressed data snapshot (its examples, or its files, are fetched separately).

    ``kind`` is ``examples`` for a snapshot that stores each example, ``files`` for one of data
    too large for that, which stores a :class:`~lifelong.core.types.FileManifest` per file;
    ``size`` counts rows either way.
    """

    id: str
    size: int
    label_counts: dict[str, int]
    created_at: datetime
    parent: str | None
    kind: str = "examples"


class PredictionRecord(NamedTuple):
    """One served prediction, as the server logs it for drift monitoring and shadow reports.

    ``text`` is kept only when the server is configured to (``server.log_text``); the hash
    (HMAC-SHA256 of the normalized text under the project's secret key) always is, so
    predictions can be joined without the text. Rows logged before the key existed hold a
    plain sha256, which matches no keyed hash.
    A shadow model's row names the primary prediction it shadows in ``shadow_of``.
    A regression model's row holds its predicted number in ``value`` (its ``intent`` is the
    one output's name and its confidence 1); a classifier's, and rows logged before the log
    kept values, have ``None``.

    A named tuple rather than a frozen dataclass: the server makes one for every text it
    answers, on the event loop, and a frozen dataclass costs twice as much to build (each
    field is set through ``object.__setattr__``).
    """

    prediction_id: str
    at: datetime
    text_hash: str
    version: str
    intent: str
    confidence: float
    latency_ms: float
    text: str | None = None
    shadow_of: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class CycleRecord:
    """One pass of the continual loop, as ``lifelong history`` shows it.

    ``outcome`` is ``promoted``, ``rejected``, ``nothing`` (no trigger fired), ``dry-run`` or
    ``error``. ``trigger`` holds every trigger's figures and which fired; ``data`` what was
    ingested (with ``resumed``: what the cycle finished of a killed run's promotion, and
    ``removed_temp``: the leftovers it removed); ``strategy`` how the update was chosen;
    ``durations`` seconds per stage.
    """

    id: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    trigger: dict[str, Any]
    data: dict[str, Any]
    strategy: dict[str, Any]
    versions: list[str]
    champion: str | None
    durations: dict[str, float]
    error: str


@dataclass(frozen=True)
class ReviewSpec:
    """An incoming example held for a person to decide on instead of entering training.

    ``text`` is as the source sent it, ``intent`` the label it proposes, ``current`` the label
    the data has for the same text (a relabel), ``reason`` why it is held (``relabel``,
    ``unknown-intent``, ``too-few-examples``), ``detail`` a JSON-safe explanation and what the
    source knew (prediction id, the source file and line). ``example_hash`` is the content hash
    of text and proposed label: the same example is held once, however often it is delivered.
    """

    text: str
    intent: str
    example_hash: str
    reason: str
    source: str
    current: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewItem(ReviewSpec):
    """A held example with its place in the queue and the decision taken on it."""

    id: int = 0
    status: ReviewStatus = "pending"
    created_at: datetime | None = None
    decided_at: datetime | None = None
    note: str = ""


class TrafficBucket(NamedTuple):
    """Served (primary) predictions of one version in one time bucket of the prediction log."""

    start: datetime
    version: str
    predictions: int
    mean_confidence: float


class ShadowBucket(NamedTuple):
    """Shadow rows paired with their primary in one time bucket, and how many agreed."""

    start: datetime
    pairs: int
    agreed: int
