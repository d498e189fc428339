"""A regression champion's triggers: feedback MAE against test MAE, and the drift of its
predicted values against its values on the test split."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.monitoring import DriftTrigger, PerformanceTrigger, TriggerContext

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def errors(rng: np.random.Generator, mae: float, n: int) -> list[float]:
    """Absolute errors of a model with this MAE: |normal| scaled so its mean is ``mae``."""
    return [float(e) for e in np.abs(rng.normal(0.0, mae * np.sqrt(np.pi / 2), n))]


def test_feedback_mae_well_above_the_test_mae_fires(rng: np.random.Generator) -> None:
    context = TriggerContext(now=NOW, feedback_errors=errors(rng, 3.0, 300), test_mae=2.0)
    result = PerformanceTrigger().evaluate(context)
    assert result.fired
    mae = result.figures["feedback_mae"]
    assert isinstance(mae, float)
    assert mae == pytest.approx(float(np.mean(context.feedback_errors[-200:])))
    assert result.reason == f"feedback MAE {mae:.4g} vs test MAE 2 on the last 200: > 1.25x"
    assert result.figures["window"] == 200
    assert result.figures["mae_ratio"] == pytest.approx(mae / 2.0)
    json.dumps(result.figures, allow_nan=False)


def test_feedback_as_good_as_the_test_split_is_quiet(rng: np.random.Generator) -> None:
    quiet = 0
    for _ in range(50):
        context = TriggerContext(now=NOW, feedback_errors=errors(rng, 2.0, 200), test_mae=2.0)
        result = PerformanceTrigger().evaluate(context)
        quiet += not result.fired
    assert quiet == 50
    assert "<= 1.25x" in result.reason


def test_too_little_regression_feedback_is_not_judged(rng: np.random.Generator) -> None:
    context = TriggerContext(now=NOW, feedback_errors=errors(rng, 9.0, 29), test_mae=1.0)
    result = PerformanceTrigger(min_feedback=30).evaluate(context)
    assert not result.fired
    assert result.reason == "29 feedback errors < 30 needed"


def test_a_classifiers_outcomes_are_not_read_as_errors() -> None:
    """Without a test MAE (a classifier) the right/wrong path runs, whatever errors say."""
    context = TriggerContext(now=NOW, feedback=[True] * 40, feedback_errors=[100.0] * 40)
    result = PerformanceTrigger().evaluate(context)
    assert not result.fired
    assert result.figures["accuracy"] == 1.0
    assert "feedback_mae" not in result.figures


@given(
    st.lists(st.floats(0.0, 100.0), min_size=1, max_size=300),
    st.floats(0.01, 50.0),
    st.floats(0.5, 3.0),
    st.integers(1, 100),
)
def test_fires_exactly_when_the_windows_mae_exceeds_the_allowance(
    feedback: list[float], test_mae: float, ratio: float, window: int
) -> None:
    trigger = PerformanceTrigger(min_feedback=1, window=window, max_mae_ratio=ratio)
    result = trigger.evaluate(TriggerContext(now=NOW, feedback_errors=feedback, test_mae=test_mae))
    recent = feedback[-window:]
    assert result.fired is (float(np.mean(recent)) > ratio * test_mae)
    assert result.figures["window"] == len(recent)


def values_context(rng: np.random.Generator, shift: float, n: int = 500) -> TriggerContext:
    return TriggerContext(
        now=NOW,
        reference_values=list(rng.normal(15.0, 5.0, 400)),
        current_values=list(rng.normal(15.0 + shift, 5.0, n)),
        # what a regression model logs: one output, confidence 1 (no reference of them)
        current_confidences=[1.0] * n,
        current_label_counts={"value": n},
    )


def test_predicted_values_moving_away_from_the_test_splits_fire(
    rng: np.random.Generator,
) -> None:
    result = DriftTrigger(min_samples=200).evaluate(values_context(rng, 5.0))
    assert result.fired
    assert result.reason.startswith("predicted_value: psi")
    assert result.figures["predicted_value.ks_drifted"] is True
    assert "psi" not in result.figures  # no confidence test: the reference has none
    assert json.loads(json.dumps(result.figures, allow_nan=False)) == result.figures


def test_predicted_values_like_the_test_splits_are_quiet(rng: np.random.Generator) -> None:
    trigger = DriftTrigger(min_samples=200)
    fired = sum(trigger.evaluate(values_context(rng, 0.0)).fired for _ in range(200))
    assert fired <= 10  # KS at 0.01 and PSI 0.2: about two false alarms in a hundred
    calm = trigger.evaluate(values_context(rng, 0.0))
    assert isinstance(calm.figures["predicted_value.psi"], float)


def test_predicted_values_wait_for_min_samples(rng: np.random.Generator) -> None:
    result = DriftTrigger(min_samples=200).evaluate(values_context(rng, 5.0, n=199))
    assert not result.fired
    assert "not tested" in result.reason
    assert not any(name.startswith("predicted_value.") for name in result.figures)
