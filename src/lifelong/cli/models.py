"""``lifelong models ...`` and ``lifelong lineage``: look at versions, move aliases, clean up.

Each command opens the project's registry (``store.url``, ``store.artifacts``) and makes one
library call; errors are :class:`~lifelong.core.errors.LifelongError` subclasses the entry point
prints without a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from lifelong.cli.common import console, load_project, open_project_reader, open_project_registry
from lifelong.registry import CHAMPION, LineageNode, ModelVersion, RegistryReader
from lifelong.registry import promote as registry_promote

if TYPE_CHECKING:
    from lifelong.registry import Registry

_SHOWN_METRICS = ("accuracy", "macro_f1", "f1", "mae")
"""The headline metric of ``models list``: the first a version has (``mae``: regression)."""
_DESCRIBED_METRICS = ("accuracy", "macro_f1", "valid_accuracy", "mae", "rmse", "r2", "valid_rmse")


@contextmanager
def _registry(ctx: typer.Context, *, read_only: bool = False) -> Iterator[Registry]:
    with open_project_registry(load_project(ctx), read_only=read_only) as registry:
        yield registry


@contextmanager
def _reader(ctx: typer.Context) -> Iterator[RegistryReader]:
    """The registry for commands that only read records (no SQLAlchemy on SQLite)."""
    with open_project_reader(load_project(ctx)) as reader:
        yield reader


def _aliases_by_version(registry: RegistryReader) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, label in registry.store.aliases().items():
        found.setdefault(label, []).append(name)
    return found


def _bytes(version: ModelVersion) -> str:
    """Artifact size as the manifest recorded it ("-" once gc or rm dropped the artifact)."""
    if version.status != "candidate":
        return "-"
    size = sum(f.size for f in version.artifact_files.values())
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def _format(version: ModelVersion) -> str:
    return str(version.training.get("weights_format", "fp32"))


def shown_status(version: ModelVersion) -> str:
    """The status a user reads: a candidate the gate turned down is ``rejected``.

    The registry keeps ``candidate`` (the artifact is there and can still be promoted with
    --force); the verdict stored on the version says the gate refused it.
    """
    verdict = version.verdict or {}
    if version.status == "candidate" and verdict.get("decision") == "reject":
        return "rejected"
    return version.status


def _metric(version: ModelVersion) -> str:
    for name in _SHOWN_METRICS:
        value = version.metrics.get(name)
        if isinstance(value, int | float):
            return f"{name} {value:.4f}"
    return "-"


def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include removed versions.")] = False,
) -> None:
    """Every version with its parent, status, aliases and headline metric."""
    with _reader(ctx) as registry:
        versions = registry.versions(include_deleted=all_)
        aliases = _aliases_by_version(registry)
    if not versions:
        console.print("no models registered yet: `lifelong train` registers the first one")
        return
    table = Table("version", "from", "status", "aliases", "created (UTC)", "metric", "size")
    table.add_column("notes", overflow="fold")
    for v in versions:
        table.add_row(
            v.label,
            "cold" if v.parent is None else f"{v.parent} {v.edge}",
            Text(shown_status(v), style="red" if shown_status(v) == "rejected" else ""),
            ", ".join(aliases.get(v.label, [])) or "-",
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            _metric(v),
            f"{_bytes(v)} {_format(v)}",
            Text(v.notes),
        )
    console.print(table)


def show(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="A version (1.2) or an alias (champion).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Everything recorded about one version."""
    with _reader(ctx) as registry:
        found = registry.resolve(version)
        record: dict[str, Any] = found.to_dict()
        record["aliases"] = _aliases_by_version(registry).get(found.label, [])
    if as_json:
        typer.echo(json.dumps(record, indent=2, sort_keys=True))
        return
    for part in describe(found, record["aliases"]):
        console.print(part)


def _facts(rows: list[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    for key, value in rows:
        table.add_row(Text(key, style="bold"), Text(value or "-"))
    return table


def _calibration(recorded: object) -> str:
    """The fitted temperature and what it did to the valid split's ECE; empty when none."""
    if not isinstance(recorded, dict) or "temperature" not in recorded:
        return ""
    before, after = recorded.get("valid_ece_before"), recorded.get("valid_ece_after")
    ece = "" if before is None or after is None else f" (valid ECE {before:.3f} -> {after:.3f})"
    return f"temperature {recorded['temperature']:.3f}{ece}"


def _names(value: object) -> str:
    """A recorded list of intents as words (``gift_card, loyalty``), ``-`` when empty."""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    return str(value) if value else "-"


def _target(found: object) -> str:
    """A recorded target range (see ``SnapshotDiff.summary``) as ``min .. max``."""
    if not isinstance(found, dict):
        return "-"
    return f"{found['min']:.4g} .. {found['max']:.4g} (mean {found['mean']:.4g})"


def _changes(version: ModelVersion) -> list[tuple[str, str]]:
    """What the version's data and outputs changed: intents for a classifier; for a regressor
    (whose diff records target ranges, not labels) the added and removed rows' targets."""
    training, diff = version.training, version.data_diff
    counts = f"+{diff.get('added', 0)} -{diff.get('removed', 0)} ~{diff.get('relabeled', 0)}"
    target = diff.get("target")
    if isinstance(target, dict) or "valid_rmse" in training:
        found = target if isinstance(target, dict) else {}
        return [
            (
                "data diff",
                f"{counts} rows (~ target changed); added targets {_target(found.get('added'))}, "
                f"removed {_target(found.get('removed'))}",
            )
        ]
    intents = (
        "intents",
        f"added {_names(training.get('labels_added'))}, "
        f"removed {_names(training.get('labels_removed'))}",
    )
    if diff.get("kind") == "files":  # a streamed training's snapshot: by file
        return [
            intents,
            (
                "data diff",
                f"files +{len(diff.get('files_added', []))} "
                f"-{len(diff.get('files_removed', []))} "
                f"~{len(diff.get('files_changed', []))} changed; rows "
                f"{diff.get('rows_before', 0):,} -> {diff.get('rows_after', 0):,}; new intents "
                f"{_names(diff.get('new_labels'))}",
            ),
        ]
    return [
        intents,
        (
            "data diff",
            f"{counts} relabeled; new intents {_names(diff.get('new_labels'))}, "
            f"vanished {_names(diff.get('vanished_labels'))}",
        ),
    ]


def describe(version: ModelVersion, aliases: list[str]) -> list[RenderableType]:
    """Human view of a version: what it is, how it was trained, on what, how good, verdict."""
    # numpy-backed; imported here so that `models list` and `lineage` do not pay for it
    from lifelong.evaluation import ForgettingReport, verdict_from_dict
    from lifelong.evaluation.tables import forgetting_table, verdict_summary

    training, metrics = version.training, version.metrics
    init = training.get("init", {})
    init_text = ", ".join(f"{k} {v}" for k, v in init.items() if k != "strategy")
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in version.timings.items())
    parts: list[RenderableType] = [
        _facts(
            [
                ("version", version.label),
                (
                    "from",
                    "cold" if version.parent is None else f"{version.parent} ({version.edge})",
                ),
                ("aliases", ", ".join(aliases)),
                ("status", shown_status(version)),
                ("created", f"{version.created_at:%Y-%m-%d %H:%M:%S} UTC on {version.host}"),
                ("lifelong", version.lifelong_version),
                ("snapshot", version.snapshot_id[:12]),
                (
                    "artifact",
                    f"{version.artifact_id[:12]}, {_bytes(version)}, weights {_format(version)}",
                ),
                ("init", f"{init.get('strategy', '-')} {init_text}".strip()),
                (
                    "epochs",
                    f"{training.get('epochs_run', '-')} run of {training.get('epochs', '-')}, "
                    f"{training.get('n_train', '-')} training examples "
                    f"({training.get('data', '-')}, {training.get('n_replay', 0)} replayed)",
                ),
                *_changes(version),
                ("calibration", _calibration(training.get("calibration"))),
                (
                    "metrics",
                    ", ".join(
                        f"{k} {metrics[k]:.4f}"
                        for k in _DESCRIBED_METRICS
                        if isinstance(metrics.get(k), int | float)
                    ),
                ),
                ("timings", timings),
                ("notes", version.notes),
            ]
        )
    ]
    compression = metrics.get("compression")
    if isinstance(compression, dict):
        method = training.get("method", "-")
        parts += [Text(f"\ncompression ({method})", style="bold"), _compression(compression)]
    if version.verdict is not None:
        parts += [
            Text("\nverdict", style="bold"),
            verdict_summary(verdict_from_dict(version.verdict)),
        ]
    if isinstance(metrics.get("forgetting"), dict):
        parts.append(forgetting_table(ForgettingReport.from_dict(metrics["forgetting"])))
    return parts


_FOOTPRINT = (
    ("size (bytes)", "bytes", "{:,.0f}"),
    ("weights", "weights_format", "{}"),
    ("stored n-gram rows", "stored_rows", "{:,}"),
    ("hidden units", "hidden_units", "{:,}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("macro-F1", "macro_f1", "{:.4f}"),
    ("single text p50 (ms)", "latency_ms_p50", "{:.3f}"),
    ("single text p99 (ms)", "latency_ms_p99", "{:.3f}"),
    ("batch (ms a text)", "batch_ms_per_text", "{:.4f}"),
)


def _compression(figures: dict[str, Any]) -> Table:
    """Before (the parent) and after, as measured on the same test split when compressed."""
    table = Table("", "parent", "this version")
    before, after = figures.get("before", {}), figures.get("after", {})
    for title, key, form in _FOOTPRINT:
        cells = [form.format(f[key]) if key in f else "-" for f in (before, after)]
        table.add_row(title, *cells)
    return table


def promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version to promote.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in history).")],
    alias: Annotated[str, typer.Option("--alias", help="The alias to move.")] = CHAMPION,
    force: Annotated[
        bool, typer.Option("--force", help="Promote to champion without a current promote verdict.")
    ] = False,
) -> None:
    """Point an alias (champion by default) at a version after checking its artifact.

    The champion only moves to a version whose gate verdict is "promote" against the current
    champion (see `lifelong challenge`); --force overrides that, and the history records the
    move as forced. Promoting the version the alias already names records nothing.
    """
    with _registry(ctx) as registry:
        command = f"lifelong models promote {version} --alias {alias}" + (
            " --force" if force else ""
        )
        done = registry_promote(
            registry, version, reason=reason, command=command, alias=alias, force=force
        )
    if done.move is None:
        console.print(f"{done.version} is already {alias}; nothing recorded")
        return
    forced = f" (forced over: {done.overridden})" if done.overridden else ""
    console.print(f"{alias}: {done.previous or '-'} -> {done.version}{forced}", highlight=False)


def rollback(
    ctx: typer.Context,
    alias: Annotated[str, typer.Option("--alias", help="The alias to move back.")] = CHAMPION,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why.")] = "manual rollback",
) -> None:
    """Move an alias back to the version it held before its latest promotion."""
    with _registry(ctx) as registry:
        command = f"lifelong models rollback --alias {alias}"
        move = registry.rollback(alias, reason=reason, command=command)
    console.print(f"{alias}: {move.from_version} -> {move.to_version} (rolled back)")


def alias_history(
    ctx: typer.Context,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Only this alias (default: all).")
    ] = None,
) -> None:
    """Every recorded alias move, oldest first.

    When, from, to, kind (set, forced, rollback, remove), why and by which command.
    """
    with _reader(ctx) as registry:
        moves = registry.store.alias_history(alias)
    if not moves:
        console.print("no alias moves recorded yet")
        return
    table = Table("at (UTC)", "alias", "from", "to", "kind", "reason", "command")
    for move in moves:
        table.add_row(
            move.at.strftime("%Y-%m-%d %H:%M:%S"),
            move.alias,
            move.from_version or "-",
            move.to_version or "-",
            Text(move.kind, style="bold red" if move.kind == "forced" else ""),
            Text(move.reason),
            Text(move.command),
        )
    console.print(table)


def export(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version or alias to export.", metavar="VERSION")],
    dest: Annotated[Path, typer.Argument(help="New (or empty) folder to write.", metavar="DIR")],
) -> None:
    """Copy a version's model into DIR, sha256-checked, with a manifest and a README.

    The README in DIR says how to load it: `lifelong.load(DIR)` or
    `lifelong predict --model DIR`.
    """
    from lifelong.pipelines.export import export_version

    with _registry(ctx, read_only=True) as registry:
        manifest = export_version(registry, version, dest)
    console.print(
        f"exported {manifest.version} ({len(manifest.labels)} intents, "
        f"{len(manifest.files)} files, sha256 in manifest.json) to {dest}",
        highlight=False,
        soft_wrap=True,
    )


def remove(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version to remove.")],
    force: Annotated[
        bool, typer.Option("--force", help="Remove even with aliases or descendants.")
    ] = False,
) -> None:
    """Remove a version's artifact; its record stays as a tombstone for lineage."""
    with _registry(ctx) as registry:
        command = f"lifelong models rm {version}" + (" --force" if force else "")
        removed = registry.remove(version, force=force, command=command)
    console.print(f"removed {removed.label}")


def gc(
    ctx: typer.Context,
    keep: Annotated[int, typer.Option("--keep", "-k", help="Newest versions to keep.")] = 10,
) -> None:
    """Drop artifacts of old unaliased leaves; rows and lineage stay (marked pruned)."""
    with _registry(ctx) as registry:
        pruned = registry.gc(keep)
    if not pruned:
        console.print("nothing to prune")
        return
    console.print(f"pruned {len(pruned)}: {', '.join(v.label for v in pruned)}")


def _node_text(version: ModelVersion, aliases: dict[str, list[str]], focus: str | None) -> Text:
    text = Text(version.label, style="bold underline" if version.label == focus else "")
    if version.edge not in (None, "finetune"):
        text = Text(f"{version.edge}:", style="cyan") + text
    if version.label in aliases:
        text.append(f" ({', '.join(aliases[version.label])})", style="green")
    status = shown_status(version)
    if status != "candidate":
        text.append(f" [{status}]", style="red" if status == "rejected" else "dim")
    return text


def _chain(
    node: LineageNode, aliases: dict[str, list[str]], focus: str | None
) -> tuple[Text, tuple[LineageNode, ...]]:
    """A straight run of single children on one line: ``1.0 ── 1.1 ── 1.2``."""
    text = _node_text(node.version, aliases, focus)
    while len(node.children) == 1:
        node = node.children[0]
        text += Text(" ── ") + _node_text(node.version, aliases, focus)
    return text, node.children


def _grow(
    tree: Tree, branches: tuple[LineageNode, ...], aliases: dict[str, list[str]], focus: str | None
) -> None:
    for branch in branches:
        text, rest = _chain(branch, aliases, focus)
        _grow(tree.add(text), rest, aliases, focus)


def lineage(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Argument(help="Show only this version's major line.")
    ] = None,
) -> None:
    """The version tree: each cold major and the updates grown from it."""
    with _reader(ctx) as registry:
        roots = registry.tree(version)
        aliases = _aliases_by_version(registry)
        focus = registry.resolve(version).label if version else None
    if not roots:
        console.print("no models registered yet: `lifelong train` registers the first one")
        return
    for root in roots:
        text, rest = _chain(root, aliases, focus)
        tree = Tree(text, guide_style="dim")
        _grow(tree, rest, aliases, focus)
        console.print(tree)
