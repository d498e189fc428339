"""``lifelong review list | accept | reject``: the examples held until a person decides."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_registry
from lifelong.core.errors import ConfigError
from lifelong.pipelines import review
from lifelong.pipelines.review import Decision
from lifelong.registry import ReviewItem, ReviewStatus

IdsArg = Annotated[list[int] | None, typer.Argument(help="Item ids from `lifelong review list`.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every pending item.")]
NoteOpt = Annotated[str, typer.Option("--note", help="Why, for the audit.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _item_dict(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "reason": item.reason,
        "source": item.source,
        "text": item.text,
        "intent": item.intent,
        "current": item.current,
        "detail": item.detail,
        "created_at": None if item.created_at is None else item.created_at.isoformat(),
        "decided_at": None if item.decided_at is None else item.decided_at.isoformat(),
        "note": item.note,
    }


def list_command(
    ctx: typer.Context,
    status: Annotated[
        str, typer.Option("--status", help="pending, accepted, rejected or all.")
    ] = "pending",
    as_json: JsonOpt = False,
) -> None:
    """Show held items: source, text, proposed and current label, why held."""
    if status not in ("pending", "accepted", "rejected", "all"):
        raise ConfigError(
            f"unknown status {status!r}", hint="use pending, accepted, rejected or all"
        )
    wanted: ReviewStatus | None = None if status == "all" else status  # type: ignore[assignment]
    project = load_project(ctx)
    with open_project_registry(project) as registry:
        found = review.items(registry, wanted)
    if as_json:
        typer.echo(json.dumps([_item_dict(item) for item in found]))
        return
    if not found:
        console.print(f"no {status} review items")
        return
    table = Table(title=f"{len(found)} {status} review item(s)")
    for column in ("id", "status", "why held", "source", "text", "proposed", "current"):
        table.add_column(column)
    for item in found:
        why = f"{item.reason}: {item.detail.get('message', '')}"
        current = item.current or "-"
        row = (str(item.id), item.status, why, item.source, item.text, item.intent, current)
        table.add_row(*row)
    console.print(table)


def _ids(ids: list[int] | None, every: bool) -> list[int] | None:
    if every == bool(ids):
        raise ConfigError(
            "give item ids or --all (not both, not neither)",
            hint="`lifelong review list` shows the ids",
        )
    return None if every else ids


def _report(decision: Decision, verb: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(decision.summary()))
        return
    ids = ", ".join(str(item.id) for item in decision.decided) or "none"
    console.print(f"{verb}: {ids}")
    if decision.file is not None:
        console.print(f"written to {decision.file}; the next `lifelong update` trains on it")
    for item in decision.skipped:
        console.print(f"[yellow]#{item.id} was already {item.status}: left as it is[/]")


def accept(
    ctx: typer.Context, ids: IdsArg = None, every: AllOpt = False, note: NoteOpt = "",
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Add items to the data (once); an accepted relabel replaces the old label."""
    project = load_project(ctx)
    with open_project_registry(project) as registry:
        decision = review.accept(project, registry, _ids(ids, every), note=note)
    _report(decision, "accepted", as_json)


def reject(
    ctx: typer.Context, ids: IdsArg = None, every: AllOpt = False, note: NoteOpt = "",
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Keep items out of training for good (kept, marked rejected, for the audit)."""
    project = load_project(ctx)
    with open_project_registry(project) as registry:
        decision = review.reject(registry, _ids(ids, every), note=note)
    _report(decision, "rejected", as_json)
