"""Admin endpoints: promote, rollback, reload. Bearer token required; off without one.

Promote and rollback move the alias in the registry (recorded with reason and command, as the
CLI does) and then load the new champion at once instead of waiting for the next poll.
Promote goes through :func:`lifelong.registry.promote`, the rules every door shares: the
artifact is verified and the champion needs a current promote verdict (or ``force`` with a
reason, recorded as forced); a refusal is a 409 saying why. Promoting the version already
served is a 200 with ``"changed": false``, so a retried request is harmless.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lifelong.registry import promote as promote_version
from lifelong.serving.deps import AdminDep, ServicesDep
from lifelong.serving.openapi import errors
from lifelong.serving.routes.health import server_state
from lifelong.serving.schemas import PromoteRequest, ReasonRequest
from lifelong.serving.services import Services

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[AdminDep],
    responses=errors(
        (401, "missing or wrong admin token"),
        (404, "admin endpoints are off (no admin token is configured), or no such version"),
    ),
)
_REFUSED = (409, "refused by the registry: the reason and what to do are in the answer")


def _reloaded(services: Services, *, force: bool = False) -> dict[str, Any]:
    services.champion.sync(force=force)
    if services.shadow is not None:
        services.shadow.sync(force=force)
    return server_state(services)


@router.post("/promote", responses=errors(_REFUSED, 422, 507))
def promote(body: PromoteRequest, services: ServicesDep) -> dict[str, Any]:
    """Point the served alias at ``version`` under the promotion rules and load it."""
    done = promote_version(
        services.registry,
        body.version,
        reason=body.reason,
        command="POST /admin/promote" + (" force" if body.force else ""),
        alias=services.settings.alias,
        force=body.force,
    )
    return {**_reloaded(services), "promotion": done.to_dict()}


@router.post("/rollback", responses=errors(_REFUSED, 422, 507))
def rollback(services: ServicesDep, body: ReasonRequest | None = None) -> dict[str, Any]:
    """Move the champion back to the version it held before its latest promotion (the body,
    with its ``reason``, may be left out)."""
    reason = (body or ReasonRequest()).reason
    services.registry.rollback(
        services.settings.alias, reason=reason, command="POST /admin/rollback"
    )
    return _reloaded(services)


@router.post("/reload")
def reload(services: ServicesDep) -> dict[str, Any]:
    """Reload the aliases' versions now (also retries a version refused before)."""
    return _reloaded(services, force=True)
