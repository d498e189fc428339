"""``lifelong publish FILE``: a data file's examples as messages on a configured transport.

Imports nothing heavy at module level: the transports' clients load only when publishing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def publish(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A data file: nlu.yml, .jsonl, .csv or .parquet.")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="Index in `sources`, or a name like kafka:TOPIC."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="The first configured source of this kind: kafka|nats|redis."),
    ] = None,
) -> None:
    """Publish each example of FILE as one message (for tests and demos of the loop)."""
    from lifelong.cli.common import console, load_project
    from lifelong.core.errors import ConfigError
    from lifelong.data.sources.publish import publish_file

    if (source is None) == (to is None):
        raise ConfigError("give exactly one of --source INDEX|NAME and --to kafka|nats|redis")
    if to is not None and to not in ("kafka", "nats", "redis"):
        raise ConfigError(f"--to {to!r}: expected kafka, nats or redis")
    name, count = publish_file(load_project(ctx), file, source, to)
    console.print(f"published {count} message(s) to {name}", highlight=False)
