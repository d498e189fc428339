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
from lifelong.cli import loop as loop_cmd
from lifelong.cli import models
from lifelong.cli import publish as publish_cmd
from lifelong.cli import review as review_cmd
from lifelong.cli import serve as serve_cmd
from lifelong.cli import train as train_cmd
from lifelong.cli.common import GlobalOptions, err_console
from lifelong.core.errors import LifelongError


def fill_optional_values(args: list[str], defaults: dict[str, str]) -> list[str]:
    """Give options that take an optional value their default when written bare.

    Click has no optional option values, so ``--finetune`` (meaning "the newest version")
    becomes ``--finetune latest`` when the next word is missing or another option.

    >>> fill_optional_values(["train", "--finetune", "--json"], {"--finetune": "latest"})
    ['train', '--finetune', 'latest', '--json']
    """
    filled: list[str] = []
    for i, arg in enumerate(args):
        filled.append(arg)
        following = args[i + 1] if i + 1 < len(args) else None
        if arg in defaults and (following is None or following.startswith("-")):
            filled.append(defaults[arg])
    return filled


class _Group(TyperGroup):
    """Root command group that turns :class:`LifelongError` into a message and an exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, fill_optional_values(args, train_cmd.OPTIONAL_VALUE_OPTIONS))

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except LifelongError as error:
            # soft_wrap: no line breaks inside paths, so file:line stays copyable.
            message = f"[bold red]error:[/] {error.message}"
            if error.hint:
                message += f"\n[yellow]hint:[/] {error.hint}"
            err_console.print(message, highlight=False, soft_wrap=True)
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
app.add_typer(review_cmd.app, name="review")
app.command("lineage")(models.lineage)
app.command("serve")(serve_cmd.serve)
app.command("shadow-report")(serve_cmd.shadow_report_cmd)
app.command("train")(train_cmd.train)
app.command("evaluate")(train_cmd.evaluate)
app.command("challenge")(train_cmd.challenge)
app.command("update")(loop_cmd.update)
app.command("watch")(loop_cmd.watch_command)
app.command("history")(loop_cmd.history)
app.command("freshness")(loop_cmd.freshness)
app.command("publish")(publish_cmd.publish)


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
