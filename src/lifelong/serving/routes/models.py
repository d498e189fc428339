"""``GET /models``: which version serves, the aliases, and the champion's lineage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lifelong.serving.deps import ServicesDep

router = APIRouter(tags=["models"])


@router.get("/models")
def models(services: ServicesDep) -> dict[str, Any]:
    """The served version, the champion alias, challengers (every other alias) and the
    champion's lineage from its cold root down (version, parent, edge, metrics, verdict)."""
    registry = services.registry
    aliases = registry.store.aliases()
    champion = aliases.get(services.settings.alias)
    lineage = []
    if champion is not None:
        chain = [*reversed(registry.ancestors(champion)), registry.resolve(champion)]
        lineage = [
            {
                "version": v.label,
                "parent": v.parent,
                "edge": v.edge,
                "created_at": v.created_at.isoformat(),
                "snapshot_id": v.snapshot_id,
                "metrics": v.metrics,
                "verdict": v.verdict,
            }
            for v in chain
        ]
    model = services.champion.current
    return {
        "serving": None if model is None else model.version,
        "champion": champion,
        "challengers": {n: v for n, v in aliases.items() if n != services.settings.alias},
        "aliases": aliases,
        "lineage": lineage,
    }
