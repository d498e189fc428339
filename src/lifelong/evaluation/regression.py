"""Regression: a model's errors on a test split, and the gate between two models of numbers.

Two regression models scored on the same test examples are compared pair by pair, as McNemar
compares classifiers: on each example, whose absolute error is smaller, and by how much. The
Wilcoxon signed-rank test on those paired differences uses both (the sign and the rank of the
size), needs no normal errors, and is not swayed by one huge miss the way a t-test on squared
errors is. The rules, in order of precedence (the slices are those of
:mod:`lifelong.evaluation.backward`):

1. Blocking (any one rejects):

   - on the old or the trusted slice the challenger's absolute errors are significantly larger
     (one-sided Wilcoxon p < ``alpha``) and its MAE there rises by more than
     ``regression.max_mae_increase`` (relative); the new slice, labelled by the data being
     judged, cannot veto;
   - the same over the test split;
   - the test split's RMSE rises by more than ``regression.max_rmse_increase`` (relative, no
     test): a few large errors, the mark of poisoned targets, move RMSE while most ranks stay;
   - the measured latency is over ``max_latency_ms``.
2. Significantly smaller errors over the test split (one-sided p < ``alpha``, MAE not higher):
   promote.
3. Otherwise a tie, and ``tie`` decides, as for classification.

A first model has no champion: it becomes champion when its R² on the test split reaches
``regression.min_r2`` (0 by default: better than predicting the test targets' mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lifelong.config import Gate
from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.backward import GUARDED, SLICES, SliceName
from lifelong.evaluation.gate import Decision, LatencyCheck, latency_check, latency_note
from lifelong.evaluation.intent_guard import EPS
from lifelong.evaluation.metrics import as_labels, check_same_length

Values = Sequence[float] | npt.NDArray[np.floating]


@dataclass(frozen=True)
class RegressionReport(Record):
    """One regression model's errors on one test split.

    Attributes
    ----------
    mae, rmse
        Mean absolute error and root mean squared error, in the target's units.
    r2
        Coefficient of determination: 1 is perfect, 0 is predicting the truth's mean (and a
        constant truth scores 1 when predicted exactly, else 0).
    bias
        Mean of prediction minus truth: a model that runs high or low.
    median_absolute_error, p90_absolute_error, max_absolute_error
        Quantiles of the absolute errors: typical, bad, worst.
    latency_ms_per_example
        Mean prediction time, when measured.
    """

    n_examples: int
    mae: float
    rmse: float
    r2: float
    bias: float
    median_absolute_error: float
    p90_absolute_error: float
    max_absolute_error: float
    latency_ms_per_example: float | None


def evaluate_regression(
    y_true: Values, y_pred: Values, *, latency_ms_per_example: float | None = None
) -> RegressionReport:
    """Evaluate one regression model's test predictions.

    >>> report = evaluate_regression([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    >>> round(report.mae, 3), round(report.rmse, 3), report.r2, report.max_absolute_error
    (0.667, 1.155, -1.0, 2.0)
    """
    truth, pred = _values(y_true, "y_true"), _values(y_pred, "y_pred")
    n = check_same_length(y_true=truth, y_pred=pred)
    errors = pred - truth
    absolute = np.abs(errors)
    residual = float((errors**2).sum())
    spread = float(((truth - truth.mean()) ** 2).sum())
    perfect = 1.0 if residual == 0 else 0.0
    r2 = 1.0 - residual / spread if spread > 0 else perfect
    return RegressionReport(
        n_examples=n,
        mae=float(absolute.mean()),
        rmse=float(np.sqrt((errors**2).mean())),
        r2=r2,
        bias=float(errors.mean()),
        median_absolute_error=float(np.median(absolute)),
        p90_absolute_error=float(np.quantile(absolute, 0.9)),
        max_absolute_error=float(absolute.max()),
        latency_ms_per_example=latency_ms_per_example,
    )


@dataclass(frozen=True)
class WilcoxonResult(Record):
    """The Wilcoxon signed-rank test on paired absolute errors, challenger minus champion.

    Attributes
    ----------
    n_pairs
        Examples where the two errors differ (equal ones carry no evidence and are dropped).
    challenger_closer, champion_closer
        Examples where the challenger's error is smaller, and where the champion's is.
    median_difference
        Median of challenger's minus champion's absolute error over all examples.
    p_worse, p_better
        One-sided p-values: that the challenger's errors are not larger, and not smaller.
    """

    n_pairs: int
    challenger_closer: int
    champion_closer: int
    median_difference: float
    p_worse: float
    p_better: float


def wilcoxon_errors(champion_abs: Values, challenger_abs: Values) -> WilcoxonResult:
    """Compare two models' absolute errors on the same examples (see :class:`WilcoxonResult`).

    Differences within a relative 1e-9 of the errors' scale are ties: two nearly identical
    models (a re-saved one) must not look different by floating-point noise.

    >>> result = wilcoxon_errors([1.0] * 20, [0.5] * 20)
    >>> result.challenger_closer, result.p_better < 0.001, result.p_worse > 0.99
    (20, True, True)
    """
    from scipy.stats import wilcoxon  # slow to import; only deciding needs it

    champ, chall = _values(champion_abs, "champion_abs"), _values(challenger_abs, "challenger_abs")
    check_same_length(champion_abs=champ, challenger_abs=chall)
    differences = chall - champ
    scale = max(float(np.abs(champ).mean()), 1e-12)
    differing = differences[np.abs(differences) > 1e-9 * scale]
    median = float(np.median(differences))
    if len(differing) == 0:
        return WilcoxonResult(0, 0, 0, median, 1.0, 1.0)
    worse = float(wilcoxon(differing, alternative="greater").pvalue)
    better = float(wilcoxon(differing, alternative="less").pvalue)
    return WilcoxonResult(
        n_pairs=len(differing),
        challenger_closer=int((differing < 0).sum()),
        champion_closer=int((differing > 0).sum()),
        median_difference=median,
        p_worse=min(1.0, worse),
        p_better=min(1.0, better),
    )


@dataclass(frozen=True)
class RegressionSlice(Record):
    """Both models' errors on one slice (``old``, ``new`` or ``trusted``).

    ``checked``: the old and trusted slices may veto; the new one is reported only.
    ``violated``: checked, significantly larger errors (``p_worse`` < ``alpha``) and an MAE
    rise over ``allowed_increase``.
    """

    name: SliceName
    n_examples: int
    champion_mae: float
    challenger_mae: float
    p_worse: float
    alpha: float
    allowed_increase: float
    checked: bool
    violated: bool

    def describe(self) -> str:
        """One sentence for the verdict's reasons."""
        figures = (
            f"{self.name} examples ({self.n_examples}): MAE {self.champion_mae:.4g} -> "
            f"{self.challenger_mae:.4g} ({_percent(self.champion_mae, self.challenger_mae)}), "
            f"Wilcoxon one-sided p = {self.p_worse:.3g}"
        )
        if not self.checked:
            return f"{figures}; not a veto (labelled by the data being judged)"
        if not self.violated:
            return f"{figures}; within the allowance"
        return (
            f"backward transfer: {figures} < {self.alpha}: significantly larger errors, "
            f"MAE up more than {100 * self.allowed_increase:.1f}% allowed"
        )


@dataclass(frozen=True)
class RegressionVerdict(Record):
    """The gate's decision on a regression model, with everything that led to it.

    The same reading interface as :class:`~lifelong.evaluation.gate.Verdict` (``decision``,
    ``kind``, the versions, ``reasons``, ``promoted``, ``merit``, ``latency``, ``policy``), so
    the registry, the CLI and the dashboard treat both alike; ``task`` tells them apart in a
    stored verdict.

    Attributes
    ----------
    challenger, champion
        Each model's report on the test split (old and new examples, not the trusted set);
        ``champion`` is None for a first model.
    wilcoxon
        The paired test over the test split; None for a first model.
    slices
        Both models on the old, new and trusted examples present.
    """

    decision: Decision
    kind: Literal["challenger", "first"]
    challenger_version: str
    champion_version: str | None
    reasons: tuple[str, ...]
    n_examples: int
    challenger: RegressionReport
    champion: RegressionReport | None
    wilcoxon: WilcoxonResult | None
    slices: tuple[RegressionSlice, ...]
    latency: LatencyCheck
    policy: dict[str, Any]
    task: Literal["regression"] = "regression"

    @property
    def promoted(self) -> bool:
        return self.decision == "promote"

    @property
    def merit(self) -> tuple[float, float]:
        """Higher is better: minus the challenger's MAE, then its MAE reduction."""
        gain = 0.0 if self.champion is None else self.champion.mae - self.challenger.mae
        return -self.challenger.mae, gain


def decide_regression(
    champion_pred: Values,
    challenger_pred: Values,
    y_true: Values,
    policy: Gate,
    *,
    champion_version: str,
    challenger_version: str,
    slices: Sequence[SliceName] | None = None,
    champion_latency_ms: float | None = None,
    challenger_latency_ms: float | None = None,
) -> RegressionVerdict:
    """Judge a regression challenger against the champion on the same examples.

    The arguments mean what they mean for :func:`~lifelong.evaluation.gate.decide`, with
    predicted numbers for labels; the rules are in the module docstring.

    Examples
    --------
    >>> truth = [float(i) for i in range(40)]
    >>> champion = [t + (1.0 if i % 2 else -1.0) for i, t in enumerate(truth)]
    >>> challenger = [t + 0.1 for t in truth]
    >>> verdict = decide_regression(champion, challenger, truth, Gate(),
    ...                             champion_version="1.0", challenger_version="1.1")
    >>> verdict.decision, verdict.reasons[0][:44]
    ('promote', 'significantly better: MAE 1 -> 0.1 (-90.0%),')
    """
    truth_all = _values(y_true, "y_true")
    champ_all = _values(champion_pred, "champion_pred")
    chall_all = _values(challenger_pred, "challenger_pred")
    check_same_length(
        champion_pred=champ_all,
        challenger_pred=chall_all,
        y_true=truth_all,
        **({} if slices is None else {"slices": slices}),
    )
    names = np.full(len(truth_all), "old") if slices is None else as_labels(slices, "slices")
    unknown = sorted(set(names.tolist()) - set(SLICES))
    if unknown:
        raise EvaluationError(f"slices must be among {list(SLICES)}, got {unknown}")
    champ_err, chall_err = np.abs(champ_all - truth_all), np.abs(chall_all - truth_all)
    allowances = policy.regression
    checks = tuple(
        _check_slice(name, champ_err[names == name], chall_err[names == name], policy)
        for name in SLICES
        if (names == name).any()
    )
    in_test = names != "trusted"
    if not in_test.any():
        raise EvaluationError("no test examples to judge on (only trusted ones)")
    truth = truth_all[in_test]
    champion = evaluate_regression(
        truth, champ_all[in_test], latency_ms_per_example=champion_latency_ms
    )
    challenger = evaluate_regression(
        truth, chall_all[in_test], latency_ms_per_example=challenger_latency_ms
    )
    test = wilcoxon_errors(champ_err[in_test], chall_err[in_test])
    latency = latency_check(policy, champion_latency_ms, challenger_latency_ms)
    mae = (
        f"MAE {champion.mae:.4g} -> {challenger.mae:.4g} ({_percent(champion.mae, challenger.mae)})"
    )

    blocking = [check.describe() for check in checks if check.violated]
    if test.p_worse < policy.alpha and _over(
        champion.mae, challenger.mae, allowances.max_mae_increase
    ):
        allowed = (
            f", over {100 * allowances.max_mae_increase:.1f}% allowed"
            if allowances.max_mae_increase
            else ""
        )
        blocking.append(
            f"significantly worse: {mae}{allowed}, Wilcoxon one-sided p = {test.p_worse:.3g} "
            f"< {policy.alpha}"
        )
    limit = allowances.max_rmse_increase
    if limit is not None and _over(champion.rmse, challenger.rmse, limit):
        blocking.append(
            f"RMSE {champion.rmse:.4g} -> {challenger.rmse:.4g} "
            f"({_percent(champion.rmse, challenger.rmse)}), over {100 * limit:.1f}% allowed"
        )
    if latency.within_budget is False:
        blocking.append(
            f"latency {latency.challenger_ms:.2f} ms/example over budget {latency.budget_ms} ms"
        )

    if blocking:
        decision: Decision = "reject"
        deciding = blocking
    elif test.p_better < policy.alpha and challenger.mae <= champion.mae + EPS:
        decision = "promote"
        deciding = [
            f"significantly better: {mae}, Wilcoxon one-sided p = {test.p_better:.3g} "
            f"< {policy.alpha}"
        ]
    else:
        decision = "promote" if policy.tie == "promote" else "reject"
        if test.p_worse < policy.alpha:
            why = (
                f"{mae} is significantly higher but within max_mae_increase "
                f"{100 * allowances.max_mae_increase:.1f}%"
            )
        elif test.p_better < policy.alpha:
            why = (
                f"errors significantly smaller by rank (Wilcoxon one-sided p = "
                f"{test.p_better:.3g}) but {mae} is not lower"
            )
        else:
            why = (
                f"no significant difference ({mae}, Wilcoxon one-sided p = "
                f"{min(test.p_worse, test.p_better):.3g} >= {policy.alpha})"
            )
        outcome = "promotes the challenger" if decision == "promote" else "keeps the champion"
        deciding = [f"{why}; tie rule {policy.tie!r} {outcome}"]

    notes = [
        f"{mae} ({champion_version} -> {challenger_version}) on {champion.n_examples} test "
        f"examples; RMSE {champion.rmse:.4g} -> {challenger.rmse:.4g}; "
        f"R2 {champion.r2:.3f} -> {challenger.r2:.3f}",
        f"Wilcoxon signed-rank on absolute errors: the challenger closer on "
        f"{test.challenger_closer}, the champion on {test.champion_closer}, median difference "
        f"{test.median_difference:+.4g}",
        *(check.describe() for check in checks if not check.violated),
        latency_note(latency),
    ]
    return RegressionVerdict(
        decision=decision,
        kind="challenger",
        challenger_version=challenger_version,
        champion_version=champion_version,
        reasons=(*deciding, *notes),
        n_examples=champion.n_examples,
        challenger=challenger,
        champion=champion,
        wilcoxon=test,
        slices=checks,
        latency=latency,
        policy=policy.model_dump(mode="json"),
    )


def first_regression_verdict(
    report: RegressionReport, policy: Gate, *, version: str
) -> RegressionVerdict:
    """Judge a project's first regression model against ``regression.min_r2`` (and the latency
    budget); it becomes champion when it clears both, else stays a candidate with the reason."""
    latency = latency_check(policy, None, report.latency_ms_per_example)
    floor = policy.regression.min_r2
    passes = report.r2 >= floor - EPS
    too_slow = latency.within_budget is False
    figures = f"R2 {report.r2:.3f} (MAE {report.mae:.4g}, RMSE {report.rmse:.4g})"
    if not passes:
        deciding = (
            f"first model of the project stays a candidate: {figures} is below floor "
            f"{floor:.3f} (add data, or lower policy.gate.regression.min_r2)"
        )
    elif too_slow:
        deciding = (
            f"first model of the project stays a candidate: latency {latency.challenger_ms:.2f} "
            f"ms/example over budget {latency.budget_ms} ms"
        )
    else:
        deciding = f"first model of the project: {figures} >= floor {floor:.3f}; becomes champion"
    return RegressionVerdict(
        decision="promote" if passes and not too_slow else "reject",
        kind="first",
        challenger_version=version,
        champion_version=None,
        reasons=(deciding, f"{report.n_examples} test examples", latency_note(latency)),
        n_examples=report.n_examples,
        challenger=report,
        champion=None,
        wilcoxon=None,
        slices=(),
        latency=latency,
        policy=policy.model_dump(mode="json"),
    )


def _check_slice(
    name: SliceName,
    champ_err: npt.NDArray[np.float64],
    chall_err: npt.NDArray[np.float64],
    policy: Gate,
) -> RegressionSlice:
    champion_mae, challenger_mae = float(champ_err.mean()), float(chall_err.mean())
    p_worse = wilcoxon_errors(champ_err, chall_err).p_worse
    allowed = policy.regression.max_mae_increase
    checked = name in GUARDED
    return RegressionSlice(
        name=name,
        n_examples=len(champ_err),
        champion_mae=champion_mae,
        challenger_mae=challenger_mae,
        p_worse=p_worse,
        alpha=policy.alpha,
        allowed_increase=allowed,
        checked=checked,
        violated=checked
        and p_worse < policy.alpha
        and _over(champion_mae, challenger_mae, allowed),
    )


def _over(before: float, after: float, allowed: float) -> bool:
    """Whether ``after`` exceeds ``before`` by more than the relative allowance."""
    return after > before * (1.0 + allowed) + EPS


def _percent(before: float, after: float) -> str:
    return f"{100 * (after - before) / before:+.1f}%" if before > 0 else f"{after - before:+.4g}"


def _values(values: Values, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise EvaluationError(f"{name} must be one number per example, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise EvaluationError(f"{name}[{bad}] is {array[bad]}: regression values must be finite")
    return array
