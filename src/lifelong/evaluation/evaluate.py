"""``evaluate_predictions``: one model's predictions on a test split -> an :class:`EvalReport`.

The report is what gets stored with a version and shown by ``lifelong show``: headline numbers,
per-intent scores, the mistakes the model makes most, and whether its confidences can be trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.metrics import (
    Calibration,
    ConfusedPair,
    Confusion,
    Labels,
    as_labels,
    calibration,
    check_same_length,
    class_scores,
    confusions,
)
from lifelong.evaluation.oos import OosMetrics, apply_threshold, oos_metrics


@dataclass(frozen=True)
class IntentMetrics(Record):
    """Scores of one intent; ``support`` is its number of test examples."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvalReport(Record):
    """Everything measured about one model on one test split.

    Attributes
    ----------
    n_examples
        Test examples evaluated.
    labels
        The model's labels followed by any other label seen in the truth or the predictions.
    accuracy, macro_f1
        Headline scores; macro-F1 averages over intents present in the truth or predictions.
    per_intent
        One entry per label, in ``labels`` order.
    confused_pairs
        The most frequent mistakes, most frequent first.
    confusion
        The confusion matrix of the intents appearing in ``confused_pairs``.
    calibration
        ECE and reliability bins of the top-class probability; None without probabilities.
    latency_ms_per_example
        Mean prediction time, when measured.
    oos
        Fallback-label metrics when the project has an out-of-scope label.
    """

    n_examples: int
    labels: tuple[str, ...]
    accuracy: float
    macro_f1: float
    per_intent: tuple[IntentMetrics, ...]
    confused_pairs: tuple[ConfusedPair, ...]
    confusion: Confusion
    calibration: Calibration | None
    latency_ms_per_example: float | None
    oos: OosMetrics | None

    def intent(self, label: str) -> IntentMetrics:
        """The scores of ``label``; an error naming the known labels if it is not in the report."""
        for metrics in self.per_intent:
            if metrics.label == label:
                return metrics
        raise EvaluationError(f"intent {label!r} is not in the report (labels: {self.labels})")


def evaluate_predictions(
    y_true: Labels,
    y_pred: Labels,
    probabilities: npt.NDArray[np.floating] | None,
    labels: Sequence[str],
    *,
    latency_ms_per_example: float | None = None,
    oos_label: str | None = None,
    oos_threshold: float | None = None,
    top_k_confusions: int = 10,
    n_bins: int = 15,
) -> EvalReport:
    """Evaluate one model's test predictions.

    Parameters
    ----------
    y_true, y_pred
        True and predicted label of each test example.
    probabilities
        ``(n_examples, len(labels))`` class probabilities, columns in ``labels`` order; their row
        maximum is the confidence used for calibration and the oos threshold. None skips both.
    labels
        The model's classes. Labels only the truth has (an intent the model has never seen)
        are appended, so they show up with recall 0 instead of vanishing.
    latency_ms_per_example
        Mean prediction time, recorded as given.
    oos_label
        The fallback label, if the project has one; adds :class:`OosMetrics`.
    oos_threshold
        Threshold chosen on the validation split (:func:`choose_threshold`). When given, every
        prediction below it becomes ``oos_label`` before *all* metrics are computed, so the
        report describes the model as served.
    top_k_confusions
        How many confused pairs to keep.
    n_bins
        Equal-width bins of the calibration error.

    Examples
    --------
    >>> report = evaluate_predictions(["a", "a", "b"], ["a", "b", "b"], None, ["a", "b"])
    >>> round(report.accuracy, 3), report.intent("a").recall, report.confused_pairs[0].count
    (0.667, 0.5, 1)
    """
    n = check_same_length(y_true=y_true, y_pred=y_pred)
    if latency_ms_per_example is not None and not 0.0 <= latency_ms_per_example < float("inf"):
        raise EvaluationError(
            f"latency_ms_per_example must be a finite number >= 0, got {latency_ms_per_example}"
        )
    truth = as_labels(y_true, "y_true")
    confidences = _confidences(probabilities, n, len(labels))
    if oos_threshold is not None:
        if oos_label is None or confidences is None:
            raise EvaluationError("oos_threshold needs both oos_label and probabilities")
        y_pred = apply_threshold(y_pred, confidences, oos_threshold, oos_label)
    pred = as_labels(y_pred, "y_pred")
    if len(set(labels)) != len(labels):
        raise EvaluationError(f"labels must be distinct, got {list(labels)}")
    seen = set(truth.tolist()) | set(pred.tolist())
    extra = sorted(seen - set(labels))
    all_labels = [*labels, *extra]
    precision, recall, f1, support = class_scores(truth, pred, all_labels)
    present = np.array([label in seen for label in all_labels])
    pairs, confusion = confusions(truth, pred, all_labels, top_k_confusions)
    correct = truth == pred
    return EvalReport(
        n_examples=n,
        labels=tuple(all_labels),
        accuracy=float(correct.mean()),
        macro_f1=float(f1[present].mean()),
        per_intent=tuple(
            IntentMetrics(label, float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(all_labels, precision, recall, f1, support, strict=True)
        ),
        confused_pairs=pairs,
        confusion=confusion,
        calibration=None if confidences is None else calibration(confidences, correct, n_bins),
        latency_ms_per_example=latency_ms_per_example,
        oos=None if oos_label is None else oos_metrics(truth, pred, oos_label, oos_threshold),
    )


def _confidences(
    probabilities: npt.NDArray[np.floating] | None, n: int, n_labels: int
) -> npt.NDArray[np.float64] | None:
    if probabilities is None:
        return None
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (n, n_labels):
        raise EvaluationError(
            f"probabilities must have shape (n_examples, n_labels) = ({n}, {n_labels}), "
            f"got {probs.shape}"
        )
    confidences: npt.NDArray[np.float64] = probs.max(axis=1)
    return confidences
