"""ColumnStats.forget: exponentially weighted statistics that follow a drifting stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.data.schema import NUMERIC
from lifelong.features.tabular import column_stats


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=40),
    st.floats(0.05, 1.0),
)
def test_forgetting_keeps_mean_and_spread_and_scales_the_count(
    values: list[float], factor: float
) -> None:
    stats = column_stats(values, NUMERIC)
    forgotten = stats.forget(factor)
    assert forgotten.count == max(1, round(stats.count * factor))
    assert forgotten.mean == stats.mean
    assert forgotten.std == pytest.approx(stats.std, rel=1e-9, abs=1e-9)


def test_forgetting_lets_new_rows_move_the_mean_faster() -> None:
    old, new = column_stats([0.0] * 100, NUMERIC), column_stats([10.0] * 10, NUMERIC)
    assert old.merge(new).mean == pytest.approx(100 / 110)
    assert old.forget(0.1).merge(new).mean == pytest.approx(5.0)
