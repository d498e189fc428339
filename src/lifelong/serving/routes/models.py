"""``GET /models``: which version serves, the aliases, and the champion's lineage.

Anyone who reaches the server may ask, so the answer is what a client needs to know which
model answered it: versions, aliases, how each version came from its parent, and its test
accuracy. The rest of a version's record (confusion matrices and per-intent figures, the
gate's verdict, the drift reference window of confidences, the data snapshot id) tells an
attacker which intents are weak and how the gate decides; it is for the admin token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lifelong.registry import ModelVersion
from lifelong.serving.deps import IsAdminDep, ServicesDep
from lifelong.serving.openapi import errors

router = APIRouter(tags=["models"])


def public_entry(version: ModelVersion) -> dict[str, Any]:
    """What anyone may know of a version of the lineage."""
    return {
        "version": version.label,
        "parent": version.parent,
        "edge": version.edge,
        "created_at": version.created_at.isoformat(),
        "accuracy": version.metrics.get("accuracy"),
    }


def admin_entry(version: ModelVersion) -> dict[str, Any]:
    """A version's whole record: metrics as stored, verdict, snapshot."""
    return {
        **public_entry(version),
        "snapshot_id": version.snapshot_id,
        "metrics": version.metrics,
        "verdict": version.verdict,
    }


@router.get(
    "/models",
    responses=errors((401, "a wrong admin token (no Authorization header is answered as anyone)")),
    openapi_extra={"security": [{}]},  # added to the bearer scheme's: the token is optional
)
def models(services: ServicesDep, admin: IsAdminDep) -> dict[str, Any]:
    """The served version, the champion alias, challengers (every other alias) and the
    champion's lineage from its cold root down: version, parent, edge, created_at and test
    accuracy; with ``Authorization: Bearer <admin token>`` also each version's metrics,
    verdict and snapshot id."""
    registry = services.registry
    aliases = registry.store.aliases()
    champion = aliases.get(services.settings.alias)
    entry = admin_entry if admin else public_entry
    lineage = []
    if champion is not None:
        chain = [*reversed(registry.ancestors(champion)), registry.resolve(champion)]
        lineage = [entry(v) for v in chain]
    model = services.champion.current
    return {
        "serving": None if model is None else model.version,
        "champion": champion,
        "challengers": {n: v for n, v in aliases.items() if n != services.settings.alias},
        "aliases": aliases,
        "lineage": lineage,
    }
