"""What every command shares: the consoles, finding the project, the global options.

Imported by the entry point on every run (``--help`` included), so it imports the project and
registry code only inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.console import Console

if TYPE_CHECKING:
    from lifelong.project import Project
    from lifelong.registry import Registry, RegistryReader

# Width of output that does not go to a terminal (a pipe, a file, a CI log): wide enough that
# no line is wrapped and no path split, since nothing there has a width to fit.
PIPED_WIDTH = 10_000


def make_console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A console that wraps to the terminal, or does not wrap at all when output is piped.

    Rich falls back to 80 columns when its output is not a terminal, which breaks long paths
    and table cells in logs; ``COLUMNS`` still wins when set.
    """
    target = stream or (sys.stderr if stderr else sys.stdout)
    piped = not target.isatty() and "COLUMNS" not in os.environ
    return Console(
        stderr=stderr,
        file=stream,
        width=PIPED_WIDTH if piped else None,
        soft_wrap=piped,
    )


console = make_console()
err_console = make_console(stderr=True)


def print_json(data: object) -> None:
    """``data`` as indented JSON on stdout (``str`` for what JSON has no type for).

    On a terminal rich colours it; to a pipe or a file the text is the same, written
    directly: rich's highlighter took 0.3 s over the 55 kB summary of ``train --json``.
    """
    if console.is_terminal:
        console.print_json(json.dumps(data, default=str))
        return
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    console.file.write(text + "\n")


@dataclass
class GlobalOptions:
    """Options given before the command: ``lifelong --project DIR --set k=v COMMAND``."""

    project_dir: Path | None = None
    overrides: list[str] = field(default_factory=list)


def load_project(ctx: typer.Context) -> Project:
    """The project named by ``--project`` (or found from the working folder), with overrides."""
    from lifelong.project import Project

    options = ctx.find_object(GlobalOptions) or GlobalOptions()
    return Project.load(options.project_dir, options.overrides)


def open_project_registry(project: Project, *, read_only: bool = False) -> Registry:
    """The project's registry (``store.url`` or ``LIFELONG_STORE_URL``), migrated on open.

    Commands that only read pass ``read_only``: they then work on read-only storage.
    """
    from lifelong.core.private import private_dir
    from lifelong.core.storage import storage_errors
    from lifelong.registry import open_registry

    if not read_only:
        with storage_errors(project.state_dir):
            private_dir(project.state_dir)
    return open_registry(project.store_url, project.artifacts_dir, read_only=read_only)


def open_project_reader(project: Project) -> RegistryReader:
    """The project's registry opened for reading only, without SQLAlchemy on an SQLite store.

    For the commands that read versions, aliases and cycles (``models list``, ``lineage``...);
    a store that is missing or at another schema is opened as a writer opens it, as
    :func:`open_project_registry` with ``read_only`` does.
    """
    from lifelong.registry import open_reader

    return open_reader(project.store_url, project.artifacts_dir)
