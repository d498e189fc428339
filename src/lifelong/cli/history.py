"""``lifelong history``: one row per cycle of the continual loop, read from the registry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_reader
from lifelong.registry import CycleRecord


def record_dict(record: CycleRecord) -> dict[str, object]:
    """A cycle record as plain JSON-ready values (``history --json``, ``update --json``)."""
    return {
        "id": record.id,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat(),
        "outcome": record.outcome,
        "trigger": record.trigger,
        "data": record.data,
        "strategy": record.strategy,
        "versions": record.versions,
        "champion": record.champion,
        "durations": record.durations,
        "error": record.error,
    }


def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Show the newest N cycles.", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """One row per cycle (the newest N, oldest first): trigger, data added, plan, outcome.

    Also when each started and how long it took; --json gives every recorded field.
    """
    project = load_project(ctx)
    with open_project_reader(project) as registry:
        cycles = registry.store.list_cycles(limit=limit)
    if as_json:
        for record in cycles:
            typer.echo(json.dumps(record_dict(record), default=str))
        return
    if not cycles:
        console.print("no cycles yet: `lifelong update` runs one")
        return
    table = Table("#", "started UTC", "trigger", "new", "plan", "outcome", "sec", box=None)
    for record in cycles:
        versions = ", ".join(record.versions)
        table.add_row(
            str(record.id),
            record.started_at.strftime("%m-%d %H:%M:%S"),
            ", ".join(record.trigger.get("fired", [])) or "-",
            str(record.data.get("new", 0)),
            str(record.strategy.get("kind") or "-"),
            record.outcome + (f" {versions}" if versions else ""),
            f"{sum(record.durations.values()):.1f}",
        )
    console.print(table)
