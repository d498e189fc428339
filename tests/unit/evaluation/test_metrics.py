"""Calibration, confusions, oos threshold and the evaluation report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import LifelongError
from lifelong.evaluation import (
    EvalReport,
    EvaluationError,
    apply_threshold,
    calibration,
    choose_threshold,
    evaluate_predictions,
)


def test_ece_of_perfectly_calibrated_data_is_near_zero() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.0, 1.0, 200_000)
    correct = rng.uniform(0.0, 1.0, confidences.size) < confidences
    assert calibration(confidences, correct).ece < 0.01


def test_ece_of_overconfident_data_is_large() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.95, 1.0, 10_000)
    correct = rng.uniform(0.0, 1.0, confidences.size) < 0.6
    result = calibration(confidences, correct)
    assert result.ece == pytest.approx(0.975 - 0.6, abs=0.02)
    assert sum(b.count for b in result.bins) == confidences.size


def test_ece_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(EvaluationError, match=r"probabilities in \[0, 1\]"):
        calibration([0.5, 1.5], [True, False])


def test_threshold_separates_synthetic_oos_from_in_scope() -> None:
    rng = np.random.default_rng(1)
    in_scope = rng.uniform(0.55, 1.0, 900)
    oos = rng.uniform(0.1, 0.5, 100)
    choice = choose_threshold(np.concatenate([in_scope, oos]), [False] * 900 + [True] * 100)
    assert oos.max() < choice.threshold < in_scope.min()
    assert choice.oos_recall == 1.0
    assert choice.in_scope_accuracy == 1.0


def test_threshold_balances_overlapping_scores_and_counts_wrong_kept_predictions() -> None:
    rng = np.random.default_rng(2)
    in_scope = rng.normal(0.75, 0.1, 5000).clip(0, 1)
    oos = rng.normal(0.45, 0.1, 500).clip(0, 1)
    conf = np.concatenate([in_scope, oos])
    is_oos = np.r_[np.zeros(5000, bool), np.ones(500, bool)]
    choice = choose_threshold(conf, is_oos)
    # Equal spreads and balanced weighting put the best cut near the midpoint of the means.
    assert choice.threshold == pytest.approx(0.60, abs=0.03)
    assert choice.balanced_score == pytest.approx(
        (choice.in_scope_accuracy + choice.oos_recall) / 2
    )
    wrong = np.r_[np.ones(5000, bool), np.zeros(500, bool)] & (conf < 0.7)
    with_errors = choose_threshold(conf, is_oos, correct=~is_oos & ~wrong)
    assert with_errors.in_scope_accuracy < choice.in_scope_accuracy


def test_threshold_needs_both_kinds_of_examples() -> None:
    with pytest.raises(EvaluationError, match="both in-scope and out-of-scope"):
        choose_threshold([0.2, 0.9], [False, False])


def test_report_gives_oos_metrics_at_the_threshold() -> None:
    y_true = ["a", "a", "b", "oos", "oos"]
    y_pred = ["a", "a", "b", "a", "b"]
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.6, 0.4], [0.45, 0.55]])
    report = evaluate_predictions(
        y_true, y_pred, probs, ["a", "b"], oos_label="oos", oos_threshold=0.65
    )
    assert report.oos is not None
    assert report.oos.recall == 1.0
    # Flagged: both oos examples, and the in-scope "b" at 0.6.
    assert report.oos.precision == pytest.approx(2 / 3)
    assert report.oos.in_scope_accuracy == pytest.approx(2 / 3)
    assert report.accuracy == pytest.approx(4 / 5)
    assert report.labels == ("a", "b", "oos")


def test_report_scores_intents_and_confusions() -> None:
    y_true = ["a"] * 10 + ["b"] * 10 + ["c"] * 5
    y_pred = ["a"] * 7 + ["b"] * 3 + ["b"] * 9 + ["a"] + ["c"] * 5
    report = evaluate_predictions(y_true, y_pred, None, ["a", "b", "c"], latency_ms_per_example=2)
    assert report.accuracy == pytest.approx(21 / 25)
    assert report.intent("a").recall == pytest.approx(0.7)
    assert report.intent("b").precision == pytest.approx(9 / 12)
    assert report.intent("c").f1 == 1.0
    assert [(p.true_label, p.predicted_label, p.count) for p in report.confused_pairs] == [
        ("a", "b", 3),
        ("b", "a", 1),
    ]
    assert report.confusion.labels == ("a", "b")
    assert report.confusion.counts == ((7, 3), (1, 9))
    assert report.calibration is None
    with pytest.raises(EvaluationError, match="intent 'z' is not in the report"):
        report.intent("z")


def test_unseen_true_intent_appears_with_zero_recall() -> None:
    report = evaluate_predictions(["a", "new"], ["a", "a"], None, ["a"])
    assert report.intent("new").recall == 0.0
    assert report.intent("new").support == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_pred": ["a"]}, r"y_true=2, y_pred=1"),
        ({"probabilities": np.ones((2, 3))}, r"shape \(n_examples, n_labels\) = \(2, 2\)"),
        ({"oos_threshold": 0.5}, "oos_threshold needs both"),
        ({"labels": ["a", "a"]}, "labels must be distinct"),
        ({"latency_ms_per_example": float("nan")}, "finite number >= 0, got nan"),
    ],
)
def test_inconsistent_inputs_are_lifelong_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "y_true": ["a", "b"],
        "y_pred": ["a", "b"],
        "probabilities": None,
        "labels": ["a", "b"],
    }
    args.update(kwargs)
    with pytest.raises(LifelongError, match=message):
        evaluate_predictions(**args)  # type: ignore[arg-type]


def test_apply_threshold_replaces_low_confidence_predictions() -> None:
    assert apply_threshold(["a", "b", "c"], [0.5, 0.49, 0.9], 0.5, "oos") == ["a", "oos", "c"]


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd"), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=40,
    ),
    latency=st.none() | st.floats(0.0, 1e4),
)
def test_report_survives_a_json_round_trip(
    data: list[tuple[str, str, float]], latency: float | None
) -> None:
    y_true, y_pred, top = zip(*data, strict=True)
    probs = np.array([[p, 1 - p, 0.0] for p in top])
    report = evaluate_predictions(
        y_true,
        y_pred,
        probs,
        ["a", "b", "c"],
        latency_ms_per_example=latency,
        oos_label="d",
        oos_threshold=0.3,
    )
    assert EvalReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_from_dict_names_unknown_keys() -> None:
    report = evaluate_predictions(["a"], ["a"], None, ["a"])
    data = report.to_dict() | {"surprise": 1}
    with pytest.raises(EvaluationError, match=r"EvalReport: unknown keys \['surprise'\]"):
        EvalReport.from_dict(data)


label_pairs = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from("abcdef"), min_size=n, max_size=n),
        st.lists(st.sampled_from("abcdefg"), min_size=n, max_size=n),
    )
)


@settings(deadline=None)  # the first example imports scikit-learn
@given(label_pairs, st.sampled_from([["a"], ["a", "b", "c", "x"], list("fedcba")]))
def test_per_intent_scores_and_macro_f1_are_scikit_learns_to_the_bit(
    pair: tuple[list[str], list[str]], model_labels: list[str]
) -> None:
    # the report computes them without importing scikit-learn; the figures must not move
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    truth, pred = pair
    report = evaluate_predictions(truth, pred, None, model_labels)
    labels = list(report.labels)
    expected = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0.0)
    got = [[getattr(m, k) for m in report.per_intent] for k in ("precision", "recall", "f1")]
    assert got == [e.tolist() for e in expected[:3]]
    assert [m.support for m in report.per_intent] == expected[3].tolist()
    present = sorted(set(truth) | set(pred), key=labels.index)
    macro = f1_score(truth, pred, labels=present, average="macro", zero_division=0.0)
    assert report.macro_f1 == macro
