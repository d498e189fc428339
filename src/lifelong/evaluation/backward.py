"""Backward transfer: an update must not break what the champion got right on trusted examples.

The test split grows with the data, so it holds the new batch's own test examples. Their labels
come from the batch, which is what the gate is judging: a poisoned batch's test examples agree
with its poison, and on them the challenger looks far better than the champion. The examples
the champion was judged on (``old``) and a fixed trusted set (``trusted``) carry labels the new
batch cannot touch, so they are judged apart, and they may veto.

Two rules, each exact and one-sided:

- **Negative flips** (Yan et al. 2021, "Positive-congruent training"): examples the champion got
  right and the challenger gets wrong. A clean update breaks a few by chance; a poisoned one
  breaks many, even while it fixes others (the net accuracy change can hide it). The slice is
  violated when at least ``backward.min_flips`` examples flipped and their rate among the
  champion's correct answers is significantly above ``backward.max_flip_rate``.
- **Significantly worse**: McNemar's exact test, one-sided, on the slice alone.

The ``new`` slice is reported beside them and never vetoes: its labels are the batch's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from lifelong.config import Gate
from lifelong.evaluation._records import Record
from lifelong.evaluation.intent_guard import pts
from lifelong.evaluation.stats import exceeds_rate

SliceName = Literal["old", "new", "trusted"]
SLICES: tuple[SliceName, ...] = ("old", "new", "trusted")
GUARDED: tuple[SliceName, ...] = ("old", "trusted")


@dataclass(frozen=True)
class SliceCheck(Record):
    """Both models on one slice of the judged examples.

    Attributes
    ----------
    name
        ``old``: current test examples the champion was judged on too; ``new``: test examples
        added since; ``trusted``: the project's fixed trusted set (``trusted:`` files).
    negative_flips, positive_flips
        Examples only the champion gets right, and only the challenger.
    champion_correct
        Examples the champion gets right: the trials of the flip rate.
    p_flips
        One-sided exact p-value that the flip rate is at most ``allowed_flip_rate``.
    alpha
        The significance level both tests used (the gate's ``alpha``).
    p_worse
        One-sided exact McNemar p-value that the challenger is not worse.
    checked
        ``old`` and ``trusted`` are checked; ``new`` is reported only.
    """

    name: SliceName
    n_examples: int
    champion_accuracy: float
    challenger_accuracy: float
    champion_correct: int
    negative_flips: int
    positive_flips: int
    allowed_flip_rate: float
    alpha: float
    p_flips: float
    p_worse: float
    checked: bool
    violated: bool

    @property
    def flip_rate(self) -> float:
        """Share of the champion's correct answers the challenger gets wrong."""
        return self.negative_flips / self.champion_correct if self.champion_correct else 0.0

    def describe(self) -> str:
        """One sentence for the verdict's reasons."""
        figures = (
            f"{self.name} examples ({self.n_examples}): accuracy "
            f"{self.champion_accuracy:.3f} -> {self.challenger_accuracy:.3f} "
            f"({pts(self.challenger_accuracy - self.champion_accuracy)} pts); "
            f"{self.negative_flips} of the champion's {self.champion_correct} right answers "
            f"broken ({100 * self.flip_rate:.1f}%), {self.positive_flips} fixed"
        )
        if not self.checked:
            return f"{figures}; not a veto (labelled by the data being judged)"
        if not self.violated:
            return f"{figures}; within the allowance"
        return f"backward transfer: {figures}; {'; '.join(self.breaches())}"

    def breaches(self) -> list[str]:
        """Why the slice is violated, in words (empty when it is not)."""
        if not self.violated:
            return []
        found = []
        if self.p_flips < self.alpha:
            found.append(
                f"flip rate significantly above {100 * self.allowed_flip_rate:.1f}% "
                f"(p = {self.p_flips:.3g})"
            )
        if self.p_worse < self.alpha:
            found.append(f"significantly worse (McNemar one-sided p = {self.p_worse:.3g})")
        return found


def check_slice(
    name: SliceName,
    champ: npt.NDArray[np.bool_],
    chall: npt.NDArray[np.bool_],
    policy: Gate,
) -> SliceCheck:
    """Judge one slice (see the module docstring for the rules)."""
    from scipy.stats import binomtest

    guard = policy.backward
    correct = int(champ.sum())
    negative = int((champ & ~chall).sum())
    positive = int((chall & ~champ).sum())
    p_flips = exceeds_rate(negative, correct, guard.max_flip_rate)
    p_worse = (
        float(binomtest(negative, negative + positive, 0.5, alternative="greater").pvalue)
        if negative
        else 1.0
    )
    checked = name in GUARDED
    violated = checked and (
        (negative >= guard.min_flips and p_flips < policy.alpha) or p_worse < policy.alpha
    )
    n = len(champ)
    return SliceCheck(
        name=name,
        n_examples=n,
        champion_accuracy=float(champ.mean()) if n else 0.0,
        challenger_accuracy=float(chall.mean()) if n else 0.0,
        champion_correct=correct,
        negative_flips=negative,
        positive_flips=positive,
        allowed_flip_rate=guard.max_flip_rate,
        alpha=policy.alpha,
        p_flips=p_flips,
        p_worse=p_worse,
        checked=checked,
        violated=bool(violated),
    )
