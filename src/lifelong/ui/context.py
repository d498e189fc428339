"""What the dashboard reads and acts on: a registry, the admin token, the feedback log.

``lifelong ui`` puts a :class:`UiContext` on the app's state; under ``lifelong serve`` the
first page builds one from the server's own services (its registry, token and feedback log),
so the mounted dashboard opens no second connection pool and a promotion it makes reloads the
served model at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from lifelong.registry import CHAMPION, Registry


@dataclass(frozen=True)
class UiContext:
    """The dashboard's view of one project.

    Parameters
    ----------
    registry
        The store every page reads and every action writes.
    admin_token
        The token that unlocks promote and rollback; ``None`` turns the actions off.
    feedback_log
        The server's feedback file (rolling feedback accuracy); ``None`` when feedback is off.
    alias
        The alias the actions move (the served one).
    admin_token_env
        The environment variable the token comes from, named when the actions are off.
    on_alias_moved
        Called after an action moved the alias (the server reloads its model).
    """

    registry: Registry
    admin_token: str | None
    feedback_log: Path | None = None
    alias: str = CHAMPION
    admin_token_env: str = "LIFELONG_ADMIN_TOKEN"
    on_alias_moved: Callable[[], None] | None = None


def _from_services(services: Any) -> UiContext:
    """The context of a dashboard mounted in ``lifelong serve`` (``app.state.services``)."""
    settings = services.settings

    def reload() -> None:
        services.champion.sync()

    return UiContext(
        registry=services.registry,
        admin_token=settings.admin_token,
        feedback_log=settings.feedback_log,
        alias=settings.alias,
        admin_token_env=settings.server.admin_token_env,
        on_alias_moved=reload,
    )


def get_context(request: Request) -> UiContext:
    state = request.app.state
    context: UiContext | None = getattr(state, "ui", None)
    if context is None:
        context = _from_services(state.services)
        state.ui = context
    return context


ContextDep = Annotated[UiContext, Depends(get_context)]
