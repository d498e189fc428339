"""The champion/challenger gate: a verdict with its statistics and human-readable reasons.

A challenger replaces the champion only when the evidence says it should, and the verdict says
why in sentences a user can act on. The rules, in order of precedence:

1. Blocking (any one rejects): an intent with at least ``per_intent.min_support`` test examples
   lost more recall than ``per_intent.max_recall_drop``; overall accuracy fell by more than
   ``max_drop``; the challenger is significantly worse (McNemar p < ``alpha``); its measured
   latency is over ``max_latency_ms``.
2. Significantly better (p < ``alpha``) with a gain of at least ``min_gain``: promote.
3. Otherwise it is a tie, and ``tie`` decides: ``promote`` (fresher data wins) or ``keep``.

Only McNemar's test decides significance; the bootstrap interval is reported so a reader sees
how large the difference plausibly is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lifelong.config import Gate
from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.evaluate import EvalReport
from lifelong.evaluation.metrics import Labels, as_labels, check_same_length
from lifelong.evaluation.stats import (
    BootstrapInterval,
    McNemarResult,
    mcnemar_exact,
    paired_bootstrap,
)

Decision = Literal["promote", "reject"]
# Rates are ratios of counts; this absorbs float noise when a drop equals its allowance exactly.
_EPS = 1e-9


@dataclass(frozen=True)
class IntentDelta(Record):
    """Recall of one intent under both models.

    ``violated`` when recall fell more than allowed, the intent lost at least
    ``per_intent.min_lost`` examples net, and (with ``per_intent.alpha``) the loss is
    significant after a Holm correction over the intents checked (``p_value`` is the intent's
    one-sided exact test): on a small test set one or two flips move recall by many points, and
    across many intents some lose a few examples by chance; that noise must not block updates.
    """

    label: str
    support: int
    champion_recall: float
    challenger_recall: float
    allowed_drop: float
    lost: int
    p_value: float
    violated: bool

    @property
    def change(self) -> float:
        """Challenger minus champion recall (negative: the challenger got worse)."""
        return self.challenger_recall - self.champion_recall

    def describe(self) -> str:
        """One sentence, e.g. ``intent 'refund' recall fell 0.92 -> 0.70 (-22.0 pts > ...)``."""
        verb = "fell" if self.change < 0 else "rose" if self.change > 0 else "stayed at"
        values = f"{self.champion_recall:.2f} -> {self.challenger_recall:.2f}"
        limit = f" > {100 * self.allowed_drop:.1f} allowed" if self.violated else ""
        lost = f"{self.lost} of " if self.lost > 0 else ""
        return (
            f"intent {self.label!r} recall {verb} {values} "
            f"({_pts(self.change)} pts{limit}, {lost}{self.support} test examples"
            f"{' lost' if self.lost > 0 else ''})"
        )


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
        Recall changes of every intent with at least ``min_support`` test examples.
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

    @property
    def promoted(self) -> bool:
        return self.decision == "promote"

    @property
    def violations(self) -> tuple[IntentDelta, ...]:
        """The intents whose recall fell more than the guard allows."""
        return tuple(delta for delta in self.intent_deltas if delta.violated)


def decide(
    champion_pred: Labels,
    challenger_pred: Labels,
    y_true: Labels,
    policy: Gate,
    *,
    champion_version: str,
    challenger_version: str,
    champion_latency_ms: float | None = None,
    challenger_latency_ms: float | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Verdict:
    """Judge a challenger against the champion on the same test examples.

    Parameters
    ----------
    champion_pred, challenger_pred, y_true
        Both models' predictions (thresholded as served) and the truth, example by example.
    policy
        The project's ``policy.gate`` settings; see the module docstring for the rules.
    champion_version, challenger_version
        Named in the verdict and its reasons.
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
    n = check_same_length(
        champion_pred=champion_pred, challenger_pred=challenger_pred, y_true=y_true
    )
    truth = as_labels(y_true, "y_true")
    champ = as_labels(champion_pred, "champion_pred") == truth
    chall = as_labels(challenger_pred, "challenger_pred") == truth
    champ_acc, chall_acc = float(champ.mean()), float(chall.mean())
    difference = chall_acc - champ_acc
    test = mcnemar_exact(champ, chall)
    interval = paired_bootstrap(
        champ, chall, confidence=1.0 - policy.alpha, n_resamples=n_resamples, seed=seed
    )
    deltas = _intent_deltas(truth, champ, chall, policy)
    latency = _latency(policy, champion_latency_ms, challenger_latency_ms)
    significant = test.p_value < policy.alpha

    blocking = [delta.describe() for delta in deltas if delta.violated]
    if -difference > policy.max_drop + _EPS:
        blocking.append(
            f"accuracy fell {champ_acc:.3f} -> {chall_acc:.3f} ({_pts(difference)} pts > "
            f"{100 * policy.max_drop:.1f} allowed)"
        )
    if significant and difference < 0:
        blocking.append(f"significantly worse: McNemar p = {test.p_value:.3g} < {policy.alpha}")
    if latency.within_budget is False:
        blocking.append(
            f"latency {latency.challenger_ms:.2f} ms/example over budget {latency.budget_ms} ms"
        )

    if blocking:
        decision: Decision = "reject"
        deciding = blocking
    elif significant and difference >= policy.min_gain - _EPS:
        decision = "promote"
        deciding = [
            f"significantly better: accuracy {_pts(difference)} pts, McNemar p = "
            f"{test.p_value:.3g} < {policy.alpha}"
        ]
    else:
        decision = "promote" if policy.tie == "promote" else "reject"
        why = (
            f"gain {_pts(difference)} pts is below min_gain {100 * policy.min_gain:.1f} pts"
            if significant
            else f"no significant difference (McNemar p = {test.p_value:.3g} >= {policy.alpha})"
        )
        outcome = "promotes the challenger" if decision == "promote" else "keeps the champion"
        deciding = [f"{why}; tie rule {policy.tie!r} {outcome}"]

    notes = [
        f"accuracy {champ_acc:.3f} ({champion_version}) -> {chall_acc:.3f} "
        f"({challenger_version}) on {n} test examples, {_pts(difference)} pts; "
        f"{100 * interval.confidence:.0f}% bootstrap interval [{_pts(interval.low)}, "
        f"{_pts(interval.high)}] pts",
        f"McNemar exact p = {test.p_value:.3g}: only the champion right on {test.only_a}, "
        f"only the challenger right on {test.only_b}",
        _guard_note(deltas, policy),
        _latency_note(latency),
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
    )


def first_model_verdict(report: EvalReport, policy: Gate, *, version: str) -> Verdict:
    """Judge a project's first model, which has no champion to beat.

    It becomes champion when its accuracy reaches ``policy.floor`` (and its measured latency,
    if any, is within budget); otherwise it stays a registered candidate, with the reason.
    """
    latency = _latency(policy, None, report.latency_ms_per_example)
    passes = report.accuracy >= policy.floor - _EPS
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
        reasons=(deciding, f"{report.n_examples} test examples", _latency_note(latency)),
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


def rank_challengers(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Order several challengers' verdicts, best first.

    Promoted verdicts come first, then higher accuracy, then larger gain over the champion, then
    the version name (so the order never depends on input order). All verdicts must compare
    with the same champion on the same number of test examples, or the ranking is meaningless.
    """
    baselines = {(v.champion_version, v.n_examples) for v in verdicts}
    if len(baselines) > 1:
        raise EvaluationError(
            "cannot rank verdicts against different champions or test sets: "
            f"{sorted(baselines, key=str)}"
        )
    return sorted(
        verdicts,
        key=lambda v: (
            not v.promoted,
            -v.challenger_accuracy,
            -(v.difference or 0.0),
            v.challenger_version,
        ),
    )


def _intent_deltas(
    truth: npt.NDArray[np.str_],
    champ: npt.NDArray[np.bool_],
    chall: npt.NDArray[np.bool_],
    policy: Gate,
) -> tuple[IntentDelta, ...]:
    """Recall change of every intent with enough support, and which ones violate the guard.

    With ``per_intent.alpha`` set, a loss must also be significant: a one-sided exact test on
    the intent's own discordant examples (the champion right and the challenger wrong, or the
    reverse), Holm-corrected over the intents checked. With 150 intents, one of them losing 3 of
    20 examples by chance is likely in any update; a forgotten or poisoned intent loses far more.
    """
    from scipy.stats import binomtest

    labels, index = np.unique(truth, return_inverse=True)
    support = np.bincount(index, minlength=len(labels))
    champ_hits = np.bincount(index, weights=champ.astype(np.float64), minlength=len(labels))
    chall_hits = np.bincount(index, weights=chall.astype(np.float64), minlength=len(labels))
    only_champ = np.bincount(
        index, weights=(champ & ~chall).astype(np.float64), minlength=len(labels)
    )
    only_chall = np.bincount(
        index, weights=(chall & ~champ).astype(np.float64), minlength=len(labels)
    )
    guard = policy.per_intent
    checked = np.flatnonzero(support >= guard.min_support)
    p_values = {
        int(i): binomtest(
            int(only_champ[i]), int(only_champ[i] + only_chall[i]), 0.5, alternative="greater"
        ).pvalue
        if only_champ[i] > 0
        else 1.0
        for i in checked
    }
    significant = _holm(p_values, guard.alpha) if guard.alpha is not None else set(p_values)
    deltas = []
    for i in checked:
        before, after = champ_hits[i] / support[i], chall_hits[i] / support[i]
        lost = round(champ_hits[i] - chall_hits[i])
        deltas.append(
            IntentDelta(
                label=str(labels[i]),
                support=int(support[i]),
                champion_recall=float(before),
                challenger_recall=float(after),
                allowed_drop=guard.max_recall_drop,
                lost=lost,
                p_value=float(p_values[int(i)]),
                violated=bool(
                    before - after > guard.max_recall_drop + _EPS
                    and lost >= guard.min_lost
                    and int(i) in significant
                ),
            )
        )
    return tuple(deltas)


def _holm(p_values: dict[int, float], alpha: float) -> set[int]:
    """Keys whose p-values are significant under Holm's step-down correction at ``alpha``."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    chosen: set[int] = set()
    for rank, (key, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - rank):
            break
        chosen.add(key)
    return chosen


def _latency(policy: Gate, champion_ms: float | None, challenger_ms: float | None) -> LatencyCheck:
    budget = policy.max_latency_ms
    within = None if budget is None or challenger_ms is None else challenger_ms <= budget
    return LatencyCheck(
        budget_ms=budget, champion_ms=champion_ms, challenger_ms=challenger_ms, within_budget=within
    )


def _guard_note(deltas: tuple[IntentDelta, ...], policy: Gate) -> str:
    guard = policy.per_intent
    if not deltas:
        return f"per-intent guard not applied: no intent has >= {guard.min_support} test examples"
    violated = sum(delta.violated for delta in deltas)
    worst = min(deltas, key=lambda delta: (delta.change, delta.label))
    return (
        f"per-intent guard: {len(deltas)} intents with >= {guard.min_support} test examples "
        f"checked, {violated} lost more than {100 * guard.max_recall_drop:.1f} pts of recall; "
        f"largest change: {worst.describe()}"
    )


def _latency_note(latency: LatencyCheck) -> str:
    if latency.budget_ms is None:
        return "no latency budget set"
    if latency.within_budget is None:
        return f"latency not measured; budget {latency.budget_ms} ms not checked"
    state = "within" if latency.within_budget else "over"
    return f"latency {latency.challenger_ms:.2f} ms/example {state} budget {latency.budget_ms} ms"


def _pts(rate: float) -> str:
    """A rate difference in signed percentage points: ``-0.22`` -> ``-22.0``."""
    return f"{100 * rate:+.1f}"
