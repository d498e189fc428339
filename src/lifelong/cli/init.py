"""``lifelong init DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.common import console
from lifelong.scaffold import init_project


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    no_sample: Annotated[
        bool, typer.Option("--no-sample", help="Do not write the sample data set.")
    ] = False,
) -> None:
    """Create a project: config.yml, data/, models/, inbox/ and sample data."""
    created = init_project(directory, sample_data=not no_sample)
    console.print(f"[green]Created project[/] in {directory.resolve()}")
    for path in created:
        console.print(f"  {path.relative_to(directory)}")
    console.print("Next: [bold]lifelong data validate[/], then [bold]lifelong train[/].")
