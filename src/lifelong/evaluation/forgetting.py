"""Forgetting: did an update lose what its parent knew?

Stable splits mean the test set only grows, so the parent's test examples are still in the
child's test set. Comparing both models on exactly those old examples isolates forgetting from
the effect of new data; the new examples show what the update learned.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.evaluation._records import Record
from lifelong.evaluation.metrics import Labels, as_labels, check_same_length


@dataclass(frozen=True)
class ForgettingReport(Record):
    """Parent and child accuracy on the old and the new test examples.

    Attributes
    ----------
    n_old, n_new
        Current test examples that were / were not in the parent's test set.
    n_old_missing
        Parent test examples absent from the current test set (data removed since).
    parent_accuracy_old, child_accuracy_old
        Accuracy on the old examples; None when there are none.
    backward_transfer
        ``child_accuracy_old - parent_accuracy_old``: negative means the child forgot.
    parent_accuracy_new, child_accuracy_new
        Accuracy on the new examples; None when there are none.
    """

    n_old: int
    n_new: int
    n_old_missing: int
    parent_accuracy_old: float | None
    child_accuracy_old: float | None
    backward_transfer: float | None
    parent_accuracy_new: float | None
    child_accuracy_new: float | None


def measure_forgetting(
    parent_test_hashes: Collection[str],
    test_hashes: Labels,
    y_true: Labels,
    child_pred: Labels,
    parent_pred: Labels,
) -> ForgettingReport:
    """Compare a child model with its parent on the old and the new test examples.

    Parameters
    ----------
    parent_test_hashes
        Example hashes of the parent snapshot's test split.
    test_hashes, y_true
        Hash and true label of each example of the current test split.
    child_pred, parent_pred
        Both models' predictions on the current test split, in the same order.

    Examples
    --------
    >>> r = measure_forgetting({"h1", "h2"}, ["h1", "h2", "h3"], ["a", "b", "a"],
    ...                        child_pred=["a", "a", "a"], parent_pred=["a", "b", "b"])
    >>> r.parent_accuracy_old, r.child_accuracy_old, r.backward_transfer, r.child_accuracy_new
    (1.0, 0.5, -0.5, 1.0)
    """
    check_same_length(
        test_hashes=test_hashes, y_true=y_true, child_pred=child_pred, parent_pred=parent_pred
    )
    hashes = as_labels(test_hashes, "test_hashes")
    truth = as_labels(y_true, "y_true")
    child = as_labels(child_pred, "child_pred") == truth
    parent = as_labels(parent_pred, "parent_pred") == truth
    old_set = set(parent_test_hashes)
    old = np.isin(hashes, list(old_set))
    parent_old, child_old = _accuracy(parent, old), _accuracy(child, old)
    transfer = None
    if parent_old is not None and child_old is not None:
        transfer = child_old - parent_old
    return ForgettingReport(
        n_old=int(old.sum()),
        n_new=int((~old).sum()),
        n_old_missing=len(old_set - set(hashes.tolist())),
        parent_accuracy_old=parent_old,
        child_accuracy_old=child_old,
        backward_transfer=transfer,
        parent_accuracy_new=_accuracy(parent, ~old),
        child_accuracy_new=_accuracy(child, ~old),
    )


def _accuracy(correct: npt.NDArray[np.bool_], mask: npt.NDArray[np.bool_]) -> float | None:
    return float(correct[mask].mean()) if mask.any() else None
