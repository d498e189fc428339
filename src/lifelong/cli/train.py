"""``lifelong train [--finetune [VERSION|PATH]]``, ``lifelong evaluate``, ``lifelong challenge``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_registry
from lifelong.evaluation import (
    EvalReport,
    ForgettingReport,
    Verdict,
    rank_challengers,
    write_report,
)
from lifelong.pipelines import (
    Judgement,
    TrainOptions,
    evaluate_version,
    judge,
    train_version,
)
from lifelong.pipelines.lock import cycle_lock


def verdict_lines(judgement: Judgement) -> list[str]:
    """A gate verdict as console lines: decision, reasons, forgetting, promotion."""
    verdict = judgement.verdict
    colour = "green" if verdict.promoted else "red"
    head = f"[bold {colour}]{verdict.decision}[/] {judgement.challenger}"
    if verdict.champion_version:
        head += f" vs champion {verdict.champion_version}"
    lines = [head, *(f"  - {reason}" for reason in verdict.reasons)]
    forgetting = judgement.forgetting
    if forgetting is not None and forgetting.backward_transfer is not None:
        lines.append(
            "  - forgetting: accuracy on the parent's test examples "
            f"{forgetting.parent_accuracy_old:.3f} -> {forgetting.child_accuracy_old:.3f} "
            f"(backward transfer {forgetting.backward_transfer:+.3f})"
        )
    if forgetting is not None and forgetting.child_accuracy_new is not None:
        lines.append(
            f"  - accuracy on test examples new since the parent: "
            f"{forgetting.child_accuracy_new:.3f} ({forgetting.n_new} examples)"
        )
    if judgement.promoted:
        lines.append(f"  [green]{judgement.challenger} is now the champion[/]")
    return lines


def _report_table(report: EvalReport, title: str) -> Table:
    table = Table(title=title)
    for column in ("intent", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for row in report.per_intent:
        table.add_row(
            row.label,
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            str(row.support),
        )
    table.add_section()
    table.add_row(
        "[bold]accuracy",
        "",
        f"{report.accuracy:.3f}",
        f"{report.macro_f1:.3f}",
        str(report.n_examples),
    )
    return table


def train(
    ctx: typer.Context,
    finetune: Annotated[
        str | None,
        typer.Option(
            "--finetune",
            help="Update a model instead of training from scratch: the newest version (no "
            "value), a version or alias, or a model folder.",
            metavar="[VERSION|PATH]",
        ),
    ] = None,
    epoch_fraction: Annotated[
        float | None,
        typer.Option(
            help="Train ceil(epochs x F) epochs (finetune.epoch_fraction).", min=0.0, max=1.0
        ),
    ] = None,
    strict_labels: Annotated[
        bool, typer.Option("--strict-labels", help="Refuse an update whose intents changed.")
    ] = False,
    promote: Annotated[
        bool, typer.Option("--promote", help="Run the gate and promote on a promote verdict.")
    ] = False,
    notes: Annotated[str, typer.Option(help="Free text recorded on the version.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Train a model from scratch, or fine-tune one, and register it."""
    project = load_project(ctx)
    with open_project_registry(project) as registry, cycle_lock(project, registry):
        # a first model is always judged (and ships if it clears the floor)
        gate = promote or "champion" not in registry.store.aliases()
        options = TrainOptions(
            finetune=finetune,
            epoch_fraction=epoch_fraction,
            strict_labels=strict_labels,
            notes=notes,
            progress=not as_json,
            promote_after=gate,
        )
        result = train_version(project, registry, options)
        summary = result.summary()
        judgement = None
        if gate:
            judgement = judge(
                project, registry, result.version.label, promote=promote, command="train --promote"
            )
            summary["verdict"] = judgement.verdict.to_dict()
            summary["promoted"] = judgement.promoted
    if as_json:
        console.print_json(json.dumps(summary, default=str))
        return
    version = result.version
    info = version.training
    kind = "cold" if version.parent is None else f"fine-tuned from {version.parent}"
    console.print(
        f"[bold]registered {version.label}[/] ({kind}, init {info['init']['strategy']}, "
        f"{info['epochs_run']} epoch(s), {info['n_train']} training examples)"
    )
    if info.get("labels_added") or info.get("labels_removed"):
        added = ", ".join(info.get("labels_added") or []) or "-"
        removed = ", ".join(info.get("labels_removed") or []) or "-"
        console.print(f"  intents added: {added}; removed: {removed}", highlight=False)
    timings = version.timings
    console.print(
        f"  test accuracy {result.report.accuracy:.3f}, macro-F1 {result.report.macro_f1:.3f}; "
        f"featurize {timings['featurize']:.2f} s, train {timings['train']:.2f} s, "
        f"evaluate {timings['evaluate']:.2f} s"
    )
    if judgement is not None:
        for line in verdict_lines(judgement):
            console.print(line)


def evaluate(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version or alias.")] = "champion",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report", help="Write report.md, report.json and PNG plots here."),
    ] = None,
) -> None:
    """Evaluate a version on the current test split; the result is stored on the version."""
    project = load_project(ctx)
    with open_project_registry(project) as registry:
        found = registry.resolve(version)
        report = evaluate_version(project, registry, found.label)
    if report_dir is not None:
        verdict = None if found.verdict is None else Verdict.from_dict(found.verdict)
        forgetting = found.metrics.get("forgetting")
        written = write_report(
            report,
            report_dir,
            title=f"Version {found.label}",
            verdict=verdict,
            forgetting=None if forgetting is None else ForgettingReport.from_dict(forgetting),
        )
        console.print(f"report: {written}")
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
        return
    console.print(_report_table(report, f"{found.label} on the current test split"))
    if report.oos is not None:
        oos = report.oos
        console.print(
            f"out-of-scope '{oos.label}': threshold {oos.threshold} (chosen on valid), recall "
            f"{oos.recall:.3f}, precision {oos.precision:.3f}, in-scope accuracy "
            f"{oos.in_scope_accuracy:.3f}"
        )
    for pair in report.confused_pairs[:5]:
        console.print(f"  confused: {pair.true_label} -> {pair.predicted_label} ({pair.count})")


def challenge(
    ctx: typer.Context,
    versions: Annotated[
        list[str] | None, typer.Argument(help="Challengers (default: the challenger alias).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report only; record nothing.")
    ] = False,
) -> None:
    """Run the gate for challengers against the champion; promote at most one."""
    project = load_project(ctx)
    refs = versions or ["challenger"]
    with open_project_registry(project) as registry:
        judgements = [
            judge(project, registry, ref, promote=False, command="challenge", dry_run=True)
            for ref in refs
        ]
        order = [v.challenger_version for v in rank_challengers([j.verdict for j in judgements])]
        ranked = sorted(judgements, key=lambda j: order.index(j.challenger))
        for judgement in ranked:
            for line in verdict_lines(judgement):
                console.print(line)
        best = ranked[0]
        if best.verdict.promoted and not dry_run:
            final = judge(project, registry, best.challenger, promote=True, command="challenge")
            if final.promoted:
                console.print(f"[green]promoted {final.challenger} to champion[/]")
        elif dry_run:
            console.print("[dim]dry run: nothing recorded[/]")
        else:
            console.print("no challenger earned promotion; the champion stays")
