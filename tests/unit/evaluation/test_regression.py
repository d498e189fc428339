"""A regression model's report and the regression gate (Wilcoxon on paired absolute errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Gate, RegressionGate
from lifelong.evaluation import (
    EvaluationError,
    RegressionVerdict,
    SliceName,
    Verdict,
    decide_regression,
    evaluate_regression,
    first_regression_verdict,
    rank_challengers,
    verdict_from_dict,
    wilcoxon_errors,
)
from lifelong.evaluation.tables import verdict_summary

N = 200


def _truth(n: int = N, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(30.0, 8.0, n)


def _model(truth: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Predictions whose errors are normal with standard deviation ``scale``."""
    return truth + np.random.default_rng(seed).normal(0.0, scale, len(truth))


def _decide(
    champion: np.ndarray,
    challenger: np.ndarray,
    truth: np.ndarray,
    policy: Gate | None = None,
    slices: list[SliceName] | None = None,
) -> RegressionVerdict:
    return decide_regression(
        champion,
        challenger,
        truth,
        policy or Gate(),
        champion_version="1.0",
        challenger_version="1.1",
        slices=slices,
    )


def _policy(**regression: float | None) -> Gate:
    return Gate(regression=RegressionGate(**regression))  # type: ignore[arg-type]


# --- the report ------------------------------------------------------------------------------


def test_report_figures_match_their_definitions() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 6.0])
    report = evaluate_regression(truth, pred, latency_ms_per_example=0.25)
    assert report.n_examples == 4
    assert report.mae == pytest.approx(3.5 / 4)
    assert report.rmse == pytest.approx(np.sqrt((0.25 + 0 + 1 + 4) / 4))
    assert report.r2 == pytest.approx(1 - 5.25 / 5.0)
    assert report.bias == pytest.approx((0.5 + 0 - 1 + 2) / 4)
    assert report.max_absolute_error == 2.0
    assert report.median_absolute_error == pytest.approx(0.75)
    assert report.latency_ms_per_example == 0.25


def test_predicting_the_mean_scores_r2_zero_and_a_constant_truth_does_not_divide_by_zero() -> None:
    truth = _truth(50)
    assert evaluate_regression(truth, np.full(50, truth.mean())).r2 == pytest.approx(0.0)
    assert evaluate_regression([2.0, 2.0], [2.0, 2.0]).r2 == 1.0
    assert evaluate_regression([2.0, 2.0], [2.0, 3.0]).r2 == 0.0


def test_report_refuses_mismatched_or_non_finite_values() -> None:
    with pytest.raises(EvaluationError, match="one length"):
        evaluate_regression([1.0, 2.0], [1.0])
    with pytest.raises(EvaluationError, match=r"y_pred\[1\] is nan"):
        evaluate_regression([1.0, 2.0], [1.0, float("nan")])


@settings(deadline=None, max_examples=50)
@given(
    st.lists(
        st.tuples(st.floats(-1e3, 1e3, allow_nan=False), st.floats(-1e3, 1e3, allow_nan=False)),
        min_size=1,
        max_size=40,
    )
)
def test_report_quantiles_are_ordered_and_mae_never_exceeds_rmse(
    pairs: list[tuple[float, float]],
) -> None:
    truth, pred = zip(*pairs, strict=True)
    report = evaluate_regression(list(truth), list(pred))
    assert report.median_absolute_error <= report.p90_absolute_error + 1e-9
    assert report.p90_absolute_error <= report.max_absolute_error + 1e-9
    assert report.mae <= report.rmse + 1e-9
    assert report.r2 <= 1.0 + 1e-9
    assert type(report).from_dict(json.loads(json.dumps(report.to_dict()))) == report


# --- the paired test -------------------------------------------------------------------------


def test_wilcoxon_is_one_sided_both_ways_and_identical_errors_are_no_evidence() -> None:
    truth = _truth()
    small = np.abs(_model(truth, 1.0, 1) - truth)
    large = np.abs(_model(truth, 3.0, 2) - truth)
    worse = wilcoxon_errors(small, large)
    assert worse.p_worse < 1e-6 < 0.5 < worse.p_better
    better = wilcoxon_errors(large, small)
    assert better.p_better == pytest.approx(worse.p_worse)
    assert better.challenger_closer == worse.champion_closer
    same = wilcoxon_errors(small, small + 1e-12)
    assert (same.n_pairs, same.p_worse, same.p_better) == (0, 1.0, 1.0)


# --- the gate --------------------------------------------------------------------------------


def test_a_clearly_better_challenger_is_promoted_with_the_wilcoxon_reason() -> None:
    truth = _truth()
    verdict = _decide(_model(truth, 3.0, 1), _model(truth, 1.0, 2), truth)
    assert verdict.promoted
    assert verdict.reasons[0].startswith("significantly better: MAE")
    assert "Wilcoxon one-sided p" in verdict.reasons[0]
    assert verdict.wilcoxon is not None
    assert verdict.wilcoxon.p_better < 1e-6
    assert verdict.champion is not None
    assert verdict.challenger.mae < verdict.champion.mae


def test_a_clearly_worse_challenger_is_rejected_with_a_reason_naming_mae() -> None:
    truth = _truth()
    verdict = _decide(_model(truth, 1.0, 1), _model(truth, 3.0, 2), truth)
    assert verdict.decision == "reject"
    assert any("MAE" in r and "significantly" in r for r in verdict.reasons[:3])
    assert verdict.slices[0].name == "old"
    assert verdict.slices[0].violated


@pytest.mark.parametrize(("tie", "decision"), [("promote", "promote"), ("keep", "reject")])
def test_equal_models_follow_the_tie_rule(tie: str, decision: str) -> None:
    truth = _truth()
    champion = _model(truth, 2.0, 1)
    # The same errors, each example's sign flipped: equal absolute errors everywhere.
    challenger = 2 * truth - champion
    verdict = _decide(champion, challenger, truth, Gate(tie=tie))  # type: ignore[arg-type]
    assert verdict.decision == decision
    assert f"tie rule {tie!r}" in verdict.reasons[0]
    assert "no significant difference" in verdict.reasons[0]


def test_the_mae_allowance_turns_a_small_significant_loss_into_a_tie() -> None:
    truth = _truth(400)
    champion = _model(truth, 2.0, 1)
    challenger = truth + (champion - truth) * 1.04  # every error 4% larger
    strict = _decide(
        champion, challenger, truth, _policy(max_mae_increase=0.0, max_rmse_increase=None)
    )
    assert strict.decision == "reject"
    assert any(r.startswith("significantly worse: MAE") for r in strict.reasons)
    loose = _decide(
        champion, challenger, truth, _policy(max_mae_increase=0.05, max_rmse_increase=None)
    )
    assert loose.promoted
    assert "within max_mae_increase 5.0%" in loose.reasons[0]


def test_the_rmse_allowance_catches_a_few_large_misses_the_rank_test_forgives() -> None:
    truth = _truth(400)
    champion = _model(truth, 2.0, 1)
    challenger = champion.copy()
    challenger[:380] = truth[:380] + (champion[:380] - truth[:380]) * 0.9  # most a bit closer
    challenger[380:] = truth[380:] + 40.0  # twenty large misses
    verdict = _decide(champion, challenger, truth, _policy(max_mae_increase=1.0))
    assert verdict.decision == "reject"
    assert any(r.startswith("RMSE") and "over 10.0% allowed" in r for r in verdict.reasons)
    unchecked = _decide(
        champion, challenger, truth, _policy(max_mae_increase=1.0, max_rmse_increase=None)
    )
    assert not any(r.startswith("RMSE") for r in unchecked.reasons)
    # Most examples closer, the MAE higher: not a win, a tie (and tie: promote).
    assert "significantly smaller by rank" in unchecked.reasons[0]
    assert "is not lower; tie rule 'promote'" in unchecked.reasons[0]


def test_old_examples_veto_and_new_ones_do_not() -> None:
    """A poisoned batch: the challenger fits the batch's own (new) test targets, and breaks
    the old ones; better over the whole split, it is still rejected."""
    truth = _truth(300)
    slices: list[SliceName] = ["old"] * 100 + ["new"] * 200
    champion = _model(truth, 1.0, 1)
    champion[100:] += 10.0
    challenger = _model(truth, 0.5, 2)
    challenger[:100] += 4.0
    verdict = _decide(champion, challenger, truth, slices=slices)
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith("backward transfer: old examples (100)")
    new = next(check for check in verdict.slices if check.name == "new")
    assert not new.checked
    assert not new.violated
    # The same figures with every example new: nothing vetoes and the challenger wins.
    assert _decide(champion, challenger, truth, slices=["new"] * 300).promoted


def test_trusted_examples_are_judged_apart_from_the_test_split() -> None:
    truth = _truth(150)
    champion, challenger = _model(truth, 1.0, 1), _model(truth, 1.0, 1)
    challenger[100:] += 5.0  # worse only on the trusted set
    slices: list[SliceName] = ["old"] * 100 + ["trusted"] * 50
    verdict = _decide(champion, challenger, truth, slices=slices)
    assert verdict.n_examples == 100
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith("backward transfer: trusted examples (50)")
    with pytest.raises(EvaluationError, match="only trusted"):
        _decide(champion, challenger, truth, slices=["trusted"] * 150)


def test_the_first_model_is_judged_by_the_r2_floor() -> None:
    truth = _truth()
    good = evaluate_regression(truth, _model(truth, 1.0, 1))
    verdict = first_regression_verdict(good, Gate(), version="1.0")
    assert verdict.promoted
    assert verdict.kind == "first"
    assert "becomes champion" in verdict.reasons[0]
    mean = evaluate_regression(truth, np.full(len(truth), truth.mean() + 3.0))
    refused = first_regression_verdict(mean, Gate(), version="1.0")
    assert refused.decision == "reject"
    assert "below floor 0.000" in refused.reasons[0]
    assert "policy.gate.regression.min_r2" in refused.reasons[0]


def test_a_regression_verdict_reads_back_as_itself_and_renders() -> None:
    from rich.console import Console

    truth = _truth()
    verdict = _decide(_model(truth, 3.0, 1), _model(truth, 1.0, 2), truth)
    stored = json.loads(json.dumps(verdict.to_dict()))
    assert stored["task"] == "regression"
    assert verdict_from_dict(stored) == verdict
    console = Console(width=200, record=True)
    console.print(verdict_summary(verdict))
    text = console.export_text()
    assert "Wilcoxon p (worse / better)" in text
    assert "MAE" in text


def test_a_stored_classification_verdict_still_reads_as_one() -> None:
    from lifelong.evaluation import evaluate_predictions, first_model_verdict

    report = evaluate_predictions(["a", "b"], ["a", "b"], None, ["a", "b"])
    stored = json.loads(json.dumps(first_model_verdict(report, Gate(), version="1.0").to_dict()))
    assert isinstance(verdict_from_dict(stored), Verdict)


def test_ranking_puts_the_promoted_lowest_mae_first() -> None:
    truth = _truth()
    champion = _model(truth, 3.0, 1)
    verdicts = [
        decide_regression(
            champion,
            _model(truth, scale, seed),
            truth,
            Gate(),
            champion_version="1.0",
            challenger_version=name,
        )
        for name, scale, seed in [("1.1", 2.0, 2), ("2.0", 1.0, 3), ("1.2", 5.0, 4)]
    ]
    ranked = [v.challenger_version for v in rank_challengers(verdicts)]
    assert ranked == ["2.0", "1.1", "1.2"]
