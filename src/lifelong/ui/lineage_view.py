"""The lineage graph laid out for an SVG: one row per branch, one column per generation.

A registry grows one version per cycle, so a page shows a slice of at most ``PAGE_SIZE``
versions in (major, minor) order; a version whose parent is on an earlier page starts its
row with a stub naming (and linking to) that parent. The layout is a plain depth-first walk:
a node's column is its depth below the slice's root, its row that of its first child, and each
further child opens a new row, so a line of fine-tunes stays one straight row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lifelong.registry import ModelVersion

PAGE_SIZE = 120
DX, DY, MARGIN = 86, 58, 40


@dataclass(frozen=True)
class Node:
    """One version drawn: where, how (CSS classes) and what it says on hover."""

    label: str
    x: int
    y: int
    classes: str
    aliases: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int
    kind: str
    label: str


@dataclass(frozen=True)
class Stub:
    """A parent on another page: drawn as a small link in front of its child."""

    parent: str
    x: int
    y: int


@dataclass(frozen=True)
class LineageView:
    nodes: list[Node]
    edges: list[Edge]
    stubs: list[Stub]
    width: int
    height: int
    page: int
    pages: int
    total: int


def rejected(version: ModelVersion) -> bool:
    """The gate judged the version and did not let it through."""
    return version.verdict is not None and version.verdict.get("decision") != "promote"


def _classes(version: ModelVersion, aliases: Sequence[str]) -> str:
    classes = ["node", f"status-{version.status}"]
    classes += ["cold"] if version.parent is None else [f"edge-{version.edge}"]
    classes += ["rejected"] if rejected(version) else []
    classes += ["aliased"] if aliases else []
    classes += ["champion"] if "champion" in aliases else []
    return " ".join(classes)


def _title(version: ModelVersion, aliases: Sequence[str]) -> str:
    how = "cold" if version.parent is None else f"{version.edge} of {version.parent}"
    accuracy = version.metrics.get("accuracy")
    parts = [f"{version.label} ({how})", version.status]
    if isinstance(accuracy, int | float):
        parts.append(f"accuracy {accuracy:.4f}")
    if version.verdict is not None:
        parts.append(f"verdict {version.verdict.get('decision')}")
    if aliases:
        parts.append("aliases " + ", ".join(aliases))
    return " · ".join(parts)


def layout(
    versions: Sequence[ModelVersion], aliases: Mapping[str, str], page: int = 1
) -> LineageView:
    """The nodes, edges and stubs of ``page`` (1-based, clamped to the pages there are)."""
    ordered = sorted(versions, key=lambda v: v.key)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    on_page = {v.label for v in shown}
    by_version: dict[str, list[str]] = defaultdict(list)
    for name, label in sorted(aliases.items()):
        by_version[label].append(name)
    children: dict[str, list[ModelVersion]] = defaultdict(list)
    roots = []
    for version in shown:
        if version.parent in on_page:
            children[version.parent].append(version)
        else:
            roots.append(version)
    position: dict[str, tuple[int, int]] = {}
    stubs: list[Stub] = []
    row = 0
    for root in roots:
        start = 0 if root.parent is None else 1
        if root.parent is not None:
            stubs.append(Stub(root.parent, MARGIN, MARGIN + row * DY))
        stack = [(root, start)]
        first = True
        while stack:  # depth-first, children in version order, no recursion limit
            version, depth = stack.pop()
            if not first and version.parent is not None and children[version.parent][0] != version:
                row += 1
            first = False
            position[version.label] = (MARGIN + depth * DX, MARGIN + row * DY)
            stack.extend((child, depth + 1) for child in reversed(children[version.label]))
        row += 1
    nodes = [
        Node(
            v.label,
            *position[v.label],
            _classes(v, by_version[v.label]),
            tuple(by_version[v.label]),
            _title(v, by_version[v.label]),
        )
        for v in shown
    ]
    edges = []
    for version in shown:
        if version.parent in position:
            x1, y1 = position[version.parent]
            x2, y2 = position[version.label]
            edges.append(Edge(x1, y1, x2, y2, version.edge or "", f"{version.edge}"))
    width = max((n.x for n in nodes), default=0) + 2 * MARGIN + DX
    height = max((n.y for n in nodes), default=0) + MARGIN + DY
    return LineageView(nodes, edges, stubs, width, height, page, pages, len(ordered))
