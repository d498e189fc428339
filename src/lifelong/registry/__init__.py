"""Model registry with lineage: every model, where it came from, what it saw, which one serves.

Open it with :func:`open_registry` (SQLite file or PostgreSQL URL, plus an artifacts folder);
the schema is migrated on open. See :class:`Registry` for what the pipeline and CLI call.
Commands that only read open it with :func:`open_reader` instead.

:class:`Registry` and :func:`open_registry` bring SQLAlchemy with them, so they are imported on
first use (:func:`__getattr__`): importing this package, or :func:`open_reader` on an SQLite
store, does not import SQLAlchemy.
"""

from typing import TYPE_CHECKING, Any

from lifelong.registry.artifacts import ArtifactStore
from lifelong.registry.entities import (
    CHALLENGER,
    CHAMPION,
    EDGE_KINDS,
    AliasMove,
    ArtifactFile,
    CycleRecord,
    EdgeKind,
    ModelVersion,
    PredictionRecord,
    ReviewItem,
    ReviewSpec,
    ReviewStatus,
    ShadowBucket,
    SnapshotInfo,
    TrafficBucket,
    VersionSpec,
    VersionStatus,
    parse_version,
    version_label,
)
from lifelong.registry.lineage import LineageNode
from lifelong.registry.promotion import Promotion, PromotionRefused, promote, verdict_refusal
from lifelong.registry.reader import RegistryReader, open_reader
from lifelong.registry.store import ReadStore, RegistryStore

if TYPE_CHECKING:
    from lifelong.registry.registry import Registry, open_registry

_NEEDS_SQLALCHEMY = ("Registry", "open_registry")


def __getattr__(name: str) -> Any:
    """``Registry`` and ``open_registry``, imported (with SQLAlchemy) when first asked for."""
    if name in _NEEDS_SQLALCHEMY:
        from lifelong.registry import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "EDGE_KINDS",
    "AliasMove",
    "ArtifactFile",
    "ArtifactStore",
    "CycleRecord",
    "EdgeKind",
    "LineageNode",
    "ModelVersion",
    "PredictionRecord",
    "Promotion",
    "PromotionRefused",
    "ReadStore",
    "Registry",
    "RegistryReader",
    "RegistryStore",
    "ReviewItem",
    "ReviewSpec",
    "ReviewStatus",
    "ShadowBucket",
    "SnapshotInfo",
    "TrafficBucket",
    "VersionSpec",
    "VersionStatus",
    "open_reader",
    "open_registry",
    "parse_version",
    "promote",
    "verdict_refusal",
    "version_label",
]
