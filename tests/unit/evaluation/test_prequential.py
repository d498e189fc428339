"""Prequential scoring against hand-computed figures, and the block loop against the row loop."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.evaluation._records import EvaluationError
from lifelong.evaluation.prequential import PrequentialScore, plot_prequential, prequential
from lifelong.online import OnlineClassifier


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
