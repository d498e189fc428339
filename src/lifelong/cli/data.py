"""``lifelong data validate | diff``: look at the data before anything trains on it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from lifelong.cli.common import console, load_project, open_project_registry
from lifelong.core.errors import NotFound, Problem, ValidationFailed
from lifelong.core.types import FileManifest
from lifelong.data import Dataset, Snapshot, SnapshotDiff, check_trainable, diff, load_dataset
from lifelong.data.snapshot import target_range
from lifelong.data.stream import diff_files, project_source, scan_trainable, streams
from lifelong.project import Project
from lifelong.registry import Registry, SnapshotInfo

Kind = Literal["classification", "regression"]


def problems_table(problems: Sequence[Problem]) -> Table:
    table = Table(title="Problems", show_lines=False)
    for column in ("where", "severity", "problem"):
        table.add_column(column)
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        table.add_row(problem.location, f"[{style}]{problem.severity}[/]", problem.message)
    return table


def summary_table(dataset: Dataset, kind: Kind = "classification") -> Table:
    """Examples per intent and split; for regression, rows and target range per split (every
    target value is not an intent)."""
    if kind == "regression":
        return _regression_summary(dataset)
    table = Table(title=f"{len(dataset.pool)} examples, {len(dataset.pool.labels)} intents")
    for column in ("intent", "train", "valid", "test", "total"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    totals = {"train": 0, "valid": 0, "test": 0}
    for label, counts in dataset.split_counts().items():
        table.add_row(label, *(str(counts[k]) for k in totals), str(sum(counts.values())))
        for key in totals:
            totals[key] += counts[key]
    table.add_section()
    table.add_row("[bold]all", *(str(totals[k]) for k in totals), str(sum(totals.values())))
    return table


def _regression_summary(dataset: Dataset) -> Table:
    table = Table(title=f"{len(dataset.pool)} rows")
    for column in ("split", "rows", "target min", "mean", "max"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name in ("train", "valid", "test"):
        found = target_range(getattr(dataset.splits, name))
        figures = (
            ["-"] * 3 if found is None else [f"{found[k]:.4g}" for k in ("min", "mean", "max")]
        )
        table.add_row(name, str(0 if found is None else int(found["rows"])), *figures)
    return table


def _range(found: object) -> str:
    """A recorded target range as ``min .. max (mean m)``, empty for none."""
    if not isinstance(found, dict):
        return ""
    return f"target {found['min']:.4g} .. {found['max']:.4g} (mean {found['mean']:.4g})"


def diff_table(change: SnapshotDiff, title: str, kind: Kind = "classification") -> Table:
    table = Table(title=title)
    table.add_column("change")
    table.add_column("count", justify="right")
    table.add_column("detail")
    if kind == "regression":
        target = change.summary(kind)["target"]
        assert isinstance(target, dict)
        changed = ", ".join(f"{a.label}->{b.label}" for a, b in change.relabeled[:5])
        table.add_row("added rows", str(len(change.added)), _range(target["added"]))
        table.add_row("removed rows", str(len(change.removed)), _range(target["removed"]))
        table.add_row("target changed", str(len(change.relabeled)), changed)
        return table
    per_label = change.summary()["added_per_label"]
    assert isinstance(per_label, dict)
    added_detail = ", ".join(f"{k} +{v}" for k, v in per_label.items())
    table.add_row("added", str(len(change.added)), added_detail)
    table.add_row("removed", str(len(change.removed)), "")
    relabels = ", ".join(f"{a.text!r}: {a.label}->{b.label}" for a, b in change.relabeled[:5])
    table.add_row("relabeled", str(len(change.relabeled)), relabels)
    table.add_row("new intents", str(len(change.new_labels)), ", ".join(change.new_labels))
    table.add_row(
        "vanished intents", str(len(change.vanished_labels)), ", ".join(change.vanished_labels)
    )
    return table


def validate(ctx: typer.Context) -> None:
    """Read and check every data file; print a report.

    Exits 1 on any error, including data that training would refuse (an intent with too few
    examples for the splits).
    """
    project = load_project(ctx)
    if streams(project):
        _validate_stream(project)
        return
    try:
        dataset = load_dataset(project)
    except ValidationFailed as failure:
        console.print(problems_table(failure.problems))
        raise
    console.print(
        f"Read {len(dataset.files)} file(s): "
        + ", ".join(
            str(Path(f).relative_to(project.root)) if Path(f).is_relative_to(project.root) else f
            for f in dataset.files
        )
    )
    for note in dataset.notes:
        console.print(f"[dim]note: {note}[/]")
    if dataset.warnings:
        console.print(problems_table(dataset.warnings))
    console.print(summary_table(dataset, project.config.columns.kind))
    check_trainable(dataset.splits, kind=project.config.columns.kind)  # training would refuse it
    console.print("[green]data is valid[/]")


def files_table(files: Sequence[FileManifest], title: str) -> Table:
    """The files of a streamed project: rows, size, content hash, split counts."""
    table = Table(title=title)
    for column in ("file", "rows", "MB", "sha256", "train", "valid", "test"):
        table.add_column(column, justify="left" if column in ("file", "sha256") else "right")
    for f in files:
        splits = [str(f.splits.get(name, 0)) for name in ("train", "valid", "test")]
        table.add_row(f.path, f"{f.rows:,}", f"{f.bytes / 2**20:.1f}", f.sha256[:12], *splits)
    return table


def _validate_stream(project: Project) -> None:
    """``validate`` of data read as a stream: every row checked in one bounded pass."""
    source, _ = project_source(project)
    if source.warnings:
        console.print(problems_table(source.warnings))
    try:
        scan = scan_trainable(project, source)
    except ValidationFailed as failure:
        console.print(problems_table(failure.problems))
        raise
    if scan.problems:
        console.print(problems_table(scan.problems))
    columns = project.config.columns
    rows = f"{sum(f.rows for f in scan.files):,} rows"
    if columns.kind == "regression":  # a target has no classes to count
        title = f"{rows} (streamed)"
    else:
        noun = "intents" if columns.target is None else "classes"
        title = f"{rows}, {len(scan.train_labels)} {noun} in training (streamed)"
    console.print(files_table(scan.files, title))
    console.print("[green]data is valid[/]")


def _diff_stream(project: Project, since: str | None) -> None:
    """``diff`` of data read as a stream: by file, against a snapshot of files."""
    source, _ = project_source(project)
    scan = source.scan()
    with open_project_registry(project, read_only=True) as registry:
        latest = registry.store.latest_snapshot()
        info = latest if since is None else _find_snapshot(registry, since)
        base = [] if info is None else registry.get_snapshot_files(info.id)
    change = diff_files(base, scan.files)
    table = Table(
        title="No snapshot yet: everything is new"
        if info is None
        else f"Since snapshot {info.id[:12]} ({info.created_at:%Y-%m-%d %H:%M} UTC), by file"
    )
    table.add_column("change")
    table.add_column("files", justify="right")
    table.add_column("detail")
    table.add_row("added", str(len(change["files_added"])), ", ".join(change["files_added"]))
    table.add_row("removed", str(len(change["files_removed"])), ", ".join(change["files_removed"]))
    changed = change["files_changed"]
    detail = ", ".join(
        f"{c['path']} {c['rows_before']:,} -> {c['rows_after']:,} rows" for c in changed
    )
    table.add_row("changed", str(len(changed)), detail)
    table.add_row("new intents", str(len(change["new_labels"])), ", ".join(change["new_labels"]))
    console.print(table)
    console.print(f"rows {change['rows_before']:,} -> {change['rows_after']:,}")


def _find_snapshot(registry: Registry, ref: str) -> SnapshotInfo:
    """A snapshot by id or unambiguous id prefix (at least 6 characters)."""
    matches = [s for s in registry.store.list_snapshots() if s.id.startswith(ref)]
    if len(ref) < 6 or len(matches) != 1:
        found = "no" if not matches else f"{len(matches)}"
        raise NotFound(
            f"{found} snapshot matches {ref!r}",
            hint="give at least 6 characters of an id from `lifelong models show VERSION`",
        )
    return matches[0]


def diff_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Compare with this snapshot id (default: the latest)."),
    ] = None,
    add: Annotated[
        list[Path] | None,
        typer.Option("--add", help="Preview: what adding these files to the data would change."),
    ] = None,
) -> None:
    """Show what changed since the last snapshot, or what --add FILE would add."""
    project = load_project(ctx)
    if streams(project) and not add:
        _diff_stream(project, since)
        return
    current = load_dataset(project)
    if add:
        grown = load_dataset(project, extra=[p.resolve() for p in add])
        change = diff(current.pool, grown.pool)
        title = f"Adding {', '.join(p.name for p in add)} would change"
    else:
        with open_project_registry(project, read_only=True) as registry:
            info = (
                registry.store.latest_snapshot()
                if since is None
                else _find_snapshot(registry, since)
            )
            base = (
                Snapshot() if info is None else Snapshot.of(registry.get_snapshot_examples(info.id))
            )
        change = diff(base, current.pool)
        title = (
            "No snapshot yet: everything is new"
            if info is None
            else f"Since snapshot {info.id[:12]} ({info.created_at:%Y-%m-%d %H:%M} UTC)"
        )
    console.print(diff_table(change, title, project.config.columns.kind))


def snapshot(ctx: typer.Context) -> None:
    """Record the current data as a snapshot (training does this by itself)."""
    project = load_project(ctx)
    dataset = load_dataset(project)
    with open_project_registry(project) as registry:
        info = registry.put_snapshot(dataset.pool.sorted_examples())
    console.print(
        f"snapshot {info.id[:12]}: {info.size} examples, {len(info.label_counts)} intents"
    )
