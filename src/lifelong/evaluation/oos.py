"""Out-of-scope detection by a confidence threshold chosen on the validation split.

A message that matches no intent should get the project's fallback label (``oos``) rather than
a confident wrong intent. Below the threshold a prediction is replaced by the fallback. The
threshold is chosen on the validation split, never on the test split, so the test metrics stay
an honest estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.metrics import Labels, as_labels, check_same_length


@dataclass(frozen=True)
class ThresholdChoice(Record):
    """The chosen threshold and the validation scores that chose it."""

    threshold: float
    in_scope_accuracy: float
    oos_recall: float
    balanced_score: float


def choose_threshold(
    confidences: npt.ArrayLike, is_oos: npt.ArrayLike, *, correct: npt.ArrayLike | None = None
) -> ThresholdChoice:
    """Pick the confidence threshold that best balances in-scope accuracy and oos recall.

    Predictions with confidence below ``t`` become the fallback label. The candidates are 0 and
    the midpoints between consecutive distinct confidences (a midpoint leaves a margin on both
    sides, unlike a threshold equal to an observed value). For each candidate ``t``:

    - in-scope accuracy: in-scope examples kept (confidence >= ``t``) and correctly classified,
      over all in-scope examples;
    - oos recall: out-of-scope examples that end up as the fallback, either because the model
      predicted it (``correct`` is true on an oos row) or because the confidence is below ``t``.

    The rule maximises their mean (a balanced accuracy, so a rare oos class still counts half);
    ties go to the lowest threshold, which rejects the fewest in-scope messages.

    Parameters
    ----------
    confidences
        Top-class probability of each validation example.
    is_oos
        Whether the example's true label is the fallback.
    correct
        Whether the model's own prediction equals the true label. When omitted, every kept
        in-scope prediction counts as correct and the model never predicts the fallback itself.

    Examples
    --------
    >>> choose_threshold([0.9, 0.8, 0.4, 0.3], [False, False, True, True]).threshold
    0.6
    """
    conf = np.asarray(confidences, dtype=np.float64)
    oos = np.asarray(is_oos, dtype=bool)
    right = ~oos if correct is None else np.asarray(correct, dtype=bool)
    check_same_length(confidences=conf, is_oos=oos, correct=right)
    if oos.all() or not oos.any():
        raise EvaluationError(
            "choosing an oos threshold needs both in-scope and out-of-scope validation examples, "
            f"got {int(oos.sum())} oos of {len(oos)}"
        )
    distinct = np.unique(conf)
    candidates = np.concatenate([[0.0], (distinct[:-1] + distinct[1:]) / 2])
    # Kept in-scope hits: confidence >= t. Rejected oos misses: confidence < t.
    hits = np.sort(conf[~oos & right])
    in_scope_acc = (len(hits) - np.searchsorted(hits, candidates, side="left")) / (~oos).sum()
    misses = np.sort(conf[oos & ~right])
    caught = (oos & right).sum() + np.searchsorted(misses, candidates, side="left")
    oos_recall = caught / oos.sum()
    score = (in_scope_acc + oos_recall) / 2
    best = int(np.argmax(score))  # first maximum: the lowest threshold among ties
    return ThresholdChoice(
        threshold=float(candidates[best]),
        in_scope_accuracy=float(in_scope_acc[best]),
        oos_recall=float(oos_recall[best]),
        balanced_score=float(score[best]),
    )


def apply_threshold(
    y_pred: Labels, confidences: npt.ArrayLike, threshold: float, oos_label: str
) -> list[str]:
    """The predictions as served: the fallback label wherever confidence is below ``threshold``.

    >>> apply_threshold(["a", "b"], [0.9, 0.2], 0.5, "oos")
    ['a', 'oos']
    """
    conf = np.asarray(confidences, dtype=np.float64)
    check_same_length(y_pred=y_pred, confidences=conf)
    preds = as_labels(y_pred, "y_pred").astype(object)
    preds[conf < threshold] = oos_label
    return [str(p) for p in preds]


@dataclass(frozen=True)
class OosMetrics(Record):
    """How well the fallback label is given, on the test split.

    ``threshold`` is None when the model predicts the fallback as an ordinary class.
    ``precision`` is 0.0 when nothing was flagged.
    """

    label: str
    threshold: float | None
    support: int
    recall: float
    precision: float
    in_scope_accuracy: float


def oos_metrics(
    y_true: Labels, y_pred: Labels, oos_label: str, threshold: float | None
) -> OosMetrics:
    """Fallback recall and precision, and accuracy on the in-scope examples.

    ``y_pred`` must already have the threshold applied (see :func:`apply_threshold`).
    """
    truth, pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(y_true=truth, y_pred=pred)
    is_oos, flagged = truth == oos_label, pred == oos_label
    both = int((is_oos & flagged).sum())
    in_scope = ~is_oos
    return OosMetrics(
        label=oos_label,
        threshold=threshold,
        support=int(is_oos.sum()),
        recall=both / int(is_oos.sum()) if is_oos.any() else 0.0,
        precision=both / int(flagged.sum()) if flagged.any() else 0.0,
        in_scope_accuracy=float((truth == pred)[in_scope].mean()) if in_scope.any() else 0.0,
    )
