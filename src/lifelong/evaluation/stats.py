"""Paired statistics for two models scored on the same test examples.

Both models see the same examples, so the comparison is paired: only the examples on which they
disagree carry information about which is better. That makes McNemar's test far more sensitive
than comparing two accuracies as if they came from independent samples.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from lifelong.evaluation._records import EvaluationError, Record
from lifelong.evaluation.metrics import check_same_length

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class McNemarResult(Record):
    """McNemar's exact test on the discordant pairs.

    Attributes
    ----------
    only_a
        Examples model A got right and model B got wrong.
    only_b
        Examples model B got right and model A got wrong.
    p_value
        Two-sided exact p-value; 1.0 when the models never disagree.
    """

    only_a: int
    only_b: int
    p_value: float


def mcnemar_exact(a_correct: npt.ArrayLike, b_correct: npt.ArrayLike) -> McNemarResult:
    """McNemar's exact test: are A and B equally accurate on these examples?

    Under the null hypothesis each discordant example is equally likely to favour either model,
    so ``only_b`` is Binomial(``only_a + only_b``, 1/2). The exact binomial test stays valid for
    the small discordant counts typical of two similar models, where the chi-square
    approximation does not.

    >>> result = mcnemar_exact([True] * 9 + [False] * 9, [False] * 9 + [True] * 9)
    >>> result.only_a, result.only_b, result.p_value
    (9, 9, 1.0)
    """
    from scipy.stats import binomtest  # slow to import; only deciding needs it

    a, b = _paired(a_correct, b_correct)
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    if only_a + only_b == 0:
        return McNemarResult(only_a=0, only_b=0, p_value=1.0)
    p_value = binomtest(only_b, only_a + only_b, 0.5, alternative="two-sided").pvalue
    return McNemarResult(only_a=only_a, only_b=only_b, p_value=min(1.0, float(p_value)))


@dataclass(frozen=True)
class BootstrapInterval(Record):
    """Percentile confidence interval of ``accuracy(B) - accuracy(A)``."""

    difference: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    seed: int


def paired_bootstrap(
    a_correct: npt.ArrayLike,
    b_correct: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> BootstrapInterval:
    """Paired bootstrap interval of the accuracy difference ``B - A``.

    Each resample draws test examples with replacement and keeps both models' results on each
    draw together. Per example the difference is -1, 0 or +1, so a resample's mean difference
    depends only on how many draws fall in each of those three groups: one multinomial draw per
    resample gives exactly the bootstrap distribution in O(n_resamples) memory, whatever the
    size of the test set.

    >>> ci = paired_bootstrap([True, False] * 50, [True, True] * 50, n_resamples=2000, seed=1)
    >>> ci.difference, ci.low < 0.5 < ci.high
    (0.5, True)
    """
    a, b = _paired(a_correct, b_correct)
    if not 0.0 < confidence < 1.0:
        raise EvaluationError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise EvaluationError(f"n_resamples must be at least 1, got {n_resamples}")
    n = len(a)
    per_example = b.astype(np.int64) - a.astype(np.int64)
    shares = np.array([(per_example == v).sum() for v in (-1, 0, 1)], dtype=np.float64) / n
    counts = np.random.default_rng(seed).multinomial(n, shares, size=n_resamples)
    differences = (counts[:, 2] - counts[:, 0]) / n
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return BootstrapInterval(
        difference=float(per_example.mean()),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )


def tarone_holm(p_values: Mapping[K, float], min_p: Mapping[K, float], alpha: float) -> set[K]:
    """Keys whose exact p-values are significant at family-wise level ``alpha``.

    Holm's step-down correction over only the hypotheses that *could* be significant (Tarone
    1990): a one-sided exact test on ``n`` discordant examples can never give a p-value below
    ``0.5 ** n``, so an intent with 2 test examples cannot count against the others. The number
    of hypotheses kept, ``k``, is the smallest with at most ``k`` of them able to reach
    ``alpha / k``; that keeps the family-wise error at ``alpha`` while a small intent that loses
    everything, among many intents that lost nothing, is still caught.

    >>> sorted(tarone_holm({"a": 0.03, "b": 1.0, "c": 1.0}, {"a": 0.03, "b": 0.5, "c": 0.25},
    ...                    0.05))
    ['a']
    """
    m = len(p_values)
    k = 1
    while k < m and sum(1 for key in p_values if min_p[key] <= alpha / k) > k:
        k += 1
    testable = {key: p for key, p in p_values.items() if min_p[key] <= alpha / k}
    ordered = sorted(testable.items(), key=lambda item: (item[1], str(item[0])))
    chosen: set[K] = set()
    for rank, (key, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - rank):
            break
        chosen.add(key)
    return chosen


def exceeds_rate(count: int, trials: int, rate: float) -> float:
    """One-sided exact p-value that ``count`` events in ``trials`` come from a rate <= ``rate``.

    Used for negative flips: a clean update breaks a few examples the champion got right
    (training is noisy), so the question is whether it broke *more* than that allowance.

    >>> round(exceeds_rate(8, 85, 0.02), 5)
    0.00031
    >>> exceeds_rate(0, 85, 0.02)
    1.0
    """
    from scipy.stats import binom

    if count <= 0 or trials <= 0:
        return 1.0
    return float(min(1.0, binom.sf(count - 1, trials, rate)))


def _paired(
    a_correct: npt.ArrayLike, b_correct: npt.ArrayLike
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    check_same_length(a_correct=a, b_correct=b)
    return a, b
