"""Each trigger fires at its threshold and not below it, and says why with figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pytest

from lifelong.monitoring import (
    DriftTrigger,
    PerformanceTrigger,
    TimeTrigger,
    TriggerContext,
    VolumeTrigger,
    all_of,
    any_of,
)

Outcomes = Callable[[float, int], list[bool]]


@pytest.mark.parametrize(("hours", "fired"), [(23.9, False), (24, True), (30, True)])
def test_time_trigger_fires_once_every_has_passed(now: datetime, hours: float, fired: bool) -> None:
    context = TriggerContext(now=now, last_trained_at=now - timedelta(hours=hours))
    result = TimeTrigger(timedelta(hours=24)).evaluate(context)
    assert result.fired is fired
    assert result.figures["elapsed_s"] == pytest.approx(hours * 3600)
    assert result.figures["every_s"] == 86_400


def test_time_trigger_fires_when_nothing_was_trained(now: datetime) -> None:
    result = TimeTrigger(timedelta(days=7)).evaluate(TriggerContext(now=now))
    assert result.fired
    assert result.reason == "no model has been trained yet"


@pytest.mark.parametrize(
    ("n_new", "n_train", "fired"),
    [(49, 1000, False), (50, 1000, True), (0, 0, False), (3, 0, True)],
)
def test_volume_trigger_fraction(now: datetime, n_new: int, n_train: int, fired: bool) -> None:
    context = TriggerContext(now=now, n_new_examples=n_new, n_train_examples=n_train)
    result = VolumeTrigger(min_fraction=0.05).evaluate(context)
    assert result.fired is fired
    assert result.figures["n_new"] == n_new


def test_volume_figures_are_strict_json_before_any_training(now: datetime) -> None:
    # PostgreSQL's JSON refuses Infinity: a first cycle's record must still be storable
    context = TriggerContext(now=now, n_new_examples=630, n_train_examples=0)
    result = VolumeTrigger(min_fraction=0.05).evaluate(context)
    assert result.fired
    assert result.figures["fraction"] is None
    assert result.reason == "630 new examples and no training set yet"
    json.dumps(result.figures, allow_nan=False)


def test_volume_trigger_count_alone(now: datetime) -> None:
    trigger = VolumeTrigger(min_fraction=None, min_count=100)
    context = TriggerContext(now=now, n_new_examples=99, n_train_examples=10)
    assert not trigger.evaluate(context).fired
    result = trigger.evaluate(TriggerContext(now=now, n_new_examples=100, n_train_examples=10**6))
    assert result.fired
    assert "100 new examples >= 100" in result.reason


def test_volume_trigger_needs_a_threshold() -> None:
    with pytest.raises(ValueError, match="min_fraction or min_count"):
        VolumeTrigger(min_fraction=None, min_count=None)


def test_performance_trigger_fires_below_the_floor(now: datetime) -> None:
    feedback = [True] * 70 + [False] * 30  # 0.70 accuracy
    result = PerformanceTrigger(floor=0.8, min_feedback=30, delta=None).evaluate(
        TriggerContext(now=now, feedback=feedback)
    )
    assert result.fired
    assert result.figures["accuracy"] == pytest.approx(0.7)
    assert "< floor 0.8" in result.reason


def test_performance_trigger_quiet_above_floor_and_with_little_feedback(
    now: datetime, outcomes: Outcomes
) -> None:
    trigger = PerformanceTrigger(floor=0.8, min_feedback=30)
    assert not trigger.evaluate(TriggerContext(now=now, feedback=outcomes(0.95, 500))).fired
    few = trigger.evaluate(TriggerContext(now=now, feedback=[False] * 29))
    assert not few.fired
    assert "29 feedback outcomes < 30" in few.reason


def test_performance_trigger_adwin_sees_a_fall_above_the_floor(
    now: datetime, outcomes: Outcomes
) -> None:
    feedback = outcomes(0.99, 1000) + outcomes(0.86, 600)
    trigger = PerformanceTrigger(floor=0.8, window=200)
    result = trigger.evaluate(TriggerContext(now=now, feedback=feedback))
    assert result.fired
    assert result.figures["adwin_fall_at"] is not None
    assert "ADWIN" in result.reason
    floor_only = PerformanceTrigger(floor=0.8, window=200, delta=None)
    assert not floor_only.evaluate(TriggerContext(now=now, feedback=feedback)).fired


def drift_context(now: datetime, rng: np.random.Generator, shift: bool, n: int) -> TriggerContext:
    b = 4 if shift else 2
    return TriggerContext(
        now=now,
        reference_confidences=rng.beta(8, 2, 1000).tolist(),
        current_confidences=rng.beta(8, b, n).tolist(),
        reference_label_counts={"greet": 600, "book": 400},
        current_label_counts={"greet": n // 2, "book": n - n // 2}
        if not shift
        else {"greet": n // 5, "book": n - n // 5},
    )


def test_drift_trigger_fires_on_a_shift_with_every_test(
    now: datetime, rng: np.random.Generator
) -> None:
    result = DriftTrigger(min_samples=200).evaluate(drift_context(now, rng, True, 500))
    assert result.fired
    assert result.figures["psi_drifted"]
    assert result.figures["ks_drifted"]
    assert result.figures["chi2_drifted"]
    assert "psi" in result.reason


def test_drift_trigger_quiet_on_psi_alone_for_the_same_distribution(
    now: datetime, rng: np.random.Generator
) -> None:
    trigger = DriftTrigger(psi_threshold=0.2, ks_alpha=None, chi2_alpha=None)
    result = trigger.evaluate(drift_context(now, rng, False, 500))
    assert not result.fired
    assert isinstance(result.figures["psi"], float)
    assert result.figures["psi"] < 0.1
    assert "ks" not in result.figures


def test_drift_trigger_waits_for_min_samples(now: datetime, rng: np.random.Generator) -> None:
    result = DriftTrigger(min_samples=200).evaluate(drift_context(now, rng, True, 199))
    assert not result.fired
    assert "not tested" in result.reason


def _feature_context(now: datetime, rng: np.random.Generator, shift: float) -> TriggerContext:
    def rows(n: int, mean: float) -> list[dict[str, float | str | None]]:
        return [{"age": float(a), "job": "clerk"} for a in rng.normal(mean, 10.0, n)]

    return TriggerContext(
        now=now,
        feature_columns=[("age", "numeric"), ("job", "categorical")],
        reference_rows=rows(1000, 40.0),
        current_rows=rows(300, 40.0 + shift),
    )


def test_drift_trigger_fires_on_a_drifting_feature_column(
    now: datetime, rng: np.random.Generator
) -> None:
    trigger = DriftTrigger(min_samples=200)
    calm = trigger.evaluate(_feature_context(now, rng, 0.0))
    assert not calm.fired
    assert calm.reason == "no test found drift"
    assert calm.figures["feature.age.psi_drifted"] is False
    result = trigger.evaluate(_feature_context(now, rng, 15.0))
    assert result.fired
    assert result.reason.startswith("age: psi")
    assert result.figures["feature.job.drifted"] is False
    assert json.loads(json.dumps(result.figures, allow_nan=False)) == result.figures


def test_drift_trigger_skips_feature_columns_with_too_few_rows(
    now: datetime, rng: np.random.Generator
) -> None:
    result = DriftTrigger(min_samples=400).evaluate(_feature_context(now, rng, 15.0))
    assert not result.fired
    assert "not tested" in result.reason
    assert not any(name.startswith("feature.") for name in result.figures)
    assert result.figures["feature_rows"] == 300


def test_any_of_and_all_of_combine_and_keep_every_result(now: datetime) -> None:
    context = TriggerContext(
        now=now, last_trained_at=now - timedelta(hours=1), n_new_examples=500, n_train_examples=1000
    )
    time, volume = TimeTrigger(timedelta(hours=24)), VolumeTrigger(min_fraction=0.05)

    either = any_of(time, volume).evaluate(context)
    assert either.fired
    assert either.name == "any_of(time, volume)"
    assert either.fired_names() == ["volume"]
    assert [child.name for child in either.children] == ["time", "volume"]
    assert either.reason.startswith("volume: ")

    both = all_of(time, volume).evaluate(context)
    assert not both.fired
    assert both.reason.startswith("time: ")


def test_empty_combinations(now: datetime) -> None:
    assert not any_of().evaluate(TriggerContext(now=now)).fired
    with pytest.raises(ValueError, match="all_of\\(\\) needs at least one trigger"):
        all_of()
