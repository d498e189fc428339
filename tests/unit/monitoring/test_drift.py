"""PSI, KS and chi-square: quiet on samples of one distribution, loud on a clear shift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.monitoring import chi_square_labels, ks_test, psi


def test_psi_is_near_zero_for_the_same_distribution(rng: np.random.Generator) -> None:
    result = psi(rng.beta(8, 2, 5000), rng.beta(8, 2, 1000))
    assert result.statistic < 0.05
    assert not result.drifted


def test_psi_is_large_for_a_shift(rng: np.random.Generator) -> None:
    result = psi(rng.beta(8, 2, 5000), rng.beta(3, 3, 1000), threshold=0.2)
    assert result.statistic > 1.0
    assert result.drifted
    assert result.figures()["psi_threshold"] == 0.2


def test_psi_sees_a_drop_below_a_constant_reference() -> None:
    assert psi([1.0] * 300, [0.6] * 300).drifted
    assert psi([1.0] * 300, [1.0] * 300).statistic == 0.0


def test_psi_refuses_empty_input() -> None:
    with pytest.raises(ValueError, match="current is empty"):
        psi([0.5], [])


@given(
    reference=st.lists(st.floats(0, 1), min_size=1, max_size=200),
    current=st.lists(st.floats(0, 1), min_size=1, max_size=200),
    bins=st.integers(2, 20),
)
def test_psi_is_never_negative(reference: list[float], current: list[float], bins: int) -> None:
    assert psi(reference, current, bins=bins).statistic >= 0.0


def test_ks_detects_a_shift_and_rarely_a_resample(rng: np.random.Generator) -> None:
    reference = rng.beta(8, 2, 2000)
    false_alarms = sum(ks_test(reference, rng.beta(8, 2, 500)).drifted for _ in range(40))
    shifted = ks_test(reference, rng.beta(5, 2, 500), alpha=0.01)
    assert false_alarms <= 3  # alpha = 0.01: about 0.4 expected in 40 resamples
    assert shifted.drifted
    assert shifted.p_value is not None
    assert shifted.p_value < 1e-6


def test_chi_square_detects_a_changed_intent_mix(rng: np.random.Generator) -> None:
    labels = ["greet", "book", "cancel"]

    def counts(n: int, shares: list[float]) -> dict[str, int]:
        return dict(zip(labels, rng.multinomial(n, shares).tolist(), strict=True))

    reference = counts(3000, [0.5, 0.3, 0.2])
    false_alarms = sum(
        chi_square_labels(reference, counts(1000, [0.5, 0.3, 0.2])).drifted for _ in range(40)
    )
    assert false_alarms <= 3
    assert chi_square_labels(reference, counts(1000, [0.4, 0.3, 0.3])).drifted


def test_chi_square_counts_an_intent_seen_on_one_side_only() -> None:
    reference = {"greet": 500, "book": 500}
    current = {"greet": 200, "book": 200, "gift_card": 200}
    result = chi_square_labels(reference, current)
    assert result.drifted
    assert (result.n_reference, result.n_current) == (1000, 600)


def test_chi_square_with_one_intent_has_nothing_to_compare() -> None:
    result = chi_square_labels({"greet": 10, "book": 0}, {"greet": 30})
    assert (result.statistic, result.p_value, result.drifted) == (0.0, 1.0, False)


def test_chi_square_refuses_an_empty_side() -> None:
    with pytest.raises(ValueError, match="label counts are empty"):
        chi_square_labels({"greet": 3}, {})
