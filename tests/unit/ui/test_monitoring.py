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
