"""The regression gate benchmark's poisoning and its verdict counting (on tiny arrays, never a
trained model)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.testing.scripts import load_script

BENCH = Path(__file__).resolve().parents[3] / "bench" / "gate_regression.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH, "gate_regression_bench")


@settings(deadline=None, max_examples=30)
@given(st.integers(10, 200), st.floats(0.0, 1.0), st.integers(0, 2**16))
def test_poison_replaces_its_share_of_the_targets_and_keeps_the_rest(
    bench: ModuleType, n: int, share: float, seed: int
) -> None:
    y = np.arange(n, dtype=np.float64)
    poisoned = bench.poison(y, share, 5.0, np.random.default_rng(seed))
    changed = poisoned != y
    assert changed.sum() == round(share * n)  # continuous noise never lands on a value
    assert len(poisoned) == n
    assert np.array_equal(y, np.arange(n))  # the input is not modified


def test_the_cap_rejects_a_higher_rmse_and_no_cap_leaves_it_to_the_rank_test(
    bench: ModuleType,
) -> None:
    truth = np.zeros(60)
    champion = np.where(np.arange(60) % 2 == 0, 1.0, -1.0)
    challenger = champion.copy()
    challenger[0] = 4.0  # one large miss: RMSE up 12%, one rank of 60 changed
    outcomes = list(bench.verdicts(champion, challenger, truth, [0.1, 0.3, None], 0.0))
    assert outcomes == [(True, False), (False, False), (False, False)]
