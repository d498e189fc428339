"""Prequential scoring against hand-computed figures and River's, and the block loop against the
row loop."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.evaluation._records import EvaluationError
from lifelong.evaluation.prequential import (
    PrequentialRegressionScore,
    PrequentialScore,
    plot_prequential,
    prequential,
)
from lifelong.online import OnlineClassifier, OnlineRegressor


class Constant:
    """Always predicts one label."""

    def __init__(self, label: Hashable) -> None:
        self.label = label

    def predict_one(self, x: Any) -> Hashable:
        return self.label

    def learn_one(self, x: Any, y: Hashable) -> None:
        pass


class NoChange:
    """Predicts the last label learned (``None`` first)."""

    def __init__(self) -> None:
        self.last: Hashable | None = None

    def predict_one(self, x: Any) -> Hashable | None:
        return self.last

    def learn_one(self, x: Any, y: Hashable) -> None:
        self.last = y


def test_figures_of_a_tiny_stream_by_hand() -> None:
    labels = ["a", "a", "b", "b", "a"]
    result = prequential(Constant("a"), [({}, y) for y in labels], window=2, every=1)
    score = result.score
    # 3 of 5 right; chance: true a=3/5, predicted a=5/5 -> pe = 0.6, kappa 0.
    assert score.accuracy == pytest.approx(0.6)
    assert score.kappa == pytest.approx(0.0)
    # no-change right at rows 2 and 4 (a->a, b->b): 2/5, kappa-temporal (0.6-0.4)/0.6.
    assert score.no_change_accuracy == pytest.approx(0.4)
    assert score.kappa_temporal == pytest.approx(1 / 3)
    # rolling over 2 rows: hits 1,1,0,0,1
    assert result.curve == [(1, 1.0), (2, 1.0), (3, 0.5), (4, 0.0), (5, 0.5)]


def test_kappa_by_hand_with_two_predicted_classes() -> None:
    score = PrequentialScore()
    for y, p in [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]:
        score.update(y, p)
    # p0 = 3/4; pe = (2*1 + 2*3) / 16 = 0.5; kappa = 0.25 / 0.5
    assert score.kappa == pytest.approx(0.5)


@settings(deadline=None, max_examples=50)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=60))
def test_the_no_change_learner_has_kappa_temporal_zero(labels: list[str]) -> None:
    score = prequential(NoChange(), [({}, y) for y in labels]).score
    assert score.accuracy == pytest.approx(score.no_change_accuracy)
    assert score.kappa_temporal == pytest.approx(0.0)


def test_the_block_loop_predicts_as_the_row_loop_for_a_learner_changing_every_block() -> None:
    stream = [({"a": float(i % 7), "k": "u" if i % 3 else "v"}, i % 7 > 3) for i in range(120)]
    rows = prequential(OnlineClassifier(batch_size=8), stream, every=1)
    blocks = prequential(OnlineClassifier(batch_size=8), stream, block=8, every=1)
    assert blocks.curve == rows.curve
    assert blocks.score.accuracy == rows.score.accuracy


def test_block_needs_predict_rows_and_a_stream_needs_rows(tmp_path: Any) -> None:
    with pytest.raises(EvaluationError, match="block=4 needs a learner with predict_rows"):
        prequential(NoChange(), [({}, "a")], block=4)
    with pytest.raises(EvaluationError, match="no rows"):
        prequential(NoChange(), [])
    result = prequential(NoChange(), [({}, "a")] * 5)
    path = plot_prequential({"no change": result}, tmp_path / "p.png", "t")
    assert path.read_bytes()[:4] == b"\x89PNG"


class LastTarget:
    """The no-change regressor: predicts the last target learned (0.0 first)."""

    def __init__(self) -> None:
        self.last = 0.0

    def predict_one(self, x: Any) -> float:
        return self.last

    def learn_one(self, x: Any, y: float) -> None:
        self.last = y


def test_regression_figures_of_a_tiny_stream_by_hand() -> None:
    targets = [1.0, 3.0, 3.0, 0.0]
    result = prequential(
        LastTarget(), [({}, y) for y in targets], window=2, every=1, regression=True
    )
    score = result.score
    assert isinstance(score, PrequentialRegressionScore)
    # predictions 0, 1, 3, 3: errors 1, 2, 0, 3
    assert score.mae == pytest.approx(1.5)
    assert score.rmse == pytest.approx((14 / 4) ** 0.5)
    assert score.no_change_mae == pytest.approx(1.5)
    assert result.curve == [(1, 1.0), (2, 1.5), (3, 1.0), (4, 1.5)]
    assert result.to_dict()["mae"] == pytest.approx(1.5)


NUMBERS = st.integers(min_value=-(10**7), max_value=10**7).map(lambda v: v / 8)
"""Numbers whose squared differences neither overflow nor underflow."""


@settings(deadline=None, max_examples=50)
@given(st.lists(NUMBERS, min_size=1, max_size=60), NUMBERS)
def test_regression_invariants(targets: list[float], constant: float) -> None:
    """The no-change regressor's MAE is its own baseline; RMSE is never below MAE."""
    score = prequential(LastTarget(), [({}, y) for y in targets], regression=True).score
    assert isinstance(score, PrequentialRegressionScore)
    assert score.mae == pytest.approx(score.no_change_mae)
    fixed = prequential(Constant(constant), [({}, y) for y in targets], regression=True).score
    assert isinstance(fixed, PrequentialRegressionScore)
    assert fixed.rmse >= fixed.mae * (1 - 1e-9)
    assert fixed.mae == pytest.approx(np.mean([abs(y - constant) for y in targets]))


def test_the_regressor_block_loop_predicts_as_the_row_loop() -> None:
    """Equal up to float32 rounding: a forward pass over 8 rows sums in another order than
    one over a row (a classifier's argmax hides that, a regressor's number does not)."""
    stream = [({"a": float(i % 7), "k": "u" if i % 3 else "v"}, 5.0 * (i % 7)) for i in range(120)]
    options: dict[str, Any] = {"window": 20, "every": 1, "regression": True}
    rows = prequential(OnlineRegressor(batch_size=8), stream, **options)
    blocks = prequential(OnlineRegressor(batch_size=8), stream, block=8, **options)
    assert [n for n, _ in blocks.curve] == [n for n, _ in rows.curve]
    assert [m for _, m in blocks.curve] == pytest.approx([m for _, m in rows.curve], rel=1e-5)
    assert blocks.score.overall == pytest.approx(rows.score.overall, rel=1e-5)
    assert rows.curve[-1][1] < 0.5 * rows.curve[19][1]  # it learned: the error fell


def test_regression_scoring_agrees_with_rivers_progressive_validation() -> None:
    """River's own LinearRegression through our loop gets the MAE and RMSE that River's
    ``progressive_val_score`` gives it (both test-then-train, in order)."""
    river = pytest.importorskip("river")
    from river import evaluate, linear_model, metrics, preprocessing

    stream = list(river.datasets.synth.Friedman(seed=1).take(300))

    def learner() -> Any:
        return preprocessing.StandardScaler() | linear_model.LinearRegression()

    ours = prequential(learner(), stream, regression=True).score
    assert isinstance(ours, PrequentialRegressionScore)
    theirs = evaluate.progressive_val_score(stream, learner(), metrics.MAE() + metrics.RMSE())
    mae, rmse = (metric.get() for metric in theirs)
    assert ours.mae == pytest.approx(mae)
    assert ours.rmse == pytest.approx(rmse)


def test_a_regression_plot_is_written(tmp_path: Any) -> None:
    result = prequential(LastTarget(), [({}, float(i % 5)) for i in range(50)], regression=True)
    path = plot_prequential({"no change": result}, tmp_path / "r.png", "t")
    assert path.read_bytes()[:4] == b"\x89PNG"
