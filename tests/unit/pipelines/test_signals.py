"""The trigger context is filled from the registry, the feedback log and the prediction log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifelong.config import CONFIG_FILE, DriftTrigger, Triggers
from lifelong.core.types import Example
from lifelong.data import Snapshot
from lifelong.monitoring import build_trigger
from lifelong.pipelines.signals import feedback_outcomes, trigger_context
from lifelong.project import Project
from lifelong.registry import PredictionRecord, Registry

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _champion(registry: Registry, make_bundle, reference: list[float]) -> None:  # type: ignore[no-untyped-def]
    examples = [Example.make(f"hello {i}", "greet") for i in range(10)]
    snapshot = registry.put_snapshot(examples).id
    registry.register(make_bundle(0), snapshot_id=snapshot, config={})
    registry.update_metrics(
        "1.0", {"reference": {"confidences": reference, "label_counts": {"greet": 300}}}
    )
    registry.set_alias("champion", "1.0", reason="test", command="test")


def _project(root: Path) -> Project:
    (root / CONFIG_FILE).write_text("{}\n")
    return Project.load(root)


def _served(registry: Registry, confidences: list[float], intent: str) -> None:
    registry.store.log_predictions(
        [
            PredictionRecord(
                prediction_id=str(uuid.uuid4()),
                at=NOW,
                text_hash="0" * 64,
                version="1.0",
                intent=intent,
                confidence=c,
                latency_ms=1.0,
            )
            for c in confidences
        ]
    )


def test_drift_fires_on_served_traffic_unlike_the_reference(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    project = _project(tmp_path)
    _champion(registry, make_bundle, [0.9 + 0.0003 * i for i in range(300)])
    pool = Snapshot.of([Example.make(f"hello {i}", "greet") for i in range(12)])
    trigger = build_trigger(
        Triggers(time=None, volume=None, performance=None, drift=DriftTrigger(min_samples=200))
    )
    _served(registry, [0.9 + 0.0003 * (i * 300 // 250) for i in range(250)], "greet")
    calm = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    assert calm.n_new_examples == 2
    assert len(calm.current_confidences) == 250
    assert not trigger.evaluate(calm).fired
    _served(registry, [0.3 + 0.001 * i for i in range(250)], "goodbye")
    shifted = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    result = trigger.evaluate(shifted)
    assert result.fired
    assert result.fired_names() == ["drift"]


def test_new_examples_count_from_the_newest_training_promoted_or_not(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    project = _project(tmp_path)
    _champion(registry, make_bundle, [0.9])
    grown = [Example.make(f"hello {i}", "greet") for i in range(15)]
    pool = Snapshot.of([*grown, Example.make("bye", "goodbye")])
    assert (
        trigger_context(project, registry, pool, registry.resolve("1.0"), NOW).n_new_examples == 6
    )
    # a challenger trained on 15 examples and rejected: the champion stays, the count restarts
    snapshot = registry.put_snapshot(grown).id
    registry.register(
        make_bundle(1), snapshot_id=snapshot, config={}, parent="1.0", edge="finetune"
    )
    context = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    assert registry.store.aliases()["champion"] == "1.0"
    assert context.n_new_examples == 1
    assert context.n_train_examples == 15


def test_feedback_outcomes_count_only_predictions_since(tmp_path: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    rows = [
        {
            "text": "a",
            "intent": "x",
            "predicted": "x",
            "timestamp": (NOW - timedelta(days=2)).isoformat(),
        },
        {"text": "b", "intent": "x", "predicted": "y", "timestamp": NOW.isoformat()},
        {"text": "c", "intent": "x", "timestamp": NOW.isoformat()},
        {"text": "d", "intent": "x", "predicted": "x", "timestamp": NOW.isoformat()},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    assert feedback_outcomes(log, NOW - timedelta(days=1)) == [False, True]
    assert feedback_outcomes(log, None) == [True, False, True]
    assert feedback_outcomes(tmp_path / "missing.jsonl", None) == []


def _tabular_project(root: Path) -> Project:
    config = {"task": "tabular", "columns": {"target": "job"}}
    (root / CONFIG_FILE).write_text(json.dumps(config))
    return Project.load(root)


def _row_text(age: float, branch: str) -> str:
    from lifelong.data.schema import canonical_row

    return canonical_row({"age": age, "branch": branch})


def test_feature_drift_fires_on_served_rows_unlike_the_training_rows(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    project = _tabular_project(tmp_path)
    branches = ["north", "south", "east"]
    trained = [
        Example(text=_row_text(float(a), str(b)), label="clerk" if a < 40 else "nurse")
        for a, b in zip(rng.normal(40, 10, 600), rng.choice(branches, 600), strict=True)
    ]
    snapshot = registry.put_snapshot(trained).id
    registry.register(make_bundle(0), snapshot_id=snapshot, config={})
    registry.set_alias("champion", "1.0", reason="test", command="test")
    trigger = build_trigger(
        Triggers(
            time=None,
            volume=None,
            performance=None,
            drift=DriftTrigger(min_samples=200, chi2_alpha=None),
        )
    )

    def serve(ages: np.ndarray) -> None:
        texts = [
            _row_text(float(a), str(b))
            for a, b in zip(ages, rng.choice(branches, len(ages)), strict=True)
        ]
        registry.store.log_predictions(
            [
                PredictionRecord(str(uuid.uuid4()), NOW, "0" * 64, "1.0", "clerk", 0.9, 1.0, text)
                for text in texts
            ]
        )

    pool = Snapshot.of(trained)
    serve(rng.normal(40, 10, 300))
    calm = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    assert [k for k, _ in calm.feature_columns] == ["age", "branch"]
    assert (len(calm.reference_rows), len(calm.current_rows)) == (600, 300)
    assert not trigger.evaluate(calm).fired
    serve(rng.normal(60, 10, 700))  # the window now holds the newest 1000: mostly shifted
    result = trigger.evaluate(
        trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    )
    assert result.fired
    (drift,) = result.children
    assert drift.reason.startswith("age: ")
    assert drift.figures["feature.age.out_of_range"] > 0
    assert drift.figures["feature.branch.drifted"] is False


def test_without_served_rows_the_rows_arrived_since_training_are_compared(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    import numpy as np

    rng = np.random.default_rng(4)
    project = _tabular_project(tmp_path)
    trained = [
        Example(text=_row_text(float(a), "north"), label="clerk") for a in rng.normal(40, 10, 400)
    ]
    registry.register(make_bundle(0), snapshot_id=registry.put_snapshot(trained).id, config={})
    registry.set_alias("champion", "1.0", reason="test", command="test")
    arrived = [
        Example(text=_row_text(float(a), "north"), label="clerk") for a in rng.normal(65, 10, 300)
    ]
    context = trigger_context(
        project, registry, Snapshot.of([*trained, *arrived]), registry.resolve("1.0"), NOW
    )
    assert len(context.current_rows) == 300
    trigger = build_trigger(
        Triggers(time=None, volume=None, performance=None, drift=DriftTrigger(min_samples=200))
    )
    result = trigger.evaluate(context)
    assert result.fired
    assert result.children[0].reason.startswith("age: ")


def test_a_regression_champions_feedback_is_scored_by_its_errors(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Numbers almost never match exactly: scored as labels, every outcome would be wrong; a
    regression champion's feedback gives absolute errors, set against its test MAE."""
    log = tmp_path / "feedback.jsonl"
    rows = [{"text": f"r{i}", "intent": f"{i}.5", "predicted": f"{i}.25"} for i in range(40)]
    rows.append({"text": "old server", "intent": "3.5", "predicted": "value"})  # no number
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _champion(registry, make_bundle, [0.9])
    registry.update_metrics("1.0", {"mae": 0.15})
    pool = Snapshot.of([Example.make(f"hello {i}", "greet") for i in range(10)])
    for kind in ("classification", "regression"):
        config = {
            "task": "tabular",
            "columns": {"target": "y", "kind": kind},
            "sources": [{"feedback": "feedback.jsonl"}],
        }
        (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
        project = Project.load(tmp_path)
        context = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
        if kind == "classification":
            assert list(context.feedback) == [False] * 41
            assert (list(context.feedback_errors), context.test_mae) == ([], None)
        else:
            assert list(context.feedback) == []
            assert list(context.feedback_errors) == [0.25] * 40
            assert context.test_mae == 0.15
    result = build_trigger(Triggers(time=None, volume=None, drift=None)).evaluate(context)
    assert result.fired
    assert result.children[0].reason.startswith("feedback MAE 0.25 vs test MAE 0.15 ")


def test_a_regression_champions_served_values_drift_from_its_test_values(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    import numpy as np

    rng = np.random.default_rng(5)
    config = {"task": "tabular", "columns": {"target": "y", "kind": "regression"}}
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    project = Project.load(tmp_path)
    _champion(registry, make_bundle, [])
    reference = [round(float(v), 4) for v in rng.normal(20.0, 4.0, 300)]
    registry.update_metrics("1.0", {"reference": {"values": reference}, "mae": 1.0})

    def serve(values: list[float | None]) -> None:
        registry.store.log_predictions(
            [
                PredictionRecord(
                    str(uuid.uuid4()), NOW, "0" * 64, "1.0", "value", 1.0, 1.0
                )._replace(value=v)
                for v in values
            ]
        )

    serve([None] * 300)  # logged before the log kept values: left out
    serve([float(v) for v in rng.normal(20.0, 4.0, 250)])
    pool = Snapshot.of([Example.make(f"hello {i}", "greet") for i in range(10)])
    trigger = build_trigger(
        Triggers(time=None, volume=None, performance=None, drift=DriftTrigger(min_samples=200))
    )
    calm = trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    assert (len(calm.reference_values), len(calm.current_values)) == (300, 250)
    assert not trigger.evaluate(calm).fired
    serve([float(v) for v in rng.normal(28.0, 4.0, 600)])
    result = trigger.evaluate(
        trigger_context(project, registry, pool, registry.resolve("1.0"), NOW)
    )
    assert result.fired
    assert result.children[0].reason.startswith("predicted_value: psi")
    assert result.children[0].figures["predicted_value.out_of_range"] > 0
