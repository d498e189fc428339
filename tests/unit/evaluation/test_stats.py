"""McNemar's exact test and the paired bootstrap."""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pytest

from lifelong.evaluation import (
    BootstrapInterval,
    EvaluationError,
    McNemarResult,
    mcnemar_exact,
    paired_bootstrap,
)


def _pairs(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def test_mcnemar_matches_hand_computed_binomial() -> None:
    # 1 vs 9 discordant: p = 2 * P(X <= 1), X ~ Binomial(10, 1/2) = 2 * (1 + 10) / 1024.
    result = mcnemar_exact(*_pairs(both=50, only_a=1, only_b=9, neither=5))
    assert (result.only_a, result.only_b) == (1, 9)
    assert result.p_value == pytest.approx(22 / 1024, rel=1e-12)


def test_mcnemar_is_symmetric_and_matches_the_binomial_tail() -> None:
    only_a, only_b = 7, 20
    n = only_a + only_b
    expected = 2 * sum(comb(n, k) for k in range(only_a + 1)) / 2**n
    forward = mcnemar_exact(*_pairs(100, only_a, only_b, 10))
    backward = mcnemar_exact(*_pairs(100, only_b, only_a, 10))
    assert forward.p_value == pytest.approx(expected, rel=1e-12)
    assert backward.p_value == pytest.approx(expected, rel=1e-12)


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    a, b = _pairs(both=30, only_a=0, only_b=0, neither=4)
    assert mcnemar_exact(a, b) == McNemarResult(only_a=0, only_b=0, p_value=1.0)


def test_mcnemar_rejects_unpaired_inputs() -> None:
    with pytest.raises(EvaluationError, match="a_correct=2, b_correct=3"):
        mcnemar_exact([True, False], [True, False, True])


def test_bootstrap_interval_contains_the_true_difference() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    a = rng.uniform(size=n) < 0.80
    b = a.copy()
    # Flip a known number of examples each way: true difference (150 - 50) / n = 0.05.
    wrong_a = np.flatnonzero(~a)[:150]
    right_a = np.flatnonzero(a)[:50]
    b[wrong_a], b[right_a] = True, False
    ci = paired_bootstrap(a, b, confidence=0.95, seed=7)
    assert ci.difference == pytest.approx(0.05)
    assert ci.low < 0.05 < ci.high
    # Paired standard error sqrt(p_disc / n) ~ 0.0071: width about 2 * 1.96 * 0.0071.
    assert ci.high - ci.low == pytest.approx(0.0277, abs=0.004)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    a, b = _pairs(both=40, only_a=10, only_b=20, neither=30)
    assert paired_bootstrap(a, b, seed=5) == paired_bootstrap(a, b, seed=5)
    assert paired_bootstrap(a, b, seed=5) != paired_bootstrap(a, b, seed=6)


def test_multinomial_shortcut_matches_explicit_resampling() -> None:
    a, b = _pairs(both=60, only_a=15, only_b=25, neither=20)
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    rng = np.random.default_rng(0)
    explicit = diff[rng.integers(0, len(diff), size=(20_000, len(diff)))].mean(axis=1)
    ci = paired_bootstrap(a, b, n_resamples=20_000, seed=1)
    low, high = np.quantile(explicit, [0.025, 0.975])
    assert ci.low == pytest.approx(low, abs=0.01)
    assert ci.high == pytest.approx(high, abs=0.01)


def test_bootstrap_validates_its_parameters() -> None:
    with pytest.raises(EvaluationError, match=r"confidence must be in \(0, 1\)"):
        paired_bootstrap([True], [False], confidence=1.0)
    with pytest.raises(EvaluationError, match="n_resamples must be at least 1"):
        paired_bootstrap([True], [False], n_resamples=0)


def test_interval_survives_a_json_round_trip() -> None:
    ci = paired_bootstrap(*_pairs(5, 1, 3, 1), seed=2)
    assert BootstrapInterval.from_dict(json.loads(json.dumps(ci.to_dict()))) == ci
