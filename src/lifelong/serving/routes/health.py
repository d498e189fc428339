"""``GET /health`` (liveness, with the last load failure) and ``GET /ready`` (a model is loaded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from lifelong.serving.deps import ServicesDep, current_model
from lifelong.serving.holder import ModelHolder
from lifelong.serving.openapi import errors
from lifelong.serving.services import Services

router = APIRouter(tags=["health"])


def holder_state(holder: ModelHolder) -> dict[str, Any]:
    """What a holder serves and, if the last load failed, why."""
    model = holder.current
    error = holder.last_error
    if model is None:
        state = "loading" if error is None else "failing"
    else:
        state = "ok" if error is None else "degraded"
    return {
        "status": state,
        "alias": holder.alias,
        "version": None if model is None else model.version,
        "loaded_at": None if model is None else model.loaded_at.isoformat(),
        "last_error": None if error is None else error.to_dict(),
    }


def server_state(services: Services) -> dict[str, Any]:
    """The champion's state, with the shadow's under ``shadow``."""
    state = holder_state(services.champion)
    state["shadow"] = None if services.shadow is None else holder_state(services.shadow)
    return state


@router.get("/health")
def health(services: ServicesDep) -> dict[str, Any]:
    """Always 200 while the process runs. ``status``: ``ok``; ``degraded`` (serving, but the
    newest version was refused: see ``last_error``); ``loading``; ``failing`` (nothing loaded)."""
    return server_state(services)


@router.get("/ready", responses=errors(503))
def ready(services: ServicesDep) -> JSONResponse:
    """200 once a model is loaded (for load balancers and readiness probes), 503 before."""
    model = current_model(services)
    return JSONResponse({"ready": True, "version": model.version})
