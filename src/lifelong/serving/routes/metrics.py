"""``GET /metrics``: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from lifelong.serving.deps import ServicesDep
from lifelong.serving.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """Request counts and latency by route, confidences, the serving versions, log rows."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
