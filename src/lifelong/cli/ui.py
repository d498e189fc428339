"""``lifelong ui``: the dashboard alone, over the project's store (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from lifelong.cli.common import console, load_project, open_project_registry
from lifelong.core.errors import StorageError

DEFAULT_PORT = 8050


def ui(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: server.host).")] = None,
    port: Annotated[int, typer.Option(help="Port.")] = DEFAULT_PORT,
) -> None:
    """Serve the dashboard: lineage, versions and verdicts, metrics, cycles, monitoring.

    Promote and rollback are enabled by the admin token (server.admin_token_env).
    """
    import uvicorn  # the server and ui extras: imported only by the commands that need them

    from lifelong.data.sources import feedback_log
    from lifelong.ui import UiContext, create_ui_app

    project = load_project(ctx)
    server = project.config.server
    try:
        registry = open_project_registry(project)
    except StorageError:  # read-only storage: the pages still work, the actions say why not
        registry = open_project_registry(project, read_only=True)
    with registry:
        context = UiContext(
            registry=registry,
            admin_token=os.environ.get(server.admin_token_env) or None,
            feedback_log=feedback_log(project),
            admin_token_env=server.admin_token_env,
        )
        address = host or server.host
        console.print(f"dashboard at http://{address}:{port}/ui/")
        uvicorn.run(create_ui_app(context), host=address, port=port, log_level="warning")
