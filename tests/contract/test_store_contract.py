"""One contract for every registry back end: run on SQLite and on PostgreSQL (``store_url``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from lifelong import __version__
from lifelong.core.errors import ArtifactCorrupt, NotFound, RegistryError, SchemaMismatch
from lifelong.core.types import Example, FileManifest, files_snapshot_id, snapshot_id
from lifelong.registry import ModelVersion, Registry, open_registry
from lifelong.registry.dbmodels import Base, ExampleRow
from lifelong.registry.migrate import current_revision, head_revision
from lifelong.registry.sqlalchemy_store import SqlAlchemyStore

Register = Callable[..., ModelVersion]


@pytest.fixture
def snap(registry: Registry, examples: list[Example]) -> str:
    return registry.put_snapshot(examples).id


@pytest.fixture
def register(registry: Registry, make_bundle: Callable[..., Path], snap: str) -> Register:
    """Register a version with distinct artifact content; ``register("1.0")`` is an update."""
    seeds = iter(range(10_000))

    def run(parent: str | None = None, edge: str | None = None, **fields: object) -> ModelVersion:
        return registry.register(
            make_bundle(next(seeds)),
            snapshot_id=snap,
            config={"pipeline": {"name": "fast"}},
            parent=parent,
            edge=edge or ("finetune" if parent else None),  # type: ignore[arg-type]
            **fields,  # type: ignore[arg-type]
        )

    return run


# -- numbering ------------------------------------------------------------------------------


def test_cold_versions_open_majors_and_updates_take_the_next_minor(register: Register) -> None:
    assert register().label == "1.0"
    assert register("1.0").label == "1.1"
    assert register("1.1").label == "1.2"
    assert register().label == "2.0"
    assert register("1.0", "distill").label == "1.3"  # a branch still takes the next free minor
    assert register("2.0", "compress").label == "2.1"


def test_minor_numbers_sort_numerically(registry: Registry, register: Register) -> None:
    register()
    for _ in range(11):
        register("1.0")
    assert [v.label for v in registry.versions()][-3:] == ["1.9", "1.10", "1.11"]


def test_parent_and_edge_must_come_together(register: Register) -> None:
    register()
    with pytest.raises(RegistryError, match="give both"):
        register(None, "finetune")
    with pytest.raises(RegistryError, match="not one of finetune, compress, distill"):
        register("1.0", "magic")


def test_unknown_parent_or_snapshot_is_not_found(
    registry: Registry, register: Register, make_bundle: Callable[..., Path]
) -> None:
    with pytest.raises(NotFound, match=r"version 7\.0 does not exist"):
        register("7.0")
    with pytest.raises(NotFound, match="snapshot nope does not exist"):
        registry.register(make_bundle("x"), snapshot_id="nope", config={})
    assert registry.versions() == []


# -- the record -----------------------------------------------------------------------------


def test_a_version_records_everything_given(
    registry: Registry, register: Register, snap: str
) -> None:
    register()
    version = register(
        "1.0",
        data_diff={"added": 3, "removed": 1},
        metrics={"accuracy": 0.91},
        timings={"featurize": 1.5, "train": 10.0, "evaluate": 0.5},
        training={"init": "warm", "epochs": 2, "labels_added": ["weather"]},
        notes="more weather data",
    )
    got = registry.resolve("1.1")
    assert got == version
    assert (got.parent, got.edge, got.status, got.snapshot_id) == (
        "1.0",
        "finetune",
        "candidate",
        snap,
    )
    assert got.metrics == {"accuracy": 0.91}
    assert got.timings["train"] == 10.0
    assert got.training["labels_added"] == ["weather"]
    assert got.data_diff == {"added": 3, "removed": 1}
    assert got.config == {"pipeline": {"name": "fast"}}
    assert got.notes == "more weather data"
    assert got.created_at.tzinfo == UTC
    assert got.lifelong_version == __version__
    assert got.host
    assert got.verdict is None
    assert set(got.artifact_files) == {"weights.safetensors", "spec.json"}
    json.dumps(got.to_dict())  # the whole record is JSON-safe


def test_verdict_and_late_metrics_are_attached(registry: Registry, register: Register) -> None:
    register(metrics={"accuracy": 0.8})
    registry.set_verdict("1.0", {"promote": True, "reasons": ["p=0.01"]})
    updated = registry.update_metrics("1.0", {"macro_f1": 0.7})
    assert updated.verdict == {"promote": True, "reasons": ["p=0.01"]}
    assert registry.resolve("1.0").metrics == {"accuracy": 0.8, "macro_f1": 0.7}


def test_unknown_version_and_malformed_labels(registry: Registry) -> None:
    with pytest.raises(NotFound, match=r"version 3\.1 does not exist"):
        registry.resolve("3.1")
    with pytest.raises(NotFound, match="neither a version"):
        registry.resolve("nosuchalias")
    with pytest.raises(NotFound, match="not a version"):
        registry.store.get_version("1.x")


# -- aliases --------------------------------------------------------------------------------


def test_alias_moves_are_recorded(registry: Registry, register: Register) -> None:
    register()
    register("1.0")
    registry.set_alias("champion", "1.0", reason="first", command="lifelong train")
    move = registry.set_alias("champion", "1.1", reason="gate passed", command="lifelong update")
    assert (move.from_version, move.to_version, move.kind) == ("1.0", "1.1", "set")
    assert registry.store.aliases() == {"champion": "1.1"}
    assert registry.resolve("champion").label == "1.1"
    history = registry.store.alias_history("champion")
    assert [(m.from_version, m.to_version, m.reason, m.command) for m in history] == [
        (None, "1.0", "first", "lifelong train"),
        ("1.0", "1.1", "gate passed", "lifelong update"),
    ]
    assert history[0].at <= history[1].at


def test_alias_to_unknown_version_changes_nothing(registry: Registry, register: Register) -> None:
    register()
    with pytest.raises(NotFound, match=r"version 9\.9"):
        registry.set_alias("champion", "9.9", reason="", command="")
    with pytest.raises(RegistryError, match="looks like a version"):
        registry.set_alias("1.2", "1.0", reason="", command="")
    assert registry.store.aliases() == {}
    assert registry.store.alias_history() == []


def test_rollback_undoes_promotions_one_at_a_time(registry: Registry, register: Register) -> None:
    register()
    register("1.0")
    register()
    for label in ("1.0", "1.1", "2.0"):
        registry.set_alias("champion", label, reason=f"promote {label}", command="promote")
    assert registry.rollback(reason="2.0 is bad", command="rollback").to_version == "1.1"
    assert registry.rollback(reason="1.1 too", command="rollback").to_version == "1.0"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback(reason="", command="rollback")
    assert registry.store.aliases()["champion"] == "1.0"
    kinds = [m.kind for m in registry.store.alias_history("champion")]
    assert kinds == ["set", "set", "set", "rollback", "rollback"]


def test_rollback_without_history_is_a_clear_error(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="nothing to roll back to: alias 'champion'"):
        registry.rollback(reason="", command="")


def test_aliases_are_independent(registry: Registry, register: Register) -> None:
    register()
    register("1.0")
    registry.set_alias("champion", "1.0", reason="", command="")
    registry.set_alias("challenger", "1.1", reason="", command="")
    registry.set_alias("staging", "champion", reason="copy", command="")
    assert registry.store.aliases() == {"challenger": "1.1", "champion": "1.0", "staging": "1.0"}


# -- snapshots ------------------------------------------------------------------------------


def test_snapshots_are_content_addressed_and_idempotent(
    registry: Registry, examples: list[Example]
) -> None:
    first = registry.put_snapshot(examples)
    again = registry.put_snapshot(list(reversed(examples)) + examples[:2])
    assert first == again
    assert first.id == snapshot_id(e.hash for e in examples)
    assert first.size == 5
    assert first.label_counts == {"greet": 1, "restaurant": 2, "weather": 2}
    assert len(registry.store.list_snapshots()) == 1


def test_examples_are_stored_once_across_snapshots(
    registry: Registry, examples: list[Example]
) -> None:
    old = registry.put_snapshot(examples[:3])
    new = registry.put_snapshot(examples, parent=old.id)
    assert new.parent == old.id
    assert registry.store.latest_snapshot() == new
    assert [s.id for s in registry.store.list_snapshots()] == [old.id, new.id]
    store = registry.store
    assert isinstance(store, SqlAlchemyStore)
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ExampleRow)) == 5


def test_an_example_stored_before_keeps_its_first_record(
    registry: Registry, examples: list[Example]
) -> None:
    """The stored examples of a new snapshot are not written again (an update's snapshot is
    mostly its parent's): the same content read from another file keeps its first source."""
    old = registry.put_snapshot(examples[:3])
    moved = [dataclasses.replace(e, source="moved.jsonl", line=None) for e in examples]
    new = registry.put_snapshot(moved, parent=old.id)
    got = {e.hash: e.source for e in registry.get_snapshot_examples(new.id)}
    assert got == {
        **{e.hash: "moved.jsonl" for e in examples[3:]},
        **{e.hash: e.source for e in examples[:3]},
    }


def test_snapshot_examples_round_trip(registry: Registry, examples: list[Example]) -> None:
    snapshot = registry.put_snapshot(examples)
    got = registry.get_snapshot_examples(snapshot.id)
    assert sorted(got, key=lambda e: e.hash) == got
    by_hash = {e.hash: e for e in got}
    for example in examples:
        stored = by_hash[example.hash]
        assert (stored.text, stored.label, stored.original) == (
            example.text,
            example.label,
            example.original,
        )
        assert (stored.source, stored.line, stored.timestamp, stored.meta) == (
            example.source,
            example.line,
            example.timestamp,
            example.meta,
        )


def test_snapshot_labels_and_examples_by_hash(registry: Registry, examples: list[Example]) -> None:
    snapshot = registry.put_snapshot(examples[:4])
    assert registry.get_snapshot_labels(snapshot.id) == {e.hash: e.label for e in examples[:4]}
    asked = [examples[3].hash, examples[1].hash, "0" * 64, examples[1].hash]
    assert registry.get_examples(asked) == sorted([examples[1], examples[3]], key=lambda e: e.hash)
    with pytest.raises(NotFound, match="snapshot abc does not exist"):
        registry.get_snapshot_labels("abc")


def test_which_examples_trained_a_version(
    registry: Registry, register: Register, examples: list[Example]
) -> None:
    version = register()
    assert set(registry.get_snapshot_examples(version.snapshot_id)) == set(examples)


def test_snapshot_lookups(registry: Registry) -> None:
    assert registry.store.latest_snapshot() is None
    with pytest.raises(NotFound, match="snapshot abc does not exist"):
        registry.store.get_snapshot("abc")
    with pytest.raises(NotFound, match="snapshot abc does not exist"):
        registry.get_snapshot_examples("abc")
    with pytest.raises(NotFound, match="parent snapshot abc"):
        registry.put_snapshot([Example.make("hi", "greet")], parent="abc")


def test_large_snapshot_is_bulk_inserted(registry: Registry) -> None:
    many = [Example.make(f"sentence number {i}", f"intent{i % 40}") for i in range(20_000)]
    first = registry.put_snapshot(many)
    second = registry.put_snapshot([*many, Example.make("one more", "intent0")])
    assert (first.size, second.size) == (20_000, 20_001)
    assert len(registry.get_snapshot_examples(second.id)) == 20_001


def _manifest(path: str, content: str, rows: int) -> FileManifest:
    return FileManifest(
        path,
        content * 64,
        rows * 40,
        rows,
        {"greet": rows - 1, "bye": 1},
        {"train": rows, "valid": 0, "test": 0},
    )


def test_file_snapshots_are_content_addressed_by_path_and_sha256(registry: Registry) -> None:
    big = [_manifest("data/part-0.jsonl", "a", 3_000_000_000), _manifest("data/b.csv", "b", 5)]
    first = registry.put_file_snapshot(big)
    assert registry.put_file_snapshot(list(reversed(big))) == first
    assert (first.kind, first.size) == ("files", 3_000_000_005)
    assert first.label_counts == {"bye": 2, "greet": 3_000_000_003}
    assert registry.get_snapshot_files(first.id) == sorted(big, key=lambda f: f.path)
    assert registry.get_snapshot_examples(first.id) == []
    # a file whose content changed is a new snapshot, its parent the old one
    changed = registry.put_file_snapshot([big[0], _manifest("data/b.csv", "c", 6)], parent=first.id)
    assert changed.id != first.id
    assert changed.parent == first.id
    assert registry.check() == []
    with pytest.raises(NotFound, match="parent snapshot abc"):
        registry.put_file_snapshot(big[:1], parent="abc")


def test_snapshots_of_examples_and_of_files_never_share_an_id(
    registry: Registry, examples: list[Example]
) -> None:
    assert registry.put_snapshot(examples).kind == "examples"
    assert registry.get_snapshot_files(registry.put_snapshot(examples).id) == []
    assert files_snapshot_id([]) != snapshot_id([])


# -- lineage --------------------------------------------------------------------------------


def test_lineage_queries(registry: Registry, register: Register) -> None:
    register()  # 1.0
    register("1.0")  # 1.1
    register("1.1")  # 1.2
    register("1.0", "distill")  # 1.3
    register()  # 2.0
    assert [v.label for v in registry.ancestors("1.2")] == ["1.1", "1.0"]
    assert [v.label for v in registry.descendants("1.0")] == ["1.1", "1.2", "1.3"]
    assert registry.descendants("2.0") == []
    (root,) = registry.tree("1.2")
    assert root.version.label == "1.0"
    assert [c.version.label for c in root.children] == ["1.1", "1.3"]
    assert [n.version.label for n in registry.tree()] == ["1.0", "2.0"]


# -- removal and gc -------------------------------------------------------------------------


def test_rm_refuses_aliased_or_parent_versions_unless_forced(
    registry: Registry, register: Register
) -> None:
    register()
    register("1.0")
    registry.set_alias("champion", "1.1", reason="", command="")
    with pytest.raises(RegistryError, match=r"1\.0 has descendants 1\.1; refusing"):
        registry.remove("1.0", command="rm")
    with pytest.raises(RegistryError, match=r"1\.1 has aliases champion; refusing"):
        registry.remove("1.1", command="rm")
    removed = registry.remove("1.1", force=True, command="lifelong models rm 1.1 --force")
    assert removed.status == "deleted"
    assert registry.store.aliases() == {}
    assert registry.store.alias_history("champion")[-1].kind == "remove"
    assert [v.label for v in registry.versions()] == ["1.0"]
    registry.remove("1.0", command="rm")  # its only descendant is gone
    assert register().label == "2.0"  # numbers of removed versions are never reused
    assert registry.check() == []


def test_gc_prunes_old_unaliased_leaves_only(registry: Registry, register: Register) -> None:
    register()  # 1.0: a parent
    for _ in range(4):
        register("1.0")  # 1.1 .. 1.4: leaves
    registry.set_alias("champion", "1.1", reason="", command="")
    registry.set_alias("champion", "1.2", reason="", command="")  # 1.1 kept for rollback
    pruned = registry.gc(keep=1)
    assert [v.label for v in pruned] == ["1.3"]
    statuses = {v.label: v.status for v in registry.versions()}
    assert statuses == {
        "1.0": "candidate",
        "1.1": "candidate",
        "1.2": "candidate",
        "1.3": "pruned",
        "1.4": "candidate",
    }
    with pytest.raises(RegistryError, match=r"1\.3 is pruned: its artifact was dropped"):
        registry.artifact_path("1.3")
    with pytest.raises(RegistryError, match="it is pruned"):
        registry.set_alias("challenger", "1.3", reason="", command="")
    assert registry.ancestors("1.3")[0].label == "1.0"  # lineage stays
    assert registry.gc(keep=1) == []
    assert registry.check() == []


def test_shared_artifacts_survive_pruning_one_owner(
    registry: Registry, make_bundle: Callable[..., Path], snap: str
) -> None:
    same = make_bundle("same")
    registry.register(same, snapshot_id=snap, config={})
    registry.register(same, snapshot_id=snap, config={})
    registry.remove("1.0", command="rm")
    assert registry.artifact_path("2.0").is_dir()


# -- artifacts and health -------------------------------------------------------------------


def test_corrupt_artifact_names_the_version(registry: Registry, register: Register) -> None:
    register()
    path = registry.artifact_path("1.0")
    (path / "weights.safetensors").write_bytes(b"flipped bits")
    with pytest.raises(ArtifactCorrupt, match=r"version 1\.0 is corrupt: weights\.safetensors"):
        registry.artifact_path("1.0")
    assert registry.check() == ["version 1.0: artifact weights.safetensors sha256 mismatch"]


def test_store_reopens_with_its_data(
    store_url: str, tmp_path: Path, register: Register, registry: Registry
) -> None:
    register()
    registry.set_alias("champion", "1.0", reason="", command="")
    with open_registry(store_url, tmp_path / "artifacts") as again:
        assert again.resolve("champion").label == "1.0"
        assert again.check() == []


# -- schema ---------------------------------------------------------------------------------


def test_orm_models_match_the_migrations(registry: Registry) -> None:
    store = registry.store
    assert isinstance(store, SqlAlchemyStore)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_newer_schema_is_refused(store_url: str, tmp_path: Path, registry: Registry) -> None:
    registry.close()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    newer = rf"registry schema 9999 is newer than this lifelong \(knows up to {head_revision()}\)"
    with pytest.raises(SchemaMismatch, match=newer):
        open_registry(store_url, tmp_path / "artifacts")


def test_an_older_store_upgrades_on_open_and_keeps_its_rows(
    store_url: str, tmp_path: Path, registry: Registry
) -> None:
    """A store a previous lifelong left at revision 0003 (with the prediction log's shadow_of
    index) opens with this code: upgraded to head, its logged predictions still there."""
    from alembic import command

    from lifelong.registry import PredictionRecord
    from lifelong.registry.migrate import alembic_config

    registry.store.log_predictions(
        [
            PredictionRecord(
                prediction_id="0190a5b8-0000-7000-8000-000000000001",
                at=datetime.now(UTC),
                text_hash="0" * 64,
                version="1.0",
                intent="greet",
                confidence=0.9,
                latency_ms=1.0,
            )
        ]
    )
    registry.close()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    with engine.connect() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("predictions")}
    engine.dispose()
    assert "ix_predictions_shadow_of" in indexes
    with open_registry(store_url, tmp_path / "artifacts") as again:
        assert isinstance(again.store, SqlAlchemyStore)
        assert current_revision(again.store.engine) == head_revision()
        (row,) = again.store.recent_predictions()
        assert row.intent == "greet"
        assert row.value is None  # logged before the log kept regression values (0007)


def test_cycle_history_round_trips_in_order(registry: Registry) -> None:
    from datetime import datetime, timedelta

    from lifelong.registry import CycleRecord

    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i, outcome in enumerate(["nothing", "promoted", "rejected"]):
        registry.store.record_cycle(
            CycleRecord(
                id=0,
                started_at=start + timedelta(hours=i),
                finished_at=start + timedelta(hours=i, seconds=5),
                outcome=outcome,
                trigger={"fired": ["volume"], "figures": {"n_new": 10 * i}},
                data={"ingested": i},
                strategy={"kind": "finetune"},
                versions=[f"1.{i}"] if i else [],
                champion="1.0",
                durations={"train": 1.5},
                error="",
            )
        )
    cycles = registry.store.list_cycles()
    assert [c.outcome for c in cycles] == ["nothing", "promoted", "rejected"]
    assert [c.id for c in cycles] == sorted(c.id for c in cycles)
    assert cycles[1].versions == ["1.1"]
    assert cycles[2].trigger["figures"] == {"n_new": 20}
    assert cycles[0].started_at == start
    assert [c.outcome for c in registry.store.list_cycles(limit=2)] == ["promoted", "rejected"]


def test_verdict_and_forgetting_round_trip(registry: Registry, make_bundle) -> None:  # type: ignore[no-untyped-def]
    from lifelong.config import Gate
    from lifelong.evaluation import ForgettingReport, Verdict, decide, measure_forgetting

    truth = ["a"] * 20 + ["b"] * 20
    champion = ["a"] * 20 + ["a"] * 5 + ["b"] * 15
    challenger = list(truth)
    verdict = decide(
        champion, challenger, truth, Gate(), champion_version="1.0", challenger_version="1.1"
    )
    forgetting = measure_forgetting(
        {f"h{i}" for i in range(30)}, [f"h{i}" for i in range(40)], truth, challenger, champion
    )
    snapshot = registry.put_snapshot([Example.make("x", "a")]).id
    registry.register(make_bundle(0), snapshot_id=snapshot, config={})
    registry.register(
        make_bundle(1), snapshot_id=snapshot, config={}, parent="1.0", edge="finetune"
    )
    registry.set_verdict("1.1", verdict.to_dict())
    registry.update_metrics("1.1", {"forgetting": forgetting.to_dict()})
    stored = registry.resolve("1.1")
    assert stored.verdict is not None
    assert Verdict.from_dict(stored.verdict) == verdict
    assert ForgettingReport.from_dict(stored.metrics["forgetting"]) == forgetting
    assert verdict.promoted


# -- review queue ---------------------------------------------------------------------------


def _spec(text: str, intent: str, reason: str = "relabel", current: str | None = "greet"):  # type: ignore[no-untyped-def]
    from lifelong.core.types import content_hash, normalize_text
    from lifelong.registry import ReviewSpec

    return ReviewSpec(
        text=text,
        intent=intent,
        example_hash=content_hash(normalize_text(text), intent),
        reason=reason,
        source="feedback:/x/feedback.jsonl",
        current=current,
        detail={"message": "why", "prediction_id": None},
    )


def test_review_items_are_held_once_and_listed_in_order(registry: Registry) -> None:
    store = registry.store
    held = store.hold_for_review([_spec("Hello", "bye"), _spec("new one", "odd", "unknown-intent")])
    assert [(i.text, i.intent, i.status) for i in held] == [
        ("Hello", "bye", "pending"),
        ("new one", "odd", "pending"),
    ]
    assert held[0].id < held[1].id
    assert held[0].created_at is not None
    # redelivered (same text and label, any spelling): not held twice; a new one is
    again = store.hold_for_review([_spec("hello", "bye"), _spec("third", "odd", "unknown-intent")])
    assert [i.text for i in again] == ["third"]
    items = store.review_items()
    assert [i.id for i in items] == sorted(i.id for i in items)
    assert len(items) == 3
    assert items[0].current == "greet"
    assert items[0].detail == {
        "message": "why",
        "prediction_id": None,
    }
    assert [i.text for i in store.review_items(ids=[held[1].id])] == ["new one"]


def test_review_decisions_change_pending_items_only(registry: Registry) -> None:
    store = registry.store
    first, second = store.hold_for_review([_spec("a", "x"), _spec("b", "y")])
    (accepted,) = store.decide_review([first.id], "accepted", note="checked")
    assert accepted.status == "accepted"
    assert accepted.note == "checked"
    assert accepted.decided_at is not None
    # deciding again, or an unknown id, changes nothing
    assert store.decide_review([first.id, 9999], "rejected") == []
    assert [i.id for i in store.review_items(status="pending")] == [second.id]
    store.decide_review([second.id], "rejected")
    assert [i.status for i in store.review_items()] == ["accepted", "rejected"]
    # a rejected example delivered again stays rejected, not pending
    assert store.hold_for_review([_spec("b", "y")]) == []
    with pytest.raises(RegistryError, match="not `pending`"):
        store.decide_review([first.id], "pending")
