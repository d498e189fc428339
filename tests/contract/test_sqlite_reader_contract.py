"""The stdlib reader of the read commands returns exactly what :class:`SqlAlchemyStore` returns.

Both read the same SQLite store: every version (lineage fields, statuses, metrics, verdicts,
artifact manifests, notes), the aliases and their history, and the cycles must come out equal,
and the commands built on them must print the same bytes either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lifelong.cli.common import console
from lifelong.cli.main import app
from lifelong.core.errors import NotFound
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import CycleRecord, Registry, open_registry
from lifelong.registry import reader as reader_module
from lifelong.registry.sqlalchemy_store import SqlAlchemyStore
from lifelong.registry.sqlite_reader import SqliteReader, open_sqlite_reader

BundleFactory = Callable[..., Path]

# A first model's verdict as the gate stores it (``models show`` renders it).
_VERDICT: dict[str, Any] = {
    "decision": "promote",
    "kind": "first",
    "challenger_version": "1.1",
    "champion_version": None,
    "reasons": ["first model of the project: accuracy 0.919 >= floor 0.500", "86 examples"],
    "n_examples": 86,
    "challenger_accuracy": 0.9186046511627907,
    "champion_accuracy": None,
    "difference": None,
    "mcnemar": None,
    "bootstrap": None,
    "intent_deltas": [],
    "latency": {
        "budget_ms": None,
        "champion_ms": None,
        "challenger_ms": 0.7084916860469812,
        "within_budget": None,
    },
    "policy": {"alpha": 0.05, "floor": 0.5, "tie": "promote", "max_latency_ms": None},
    "slices": [],
    "absorptions": [],
}


def _cycle(n: int, champion: str | None, versions: list[str]) -> CycleRecord:
    start = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC) + timedelta(hours=n)
    return CycleRecord(
        id=0,
        started_at=start,
        finished_at=start + timedelta(seconds=12.5),
        outcome="promoted" if versions else "nothing",
        trigger={"fired": ["volume"] if versions else [], "volume": {"new": n * 10}},
        data={"new": n * 10, "resumed": None},
        strategy={"kind": "warm", "epoch_fraction": 0.2},
        versions=versions,
        champion=champion,
        durations={"ingest": 0.25, "train": 7, "gate": 1.125},
        error="",
    )


def _populate(registry: Registry, make_bundle: BundleFactory) -> None:
    """Every kind of record the read commands show, in most of their states."""
    snap = registry.put_snapshot([Example.make("hi", "greet"), Example.make("bye", "bye")]).id
    layout: list[tuple[str | None, str | None, dict[str, Any]]] = [
        (None, None, {"accuracy": 0.91, "macro_f1": 0.9, "per_class": {"greet": [1, 2]}}),
        ("1.0", "finetune", {"accuracy": 0.93, "per_slice": {"old": 0.01, "new": None}}),
        ("1.1", "compress", {"f1": 0.5, "compression": {"before": {"bytes": 10}, "after": {}}}),
        ("1.0", "distill", {}),
        (None, None, {"valid_accuracy": 1.0}),
        ("2.0", "finetune", {"accuracy": 0}),
    ]
    for seed, (parent, edge, metrics) in enumerate(layout):
        registry.register(
            make_bundle(seed),
            snapshot_id=snap,
            config={"pipeline": {"name": "fast", "ngrams": {"word": [1, 2]}}, "seed": seed},
            parent=parent,
            edge=edge,  # type: ignore[arg-type]
            data_diff={"added": seed, "new_labels": ["bye"] if seed else []},
            metrics=metrics,
            timings={"train": 1.5 + seed, "evaluate": 0.125},
            training={"init": {"strategy": "warm", "shrink": 0.6}, "weights_format": "int8"},
            notes=f"version {seed}: ünïcode ✓\nsecond line" if seed % 2 else "",
        )
    registry.set_verdict("1.1", _VERDICT)
    registry.set_verdict("1.3", {**_VERDICT, "decision": "reject"})
    registry.update_metrics("1.0", {"accuracy": 0.915, "test_size": 120})
    registry.set_alias("champion", "1.0", reason="first", command="train --promote")
    registry.set_alias("champion", "1.1", reason="better", command="challenge")
    registry.set_alias("champion", "1.2", reason="smaller", command="promote", kind="forced")
    registry.rollback("champion", reason="too slow", command="models rollback")
    registry.set_alias("challenger", "2.0", reason="try it", command="train")
    registry.set_alias("shadow", "1.2", reason="compare", command="serve")
    registry.store.remove_alias("shadow", reason="done", command="models rm")
    registry.remove("2.1", command="models rm 2.1")
    registry.gc(keep=1)  # prunes the old unaliased leaf 1.3
    registry.store.record_cycle(_cycle(1, None, []))
    registry.store.record_cycle(_cycle(2, "1.1", ["1.1"]))
    registry.store.record_cycle(_cycle(3, "1.1", ["1.2", "1.3"]))


@pytest.fixture
def stores(tmp_path: Path, make_bundle: BundleFactory) -> Iterator[tuple[SqliteReader, Registry]]:
    """The same populated SQLite store, read by the stdlib reader and by SQLAlchemy."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(url, tmp_path / "artifacts") as registry:
        _populate(registry, make_bundle)
    reader = open_sqlite_reader(url)
    assert reader is not None
    with open_registry(url, tmp_path / "artifacts", read_only=True) as full:
        yield reader, full
    reader.close()


def test_versions_come_out_equal(stores: tuple[SqliteReader, Registry]) -> None:
    reader, full = stores
    expected = full.store.list_versions()
    assert isinstance(full.store, SqlAlchemyStore)
    assert [v.status for v in expected] == [
        "candidate",
        "candidate",
        "candidate",
        "pruned",
        "candidate",
        "deleted",
    ]
    assert reader.list_versions() == expected
    for version in expected:
        assert reader.get_version(version.label) == full.store.get_version(version.label)
    fast = reader.get_version("1.2")
    assert (fast.parent, fast.edge, fast.created_at.tzinfo) == ("1.1", "compress", UTC)


def test_aliases_and_their_history_come_out_equal(stores: tuple[SqliteReader, Registry]) -> None:
    reader, full = stores
    assert reader.aliases() == full.store.aliases() == {"challenger": "2.0", "champion": "1.1"}
    assert reader.alias_history() == full.store.alias_history()
    for name in ("champion", "challenger", "shadow", "never-set"):
        assert reader.alias_history(name) == full.store.alias_history(name)
    assert [m.kind for m in reader.alias_history("champion")] == [
        "set",
        "set",
        "forced",
        "rollback",
    ]


@pytest.mark.parametrize("limit", [None, 1, 2, 10])
def test_cycles_come_out_equal(stores: tuple[SqliteReader, Registry], limit: int | None) -> None:
    reader, full = stores
    expected = full.store.list_cycles(limit)
    assert reader.list_cycles(limit) == expected
    assert len(expected) == min(limit or 3, 3)


@pytest.mark.parametrize("label", ["9.0", "1.99", "latest"])
def test_a_missing_version_is_the_same_error(
    stores: tuple[SqliteReader, Registry], label: str
) -> None:
    reader, full = stores
    with pytest.raises(NotFound) as slow:
        full.store.get_version(label)
    with pytest.raises(NotFound) as fast:
        reader.get_version(label)
    assert (fast.value.message, fast.value.hint) == (slow.value.message, slow.value.hint)


_COMMANDS = [
    ["models", "list"],
    ["models", "list", "--all"],
    ["models", "show", "1.1"],
    ["models", "show", "champion", "--json"],
    ["models", "show", "2.1", "--json"],
    ["models", "show", "3.0"],
    ["models", "history"],
    ["models", "history", "--alias", "champion"],
    ["lineage"],
    ["lineage", "1.2"],
    ["history"],
    ["history", "--json", "--limit", "2"],
]


def test_the_read_commands_print_the_same_either_way(
    tmp_path: Path,
    make_bundle: BundleFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each command's exit code and output with the stdlib reader and with SQLAlchemy."""
    monkeypatch.delenv("LIFELONG_STORE_URL", raising=False)
    monkeypatch.setattr(console, "width", 200)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "config.yml").write_text("{}\n")
    project = Project.load(root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        _populate(registry, make_bundle)
    runner = CliRunner()

    def run_all() -> list[tuple[int, str]]:
        results = [runner.invoke(app, ["--project", str(root), *args]) for args in _COMMANDS]
        return [(r.exit_code, r.output) for r in results]

    opened: list[type] = []
    real_open = reader_module.open_sqlite_reader

    def counted(url: str) -> SqliteReader | None:
        found = real_open(url)
        opened.append(type(found))
        return found

    monkeypatch.setattr(reader_module, "open_sqlite_reader", counted)
    fast = run_all()
    assert opened == [SqliteReader] * len(_COMMANDS)
    monkeypatch.setattr(reader_module, "open_sqlite_reader", lambda url: None)
    slow = run_all()
    for args, one, other in zip(_COMMANDS, fast, slow, strict=True):
        assert one == other, args
    assert [code for code, _ in fast].count(0) == len(_COMMANDS) - 1  # show 3.0: not found


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def shared_store() -> Iterator[tuple[Registry, str]]:
    """One store that the property test below adds a version to per example."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "weights.safetensors").write_bytes(b"weights")
        url = f"sqlite:///{tmp}/registry.db"
        with open_registry(url, Path(tmp) / "artifacts") as registry:
            registry.put_snapshot([Example.make("hi", "greet")])
            yield registry, url


@settings(max_examples=30, deadline=None)
@given(
    metrics=st.dictionaries(st.text(max_size=10), _JSON, max_size=4),
    training=st.dictionaries(st.text(max_size=10), _JSON, max_size=3),
    notes=st.text(max_size=40),
    verdict=st.none() | st.dictionaries(st.text(max_size=6), _JSON, max_size=3),
    cold=st.booleans(),
)
def test_any_recorded_values_read_back_equal(
    shared_store: tuple[Registry, str],
    metrics: dict[str, Any],
    training: dict[str, Any],
    notes: str,
    verdict: dict[str, Any] | None,
    cold: bool,
) -> None:
    """Whatever JSON-safe metrics, training facts, notes and verdict a version records, the
    stdlib reader decodes them as SQLAlchemy does."""
    registry, url = shared_store
    snapshot = registry.store.list_snapshots()[0].id
    latest = registry.versions()[-1].label if registry.versions() else None
    bundle = Path(url.removeprefix("sqlite:///")).parent / "bundle"
    created = registry.register(
        bundle,
        snapshot_id=snapshot,
        config={"notes": notes},
        parent=None if cold or latest is None else latest,
        edge=None if cold or latest is None else "finetune",
        metrics=metrics,
        training=training,
        notes=notes,
    )
    if verdict is not None:
        created = registry.set_verdict(created.label, verdict)
    reader = open_sqlite_reader(url)
    assert reader is not None
    try:
        assert reader.get_version(created.label) == created
        assert reader.list_versions() == registry.store.list_versions()
    finally:
        reader.close()
