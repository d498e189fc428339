"""Model registry with lineage: every model, where it came from, what it saw, which one serves.

Open it with :func:`open_registry` (SQLite file or PostgreSQL URL, plus an artifacts folder);
the schema is migrated on open. See :class:`Registry` for what the pipeline and CLI call.
"""

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
from lifelong.registry.registry import Registry, open_registry
from lifelong.registry.store import RegistryStore

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
    "Registry",
    "RegistryStore",
    "ReviewItem",
    "ReviewSpec",
    "ReviewStatus",
    "ShadowBucket",
    "SnapshotInfo",
    "TrafficBucket",
    "VersionSpec",
    "VersionStatus",
    "open_registry",
    "parse_version",
    "promote",
    "verdict_refusal",
    "version_label",
]
