"""Command groups that import a command's module only when that command runs.

``lifelong --help`` and the read commands must answer at once, so the command line cannot
import every command's module (and with them torch, scikit-learn and the serving stack) up
front. A :class:`LazyGroup` knows its commands by name from :data:`lifelong.cli.commands.COMMANDS`
(name, ``module:function``, one-line help): ``--help`` lists the names and their one-line help
without importing anything, and a command's module is imported when the command is resolved to
run (or to show its own ``--help``). Groups (``data``, ``models``...) are the first word of a
two-word name and are lazy in the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import typer
from typer import _click as click
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup, TyperOption

from lifelong.cli.commands import COMMANDS, GROUPS, Command


class _FlagsWithoutMetavar:
    """Help without ``<bool>`` after a flag: a flag takes no value, so it shows none."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params: list[click.Parameter] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""
        return params


class LeafCommand(_FlagsWithoutMetavar, TyperCommand):
    """One command, as Typer builds it from a function, with flag-free help."""


def load_command(name: str, target: str) -> click.Command:
    """Import ``module:function`` and turn the function into a Click command named ``name``."""
    module_name, _, attribute = target.partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    holder.command(name, cls=LeafCommand)(function)
    return typer.main.get_command(holder)


class LazyGroup(_FlagsWithoutMetavar, TyperGroup):
    """A group whose subcommands come from the command table under ``prefix``.

    Parameters
    ----------
    prefix
        The words naming this group followed by a space (``"models "``), or ``""`` for the
        root; the group's commands are the table's names that start with it.
    """

    prefix = ""

    def __init__(self, *, prefix: str | None = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        if prefix is not None:
            self.prefix = prefix
        self._loaded: dict[str, click.Command] = {}
        self._summaries_only = False

    def _children(self) -> dict[str, str]:
        """Name -> one-line help of this group's commands and subgroups, in table order."""
        children: dict[str, str] = {}
        for full_name, command in COMMANDS.items():
            if not full_name.startswith(self.prefix):
                continue
            first, _, rest = full_name[len(self.prefix) :].partition(" ")
            if rest:
                children.setdefault(first, GROUPS[self.prefix + first])
            else:
                children[first] = command.summary
        return children

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(n for n in self._children() if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        summary = self._children().get(cmd_name)
        if summary is None:
            return None
        if self._summaries_only and cmd_name not in self._loaded:
            return TyperCommand(name=cmd_name, help=summary, short_help=summary)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = self._load(cmd_name)
        return self._loaded[cmd_name]

    def _load(self, name: str) -> click.Command:
        full_name = self.prefix + name
        command: Command | None = COMMANDS.get(full_name)
        if command is not None:
            return load_command(name, command.target)
        return LazyGroup(
            name=name,
            prefix=full_name + " ",
            help=GROUPS[full_name],
            no_args_is_help=True,
            rich_markup_mode=self.rich_markup_mode,
        )

    @contextmanager
    def _listing(self) -> Iterator[None]:
        """While help is written, commands are their one-line summaries: nothing is imported."""
        self._summaries_only = True
        try:
            yield
        finally:
            self._summaries_only = False

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self._listing():
            super().format_help(ctx, formatter)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            close = _close_matches(args[0] if args else "", self._children())
            if close and "Did you mean" not in error.message:
                error.message = f"{error.message.rstrip('.')}. Did you mean {close}?"
            raise


def _close_matches(typo: str, names: Mapping[str, str]) -> str:
    from difflib import get_close_matches

    return ", ".join(repr(name) for name in get_close_matches(typo, list(names)))
