"""The champion/challenger gate and the first-model verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Gate, PerIntentGuard
from lifelong.evaluation import (
    EvaluationError,
    SliceName,
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
    champion: list[str],
    challenger: list[str],
    truth: list[str],
    slices: list[SliceName] | None = None,
    **gate: object,
) -> Verdict:
    return decide(
        champion,
        challenger,
        truth,
        Gate.model_validate(gate),
        champion_version="1.0",
        challenger_version="1.1",
        slices=slices,
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
    # the poison's label took the examples: the second reason names where they came from
    assert verdict.reasons[1].startswith(
        "intent 'transfer' took 10 examples of other intents (refund 10)"
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


def test_two_flipped_examples_do_not_reject() -> None:
    # One loss in each of two intents: 0.7 pts, McNemar p = 0.5. Noise, not evidence.
    verdict = _decide(*_slightly_worse(_truth()), _truth())
    assert verdict.promoted
    assert verdict.reasons[0] == (
        "no significant difference (McNemar p = 0.5 >= 0.05); tie rule 'promote' promotes "
        "the challenger"
    )
    kept = _decide(*_slightly_worse(_truth()), _truth(), tie="keep")
    assert kept.decision == "reject"
    assert "keeps the champion" in kept.reasons[0]


def _significantly_worse(truth: list[str]) -> tuple[list[str], list[str]]:
    """8 of the champion's 240 right answers broken (3.3%): significant overall (p = 0.008),
    not beyond the 2% flip allowance."""
    champion = _champion(truth)
    challenger = list(champion)
    for intent in range(4):
        for j in range(2):
            challenger[intent * PER_INTENT + j] = "weather"
    return champion, challenger


def test_a_significant_drop_beyond_max_drop_rejects() -> None:
    champion, challenger = _significantly_worse(_truth())
    new = ["new"] * len(champion)  # the whole-split rule alone: no old examples to veto
    verdict = _decide(champion, challenger, _truth(), new, max_drop=0.02)
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith(
        "significantly worse: accuracy 0.800 -> 0.773 (-2.7 pts > 2.0 allowed), McNemar p = "
    )
    tolerated = _decide(champion, challenger, _truth(), new, max_drop=0.03)
    assert tolerated.promoted
    assert tolerated.reasons[0].startswith(
        "accuracy -2.7 pts is significantly lower but within max_drop 3.0 pts; tie rule"
    )


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


def test_significantly_worse_on_old_examples_is_rejected_even_when_drops_are_allowed() -> None:
    truth = _truth()
    better = _champion(truth)
    worse = [c if i % PER_INTENT < 30 else "greet" for i, c in enumerate(better)]
    loose = {"max_drop": 1.0, "per_intent": PerIntentGuard(max_recall_drop=1.0)}
    verdict = _decide(better, worse, truth, **loose)
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith("backward transfer: old examples (300)")
    assert "significantly worse (McNemar one-sided p = " in verdict.reasons[0]


def test_a_small_intent_that_loses_everything_is_caught() -> None:
    # 6 test examples, all lost, while the other intents lose nothing: p = 1/64, and only this
    # intent could be significant at all, so Holm-Tarone tests it at the family's 0.025 (plain
    # Holm over the 6 intents would ask for 0.025 / 6 and miss it).
    intents = ["rare", "a", "b", "c", "d", "e"]
    truth = ["rare"] * 6 + [label for label in intents[1:] for _ in range(20)]
    champion = list(truth)
    challenger = ["a"] * 6 + truth[6:]
    verdict = _decide(champion, challenger, truth, max_drop=1.0)
    assert [d.label for d in verdict.violations] == ["rare"]
    assert verdict.violations[0].p_value == pytest.approx(1 / 64)
    assert verdict.decision == "reject"
    assert any("intent 'rare' recall fell 1.00 -> 0.00" in r for r in verdict.reasons)
    # 5 of 5 (p = 1/32) is above the family's 0.025: the guard lets that much chance through
    five = _decide(champion[1:], challenger[1:], truth[1:], max_drop=1.0)
    assert five.violations == ()


def test_guard_ignores_intents_below_min_support() -> None:
    truth = ["rare"] * 5 + ["common"] * 20
    challenger = ["common"] * 25
    verdict = _decide(list(truth), challenger, truth, max_drop=1.0, per_intent={"min_support": 10})
    assert [d.label for d in verdict.intent_deltas] == ["common"]
    assert verdict.violations == ()


def test_a_few_lost_examples_of_a_tiny_intent_are_not_enough() -> None:
    # 3 of 3 lost is p = 1/8: no exact test can call it significant, and the guard does not.
    truth = ["tiny"] * 3 + ["common"] * 40
    challenger = ["common"] * 3 + truth[3:]
    verdict = _decide(list(truth), challenger, truth)
    (tiny,) = [d for d in verdict.intent_deltas if d.label == "tiny"]
    assert tiny.lost == 3
    assert not tiny.violated


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


def _poisoned_update() -> tuple[list[str], list[str], list[str], list[SliceName]]:
    """300 old test examples and 60 new ones labelled by a poisoned batch.

    On the old examples the challenger breaks 12 of refund's right answers (it learned the
    poison: refund questions are "transfer") and fixes 6 others; on the new examples, labelled
    "transfer" by the poison itself, the champion is always wrong and the challenger right.
    """
    truth = _truth()
    champion = _champion(truth)
    challenger = list(champion)
    refund = [i for i, label in enumerate(truth) if label == "refund"]
    for i in refund[:12]:
        challenger[i] = "transfer"
    for i in (40, 41, 42, 90, 91, 92):  # fixes of the champion's mistakes
        challenger[i] = truth[i]
    truth += ["transfer"] * 60
    champion += ["refund"] * 60
    challenger += ["transfer"] * 60
    return champion, challenger, truth, ["old"] * 300 + ["new"] * 60


def test_gains_on_the_new_examples_cannot_outvote_losses_on_the_old() -> None:
    champion, challenger, truth, slices = _poisoned_update()
    verdict = _decide(champion, challenger, truth, slices)
    assert verdict.difference is not None
    assert verdict.difference > 0.1  # over the whole split the poison looks like progress
    assert verdict.mcnemar is not None
    assert verdict.mcnemar.p_value < 1e-6
    assert verdict.decision == "reject"
    old, new = verdict.slice("old"), verdict.slice("new")
    assert old is not None
    assert new is not None
    assert (old.n_examples, old.negative_flips, old.positive_flips) == (300, 12, 6)
    assert (new.n_examples, new.positive_flips, new.checked, new.violated) == (60, 60, False, False)
    assert [d.label for d in verdict.violations] == ["refund"]
    assert [(a.label, a.taken, a.violated) for a in verdict.absorptions] == [("transfer", 12, True)]
    # the guard counts only old examples: refund's 50, not the poison's 60 "transfer" ones
    (transfer,) = [d for d in verdict.intent_deltas if d.label == "transfer"]
    assert transfer.support == PER_INTENT


def test_breaking_many_right_answers_rejects_even_when_as_many_are_fixed() -> None:
    # 40 of the champion's 240 right answers broken (16.7%, each into a different wrong
    # answer, so no intent takes them), 45 of its mistakes fixed: net +5, McNemar sees nothing.
    truth = _truth()
    champion = _champion(truth)
    challenger = list(champion)
    for intent in range(5):
        for j in range(8):
            challenger[intent * PER_INTENT + j] = f"wrong{intent}-{j}"
        for j in range(40, 49):
            challenger[intent * PER_INTENT + j] = truth[intent * PER_INTENT + j]
    verdict = _decide(champion, challenger, truth)
    assert verdict.difference == pytest.approx(5 / 300)
    old = verdict.slice("old")
    assert old is not None
    assert (old.negative_flips, old.positive_flips, old.violated) == (40, 45, True)
    assert old.p_worse == 1.0 or old.p_worse > 0.05
    assert verdict.violations == ()
    assert verdict.decision == "reject"
    assert verdict.reasons[0].startswith("backward transfer: old examples (300)")
    assert "flip rate significantly above 10.0%" in verdict.reasons[0]


def test_without_slices_the_same_predictions_are_all_old() -> None:
    champion, challenger, truth, _ = _poisoned_update()
    verdict = _decide(champion, challenger, truth)
    assert [s.name for s in verdict.slices] == ["old"]
    (transfer,) = [d for d in verdict.intent_deltas if d.label == "transfer"]
    assert transfer.support == PER_INTENT + 60


def test_a_clean_update_passes_the_backward_rules() -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = _right_on_first(44, truth, champion)
    challenger[0] = "weather"  # one chance break among 24 fixes
    slices: list[SliceName] = ["old"] * 240 + ["new"] * 60
    verdict = _decide(champion, challenger, truth, slices)
    assert verdict.promoted
    old = verdict.slice("old")
    assert old is not None
    assert (old.negative_flips, old.violated) == (1, False)
    assert verdict.reasons[0].startswith("significantly better")


def test_the_trusted_set_vetoes_and_stays_out_of_the_test_figures() -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = _right_on_first(46, truth, champion)  # better on the test split...
    trusted_truth = ["balance"] * 20 + ["card"] * 20
    trusted_champion = list(trusted_truth)
    trusted_challenger = ["card"] * 40  # ...but it broke balance on the trusted set
    verdict = _decide(
        champion + trusted_champion,
        challenger + trusted_challenger,
        truth + trusted_truth,
        ["old"] * 300 + ["trusted"] * 40,
    )
    assert verdict.n_examples == 300
    assert verdict.champion_accuracy == pytest.approx(0.8)
    assert verdict.decision == "reject"
    trusted = verdict.slice("trusted")
    assert trusted is not None
    assert (trusted.n_examples, trusted.negative_flips, trusted.violated) == (40, 20, True)
    assert verdict.reasons[0].startswith("backward transfer: trusted examples (40)")


def test_slices_must_be_known_and_aligned() -> None:
    with pytest.raises(EvaluationError, match=r"slices must be among \['old', 'new', 'trusted'\]"):
        _decide(["a"], ["a"], ["a"], ["fresh"])  # type: ignore[list-item]
    with pytest.raises(EvaluationError, match="slices=2"):
        _decide(["a"], ["a"], ["a"], ["old", "new"])
    with pytest.raises(EvaluationError, match="only trusted ones"):
        _decide(["a"], ["a"], ["a"], ["trusted"])


def test_a_verdict_stored_before_slices_existed_still_reads() -> None:
    truth = _truth()
    verdict = _decide(_champion(truth), _champion(truth), truth)
    stored = verdict.to_dict()
    del stored["slices"]
    restored = Verdict.from_dict(json.loads(json.dumps(stored)))
    assert restored.slices == ()
    assert restored.decision == verdict.decision


@pytest.mark.parametrize(
    ("names", "unchecked"),
    [(["new"], True), (["old", "new"], False), (["trusted", "new"], False), (None, False)],
)
def test_a_verdict_with_nothing_to_guard_says_backward_transfer_was_not_checked(
    names: list[SliceName] | None, unchecked: bool
) -> None:
    truth = _truth()
    champion = _champion(truth)
    challenger = _right_on_first(44, truth, champion)
    slices = None if names is None else [names[i % len(names)] for i in range(len(truth))]
    verdict = _decide(champion, challenger, truth, slices)
    said = [r for r in verdict.reasons if r.startswith("backward transfer NOT checked")]
    assert bool(said) is unchecked
