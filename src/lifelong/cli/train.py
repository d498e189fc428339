"""``lifelong train [--finetune [VERSION|PATH]]``, ``lifelong evaluate``, ``lifelong challenge``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import (
    GlobalOptions,
    console,
    load_project,
    open_project_registry,
    print_json,
)
from lifelong.core.errors import LifelongError
from lifelong.evaluation import (
    EvalReport,
    ForgettingReport,
    RegressionReport,
    Verdict,
    rank_challengers,
    regression_table,
    report_headline,
    verdict_from_dict,
    write_report,
)
from lifelong.pipelines import (
    Judgement,
    TrainOptions,
    check_launch,
    evaluate_version,
    judge,
    train_shard,
    train_version,
)
from lifelong.pipelines.judge import judge_competing
from lifelong.pipelines.lock import cycle_lock
from lifelong.pipelines.loop import EXIT_REJECTED
from lifelong.project import Project
from lifelong.training.distributed import DistContext


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
    """Per-intent precision, recall, F1 and support; macro-F1 in its own row, accuracy in the
    caption (a figure of no single column). Intents neither in the examples nor among the
    confused predictions (a file of a few intents) are left out, and counted in the caption."""
    predicted = {pair.predicted_label for pair in report.confused_pairs}
    rows = [r for r in report.per_intent if r.support > 0 or r.label in predicted]
    caption = f"accuracy {report.accuracy:.3f} on {report.n_examples} examples"
    if len(rows) < len(report.per_intent):
        caption += f"; {len(report.per_intent) - len(rows)} intent(s) without examples not shown"
    table = Table(title=title, caption=caption)
    for column in ("intent", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for row in rows:
        table.add_row(
            row.label,
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            str(row.support),
        )
    table.add_section()
    table.add_row("[bold]macro avg", "", "", f"{report.macro_f1:.3f}", str(report.n_examples))
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
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on from the last checkpoint of this same run, if a killed run left one "
            "(training.checkpoint_every).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    nproc: Annotated[
        int | None,
        typer.Option(
            "--nproc",
            min=1,
            help="Train data-parallel in N local processes (torchrun); rank 0 registers.",
        ),
    ] = None,
    max_restarts: Annotated[
        int,
        typer.Option("--max-restarts", min=0, help="With --nproc: torchrun restarts on failure."),
    ] = 0,
) -> None:
    """Train a model from scratch, or fine-tune one, and register it."""
    project = load_project(ctx)
    distributed = DistContext.from_env()
    if nproc is not None and distributed is None:
        from lifelong.cli.torchrun import launch, worker_args

        parent = check_launch(project, finetune)  # bad input fails here, not in N workers
        args = _train_args(parent, epoch_fraction, strict_labels, promote, notes, as_json)
        command = ["train", *args]
        given = ctx.find_object(GlobalOptions) or GlobalOptions()
        raise typer.Exit(launch(nproc, max_restarts, worker_args(given, command)))
    if distributed is not None and not distributed.is_main:  # trains only; rank 0 registers
        shard = TrainOptions(
            finetune=finetune,
            epoch_fraction=epoch_fraction,
            progress=False,
            distributed=distributed,
        )
        train_shard(project, shard)
        return
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
            resume=resume,
            distributed=distributed,
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
    rejected = promote and judgement is not None and not judgement.promoted
    if as_json:
        print_json(summary)
        if rejected:
            raise typer.Exit(EXIT_REJECTED)
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
        helped = info.get("new_intents", {})
        how = [f"examples x{helped['oversampled']}"] if helped.get("oversampled", 1) > 1 else []
        how += ["head rows imprinted"] if helped.get("imprinted") else []
        note = f" ({', '.join(how)})" if how else ""
        console.print(f"  intents added: {added}{note}; removed: {removed}", highlight=False)
    timings = version.timings
    steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in timings.items())
    console.print(f"  {report_headline(result.report)}; {steps}")
    if judgement is not None:
        for line in verdict_lines(judgement):
            console.print(line)
    if rejected:
        hint = reject_hint(version.label, finetuned=version.parent is not None)
        console.print(f"[yellow]hint:[/] {hint}", highlight=False)
        raise typer.Exit(EXIT_REJECTED)


def _train_args(
    parent: str | None,
    epoch_fraction: float | None,
    strict_labels: bool,
    promote: bool,
    notes: str,
    as_json: bool,
) -> list[str]:
    """The ``train`` options a torchrun worker is given again (``--nproc`` is not); ``parent``
    is ``--finetune`` pinned by the launcher to one version label or folder."""
    args = [] if parent is None else ["--finetune", parent]
    args += [] if epoch_fraction is None else ["--epoch-fraction", str(epoch_fraction)]
    args += ["--strict-labels"] * strict_labels + ["--promote"] * promote
    args += ["--notes", notes] if notes else []
    return args + ["--json"] * as_json


def reject_hint(label: str, *, finetuned: bool) -> str:
    """What to try after the gate rejected ``label`` (a fine-tune or a cold training)."""
    show = f"`lifelong models show {label}` has the verdict's figures"
    if finetuned:
        return (
            "an update that saw more of its data may pass: `lifelong train --finetune "
            "--epoch-fraction 1.0 --promote`, or train cold: `lifelong train --promote`; " + show
        )
    return show + "; `lifelong models promote " + label + " --force --reason ...` overrides it"


def evaluate(
    ctx: typer.Context,
    version: Annotated[
        str, typer.Argument(help="Version or alias (with --file also an exported folder).")
    ] = "champion",
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Score on this labeled file or folder (any data format) instead of the test "
            "split; nothing is stored.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report", help="Write report.md, report.json and PNG plots here."),
    ] = None,
    prequential_file: Annotated[
        Path | None,
        typer.Option(
            "--prequential",
            help="Test-then-train a fresh online learner over this table's rows in order "
            "(task: tabular); no version is read or stored.",
        ),
    ] = None,
    plot: Annotated[
        Path,
        typer.Option("--plot", help="With --prequential: the PNG of accuracy (or MAE) over time."),
    ] = Path("prequential.png"),
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="With --prequential: rows per update.")
    ] = 32,
    window: Annotated[
        int,
        typer.Option(
            "--window", min=1, help="With --prequential: rows of rolling accuracy (or MAE)."
        ),
    ] = 1000,
    forget: Annotated[
        float,
        typer.Option(
            "--forget",
            min=0.0,
            max=1.0,
            help="With --prequential: weight of the standardizing statistics' past at each "
            "update (1: running over the whole stream; lower follows a drifting scale).",
        ),
    ] = 1.0,
) -> None:
    """Evaluate a version on the test split or a labeled file (--file); or test-then-train
    online over a table (--prequential)."""
    project = load_project(ctx)
    if prequential_file is not None:
        _prequential(project, prequential_file, plot, (batch, forget, window), as_json=as_json)
        return
    verdict: Verdict | None = None
    forgetting = None
    report: EvalReport | RegressionReport
    if file is not None:
        from lifelong.cli.predict import load_model
        from lifelong.pipelines.evaluate_file import evaluate_file

        model = load_model(ctx, version)
        report = evaluate_file(project, model.bundle, file)
        label, where = model.version or model.source, str(file)
    else:
        with open_project_registry(project) as registry:
            report = evaluate_version(project, registry, version)
            found = registry.resolve(version)
        label, where = found.label, "the current test split"
        stored_verdict = None if found.verdict is None else verdict_from_dict(found.verdict)
        verdict = stored_verdict if isinstance(stored_verdict, Verdict) else None
        stored = found.metrics.get("forgetting")
        forgetting = None if stored is None else ForgettingReport.from_dict(stored)
    if isinstance(report, RegressionReport):
        _print_regression(report, label, where, as_json=as_json, report_dir=report_dir)
        return
    if report_dir is not None:
        written = write_report(
            report,
            report_dir,
            title=f"Version {label} on {where}",
            verdict=verdict,
            forgetting=forgetting,
        )
        console.print(f"report: {written}")
    if as_json:
        print_json(report.to_dict())
        return
    console.print(_report_table(report, f"{label} on {where}"))
    if report.oos is not None:
        oos = report.oos
        threshold = "none" if oos.threshold is None else f"{oos.threshold} (chosen on valid)"
        console.print(
            f"out-of-scope '{oos.label}': threshold {threshold}, recall "
            f"{oos.recall:.3f}, precision {oos.precision:.3f}, in-scope accuracy "
            f"{oos.in_scope_accuracy:.3f}"
        )
    for pair in report.confused_pairs[:5]:
        console.print(f"  confused: {pair.true_label} -> {pair.predicted_label} ({pair.count})")


def _prequential(
    project: Project, path: Path, plot: Path, options: tuple[int, float, int], *, as_json: bool
) -> None:
    """``evaluate --prequential``: the figures, then the PNG (relative to the project).

    ``options`` are the batch size, ``forget`` and the rolling window."""
    from lifelong.evaluation.prequential import PrequentialRegressionScore, plot_prequential
    from lifelong.pipelines.evaluate_file import prequential_file

    batch, forget, window = options
    result = prequential_file(project, path, batch_size=batch, forget=forget, window=window)
    written = plot_prequential({"lifelong online": result}, project.path(plot), str(path))
    if as_json:
        print_json({**result.to_dict(), "plot": str(written)})
        return
    score = result.score
    if isinstance(score, PrequentialRegressionScore):
        console.print(
            f"prequential over {path}: {score.n} rows, MAE {score.mae:.4g} "
            f"(last {min(window, score.n)} rows {score.rolling_mae:.4g}), RMSE {score.rmse:.4g} "
            f"(no-change MAE {score.no_change_mae:.4g}), {result.rows_per_second:,.0f} rows/s",
            highlight=False,
        )
        console.print(f"plot: {written}")
        return
    console.print(
        f"prequential over {path}: {score.n} rows, accuracy {score.accuracy:.4f} "
        f"(last {min(window, score.n)} rows {score.rolling_accuracy:.4f}), "
        f"kappa {score.kappa:.4f}, kappa-temporal {score.kappa_temporal:.4f} "
        f"(no-change accuracy {score.no_change_accuracy:.4f}), "
        f"{result.rows_per_second:,.0f} rows/s",
        highlight=False,
    )
    console.print(f"plot: {written}")


def _print_regression(
    report: RegressionReport, label: str, where: str, *, as_json: bool, report_dir: Path | None
) -> None:
    """``lifelong evaluate`` of a regression model: its errors as a table or JSON."""
    if report_dir is not None:
        raise LifelongError(
            "--report writes a classifier's report (confusions, calibration); "
            f"version {label} is a regression model",
            hint="`lifelong evaluate --json` prints its figures",
        )
    if as_json:
        print_json(report.to_dict())
        return
    table = regression_table(report)
    table.title = f"{label} on {where}"
    console.print(table)


def challenge(
    ctx: typer.Context,
    versions: Annotated[
        list[str] | None, typer.Argument(help="Challengers (default: the challenger alias).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report only; record nothing.")
    ] = False,
) -> None:
    """Run the gate for challengers against the champion; promote at most one.

    Every verdict is recorded on its version, rejections too (see models show); a dry run
    records none.
    """
    project = load_project(ctx)
    refs = versions or ["challenger"]
    with open_project_registry(project) as registry:
        if dry_run:
            judgements = [
                judge(project, registry, ref, promote=False, command="challenge", dry_run=True)
                for ref in refs
            ]
            ranking = rank_challengers([j.verdict for j in judgements])
            order = [v.challenger_version for v in ranking]
            ranked = sorted(judgements, key=lambda j: order.index(j.challenger))
        else:  # the best first, promoted when its verdict allows; the others recorded
            labels = [registry.resolve(ref).label for ref in refs]
            ranked = judge_competing(project, registry, labels, command="challenge")
        for judgement in ranked:
            for line in verdict_lines(judgement):
                console.print(line)
        best = ranked[0]
        if dry_run:
            console.print("[dim]dry run: nothing recorded[/]")
        elif best.promoted:
            console.print(f"[green]promoted {best.challenger} to champion[/]")
        elif not best.verdict.promoted:
            console.print("no challenger earned promotion; the champion stays")
