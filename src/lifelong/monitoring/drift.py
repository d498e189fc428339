"""Two-sample drift statistics over what the served model predicts.

The loop compares a recent window of the prediction log with the champion's reference window
(predictions right after it was promoted): confidences by PSI and the KS test, predicted intents
by a chi-square test. Each function returns a :class:`DriftResult` carrying its statistic,
threshold and verdict, so a trigger can log exactly why it fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class DriftResult:
    """One two-sample test.

    ``threshold`` is what ``statistic`` is compared with for PSI (drift when at or above it),
    and the significance level ``p_value`` is compared with for the tests (drift when below).
    """

    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int

    def figures(self) -> dict[str, float | int | bool | None]:
        """Flat, JSON-safe figures prefixed by the test name, for logs."""
        return {
            self.test: self.statistic,
            f"{self.test}_p_value": self.p_value,
            f"{self.test}_threshold": self.threshold,
            f"{self.test}_drifted": self.drifted,
        }


def _sample(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError(f"{what} is empty: a drift statistic needs values on both sides")
    return array


def psi(
    reference: Sequence[float],
    current: Sequence[float],
    bins: int = 10,
    threshold: float = 0.2,
    epsilon: float = PSI_EPSILON,
) -> DriftResult:
    """Population stability index of ``current`` against ``reference``.

    Bins are reference quantiles, so each holds about ``1/bins`` of the reference whatever the
    shape (confidences pile up near 1.0; repeated edges are merged). Values below the reference
    minimum get their own bin, so a model growing less sure than it ever was shows up even when
    the reference is nearly constant. Shares are smoothed by ``epsilon`` so an empty bin does not
    make the index infinite. Every term ``(c - r) ln(c / r)`` is non-negative, so PSI >= 0, and
    0 means the same histogram. Rule of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 shifted.

    >>> psi([0.1, 0.5, 0.9] * 50, [0.1, 0.5, 0.9] * 30).statistic
    0.0
    """
    ref = _sample(reference, "reference")
    cur = _sample(current, "current")
    quantiles = np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[:-1])
    cuts = np.unique(quantiles)
    n_bins = cuts.size + 1
    ref_share = np.bincount(np.searchsorted(cuts, ref, side="right"), minlength=n_bins) / ref.size
    cur_share = np.bincount(np.searchsorted(cuts, cur, side="right"), minlength=n_bins) / cur.size
    ref_share = (ref_share + epsilon) / (1.0 + epsilon * n_bins)
    cur_share = (cur_share + epsilon) / (1.0 + epsilon * n_bins)
    value = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    value = max(value, 0.0)  # rounding can give -1e-17 for identical histograms
    return DriftResult("psi", value, None, threshold, value >= threshold, ref.size, cur.size)


def ks_test(
    reference: Sequence[float], current: Sequence[float], alpha: float = 0.01
) -> DriftResult:
    """Two-sample Kolmogorov-Smirnov test on confidences (``scipy.stats.ks_2samp``).

    Sensitive to any change of shape, and with thousands of predictions to tiny ones: pair it
    with PSI, which measures how large the change is.
    """
    from scipy import stats  # slow to import (0.6 s); ``lifelong train`` imports this module

    ref = _sample(reference, "reference")
    cur = _sample(current, "current")
    result = stats.ks_2samp(ref, cur)
    p_value = float(result.pvalue)
    return DriftResult(
        "ks", float(result.statistic), p_value, alpha, p_value < alpha, ref.size, cur.size
    )


def chi_square_labels(
    reference_counts: Mapping[str, int],
    current_counts: Mapping[str, int],
    alpha: float = 0.01,
) -> DriftResult:
    """Chi-square test of homogeneity on predicted-intent counts.

    Intents predicted on one side only count as zero on the other (a new intent appearing is
    drift, not an error). With fewer than two intents overall there is nothing to compare and
    the result is "no drift" with p = 1.
    """
    labels = sorted(set(reference_counts) | set(current_counts))
    table = np.array(
        [
            [reference_counts.get(label, 0) for label in labels],
            [current_counts.get(label, 0) for label in labels],
        ],
        dtype=float,
    )
    n_reference, n_current = int(table[0].sum()), int(table[1].sum())
    if n_reference == 0 or n_current == 0:
        raise ValueError("label counts are empty: a drift statistic needs values on both sides")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return DriftResult("chi2", 0.0, 1.0, alpha, False, n_reference, n_current)
    from scipy import stats  # see ks_test

    result = stats.chi2_contingency(table, correction=False)
    p_value = float(result.pvalue)
    return DriftResult(
        "chi2", float(result.statistic), p_value, alpha, p_value < alpha, n_reference, n_current
    )
