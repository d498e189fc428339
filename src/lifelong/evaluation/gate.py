"""The champion/challenger gate: a verdict with its statistics and human-readable reasons.

A challenger replaces the champion only when the evidence says it should, and the verdict says
why in sentences a user can act on. The judged examples fall in slices
(:mod:`lifelong.evaluation.backward`): ``old`` test examples (the champion was judged on them
too), ``new`` ones (added with the data being judged, so labelled by it), and an optional fixed
``trusted`` set. The rules, in order of precedence:

1. Blocking (any one rejects):

   - backward transfer: on the old or the trusted slice the challenger broke significantly more
     of the champion's right answers than ``backward.max_flip_rate`` allows, or is significantly
     worse there (exact one-sided tests; the new slice cannot outvote them);
   - the per-intent guard (:mod:`lifelong.evaluation.intent_guard`): an intent with at least
     ``per_intent.min_support`` old or trusted examples lost a significant share of its recall;
   - over the whole test split the challenger is significantly worse (McNemar p < ``alpha``) by
     more than ``max_drop``;
   - its measured latency is over ``max_latency_ms``.
2. Significantly better over the test split (p < ``alpha``) with a gain of at least
   ``min_gain``: promote.
3. Otherwise it is a tie, and ``tie`` decides: ``promote`` (fresher data wins) or ``keep``.

No rule rejects on a drop that is not significant: two flipped examples out of a hundred are
noise, not evidence. Only exact tests decide significance; the bootstrap interval is reported
so a reader sees how large the difference plausibly is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from lifelong.config import Gate
from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.backward import GUARDED, SLICES, SliceCheck, SliceName, check_slice
from lifelong.evaluation.evaluate import EvalReport
from lifelong.evaluation.intent_guard import (
    EPS,
    IntentAbsorption,
    IntentDelta,
    guard_intents,
    guard_note,
    pts,
)
from lifelong.evaluation.metrics import Labels, as_labels, check_same_length
from lifelong.evaluation.stats import (
    BootstrapInterval,
    McNemarResult,
    mcnemar_exact,
    paired_bootstrap,
)

Decision = Literal["promote", "reject"]


@dataclass(frozen=True)
class LatencyCheck(Record):
    """Mean milliseconds per example against the budget; ``within_budget`` None if unchecked."""

    budget_ms: float | None
    champion_ms: float | None
    challenger_ms: float | None
    within_budget: bool | None


@dataclass(frozen=True)
class Verdict(Record):
    """The gate's decision on one candidate, with everything that led to it.

    Attributes
    ----------
    decision
        ``promote`` (the candidate becomes champion) or ``reject``.
    kind
        ``challenger`` (compared with a champion) or ``first`` (a project's first model,
        judged against the accuracy floor alone).
    challenger_version, champion_version
        The versions compared; ``champion_version`` is None for a first model.
    reasons
        Sentences for humans: the deciding reasons first, then the supporting statistics.
    n_examples
        Test examples both models were scored on.
    challenger_accuracy, champion_accuracy, difference
        Accuracies and their difference (challenger minus champion).
    mcnemar, bootstrap
        The paired statistics; None for a first model.
    intent_deltas
        Recall changes, on the old and trusted examples, of every intent with at least
        ``per_intent.min_support`` of them.
    slices
        Both models on the old, new and trusted examples (the slices present), with the
        backward-transfer checks; empty in verdicts stored before slices existed.
    absorptions
        Intents the challenger newly predicts for old or trusted examples of other intents
        (the signature of a poisoned label); empty in verdicts stored before they existed.
    latency
        The latency budget check.
    policy
        The gate settings used (``Gate.model_dump()``), so the verdict explains itself later.
    """

    decision: Decision
    kind: Literal["challenger", "first"]
    challenger_version: str
    champion_version: str | None
    reasons: tuple[str, ...]
    n_examples: int
    challenger_accuracy: float
    champion_accuracy: float | None
    difference: float | None
    mcnemar: McNemarResult | None
    bootstrap: BootstrapInterval | None
    intent_deltas: tuple[IntentDelta, ...]
    latency: LatencyCheck
    policy: dict[str, Any]
    slices: tuple[SliceCheck, ...] = ()
    absorptions: tuple[IntentAbsorption, ...] = ()

    @property
    def promoted(self) -> bool:
        return self.decision == "promote"

    @property
    def violations(self) -> tuple[IntentDelta, ...]:
        """The intents whose recall fell more than the guard allows."""
        return tuple(delta for delta in self.intent_deltas if delta.violated)

    def slice(self, name: SliceName) -> SliceCheck | None:
        """The figures of one slice, or None when the judged examples had none of it."""
        return next((check for check in self.slices if check.name == name), None)

    @property
    def merit(self) -> tuple[float, float]:
        """Higher is better: the challenger's accuracy, then its gain over the champion."""
        return self.challenger_accuracy, self.difference or 0.0


class Judged(Protocol):
    """What ranking needs of a verdict, of classes or of numbers."""

    @property
    def promoted(self) -> bool: ...
    @property
    def merit(self) -> tuple[float, float]: ...
    @property
    def challenger_version(self) -> str: ...
    @property
    def champion_version(self) -> str | None: ...
    @property
    def n_examples(self) -> int: ...


V = TypeVar("V", bound=Judged)


def decide(
    champion_pred: Labels,
    challenger_pred: Labels,
    y_true: Labels,
    policy: Gate,
    *,
    champion_version: str,
    challenger_version: str,
    slices: Sequence[SliceName] | None = None,
    champion_latency_ms: float | None = None,
    challenger_latency_ms: float | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Verdict:
    """Judge a challenger against the champion on the same examples.

    Parameters
    ----------
    champion_pred, challenger_pred, y_true
        Both models' predictions (thresholded as served) and the truth, example by example.
    policy
        The project's ``policy.gate`` settings; see the module docstring for the rules.
    champion_version, challenger_version
        Named in the verdict and its reasons.
    slices
        Each example's slice: ``old`` (the champion was judged on it), ``new`` (labelled by
        the data being judged) or ``trusted`` (the fixed trusted set, judged apart and left out
        of the test-split figures). None: every example is ``old``.
    champion_latency_ms, challenger_latency_ms
        Mean milliseconds per example, when measured; the budget applies to the challenger.
    n_resamples, seed
        Of the bootstrap interval (reported at confidence ``1 - alpha``); pass the project's
        seed so a rerun gives the same verdict.

    Examples
    --------
    >>> truth = ["a"] * 30 + ["b"] * 30
    >>> verdict = decide(["b"] * 60, truth, truth, Gate(), champion_version="1.0",
    ...                  challenger_version="1.1", n_resamples=100)
    >>> verdict.decision, verdict.reasons[0]
    ('promote', 'significantly better: accuracy +50.0 pts, McNemar p = 1.86e-09 < 0.05')
    """
    check_same_length(
        champion_pred=champion_pred,
        challenger_pred=challenger_pred,
        y_true=y_true,
        **({} if slices is None else {"slices": slices}),
    )
    truth_all = as_labels(y_true, "y_true")
    champion_all = as_labels(champion_pred, "champion_pred")
    challenger_all = as_labels(challenger_pred, "challenger_pred")
    champ_all, chall_all = champion_all == truth_all, challenger_all == truth_all
    names = np.full(len(truth_all), "old") if slices is None else as_labels(slices, "slices")
    unknown = sorted(set(names.tolist()) - set(SLICES))
    if unknown:
        raise EvaluationError(f"slices must be among {list(SLICES)}, got {unknown}")
    checks = tuple(
        check_slice(name, champ_all[names == name], chall_all[names == name], policy)
        for name in SLICES
        if (names == name).any()
    )
    # The test-split figures leave the trusted set out; the guard looks only at examples whose
    # labels the judged data cannot have chosen.
    in_test = names != "trusted"
    guarded = names != "new"
    truth, champ, chall = truth_all[in_test], champ_all[in_test], chall_all[in_test]
    n = len(truth)
    if n == 0:
        raise EvaluationError("no test examples to judge on (only trusted ones)")
    champ_acc, chall_acc = float(champ.mean()), float(chall.mean())
    difference = chall_acc - champ_acc
    test = mcnemar_exact(champ, chall)
    interval = paired_bootstrap(
        champ, chall, confidence=1.0 - policy.alpha, n_resamples=n_resamples, seed=seed
    )
    deltas, absorptions = guard_intents(
        truth_all[guarded], champion_all[guarded], challenger_all[guarded], policy
    )
    latency = latency_check(policy, champion_latency_ms, challenger_latency_ms)
    significant = test.p_value < policy.alpha

    blocking = [check.describe() for check in checks if check.violated]
    blocking += [delta.describe() for delta in deltas if delta.violated]
    blocking += [taken.describe() for taken in absorptions if taken.violated]
    if significant and -difference > policy.max_drop + EPS:
        allowed = f" > {100 * policy.max_drop:.1f} allowed" if policy.max_drop else ""
        blocking.append(
            f"significantly worse: accuracy {champ_acc:.3f} -> {chall_acc:.3f} "
            f"({pts(difference)} pts{allowed}), McNemar p = {test.p_value:.3g} < {policy.alpha}"
        )
    if latency.within_budget is False:
        blocking.append(
            f"latency {latency.challenger_ms:.2f} ms/example over budget {latency.budget_ms} ms"
        )

    if blocking:
        decision: Decision = "reject"
        deciding = blocking
    elif significant and difference >= policy.min_gain - EPS:
        decision = "promote"
        deciding = [
            f"significantly better: accuracy {pts(difference)} pts, McNemar p = "
            f"{test.p_value:.3g} < {policy.alpha}"
        ]
    else:
        decision = "promote" if policy.tie == "promote" else "reject"
        if significant and difference < 0:
            why = (
                f"accuracy {pts(difference)} pts is significantly lower but within max_drop "
                f"{100 * policy.max_drop:.1f} pts"
            )
        elif significant:
            why = f"gain {pts(difference)} pts is below min_gain {100 * policy.min_gain:.1f} pts"
        else:
            why = f"no significant difference (McNemar p = {test.p_value:.3g} >= {policy.alpha})"
        outcome = "promotes the challenger" if decision == "promote" else "keeps the champion"
        deciding = [f"{why}; tie rule {policy.tie!r} {outcome}"]

    notes = [
        f"accuracy {champ_acc:.3f} ({champion_version}) -> {chall_acc:.3f} "
        f"({challenger_version}) on {n} test examples, {pts(difference)} pts; "
        f"{100 * interval.confidence:.0f}% bootstrap interval [{pts(interval.low)}, "
        f"{pts(interval.high)}] pts",
        f"McNemar exact p = {test.p_value:.3g}: only the champion right on {test.only_a}, "
        f"only the challenger right on {test.only_b}",
        *(check.describe() for check in checks if not check.violated),
        *_unchecked_note(None if slices is None else set(names.tolist())),
        guard_note(
            deltas, absorptions, policy, "old and trusted" if slices is not None else "test"
        ),
        latency_note(latency),
    ]
    return Verdict(
        decision=decision,
        kind="challenger",
        challenger_version=challenger_version,
        champion_version=champion_version,
        reasons=(*deciding, *notes),
        n_examples=n,
        challenger_accuracy=chall_acc,
        champion_accuracy=champ_acc,
        difference=difference,
        mcnemar=test,
        bootstrap=interval,
        intent_deltas=deltas,
        latency=latency,
        policy=policy.model_dump(mode="json"),
        slices=checks,
        absorptions=absorptions,
    )


def _unchecked_note(present: Collection[str] | None) -> list[str]:
    """The reason to add when the backward-transfer check had nothing to check: no judged
    example is ``old`` or ``trusted`` (the slices ``present``), so nothing could veto forgetting,
    and the verdict says so instead of passing in silence. ``None``: every example is ``old``."""
    if present is None or set(present) & set(GUARDED):
        return []
    return [
        "backward transfer NOT checked: none of the judged examples is old (judged with the "
        "champion too) or trusted, so forgetting could not veto; add `trusted:` files, or keep "
        "the champion's data files unchanged"
    ]


def first_model_verdict(report: EvalReport, policy: Gate, *, version: str) -> Verdict:
    """Judge a project's first model, which has no champion to beat.

    It becomes champion when its accuracy reaches ``policy.floor`` (and its measured latency,
    if any, is within budget); otherwise it stays a registered candidate, with the reason.
    """
    latency = latency_check(policy, None, report.latency_ms_per_example)
    passes = report.accuracy >= policy.floor - EPS
    too_slow = latency.within_budget is False
    if not passes:
        deciding = (
            f"first model of the project stays a candidate: accuracy {report.accuracy:.3f} is "
            f"below floor {policy.floor:.3f} (add data, or lower policy.gate.floor)"
        )
    elif too_slow:
        deciding = (
            f"first model of the project stays a candidate: latency {latency.challenger_ms:.2f} "
            f"ms/example over budget {latency.budget_ms} ms"
        )
    else:
        deciding = (
            f"first model of the project: accuracy {report.accuracy:.3f} >= floor "
            f"{policy.floor:.3f}; becomes champion"
        )
    return Verdict(
        decision="promote" if passes and not too_slow else "reject",
        kind="first",
        challenger_version=version,
        champion_version=None,
        reasons=(deciding, f"{report.n_examples} test examples", latency_note(latency)),
        n_examples=report.n_examples,
        challenger_accuracy=report.accuracy,
        champion_accuracy=None,
        difference=None,
        mcnemar=None,
        bootstrap=None,
        intent_deltas=(),
        latency=latency,
        policy=policy.model_dump(mode="json"),
    )


def rank_challengers(verdicts: Sequence[V]) -> list[V]:
    """Order several challengers' verdicts, best first.

    Promoted verdicts come first, then higher :attr:`~Verdict.merit` (accuracy, or a regression
    verdict's lower MAE), then larger gain over the champion, then the version name (so the
    order never depends on input order). All verdicts must compare with the same champion on
    the same number of test examples, or the ranking is meaningless.
    """
    baselines = {(v.champion_version, v.n_examples) for v in verdicts}
    if len(baselines) > 1:
        raise EvaluationError(
            "cannot rank verdicts against different champions or test sets: "
            f"{sorted(baselines, key=str)}"
        )
    return sorted(
        verdicts,
        key=lambda v: (not v.promoted, -v.merit[0], -v.merit[1], v.challenger_version),
    )


def latency_check(
    policy: Gate, champion_ms: float | None, challenger_ms: float | None
) -> LatencyCheck:
    """The latency budget applied to the challenger's measured milliseconds per example."""
    budget = policy.max_latency_ms
    within = None if budget is None or challenger_ms is None else challenger_ms <= budget
    return LatencyCheck(
        budget_ms=budget, champion_ms=champion_ms, challenger_ms=challenger_ms, within_budget=within
    )


def latency_note(latency: LatencyCheck) -> str:
    """The budget check as a sentence for the reasons."""
    if latency.budget_ms is None:
        return "no latency budget set"
    if latency.within_budget is None:
        return f"latency not measured; budget {latency.budget_ms} ms not checked"
    state = "within" if latency.within_budget else "over"
    return f"latency {latency.challenger_ms:.2f} ms/example {state} budget {latency.budget_ms} ms"
