"""The intake screen: does the champion recognise the new examples of each intent?

A batch that teaches a known intent something it is not (junk under ``greet``, paraphrases of
``refund_status`` labelled ``order_status``) gives itself away before any training: the
champion assigns those texts almost no probability of the label they carry, although it
assigns its own test examples of that intent plenty. Clean new examples, even new wordings the
champion gets wrong, keep most of it: on the sample project the ratio below stayed above 0.7
for every intent of its three clean batches, and fell to 0.06 and 0.09 for the two attacks.

The statistic, per intent of a batch with at least ``min_examples`` examples:
``support = mean p(label | new text) / mean p(label | champion's test examples of label)``.
Below ``max_support`` the group is suspicious: held for review, never trained on unchecked.
Intents the champion does not know are not screened (it gives them no probability at all);
their examples are judged by the gate and by the data checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.config import Screen
from lifelong.evaluation._records import EvaluationError, Record


@dataclass(frozen=True)
class ScreenedIntent(Record):
    """The screen's figures for the new examples of one intent."""

    label: str
    n_examples: int
    batch_support: float
    reference_support: float
    ratio: float
    suspicious: bool

    def describe(self) -> str:
        """One sentence for the review queue and the cycle history."""
        verdict = "held for review" if self.suspicious else "accepted"
        return (
            f"{self.n_examples} new examples of {self.label!r}: the champion gives them a mean "
            f"probability of {self.batch_support:.2f} for {self.label!r}, against "
            f"{self.reference_support:.2f} on its own test examples of it (ratio "
            f"{self.ratio:.2f}); {verdict}"
        )


def screen_batch(
    model_labels: Sequence[str],
    batch_labels: Sequence[str],
    batch_proba: npt.NDArray[np.floating],
    reference_labels: Sequence[str],
    reference_proba: npt.NDArray[np.floating],
    policy: Screen,
) -> tuple[ScreenedIntent, ...]:
    """Screen a batch's intents against the champion's probabilities (see the module docstring).

    ``batch_proba`` and ``reference_proba`` are the champion's probability matrices (columns
    in ``model_labels`` order) for the batch's texts and for its own test examples.

    >>> from lifelong.config import Screen
    >>> import numpy as np
    >>> ref = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> batch = np.array([[0.05, 0.95]] * 6)
    >>> [s.suspicious for s in screen_batch(["a", "b"], ["a"] * 6, batch, ["a", "b"], ref,
    ...                                      Screen())]
    [True]
    """
    if batch_proba.shape != (len(batch_labels), len(model_labels)):
        raise EvaluationError(
            f"batch probabilities have shape {batch_proba.shape}, expected "
            f"({len(batch_labels)}, {len(model_labels)})"
        )
    column = {label: i for i, label in enumerate(model_labels)}
    reference: dict[str, list[float]] = {}
    for label, row in zip(reference_labels, reference_proba, strict=True):
        if label in column:
            reference.setdefault(label, []).append(float(row[column[label]]))
    groups: dict[str, list[float]] = {}
    for label, row in zip(batch_labels, batch_proba, strict=True):
        if label in column:
            groups.setdefault(label, []).append(float(row[column[label]]))
    screened = []
    for label, values in sorted(groups.items()):
        if len(values) < policy.min_examples or not reference.get(label):
            continue
        batch_support = float(np.mean(values))
        reference_support = float(np.mean(reference[label]))
        ratio = batch_support / reference_support if reference_support > 0 else 1.0
        screened.append(
            ScreenedIntent(
                label=label,
                n_examples=len(values),
                batch_support=batch_support,
                reference_support=reference_support,
                ratio=ratio,
                suspicious=ratio < policy.max_support,
            )
        )
    return tuple(screened)
