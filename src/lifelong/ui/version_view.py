"""What the version, compare and metrics pages show, computed from the registry's records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lifelong.core.errors import NotFound
from lifelong.registry import (
    AliasMove,
    ModelVersion,
    Registry,
    parse_version,
    verdict_refusal,
)
from lifelong.ui import charts

SKIPPED = ("metrics.reference",)
"""Record fields too long to compare key by key (a reference window is 1000s of numbers)."""


def _per_intent(version: ModelVersion | None) -> dict[str, dict[str, Any]]:
    if version is None:
        return {}
    rows = version.metrics.get("test", {}).get("per_intent", [])
    return {row["label"]: row for row in rows if isinstance(row, dict) and "label" in row}


def _delta(mine: Any, theirs: Any) -> float | None:
    if isinstance(mine, int | float) and isinstance(theirs, int | float):
        return float(mine) - float(theirs)
    return None


def per_intent_table(
    version: ModelVersion, parent: ModelVersion | None, champion: ModelVersion | None
) -> list[dict[str, Any]]:
    """One row per intent of ``version``: its figures and F1 / recall deltas against its
    parent and the champion (``None`` where they lack the intent)."""
    against = {"parent": _per_intent(parent), "champion": _per_intent(champion)}
    rows = []
    for label, row in sorted(_per_intent(version).items()):
        out = {k: row.get(k) for k in ("label", "support", "precision", "recall", "f1")}
        for who, table in against.items():
            other = table.get(label, {})
            out[f"f1_vs_{who}"] = _delta(row.get("f1"), other.get("f1"))
            out[f"recall_vs_{who}"] = _delta(row.get("recall"), other.get("recall"))
        rows.append(out)
    return rows


def artifact_size(version: ModelVersion) -> int:
    return sum(f.size for f in version.artifact_files.values())


def _optional(registry: Registry, label: str | None) -> ModelVersion | None:
    if label is None:
        return None
    try:
        return registry.store.get_version(label)
    except NotFound:
        return None


@dataclass(frozen=True)
class VersionPage:
    version: ModelVersion
    parent: ModelVersion | None
    champion: ModelVersion | None
    aliases: list[str]
    moves: list[AliasMove]
    children: list[str]
    per_intent: list[dict[str, Any]]
    confusion: charts.Figure | None
    refusal: str | None
    size: int


def version_page(registry: Registry, label: str, alias: str) -> VersionPage:
    """Everything the page of ``label`` shows (:class:`NotFound` for an unknown version)."""
    parse_version(label)
    version = registry.store.get_version(label)
    aliases = registry.store.aliases()
    champion = _optional(registry, aliases.get(alias))
    parent = _optional(registry, version.parent)
    confusion = version.metrics.get("test", {}).get("confusion")
    figure = None
    if isinstance(confusion, dict) and confusion.get("labels"):
        figure = charts.heatmap(confusion["labels"], confusion["counts"])
    refusal = verdict_refusal(version, aliases.get(alias))
    return VersionPage(
        version=version,
        parent=parent,
        champion=champion,
        aliases=sorted(name for name, to in aliases.items() if to == label),
        moves=[
            m for m in registry.store.alias_history() if label in (m.to_version, m.from_version)
        ],
        children=[v.label for v in registry.descendants(label) if v.parent == label],
        per_intent=per_intent_table(version, parent, champion),
        confusion=figure,
        refusal=None if refusal is None else refusal.message,
        size=artifact_size(version),
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested records as ``a.b.c -> value``; lists of rows with a ``label`` (per-intent
    tables) keyed by label, other lists kept whole."""
    if prefix in SKIPPED:
        return {prefix: "(not compared)"}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out |= flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
        return out or {prefix: {}}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(row, Mapping) and "label" in row for row in value)
    ):
        rows = {str(row["label"]): {k: v for k, v in row.items() if k != "label"} for row in value}
        return flatten(rows, prefix)
    return {prefix: value}


def compare_rows(a: ModelVersion, b: ModelVersion, only_differences: bool) -> list[dict[str, Any]]:
    """Rows ``key, a, b, differs`` over both versions' whole records."""
    left, right = flatten(a.to_dict()), flatten(b.to_dict())
    rows = []
    for key in sorted(set(left) | set(right)):
        differs = left.get(key) != right.get(key)
        if differs or not only_differences:
            rows.append({"key": key, "a": left.get(key), "b": right.get(key), "differs": differs})
    return rows


@dataclass(frozen=True)
class MetricLine:
    name: str
    versions: list[ModelVersion]
    figure: charts.Figure
    promoted: dict[str, str]


def promotions(moves: Sequence[AliasMove], alias: str) -> dict[str, str]:
    """Version -> when (and how) it first became ``alias``."""
    found: dict[str, str] = {}
    for move in moves:
        if move.alias == alias and move.to_version and move.to_version not in found:
            found[move.to_version] = f"{move.kind} {move.at:%Y-%m-%d %H:%M}"
    return found


def metric_line(
    versions: Sequence[ModelVersion], moves: Sequence[AliasMove], line: str, alias: str
) -> MetricLine:
    """Accuracy, macro-F1 and backward transfer along ``line``: ``major N`` (every version of
    a major) or a version label (its ancestry, from its cold root to it)."""
    by_label = {v.label: v for v in versions}
    if line.startswith("major "):
        major = int(line.removeprefix("major ").strip() or 0)
        chosen = [v for v in versions if v.major == major]
        name = f"every version of major {major}"
    else:
        parse_version(line)
        if line not in by_label:
            raise NotFound(f"version {line} does not exist", hint="pick a version on the lineage")
        chosen = [by_label[line]]
        while chosen[0].parent is not None and chosen[0].parent in by_label:
            chosen.insert(0, by_label[chosen[0].parent])
        name = f"the line of {line} (its ancestors from the cold root)"
    chosen = sorted(chosen, key=lambda v: v.key)
    if not chosen:
        raise NotFound(f"no version in {line}", hint="pick a major listed on the page")
    labels = [v.label for v in chosen]
    promoted = promotions(moves, alias)

    def metric(version: ModelVersion, *path: str) -> float | None:
        value: Any = version.metrics
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return float(value) if isinstance(value, int | float) else None

    figure = charts.lines(
        "Metrics along " + name,
        labels,
        {
            "accuracy": [metric(v, "accuracy") for v in chosen],
            "macro-F1": [metric(v, "macro_f1") for v in chosen],
            "accuracy on the parent's test examples": [
                metric(v, "forgetting", "child_accuracy_old") for v in chosen
            ],
        },
        markers=[
            (v.label, metric(v, "accuracy"), f"{v.label} promoted ({promoted[v.label]})")
            for v in chosen
            if v.label in promoted
        ],
        marker_name=f"promoted to {alias}",
    )
    figure["data"].append(
        {
            "type": "bar",
            "name": "backward transfer (forgetting < 0)",
            "x": labels,
            "y": [metric(v, "forgetting", "backward_transfer") for v in chosen],
            "yaxis": "y2",
            "opacity": 0.35,
        }
    )
    figure["layout"]["yaxis2"] = {"overlaying": "y", "side": "right", "zeroline": True}
    figure["layout"]["height"] = 420
    return MetricLine(name, chosen, figure, promoted)
