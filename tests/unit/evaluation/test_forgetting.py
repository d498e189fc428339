"""Backward transfer on the parent's test examples."""

from __future__ import annotations

import json

import pytest

from lifelong.evaluation import EvaluationError, ForgettingReport, measure_forgetting


def test_forgetting_compares_both_models_on_old_examples_only() -> None:
    old = [f"old{i}" for i in range(10)]
    new = [f"new{i}" for i in range(4)]
    truth = ["a"] * 14
    parent = ["a"] * 9 + ["b"] + ["b"] * 4  # 9/10 on old, 0/4 on new
    child = ["a"] * 6 + ["b"] * 4 + ["a"] * 3 + ["b"]  # 6/10 on old, 3/4 on new
    report = measure_forgetting([*old, "removed"], old + new, truth, child, parent)
    assert (report.n_old, report.n_new, report.n_old_missing) == (10, 4, 1)
    assert report.parent_accuracy_old == pytest.approx(0.9)
    assert report.child_accuracy_old == pytest.approx(0.6)
    assert report.backward_transfer == pytest.approx(-0.3)
    assert report.parent_accuracy_new == 0.0
    assert report.child_accuracy_new == pytest.approx(0.75)


def test_no_old_examples_gives_no_backward_transfer() -> None:
    report = measure_forgetting(set(), ["h1"], ["a"], ["a"], ["b"])
    assert report.n_old == 0
    assert report.backward_transfer is None
    assert report.child_accuracy_new == 1.0
    assert ForgettingReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_forgetting_rejects_misaligned_predictions() -> None:
    with pytest.raises(EvaluationError, match="child_pred=1, parent_pred=2"):
        measure_forgetting({"h1"}, ["h1", "h2"], ["a", "b"], ["a"], ["a", "b"])
