"""Metric building blocks over plain arrays: correctness, calibration, confusions.

Everything here works on predictions, not models, so the gate and the report can be computed
for any classifier (and tested without one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.evaluation._records import EvaluationError, Record

BoolArray = npt.NDArray[np.bool_]
Labels = Sequence[str] | npt.NDArray[np.str_]
"""One label per example: a list of str or a numpy string array."""


def as_labels(values: Labels, name: str) -> npt.NDArray[np.str_]:
    """``values`` as a 1-D string array; ``name`` is used in the error message."""
    array = np.asarray(list(values), dtype=str)
    if array.ndim != 1:
        raise EvaluationError(f"{name}: expected one label per example, got shape {array.shape}")
    return array


def check_same_length(**arrays: Sequence[object] | npt.NDArray[np.generic]) -> int:
    """The common length of ``arrays``; an error naming each length if they differ or are empty.

    >>> check_same_length(y_true=["a", "b"], y_pred=["a", "a"])
    2
    """
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise EvaluationError(f"inputs must have one length per test example, got {shown}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise EvaluationError(f"no examples to evaluate ({', '.join(lengths)} are empty)")
    return n


def correctness(y_true: Labels, y_pred: Labels) -> BoolArray:
    """Per-example correctness, the input of the paired tests.

    >>> correctness(["a", "b", "c"], ["a", "c", "c"]).tolist()
    [True, False, True]
    """
    check_same_length(y_true=y_true, y_pred=y_pred)
    result: BoolArray = as_labels(y_true, "y_true") == as_labels(y_pred, "y_pred")
    return result


@dataclass(frozen=True)
class CalibrationBin(Record):
    """One non-empty bin of the reliability diagram: confidences in ``(lower, upper]``."""

    lower: float
    upper: float
    count: int
    accuracy: float
    confidence: float


@dataclass(frozen=True)
class Calibration(Record):
    """Expected calibration error and the bins it was computed from."""

    ece: float
    n_bins: int
    bins: tuple[CalibrationBin, ...]


def calibration(
    confidences: npt.ArrayLike, correct: npt.ArrayLike, n_bins: int = 15
) -> Calibration:
    """Expected calibration error (ECE) of top-class confidences, with equal-width bins.

    ECE is the support-weighted mean of ``|accuracy - mean confidence|`` over the bins: how far
    "90% sure" is from "right 90% of the time". Bins are right-closed, so a confidence of exactly
    1.0 falls in the last bin and 0.0 in the first.

    >>> calibration([0.9, 0.9, 0.6, 0.6], [True, False, True, False], n_bins=5).ece
    0.25
    """
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=bool)
    check_same_length(confidences=conf, correct=hits)
    if n_bins < 1:
        raise EvaluationError(f"n_bins must be at least 1, got {n_bins}")
    if not np.all(np.isfinite(conf)) or conf.min() < 0.0 or conf.max() > 1.0:
        raise EvaluationError("confidences must be probabilities in [0, 1]")
    index = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    acc_sums = np.bincount(index, weights=hits.astype(np.float64), minlength=n_bins)
    conf_sums = np.bincount(index, weights=conf, minlength=n_bins)
    bins = []
    ece = 0.0
    for b in np.flatnonzero(counts):
        accuracy, confidence = acc_sums[b] / counts[b], conf_sums[b] / counts[b]
        ece += counts[b] / len(conf) * abs(accuracy - confidence)
        bins.append(
            CalibrationBin(
                lower=b / n_bins,
                upper=(b + 1) / n_bins,
                count=int(counts[b]),
                accuracy=float(accuracy),
                confidence=float(confidence),
            )
        )
    return Calibration(ece=float(ece), n_bins=n_bins, bins=tuple(bins))


@dataclass(frozen=True)
class ConfusedPair(Record):
    """``count`` test examples of intent ``true_label`` were predicted as ``predicted_label``."""

    true_label: str
    predicted_label: str
    count: int


@dataclass(frozen=True)
class Confusion(Record):
    """The confusion matrix restricted to ``labels`` (rows: truth, columns: prediction)."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


def class_scores(
    y_true: Labels, y_pred: Labels, labels: Sequence[str]
) -> tuple[npt.NDArray[np.float64], ...]:
    """Precision, recall, F1 and support of each of ``labels``, as float64 arrays in order.

    The arithmetic of scikit-learn's ``precision_recall_fscore_support(..., labels=labels,
    zero_division=0.0)``, to the bit (F1 is ``2 tp / (true + predicted)``, an empty
    denominator gives 0): importing ``sklearn.metrics`` took a second of every
    ``lifelong train``, for three counts per label. Every label of ``y_true`` and ``y_pred``
    must be in ``labels``.

    >>> precision, recall, f1, support = class_scores(["a", "a", "b"], ["a", "b", "b"], "abc")
    >>> precision.tolist(), recall.tolist(), support.tolist()
    ([1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [2.0, 1.0, 0.0])
    """
    index = {label: i for i, label in enumerate(labels)}
    truth = np.fromiter(map(index.__getitem__, y_true), dtype=np.int64, count=len(y_true))
    pred = np.fromiter(map(index.__getitem__, y_pred), dtype=np.int64, count=len(y_pred))
    size = len(labels)
    true_sum = np.bincount(truth, minlength=size).astype(np.float64)
    pred_sum = np.bincount(pred, minlength=size).astype(np.float64)
    tp = np.bincount(truth[truth == pred], minlength=size).astype(np.float64)
    return (
        _divide(tp, pred_sum),
        _divide(tp, true_sum),
        _divide(2.0 * tp, true_sum + pred_sum),
        true_sum,
    )


def _divide(
    numerator: npt.NDArray[np.float64], denominator: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``numerator / denominator``, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def confusions(
    y_true: Labels, y_pred: Labels, labels: Sequence[str], k: int
) -> tuple[tuple[ConfusedPair, ...], Confusion]:
    """The ``k`` most frequent (truth, prediction) mistakes and the matrix of the intents in them.

    Ties in count are broken by label names so the result is deterministic. Keeping only the
    intents involved bounds the stored matrix for projects with hundreds of intents.

    >>> pairs, sub = confusions(["a", "a", "b", "c"], ["b", "b", "a", "c"], ["a", "b", "c"], k=1)
    >>> pairs[0], sub.labels, sub.counts
    (ConfusedPair(true_label='a', predicted_label='b', count=2), ('a', 'b'), ((0, 2), (1, 0)))
    """
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, ([index[t] for t in y_true], [index[p] for p in y_pred]), 1)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    rows, cols = np.nonzero(off)
    ranked = sorted(
        zip(rows.tolist(), cols.tolist(), strict=True),
        key=lambda rc: (-off[rc], labels[rc[0]], labels[rc[1]]),
    )[:k]
    pairs = tuple(ConfusedPair(labels[r], labels[c], int(off[r, c])) for r, c in ranked)
    involved = sorted({i for pair in ranked for i in pair})
    sub = matrix[np.ix_(involved, involved)]
    return pairs, Confusion(
        labels=tuple(labels[i] for i in involved),
        counts=tuple(tuple(int(v) for v in row) for row in sub),
    )
