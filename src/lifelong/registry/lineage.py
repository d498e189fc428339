"""Lineage queries over a list of versions: ancestors, descendants, the tree of a major line.

Pure functions over records already fetched: a registry holds hundreds of versions, not
millions, so one query plus a walk in memory is simpler and as fast as recursive SQL, and it
behaves the same on every back end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from lifelong.registry.entities import ModelVersion, unknown_version


@dataclass(frozen=True)
class LineageNode:
    """A version and the versions updated from it."""

    version: ModelVersion
    children: tuple[LineageNode, ...]


def _find(versions: Sequence[ModelVersion], label: str) -> ModelVersion:
    for version in versions:
        if version.label == label:
            return version
    raise unknown_version(label)


def children_of(versions: Sequence[ModelVersion]) -> dict[str, list[ModelVersion]]:
    """Parent label -> its children, in version order."""
    children: dict[str, list[ModelVersion]] = defaultdict(list)
    for version in sorted(versions, key=lambda v: v.key):
        if version.parent is not None:
            children[version.parent].append(version)
    return children


def ancestors(versions: Sequence[ModelVersion], label: str) -> list[ModelVersion]:
    """The parent, grandparent, ... of ``label`` up to its cold root (nearest first)."""
    found = []
    current = _find(versions, label)
    while current.parent is not None:
        current = _find(versions, current.parent)
        found.append(current)
    return found


def descendants(versions: Sequence[ModelVersion], label: str) -> list[ModelVersion]:
    """Every version updated, directly or not, from ``label``, in version order."""
    _find(versions, label)
    children = children_of(versions)
    found, todo = [], [label]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.label)
    return sorted(found, key=lambda v: v.key)


def tree(versions: Sequence[ModelVersion], label: str | None = None) -> list[LineageNode]:
    """Trees of every cold major in order, or only the major line holding ``label``."""
    children = children_of(versions)

    def grow(version: ModelVersion) -> LineageNode:
        return LineageNode(version, tuple(grow(c) for c in children.get(version.label, [])))

    roots = sorted((v for v in versions if v.parent is None), key=lambda v: v.key)
    if label is not None:
        major = _find(versions, label).major
        roots = [root for root in roots if root.major == major]
    return [grow(root) for root in roots]
