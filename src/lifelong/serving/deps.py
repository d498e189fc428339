"""FastAPI dependencies: the running services, the serving model, admin and feedback auth,
the feedback rate limit, input limits.

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
from lifelong.serving.rate_limit import retry_after
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
_feedback_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="FeedbackToken",
    description="server.feedback_token_env names the variable",
)


def _check_token(given: HTTPAuthorizationCredentials | None, expected: str, what: str) -> None:
    """401 unless ``given`` is ``expected`` (constant-time compare)."""
    token = "" if given is None else given.credentials
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"missing or wrong {what} token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


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
    _check_token(credentials, expected, "admin")


AdminDep = Depends(require_admin)


def require_feedback_client(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_feedback_bearer)],
) -> None:
    """Admit a correction only with the feedback token, at most ``server.feedback_rate`` a minute
    per client (token and peer address).

    Feedback becomes training data, so an unset token refuses it (403) instead of leaving it
    open to whoever reaches the port; the admin token is not accepted in its place, so the
    annotation tools that send corrections never hold the power to promote models. Only admitted
    requests take from the bucket: wrong tokens cannot use up a real client's allowance.
    """
    if services.settings.feedback_log is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "feedback is off: add {feedback: true} to sources in config.yml",
        )
    expected = services.settings.feedback_token
    if expected is None:
        variable = services.settings.server.feedback_token_env
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"feedback is closed: no feedback token is configured; set {variable} in the "
            "server's environment and send it as Authorization: Bearer <token>",
        )
    _check_token(credentials, expected, "feedback")
    peer = request.client.host if request.client is not None else "-"
    wait = services.feedback_limiter.acquire((expected, peer))
    if wait > 0:
        server = services.settings.server
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"feedback rate limit: over server.feedback_rate={server.feedback_rate:g} a minute "
            f"(burst {server.feedback_burst}) from this client; retry later",
            headers={"Retry-After": retry_after(wait)},
        )


FeedbackClientDep = Depends(require_feedback_client)


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
