"""Entry point of the ``lifelong`` command.

Errors the user can cause (:class:`~lifelong.core.errors.LifelongError`) are printed without a
traceback, with their hint, and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from lifelong import __version__
from lifelong.cli import data as data_cmd
from lifelong.cli import init as init_cmd
from lifelong.cli import models
from lifelong.cli import serve as serve_cmd
from lifelong.cli.common import GlobalOptions, err_console
from lifelong.core.errors import LifelongError


class _Group(TyperGroup):
    """Root command group that turns :class:`LifelongError` into a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except LifelongError as error:
            err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
            if error.hint:
                err_console.print(f"[yellow]hint:[/] {error.hint}", highlight=False)
            ctx.exit(error.exit_code)


app = typer.Typer(
    name="lifelong",
    cls=_Group,
    help="Keep ML models fresh as new data arrives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(init_cmd.init)
app.add_typer(data_cmd.app, name="data")
app.add_typer(models.app, name="models")
app.command("lineage")(models.lineage)
app.command("serve")(serve_cmd.serve)
app.command("shadow-report")(serve_cmd.shadow_report_cmd)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lifelong {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="Project folder (default: found from the cwd)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a config key: --set training.epochs=3"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """lifelong: train, update, gate, register and serve models as data grows."""
    ctx.obj = GlobalOptions(project_dir=project, overrides=list(set_ or []))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
