"""What every command shares: the console, finding the project, the global options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from lifelong.core.private import private_dir
from lifelong.core.storage import storage_errors
from lifelong.project import Project
from lifelong.registry import Registry, open_registry

console = Console()
err_console = Console(stderr=True)


@dataclass
class GlobalOptions:
    """Options given before the command: ``lifelong --project DIR --set k=v COMMAND``."""

    project_dir: Path | None = None
    overrides: list[str] = field(default_factory=list)


def load_project(ctx: typer.Context) -> Project:
    """The project named by ``--project`` (or found from the working folder), with overrides."""
    options = ctx.find_object(GlobalOptions) or GlobalOptions()
    return Project.load(options.project_dir, options.overrides)


def open_project_registry(project: Project, *, read_only: bool = False) -> Registry:
    """The project's registry (``store.url`` or ``LIFELONG_STORE_URL``), migrated on open.

    Commands that only read pass ``read_only``: they then work on read-only storage.
    """
    if not read_only:
        with storage_errors(project.state_dir):
            private_dir(project.state_dir)
    return open_registry(project.store_url, project.artifacts_dir, read_only=read_only)
