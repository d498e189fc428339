"""Triggers: rules that say whether a cycle should train now, and why.

A trigger is a pure function of a :class:`TriggerContext` the pipeline fills from the registry
(last training, training-set size, the champion's test MAE and reference window), the sources
(new examples), the feedback log and the prediction log. Every evaluation returns its
figures, fired or not, so the loop can log which trigger fired and on what numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

import numpy as np

from lifelong.monitoring.detectors import AdwinDetector, RollingAccuracy
from lifelong.monitoring.drift import DriftResult, chi_square_labels, ks_test, psi
from lifelong.monitoring.feature_drift import (
    ColumnDrift,
    ColumnKind,
    FeatureDriftReport,
    Row,
    feature_drift,
    value_drift,
)

Figure = float | int | bool | str | None


@dataclass(frozen=True)
class TriggerContext:
    """Everything a trigger may look at; fields a trigger does not use can stay empty.

    Parameters
    ----------
    now
        The time of the check (timezone-aware, like ``last_trained_at``).
    last_trained_at
        When the champion was trained; ``None`` if no model exists yet.
    n_new_examples
        Labeled examples not yet in the champion's training data (for a streamed project, rows
        of the files added or grown since, counted from the files' manifests).
    n_train_examples
        Size of the champion's training set (rows of its files, for a streamed project).
    feedback
        Right (True) / wrong (False) outcomes of feedback on the champion's predictions,
        oldest first.
    feedback_errors, test_mae
        A regression champion's absolute errors on feedback (predicted vs true number), oldest
        first, and its MAE on its test split; ``test_mae`` is ``None`` for a classifier.
    reference_confidences, current_confidences
        Top-class confidences of the champion's reference window and of recent predictions.
    reference_label_counts, current_label_counts
        Predicted-intent counts of the same two windows.
    reference_values, current_values
        A regression champion's predicted values on its test split and in recent predictions.
    feature_columns, reference_rows, current_rows
        A tabular champion's feature columns, a sample of the rows it trained on, and the rows
        it was recently asked about (typed values, see :mod:`lifelong.monitoring.feature_drift`);
        empty for a text model.
    """

    now: datetime
    last_trained_at: datetime | None = None
    n_new_examples: int = 0
    n_train_examples: int = 0
    feedback: Sequence[bool] = ()
    feedback_errors: Sequence[float] = ()
    test_mae: float | None = None
    reference_confidences: Sequence[float] = ()
    current_confidences: Sequence[float] = ()
    reference_label_counts: Mapping[str, int] = field(default_factory=dict)
    current_label_counts: Mapping[str, int] = field(default_factory=dict)
    reference_values: Sequence[float] = ()
    current_values: Sequence[float] = ()
    feature_columns: Sequence[tuple[str, ColumnKind]] = ()
    reference_rows: Sequence[Row] = ()
    current_rows: Sequence[Row] = ()


@dataclass(frozen=True)
class TriggerResult:
    """A trigger's answer: whether it fired, a one-line reason, and the numbers behind it.

    ``children`` holds the results of the triggers a combinator evaluated.
    """

    fired: bool
    name: str
    reason: str
    figures: dict[str, Figure] = field(default_factory=dict)
    children: tuple[TriggerResult, ...] = ()

    def fired_names(self) -> list[str]:
        """Names of the leaf triggers that fired (for a one-line log)."""
        if not self.children:
            return [self.name] if self.fired else []
        return [name for child in self.children for name in child.fired_names()]


class Trigger(Protocol):
    """A rule deciding whether a cycle should train."""

    @property
    def name(self) -> str: ...

    def evaluate(self, context: TriggerContext) -> TriggerResult: ...


class TimeTrigger:
    """Fires when ``every`` has passed since the last training (or nothing was trained yet)."""

    name = "time"

    def __init__(self, every: timedelta) -> None:
        self.every = every

    def evaluate(self, context: TriggerContext) -> TriggerResult:
        figures: dict[str, Figure] = {"every_s": self.every.total_seconds()}
        if context.last_trained_at is None:
            return TriggerResult(True, self.name, "no model has been trained yet", figures)
        elapsed = context.now - context.last_trained_at
        figures |= {
            "elapsed_s": elapsed.total_seconds(),
            "last_trained_at": context.last_trained_at.isoformat(),
        }
        fired = elapsed >= self.every
        relation = ">=" if fired else "<"
        shown = timedelta(seconds=round(elapsed.total_seconds()))
        return TriggerResult(
            fired, self.name, f"{shown} since the last training {relation} {self.every}", figures
        )


class VolumeTrigger:
    """Fires when new examples reach ``min_fraction`` of the training set or ``min_count``.

    Either threshold may be ``None`` (not used), not both.
    """

    name = "volume"

    def __init__(self, min_fraction: float | None = 0.05, min_count: int | None = None) -> None:
        if min_fraction is None and min_count is None:
            raise ValueError("VolumeTrigger needs min_fraction or min_count")
        self.min_fraction = min_fraction
        self.min_count = min_count

    def evaluate(self, context: TriggerContext) -> TriggerResult:
        new, train = context.n_new_examples, context.n_train_examples
        fraction = new / train if train else (float("inf") if new else 0.0)
        figures: dict[str, Figure] = {
            "n_new": new,
            "n_train": train,
            # strict JSON (PostgreSQL's) has no Infinity: no training set yet is "no fraction"
            "fraction": fraction if train else None,
            "min_fraction": self.min_fraction,
            "min_count": self.min_count,
        }
        reasons = []
        if new and self.min_count is not None and new >= self.min_count:
            reasons.append(f"{new} new examples >= {self.min_count}")
        if new and self.min_fraction is not None and fraction >= self.min_fraction:
            reasons.append(
                f"{new} new examples are {fraction:.1%} of {train} >= {self.min_fraction:.1%}"
                if train
                else f"{new} new examples and no training set yet"
            )
        if reasons:
            return TriggerResult(True, self.name, "; ".join(reasons), figures)
        return TriggerResult(False, self.name, f"{new} new examples: below the thresholds", figures)


class PerformanceTrigger:
    """Fires when a classifier's accuracy on recent feedback is below ``floor``, or ADWIN sees
    it fall; for a regression champion (``context.test_mae`` set), when its MAE on recent
    feedback exceeds ``max_mae_ratio`` times its test MAE.

    A regression model's feedback is scored by its absolute errors, not as right/wrong (numbers
    almost never match exactly). Its own test MAE is the yardstick: feedback on the traffic it
    was trained for should show about that error, and a clear excess says the world moved
    away from its training data. The default ratio 1.25 sits well above the noise of a
    window's MAE (absolute errors spread about as widely as their mean, so over the 200
    errors of a full window the MAE wanders some 5-7% around the true one; over the 30 of
    ``min_feedback`` some 15-20%), yet fires on an error a quarter larger, which a user
    notices.

    Parameters
    ----------
    floor
        Rolling accuracy (over the last ``window`` outcomes) below which the model must improve.
    min_feedback
        Outcomes (or errors) needed before judging; with fewer the trigger never fires.
    window
        Outcomes in the rolling accuracy; errors in the feedback MAE.
    delta
        ADWIN's confidence; ``None`` disables the fall detector (floor only).
    max_mae_ratio
        Feedback MAE over test MAE above which a regression model must improve.
    """

    name = "performance"

    def __init__(
        self,
        floor: float = 0.8,
        min_feedback: int = 30,
        window: int = 200,
        delta: float | None = 0.002,
        max_mae_ratio: float = 1.25,
    ) -> None:
        self.floor = floor
        self.min_feedback = min_feedback
        self.window = window
        self.delta = delta
        self.max_mae_ratio = max_mae_ratio

    def evaluate(self, context: TriggerContext) -> TriggerResult:
        if context.test_mae is not None:
            return self._errors(context.feedback_errors, context.test_mae)
        rolling = RollingAccuracy(self.floor, self.window, self.min_feedback)
        adwin = None if self.delta is None else AdwinDetector(self.delta, direction="down")
        fall_at = None
        for index, correct in enumerate(context.feedback):
            rolling.update(float(correct))
            if adwin is not None and adwin.update(float(correct)).drift_detected:
                fall_at = index
        n = len(context.feedback)
        accuracy = rolling.accuracy
        figures: dict[str, Figure] = {
            "n_feedback": n,
            "accuracy": accuracy,
            "window": rolling.count,
            "floor": self.floor,
            "adwin_fall_at": fall_at,
            "adwin_accuracy": None if adwin is None else adwin.estimation,
        }
        if n < self.min_feedback or accuracy is None:
            reason = f"{n} feedback outcomes < {self.min_feedback} needed"
            return TriggerResult(False, self.name, reason, figures)
        if rolling.drift_detected:
            reason = f"accuracy {accuracy:.3f} on the last {rolling.count} < floor {self.floor}"
            return TriggerResult(True, self.name, reason, figures)
        if fall_at is not None:
            reason = f"ADWIN saw accuracy fall at outcome {fall_at}"
            return TriggerResult(True, self.name, reason, figures)
        reason = f"accuracy {accuracy:.3f} >= floor {self.floor}, no fall detected"
        return TriggerResult(False, self.name, reason, figures)

    def _errors(self, errors: Sequence[float], test_mae: float) -> TriggerResult:
        """A regression champion: MAE over the last ``window`` feedback errors vs test MAE."""
        recent = errors[-self.window :]
        mae = float(np.mean(recent)) if recent else None
        figures: dict[str, Figure] = {
            "n_feedback": len(errors),
            "feedback_mae": mae,
            "test_mae": test_mae,
            "window": len(recent),
            "max_mae_ratio": self.max_mae_ratio,
            "mae_ratio": None if mae is None or test_mae <= 0 else mae / test_mae,
        }
        if len(errors) < self.min_feedback or mae is None:
            reason = f"{len(errors)} feedback errors < {self.min_feedback} needed"
            return TriggerResult(False, self.name, reason, figures)
        limit = self.max_mae_ratio * test_mae
        fired = mae > limit
        relation = ">" if fired else "<="
        reason = (
            f"feedback MAE {mae:.4g} vs test MAE {test_mae:.4g} on the last {len(recent)}: "
            f"{relation} {self.max_mae_ratio}x"
        )
        return TriggerResult(fired, self.name, reason, figures)


class DriftTrigger:
    """Fires when recent predictions drift from the reference window by any enabled test, or,
    for a tabular model, when a feature column drifts from the rows it trained on
    (:func:`~lifelong.monitoring.feature_drift.feature_drift`, with the same PSI threshold and
    ``ks_alpha`` as the level of its tests over all columns; ``None`` disables them there too).

    A regression model has no confidences or intents worth testing (one output, confidence 1):
    its recent predicted values are compared with its values on the test split instead, by
    the numeric column tests of feature drift (PSI, KS at ``ks_alpha``, out-of-range count),
    under the name ``predicted_value``.

    Parameters
    ----------
    psi_threshold
        PSI on confidences at or above which there is drift; ``None`` skips PSI.
    ks_alpha
        Significance level of the KS test on confidences; ``None`` skips it.
    chi2_alpha
        Significance level of the chi-square test on predicted intents; ``None`` skips it.
    min_samples
        Predictions needed on each side before testing (small windows give noisy statistics).
    bins
        PSI bins.
    """

    name = "drift"

    def __init__(
        self,
        psi_threshold: float | None = 0.2,
        ks_alpha: float | None = 0.01,
        chi2_alpha: float | None = 0.01,
        min_samples: int = 200,
        bins: int = 10,
    ) -> None:
        self.psi_threshold = psi_threshold
        self.ks_alpha = ks_alpha
        self.chi2_alpha = chi2_alpha
        self.min_samples = min_samples
        self.bins = bins

    def evaluate(self, context: TriggerContext) -> TriggerResult:
        results = self._tests(context)
        values = self._values(context)
        features = self._features(context)
        figures: dict[str, Figure] = {"min_samples": self.min_samples}
        for result in results:
            figures |= result.figures()
        reasons = [_describe(r) for r in results if r.drifted]
        if values is not None:
            figures |= values.figures()
            if values.drifted:
                reasons.append(values.describe())
        if context.feature_columns:  # 0 rows: the server does not log them (server.log_text)
            figures["feature_rows"] = len(context.current_rows)
        if features is not None:
            figures |= {f"feature.{k}": v for k, v in features.figures().items()}
            reasons += [c.describe() for c in features.columns if c.drifted]
        if reasons:
            return TriggerResult(True, self.name, "; ".join(reasons), figures)
        if not results and values is None and features is None:
            reason = f"fewer than {self.min_samples} predictions in a window: not tested"
            return TriggerResult(False, self.name, reason, figures)
        return TriggerResult(False, self.name, "no test found drift", figures)

    def _tests(self, context: TriggerContext) -> list[DriftResult]:
        ref, cur = context.reference_confidences, context.current_confidences
        results = []
        if min(len(ref), len(cur)) >= self.min_samples:
            if self.psi_threshold is not None:
                results.append(psi(ref, cur, self.bins, self.psi_threshold))
            if self.ks_alpha is not None:
                results.append(ks_test(ref, cur, self.ks_alpha))
        ref_counts, cur_counts = context.reference_label_counts, context.current_label_counts
        enough = min(sum(ref_counts.values()), sum(cur_counts.values())) >= self.min_samples
        if self.chi2_alpha is not None and enough:
            results.append(chi_square_labels(ref_counts, cur_counts, self.chi2_alpha))
        return results

    def _values(self, context: TriggerContext) -> ColumnDrift | None:
        ref, cur = context.reference_values, context.current_values
        if min(len(ref), len(cur)) < self.min_samples:
            return None
        return value_drift(
            ref,
            cur,
            psi_threshold=self.psi_threshold,
            alpha=self.ks_alpha,
            bins=self.bins,
            min_samples=self.min_samples,
        )

    def _features(self, context: TriggerContext) -> FeatureDriftReport | None:
        ref, cur = context.reference_rows, context.current_rows
        if not context.feature_columns or min(len(ref), len(cur)) < self.min_samples:
            return None
        return feature_drift(
            ref,
            cur,
            context.feature_columns,
            psi_threshold=self.psi_threshold,
            alpha=self.ks_alpha,
            bins=self.bins,
            min_samples=self.min_samples,
        )


def _describe(result: DriftResult) -> str:
    if result.p_value is None:
        return f"{result.test} {result.statistic:.3f} >= {result.threshold}"
    return f"{result.test} p={result.p_value:.2g} < {result.threshold}"


class Combined:
    """Several triggers as one: ``any`` fires if one fires, ``all`` if every one does.

    Every trigger is evaluated (no short cut) so the log shows all their figures.
    """

    def __init__(self, mode: Literal["any", "all"], triggers: Sequence[Trigger]) -> None:
        if mode == "all" and not triggers:
            raise ValueError("all_of() needs at least one trigger (it would always fire)")
        self.mode = mode
        self.triggers = tuple(triggers)

    @property
    def name(self) -> str:
        return f"{self.mode}_of({', '.join(t.name for t in self.triggers)})"

    def evaluate(self, context: TriggerContext) -> TriggerResult:
        children = tuple(trigger.evaluate(context) for trigger in self.triggers)
        decide = any if self.mode == "any" else all
        fired = decide(child.fired for child in children)
        if not children:
            reason = "no trigger enabled"
        elif fired:
            reason = "; ".join(f"{c.name}: {c.reason}" for c in children if c.fired)
        else:
            reason = "; ".join(f"{c.name}: {c.reason}" for c in children if not c.fired)
        return TriggerResult(fired, self.name, reason, {}, children)


def any_of(*triggers: Trigger) -> Combined:
    """Fires when at least one trigger fires (none given: never)."""
    return Combined("any", triggers)


def all_of(*triggers: Trigger) -> Combined:
    """Fires when every trigger fires."""
    return Combined("all", triggers)
