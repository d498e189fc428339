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

Single examples are screened too, the way confident-learning label checks work (Northcutt et
al. 2021): an example whose label gets at most ``max_label_ratio`` of the probability of the
champion's top intent is *contradicted*: the champion is sure it is something else. On the
sample project, at 0.05, that held none of the 364 examples of the three clean batches and 15
of the 17 flipped labels of a noisy copy of day1.
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


@dataclass(frozen=True)
class Screening:
    """The screen's findings on one batch: per intent, and the contradicted examples."""

    intents: tuple[ScreenedIntent, ...]
    contradicted: tuple[int, ...]
    label_ratios: tuple[float, ...]

    def held(self, batch_labels: Sequence[str]) -> dict[int, str]:
        """Index of every example to hold -> why, in words."""
        why: dict[int, str] = {}
        suspicious = {s.label: s.describe() for s in self.intents if s.suspicious}
        for i, label in enumerate(batch_labels):
            if label in suspicious:
                why[i] = suspicious[label]
        for i in self.contradicted:
            why.setdefault(
                i,
                f"the champion contradicts this label: it gives {batch_labels[i]!r} "
                f"{self.label_ratios[i]:.3f} of the probability of its own answer",
            )
        return why


def screen_batch(
    model_labels: Sequence[str],
    batch_labels: Sequence[str],
    batch_proba: npt.NDArray[np.floating],
    reference_labels: Sequence[str],
    reference_proba: npt.NDArray[np.floating],
    policy: Screen,
) -> Screening:
    """Screen a batch against the champion's probabilities (see the module docstring).

    ``batch_proba`` and ``reference_proba`` are the champion's probability matrices (columns
    in ``model_labels`` order) for the batch's texts and for its own test examples.

    >>> from lifelong.config import Screen
    >>> import numpy as np
    >>> ref = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> batch = np.array([[0.01, 0.99]] * 6)
    >>> found = screen_batch(["a", "b"], ["a"] * 6, batch, ["a", "b"], ref, Screen())
    >>> [s.suspicious for s in found.intents], found.contradicted
    ([True], (0, 1, 2, 3, 4, 5))
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
    ratios = [
        float(row[column[label]] / row.max()) if label in column and row.max() > 0 else 1.0
        for label, row in zip(batch_labels, batch_proba, strict=True)
    ]
    limit = policy.max_label_ratio
    contradicted = tuple(
        i for i, ratio in enumerate(ratios) if limit is not None and ratio <= limit
    )
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
    return Screening(tuple(screened), contradicted, tuple(ratios))
