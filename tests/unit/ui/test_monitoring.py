"""The monitoring page's figures against the logs they summarise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lifelong.registry import Registry, open_registry
from lifelong.testing.dashboard_store import fill_registry
from lifelong.ui.monitoring_view import FEEDBACK_TAIL_BYTES, feedback_outcomes, monitoring, window

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_feedback_outcomes_read_the_tail_and_skip_bad_lines(tmp_path: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    lines = ["not json", json.dumps({"text": "t", "intent": "a"})]  # no prediction: skipped
    n = FEEDBACK_TAIL_BYTES // 60  # more than the tail holds
    for i in range(n):
        at = (T0 + timedelta(seconds=i)).isoformat()
        lines.append(
            json.dumps({"intent": "a", "predicted": "a" if i % 4 else "b", "timestamp": at})
        )
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = feedback_outcomes(log, T0)
    assert 0 < len(found) < n
    assert found[-1] == (T0 + timedelta(seconds=n - 1), (n - 1) % 4 != 0)
    assert [at for at, _ in found] == sorted(at for at, _ in found)
    assert feedback_outcomes(log, T0 + timedelta(seconds=n - 10)) == found[-10:]
    assert feedback_outcomes(tmp_path / "missing.jsonl", T0) == []


def test_window_and_figures_follow_the_log(filled: Registry, tmp_path: Path) -> None:
    span = window(filled, days=3650, rows=1000)
    assert span is not None
    assert span.total == 3000
    view = monitoring(filled, span, "champion", tmp_path / "feedback.jsonl")
    newest = filled.store.recent_predictions(limit=1000)
    assert view.window.since == newest[0].at
    assert view.served == sum(p.shadow_of is None for p in newest)
    traffic = view.figures["traffic"]["data"]
    assert sum(sum(trace["y"]) for trace in traffic) == view.served
    assert sum(view.figures["confidence"]["data"][0]["y"]) == view.served
    assert view.shadow_pairs == sum(p.shadow_of is not None for p in newest)
    champion = filled.store.aliases()["champion"]
    served = [p for p in newest if p.version == champion and p.shadow_of is None]
    assert view.drift_samples == len(served)
    if len(served) >= 200:  # policy.triggers.drift.min_samples
        assert {d.test for d in view.drift} == {"psi", "ks", "chi2"}
    else:
        assert view.drift == []
        assert f"{len(served)} predictions of {champion}" in view.drift_note


def test_drift_is_tested_against_the_champions_reference(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "w.bin").write_bytes(b"w")
    with open_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "a") as registry:
        fill_registry(registry, bundle, versions=2, predictions=3000)
        span = window(registry, days=3650, rows=3000)
        assert span is not None
        view = monitoring(registry, span, "champion", None)
    # as the loop's trigger reads them: the newest 1000 rows of its version, shadow rows then
    # dropped (the fill logs one in ten rows as a shadow of the row before, same version)
    assert view.drift_samples == 900
    by_test = {d.test: d for d in view.drift}
    assert set(by_test) == {"psi", "ks", "chi2"}
    assert by_test["psi"].threshold == 0.2  # the default policy: the records hold no policy
    assert by_test["psi"].n_reference == 200  # the reference window the fill recorded
    assert "feedback" not in view.figures


def test_a_regression_champion_drifts_by_its_values_and_its_feedback_is_an_mae(
    tmp_path: Path,
) -> None:
    from lifelong.core.types import Example
    from lifelong.registry import PredictionRecord

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "w.bin").write_bytes(b"w")
    reference = [float(i % 50) for i in range(300)]  # test-split values between 0 and 49
    feedback = tmp_path / "feedback.jsonl"
    rows, lines = [], []
    for i in range(400):
        at = T0 + timedelta(minutes=i)
        value = 100.0 + i % 7  # served values far above the reference: drift
        rows.append(PredictionRecord(f"p{i}", at, f"{i:064x}", "1.0", "value", 1.0, 1.0,
                                     value=value))  # fmt: skip
        if i % 4 == 0:  # the truth is 3 away: a feedback MAE of 3
            record = {"intent": repr(value + 3), "predicted": repr(value), "timestamp": at}
            lines.append(json.dumps(record, default=datetime.isoformat))
    feedback.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "a") as registry:
        snapshot = registry.put_snapshot([Example.make('{"x":1}', "1.5")])
        registry.register(
            bundle,
            snapshot_id=snapshot.id,
            config={},
            metrics={"mae": 2.0, "reference": {"values": reference}},
        )
        registry.set_alias("champion", "1.0", reason="test", command="test")
        registry.store.log_predictions(rows)
        span = window(registry, days=3650, rows=1000)
        assert span is not None
        view = monitoring(registry, span, "champion", feedback)
    assert view.regression
    assert view.drift_samples == 400
    by_test = {d.test: d for d in view.drift}
    assert {"psi", "ks"} <= set(by_test)
    assert by_test["ks"].drifted
    chart = view.figures["feedback"]
    assert "MAE" in chart["layout"]["title"]["text"]
    traces = {trace["name"]: trace["y"] for trace in chart["data"]}
    assert traces["feedback MAE"][-1] == 3.0
    assert set(traces["test MAE of 1.0"]) == {2.0}
    scores = feedback_outcomes(feedback, T0, regression=True)
    assert [score for _, score in scores] == [3.0] * 100
