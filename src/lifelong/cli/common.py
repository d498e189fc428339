"""What every command shares: the console, finding the project, the global options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from lifelong.core.private import private_dir
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


def open_project_registry(project: Project) -> Registry:
    """The project's registry (``store.url`` or ``LIFELONG_STORE_URL``), migrated on open."""
    private_dir(project.state_dir)
    return open_registry(project.store_url, project.artifacts_dir)
