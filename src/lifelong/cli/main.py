"""Entry point of the ``lifelong`` command.

Errors the user can cause (:class:`~lifelong.core.errors.LifelongError`) are printed without a
traceback, with their hint, and exit with the error's code; anything else is a bug and keeps its
traceback. Commands are listed in :mod:`lifelong.cli.commands` and imported only when they run.
"""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from lifelong import __version__
from lifelong.cli.commands import OPTIONAL_VALUES
from lifelong.cli.common import GlobalOptions, err_console
from lifelong.cli.lazy import LazyGroup
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


class _Root(LazyGroup):
    """The root group: fills optional values, turns :class:`LifelongError` into its exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, fill_optional_values(args, OPTIONAL_VALUES))

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except LifelongError as error:
            # soft_wrap: no line breaks inside paths, so file:line stays copyable.
            # escape: a message quoting data or a hint naming an extra ('lifelong[onnx]') holds
            # brackets that rich would otherwise take for markup and drop.
            message = f"[bold red]error:[/] {escape(error.message)}"
            if error.hint:
                message += f"\n[yellow]hint:[/] {escape(error.hint)}"
            err_console.print(message, highlight=False, soft_wrap=True)
            ctx.exit(error.exit_code)


app = typer.Typer(
    name="lifelong",
    cls=_Root,
    help="Keep ML models fresh as new data arrives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lifelong {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project", "-p", help="Project folder (default: found from the cwd).", metavar="DIR"
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Override a config key: --set training.epochs=3",
            metavar="KEY=VALUE",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """lifelong: train, update, gate, register and serve models as data grows."""
    ctx.obj = GlobalOptions(project_dir=project, overrides=list(set_ or []))


def main() -> None:
    """Console-script entry point.

    At exit the objects still alive are frozen out of the garbage collector: the collections
    of interpreter shutdown would walk all of them (some 400,000 after a ``lifelong train``,
    most made by importing torch) several times, 2 s of every training, to free memory that
    the operating system takes back with the process anyway. The other atexit handlers still
    run, and objects freed by reference counting are still finalized.
    """
    atexit.register(gc.freeze)
    app()


if __name__ == "__main__":
    main()
