"""``lifelong serve`` (the HTTP API under uvicorn) and ``lifelong shadow-report``."""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_registry, print_json
from lifelong.core.errors import NoChampion, PortInUse
from lifelong.core.private import private_dir
from lifelong.project import Project
from lifelong.registry import CHAMPION


def check_port_free(host: str, port: int) -> None:
    """Refuse a busy address before the server starts, with what to do rather than uvicorn's
    raw ``[Errno 98]``. Binds as uvicorn does (``SO_REUSEADDR``), then lets go."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            why = "is in use" if error.errno == errno.EADDRINUSE else "is not ours to use"
            raise PortInUse(
                f"cannot serve on {host}:{port}: the address {why} ({error.strerror})",
                hint=f"stop what listens there (`ss -ltnp 'sport = :{port}'` shows it), or "
                "choose another port: `lifelong serve --port PORT` (or server.port)",
            ) from None


def check_champion(project: Project) -> None:
    """Refuse to start a server with no champion to serve (a project not trained yet)."""
    with open_project_registry(project, read_only=True) as registry:
        if CHAMPION in registry.store.aliases():
            return
        registered = bool(registry.versions())
    detail = "no version is the champion" if registered else "no model is registered yet"
    raise NoChampion(
        f"nothing to serve in {project.root}: {detail}",
        hint="train first: `lifelong train` (a project's first model becomes the champion)"
        if not registered
        else "promote one: `lifelong models promote VERSION --reason ...`",
    )


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
    shadow: Annotated[
        str | None,
        typer.Option(help="Also run this alias (e.g. challenger) on every request, logged only."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (uvicorn).")] = False,
) -> None:
    """Serve the champion over HTTP: predict, Rasa-style parse, feedback, hot swap, metrics.

    Exits 4 when the address is in use, 5 when there is no champion to serve.
    """
    import uvicorn  # the server extra: imported only by the commands that need it

    from lifelong.serving import ServeSettings, create_app

    project = load_project(ctx)
    private_dir(project.state_dir)
    settings = ServeSettings.from_project(project, host=host, port=port, shadow=shadow)
    check_champion(project)
    check_port_free(settings.server.host, settings.server.port)
    # http= and loop= stay "auto": uvicorn takes httptools and uvloop, which the server extra
    # installs (a C parser and event loop: 10-25% more single-text requests per second than
    # h11 and asyncio, measured side by side), and falls back to those without them.
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        workers=1,
        access_log=access_log,
        log_level="info",
    )


def shadow_report_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Read this many newest log rows.")] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Agreement between the champion and the shadow model, and who was right per feedback."""
    from lifelong.serving import ServeSettings
    from lifelong.serving.shadow_report import read_feedback, shadow_report

    project = load_project(ctx)
    settings = ServeSettings.from_project(project)
    with open_project_registry(project, read_only=True) as registry:
        rows = registry.store.recent_predictions(limit=limit)
    report = shadow_report(rows, read_feedback(settings.feedback_log))
    if as_json:
        print_json(report.to_dict())
        return
    if not report.pairs:
        console.print("no shadow predictions logged: run `lifelong serve --shadow challenger`")
        return
    table = Table(title="shadow report")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("pairs (primary + shadow)", str(report.pairs))
    table.add_row("agreement", f"{report.agreement:.2%}")
    for versions, count in sorted(report.versions.items()):
        table.add_row(f"pairs {versions}", str(count))
    table.add_row("pairs with feedback", str(report.judged))
    if report.judged:
        table.add_row(
            "primary right", f"{report.primary_right} ({report.primary_right / report.judged:.1%})"
        )
        table.add_row(
            "shadow right", f"{report.shadow_right} ({report.shadow_right / report.judged:.1%})"
        )
        table.add_row("both right", str(report.both_right))
    console.print(table)
