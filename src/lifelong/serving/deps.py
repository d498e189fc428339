"""FastAPI dependencies: the running services, the serving model, admin auth, input limits.

The ones on every request are ``async def`` although they never await: FastAPI runs a plain
``def`` dependency in its thread pool, and two thread round trips per request cost more than
everything these functions do (they only read attributes).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lifelong.config import Server
from lifelong.serving.holder import LoadedModel
from lifelong.serving.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_model(services: Services) -> LoadedModel:
    """The model serving now, or 503 while none is loaded."""
    model = services.champion.current
    if model is None:
        error = services.champion.last_error
        why = f": {error.message}" if error is not None else " yet"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no model loaded{why}")
    return model


async def serving_model(services: ServicesDep) -> LoadedModel:
    """The model a request uses from start to end (read once: a swap cannot change it)."""
    return current_model(services)


ModelDep = Annotated[LoadedModel, Depends(serving_model)]

_bearer = HTTPBearer(auto_error=False, description="server.admin_token_env names the variable")


def require_admin(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Admit a request only with ``Authorization: Bearer <token>`` (constant-time compare).

    Without a configured token the admin endpoints do not exist (404), so an unset variable
    never leaves them open.
    """
    expected = services.settings.admin_token
    if expected is None:
        variable = services.settings.server.admin_token_env
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"admin endpoints are off: set {variable} in the server's environment to enable them",
        )
    given = "" if credentials is None else credentials.credentials
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong admin token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)


async def admin_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bool:
    """Whether the caller is the admin, for endpoints that answer everyone but tell the admin
    more. No ``Authorization`` header (or no admin token configured) is an anonymous caller
    (``False``); otherwise the header is checked as :func:`require_admin` checks it (401 when
    wrong), so a mistyped token is not quietly answered as anonymous."""
    if credentials is None or services.settings.admin_token is None:
        return False
    require_admin(services, credentials)
    return True


IsAdminDep = Annotated[bool, Depends(admin_caller)]


def check_texts(texts: Sequence[str], server: Server) -> None:
    """Refuse batches and texts larger than the configured limits (422, naming the limit)."""
    if len(texts) > server.max_batch:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"batch of {len(texts)} texts is over server.max_batch={server.max_batch}: "
            "split it into smaller requests",
        )
    for index, text in enumerate(texts):
        if len(text) > server.max_text_chars:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"text {index} has {len(text)} characters, over "
                f"server.max_text_chars={server.max_text_chars}",
            )
