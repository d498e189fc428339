"""Lineage walks and version labels, on records built in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lifelong.core.errors import NotFound
from lifelong.registry import ModelVersion, parse_version
from lifelong.registry.lineage import ancestors, descendants, tree
from lifelong.registry.sqlalchemy_store import version_problems


def version(label: str, parent: str | None = None) -> ModelVersion:
    major, minor = parse_version(label)
    return ModelVersion(
        major=major,
        minor=minor,
        parent=parent,
        edge="finetune" if parent else None,
        status="candidate",
        config={},
        snapshot_id="s",
        data_diff={},
        metrics={},
        timings={},
        training={},
        artifact_id="a",
        artifact_files={},
        created_at=datetime.now(UTC),
        host="h",
        lifelong_version="0",
        notes="",
        verdict=None,
    )


VERSIONS = [
    version("1.0"),
    version("1.1", "1.0"),
    version("1.2", "1.1"),
    version("1.3", "1.0"),
    version("1.10", "1.2"),
    version("2.0"),
]


def test_ancestors_nearest_first() -> None:
    assert [v.label for v in ancestors(VERSIONS, "1.10")] == ["1.2", "1.1", "1.0"]
    assert ancestors(VERSIONS, "2.0") == []


def test_descendants_in_version_order() -> None:
    assert [v.label for v in descendants(VERSIONS, "1.0")] == ["1.1", "1.2", "1.3", "1.10"]
    assert [v.label for v in descendants(VERSIONS, "1.2")] == ["1.10"]


def test_tree_of_a_major_line_and_of_all() -> None:
    (root,) = tree(VERSIONS, "1.10")
    assert [c.version.label for c in root.children] == ["1.1", "1.3"]
    assert root.children[0].children[0].children[0].version.label == "1.10"
    assert [n.version.label for n in tree(VERSIONS)] == ["1.0", "2.0"]


def test_unknown_version() -> None:
    with pytest.raises(NotFound, match=r"version 4\.0 does not exist"):
        ancestors(VERSIONS, "4.0")


def test_labels() -> None:
    assert parse_version(" 10.02 ") == (10, 2)
    with pytest.raises(NotFound, match=r"expected MAJOR\.MINOR"):
        parse_version("champion")


def test_version_problems_flags_broken_numbering() -> None:
    assert version_problems(VERSIONS) == []
    broken = [version("1.1"), version("2.1", "1.1")]
    assert version_problems(broken) == [
        "version 1.1: a cold version must have minor 0",
        "version 2.1: parent 1.1 is not in its major line",
    ]
