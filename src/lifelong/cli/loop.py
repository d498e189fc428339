"""``lifelong update`` (one cycle), ``lifelong watch`` (cycles on an interval), ``freshness``."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_registry
from lifelong.cli.history import record_dict
from lifelong.cli.train import verdict_lines
from lifelong.pipelines.freshness import plot_freshness, run_freshness
from lifelong.pipelines.loop import CycleResult, run_cycle, watch


def _show(result: CycleResult) -> None:
    trigger = result.trigger
    data = result.data
    for name in result.removed_temp:
        console.print(f"removed a killed run's leftover {name}", highlight=False)
    dry = result.outcome == "dry-run"
    for item in result.resumed:
        colour = "green" if item.promoted else "yellow" if item.done or dry else "red"
        state = "" if item.done else " (dry run)" if dry else " (not done)"
        console.print(
            f"[{colour}]resumed {item.action} {item.version}{state}[/]: {item.detail}",
            highlight=False,
        )
    console.print(
        f"ingested {data.get('new', 0)} new example(s) "
        f"({data.get('already_present', 0)} already present, "
        f"{data.get('held', 0)} held for review); per source: "
        + (", ".join(f"{k} {v}" for k, v in data.get("per_source", {}).items()) or "-"),
        highlight=False,
    )
    if data.get("newly_held"):
        reasons = ", ".join(f"{k} {v}" for k, v in data.get("held_reasons", {}).items())
        console.print(
            f"  [yellow]{data['newly_held']} newly held for review ({reasons}): "
            "see `lifelong review list`[/]"
        )
    for problem in data.get("problems", []):
        console.print(f"  [yellow]{problem}[/]", highlight=False)
    if trigger is not None:
        fired = ", ".join(trigger.fired_names()) or "none"
        console.print(f"triggers fired: [bold]{fired}[/]")
        for check in trigger.children or (trigger,):
            mark = "[green]fired[/]" if check.fired else "[dim]quiet[/]"
            console.print(f"  {check.name}: {mark} - {check.reason}", highlight=False)
    for plan in result.plans:
        console.print(f"plan: {plan.kind} - {plan.reason}")
    for judgement in result.judgements:
        for line in verdict_lines(judgement):
            console.print(line)
    colour = {"promoted": "green", "rejected": "red", "error": "red"}.get(result.outcome, "cyan")
    console.print(f"[bold {colour}]cycle outcome: {result.outcome}[/] (exit {result.exit_code})")
    if result.error:
        console.print(f"[red]{result.error}[/]", highlight=False)


def update(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Train even if no trigger fired.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cycle record.")] = False,
) -> None:
    """Run one cycle: ingest, check triggers, update, gate, promote; then exit.

    A killed run's promotion is finished first. Exit codes: 0 promoted (also a resumed
    promotion), 10 nothing to do, 11 rejected (the champion stays), 3 another cycle holds the
    lock, 1 error.
    """
    project = load_project(ctx)
    with open_project_registry(project) as registry:
        result = run_cycle(project, registry, dry_run=dry_run, force=force, progress=not as_json)
    if as_json and result.record is not None:
        typer.echo(json.dumps(record_dict(result.record), default=str))
    else:
        _show(result)
    raise typer.Exit(result.exit_code)


def watch_command(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option(help="Seconds between cycles.", min=0.0)] = 300.0,
    max_cycles: Annotated[
        int | None, typer.Option(help="Stop after this many cycles.", min=1)
    ] = None,
) -> None:
    """Run cycles every INTERVAL seconds until stopped.

    SIGTERM or Ctrl-C let the current cycle finish cleanly first.
    """
    project = load_project(ctx)
    stop = {"requested": False}

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop["requested"] = True
        console.print(f"[yellow]signal {signum}: stopping after the current cycle[/]")

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        count = watch(
            project,
            lambda: open_project_registry(project),
            interval=interval,
            should_stop=lambda: stop["requested"],
            on_cycle=_show,
            max_cycles=max_cycles,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(f"watch: {count} cycle(s) run")


def freshness(
    ctx: typer.Context,
    slices: Annotated[
        int, typer.Option(help="Equal time slices; the newest is the test set.", min=3)
    ] = 4,
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path(
        "freshness.png"
    ),
) -> None:
    """The data-freshness experiment: train on windows of different ages, test on the newest slice.

    Prints a table and writes a PNG plot.
    """
    project = load_project(ctx)
    rows = run_freshness(project, n_slices=slices, progress=False)
    table = Table("series", "slices", "window (UTC)", "age (days)", "train", "accuracy", box=None)
    for row in rows:
        table.add_row(
            row.series,
            f"{row.slices[0]}-{row.slices[1]}",
            f"{row.start:%m-%d %H:%M} .. {row.end:%m-%d %H:%M}",
            f"{row.age_days:.1f}",
            str(row.n_train),
            f"{row.accuracy:.3f}",
        )
    console.print(table)
    written = plot_freshness(rows, plot if plot.is_absolute() else project.root / plot)
    console.print(f"plot: {written}")
