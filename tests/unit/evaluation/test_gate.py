"""The champion/challenger gate and the first-model verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Gate, PerIntentGuard
from lifelong.evaluation import (
    EvaluationError,
    Verdict,
    decide,
    evaluate_predictions,
    first_model_verdict,
    rank_challengers,
)

INTENTS = ["balance", "card", "greet", "refund", "transfer", "weather"]
PER_INTENT = 50


def _truth() -> list[str]:
    return [intent for intent in INTENTS for _ in range(PER_INTENT)]


def _champion(truth: list[str]) -> list[str]:
    """Right on the first 40 of every intent's 50 examples, "greet" on the rest (or "card")."""
    preds = list(truth)
    for i, label in enumerate(truth):
        if i % PER_INTENT >= 40:
            preds[i] = "card" if label == "greet" else "greet"
    return preds


def _right_on_first(k: int, truth: list[str], champion: list[str]) -> list[str]:
    """Right on the first ``k`` examples of every intent, the champion's prediction elsewhere."""
    return [
        t if i % PER_INTENT < k else c for i, (t, c) in enumerate(zip(truth, champion, strict=True))
    ]


def _decide(
    champion: list[str], challenger: list[str], truth: list[str], **gate: object
) -> Verdict:
    return decide(
        champion,
        challenger,
        truth,
        Gate.model_validate(gate),
        champion_version="1.0",
        challenger_version="1.1",
        n_resamples=2000,
    )


def test_poisoned_intent_is_rejected_by_the_guard_even_when_overall_accuracy_rises() -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = list(truth)  # fixes every mistake of the champion...
    refund = [i for i, label in enumerate(truth) if label == "refund"]
    for i in refund[40:]:
        challenger[i] = champion[i]  # ...except refund's ten,
    for i in refund[:10]:
        challenger[i] = "transfer"  # and poisoned labels move 20% of refund to transfer.
    verdict = _decide(champion, challenger, truth)
    assert verdict.difference is not None
    assert verdict.difference > 0
    assert verdict.mcnemar is not None
    assert verdict.mcnemar.p_value < 0.05
    assert verdict.decision == "reject"
    assert [d.label for d in verdict.violations] == ["refund"]
    assert verdict.violations[0].change == pytest.approx(-0.20)
    assert verdict.reasons[0].startswith(
        "intent 'refund' recall fell 0.80 -> 0.60 (-20.0 pts > 10.0 allowed"
    )
    assert not any(r.startswith("significantly better") for r in verdict.reasons)


def test_clearly_better_challenger_is_promoted_with_small_p_value() -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = _right_on_first(47, truth, champion)
    verdict = _decide(champion, challenger, truth, alpha=0.05)
    assert verdict.promoted
    assert verdict.mcnemar is not None
    assert (verdict.mcnemar.only_a, verdict.mcnemar.only_b) == (0, 42)
    assert verdict.mcnemar.p_value < 1e-9
    assert verdict.reasons[0].startswith("significantly better: accuracy +14.0 pts")
    assert verdict.bootstrap is not None
    assert verdict.bootstrap.low > 0
    assert verdict.violations == ()
    assert len(verdict.intent_deltas) == len(INTENTS)


@pytest.mark.parametrize(("tie", "decision"), [("promote", "promote"), ("keep", "reject")])
def test_identical_predictions_tie_and_the_tie_rule_decides(tie: str, decision: str) -> None:
    truth = _truth()
    champion = _champion(truth)
    verdict = _decide(champion, list(champion), truth, tie=tie)
    assert verdict.mcnemar is not None
    assert verdict.mcnemar.p_value == 1.0
    assert verdict.difference == 0.0
    assert verdict.decision == decision
    expected = "promotes the challenger" if tie == "promote" else "keeps the champion"
    assert verdict.reasons[0] == (
        f"no significant difference (McNemar p = 1 >= 0.05); tie rule {tie!r} {expected}"
    )


def _slightly_worse(truth: list[str]) -> tuple[list[str], list[str]]:
    champion = _champion(truth)
    challenger = list(champion)
    challenger[0] = challenger[PER_INTENT] = "weather"  # one loss in two intents
    return champion, challenger


def test_a_drop_beyond_max_drop_rejects() -> None:
    verdict = _decide(*_slightly_worse(_truth()), _truth(), max_drop=0.0)
    assert verdict.decision == "reject"
    assert verdict.reasons[0] == "accuracy fell 0.800 -> 0.793 (-0.7 pts > 0.0 allowed)"
    default = _decide(*_slightly_worse(_truth()), _truth())  # max_drop 0.005 < 0.7 pts
    assert default.reasons[0] == "accuracy fell 0.800 -> 0.793 (-0.7 pts > 0.5 allowed)"


def test_small_drop_within_max_drop_goes_to_the_tie_rule() -> None:
    verdict = _decide(*_slightly_worse(_truth()), _truth(), max_drop=0.01)
    assert verdict.promoted
    assert "tie rule 'promote'" in verdict.reasons[0]


def test_significant_gain_below_min_gain_is_a_tie() -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = _right_on_first(43, truth, champion)
    verdict = _decide(champion, challenger, truth, min_gain=0.10, tie="keep")
    assert verdict.mcnemar is not None
    assert verdict.mcnemar.p_value < 0.05
    assert verdict.decision == "reject"
    assert verdict.reasons[0] == (
        "gain +6.0 pts is below min_gain 10.0 pts; tie rule 'keep' keeps the champion"
    )


def test_significantly_worse_is_rejected_even_when_drops_are_allowed() -> None:
    truth = _truth()
    better = _champion(truth)
    worse = [c if i % PER_INTENT < 30 else "greet" for i, c in enumerate(better)]
    loose = {"max_drop": 1.0, "per_intent": PerIntentGuard(max_recall_drop=1.0)}
    verdict = _decide(better, worse, truth, **loose)
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith("significantly worse: McNemar p = ")


def test_guard_ignores_intents_below_min_support() -> None:
    truth = ["rare"] * 5 + ["common"] * 20
    champion = list(truth)
    challenger = ["common"] * 25
    verdict = _decide(champion, challenger, truth, max_drop=1.0, tie="promote")
    assert [d.label for d in verdict.intent_deltas] == ["common"]
    assert verdict.promoted  # rare lost everything, but 5 examples say little; p = 0.0625


@pytest.mark.parametrize(
    ("latency", "decision", "reason"),
    [
        (12.0, "reject", "latency 12.00 ms/example over budget 10.0 ms"),
        (8.0, "promote", "latency 8.00 ms/example within budget 10.0 ms"),
        (None, "promote", "latency not measured; budget 10.0 ms not checked"),
    ],
)
def test_latency_budget(latency: float | None, decision: str, reason: str) -> None:
    truth = _truth()
    champion = _champion(truth)
    verdict = decide(
        champion,
        champion,
        truth,
        Gate(max_latency_ms=10.0),
        champion_version="1.0",
        challenger_version="1.1",
        champion_latency_ms=5.0,
        challenger_latency_ms=latency,
        n_resamples=200,
    )
    assert verdict.decision == decision
    assert reason in verdict.reasons


def test_decide_rejects_misaligned_inputs() -> None:
    with pytest.raises(EvaluationError, match="champion_pred=2, challenger_pred=1, y_true=2"):
        _decide(["a", "b"], ["a"], ["a", "b"])


@pytest.mark.parametrize(("floor", "decision"), [(0.5, "promote"), (0.9, "reject")])
def test_first_model_needs_the_floor(floor: float, decision: str) -> None:
    truth = _truth()
    report = evaluate_predictions(truth, _champion(truth), None, INTENTS)
    verdict = first_model_verdict(report, Gate(floor=floor), version="1.0")
    assert verdict.kind == "first"
    assert verdict.decision == decision
    assert verdict.champion_version is None
    if decision == "reject":
        assert verdict.reasons[0] == (
            "first model of the project stays a candidate: accuracy 0.800 is below floor 0.900 "
            "(add data, or lower policy.gate.floor)"
        )


def test_first_model_over_latency_budget_stays_a_candidate() -> None:
    report = evaluate_predictions(["a"], ["a"], None, ["a"], latency_ms_per_example=30.0)
    verdict = first_model_verdict(report, Gate(max_latency_ms=20.0), version="1.0")
    assert verdict.decision == "reject"
    assert "latency 30.00 ms/example over budget 20.0 ms" in verdict.reasons[0]


def test_rank_challengers_puts_promotions_first_then_accuracy() -> None:
    truth = _truth()
    champion = _champion(truth)
    good = _right_on_first(44, truth, champion)
    best = _right_on_first(46, truth, champion)
    poisoned = list(truth)
    poisoned[:12] = ["weather"] * 12  # balance recall 0.80 -> 0.56: most accurate, but guarded
    poisoned[40:50] = champion[40:50]
    verdicts = {
        name: decide(
            champion, preds, truth, Gate(), champion_version="1.0", challenger_version=name
        )
        for name, preds in {"1.1": good, "1.2": poisoned, "1.3": best}.items()
    }
    assert verdicts["1.2"].challenger_accuracy > verdicts["1.3"].challenger_accuracy
    assert [v.label for v in verdicts["1.2"].violations] == ["balance"]
    ranked = rank_challengers(list(verdicts.values()))
    assert [v.challenger_version for v in ranked] == ["1.3", "1.1", "1.2"]


def test_rank_challengers_refuses_mixed_champions() -> None:
    truth = _truth()
    champion = _champion(truth)
    a = decide(champion, champion, truth, Gate(), champion_version="1.0", challenger_version="x")
    b = decide(champion, champion, truth, Gate(), champion_version="2.0", challenger_version="y")
    with pytest.raises(EvaluationError, match="different champions or test sets"):
        rank_challengers([a, b])


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("abc"), st.sampled_from("abc")),
        min_size=1,
        max_size=60,
    ),
    alpha=st.floats(0.001, 0.5),
    min_support=st.integers(1, 20),
    tie=st.sampled_from(["promote", "keep"]),
    latency=st.none() | st.floats(0.1, 100.0),
)
def test_verdict_survives_a_json_round_trip(
    rows: list[tuple[str, str, str]],
    alpha: float,
    min_support: int,
    tie: str,
    latency: float | None,
) -> None:
    truth, champion, challenger = (list(column) for column in zip(*rows, strict=True))
    policy = Gate.model_validate(
        {
            "alpha": alpha,
            "tie": tie,
            "max_latency_ms": 50.0,
            "per_intent": {"min_support": min_support},
        }
    )
    verdict = decide(
        champion,
        challenger,
        truth,
        policy,
        champion_version="3.1",
        challenger_version="3.2",
        challenger_latency_ms=latency,
        n_resamples=50,
    )
    restored = Verdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert restored == verdict
    assert Gate.model_validate(restored.policy) == policy
    assert verdict.promoted == (verdict.decision == "promote")


@pytest.mark.parametrize(("min_lost", "violated"), [(3, False), (2, True)])
def test_guard_needs_min_lost_examples_not_just_points(min_lost: int, violated: bool) -> None:
    # 15 test examples of "greet": two flips are 13.3 recall points, above the 10 allowed,
    # but only 2 examples; small-sample noise unless min_lost allows it.
    truth = ["greet"] * 15 + ["card"] * 15
    champion = list(truth)
    challenger = ["card", "card", *truth[2:]]
    # alpha=None: the plain rule, without the significance test
    policy = Gate(
        per_intent=PerIntentGuard(
            min_support=10, max_recall_drop=0.10, min_lost=min_lost, alpha=None
        )
    )
    verdict = decide(
        champion, challenger, truth, policy, champion_version="1.0", challenger_version="1.1"
    )
    (greet,) = [d for d in verdict.intent_deltas if d.label == "greet"]
    assert greet.lost == 2
    assert greet.violated is violated
    assert ("2 of 15 test examples lost" in greet.describe()) is True


def test_guard_needs_a_significant_loss_among_many_intents() -> None:
    # 100 intents of 20 test examples; the challenger loses 3 examples of each of 10 intents
    # (chance-sized losses, -15 pts each) and 12 of one intent (a real loss).
    intents = [f"intent{i:03d}" for i in range(100)]
    truth = [label for label in intents for _ in range(20)]
    champion = list(truth)
    challenger = list(truth)
    for k in range(10):
        for j in range(3):
            challenger[20 * k + j] = "intent099"
    for j in range(12):
        challenger[20 * 50 + j] = "intent099"
    verdict = decide(
        champion,
        challenger,
        truth,
        Gate(max_drop=1.0),
        champion_version="1.0",
        challenger_version="1.1",
        n_resamples=200,
    )
    assert [d.label for d in verdict.violations] == ["intent050"]
    plain = decide(
        champion,
        challenger,
        truth,
        Gate(max_drop=1.0, per_intent=PerIntentGuard(alpha=None)),
        champion_version="1.0",
        challenger_version="1.1",
        n_resamples=200,
    )
    assert len(plain.violations) == 11
