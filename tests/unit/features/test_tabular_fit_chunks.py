"""TabularFeaturizer.fit_chunks: rows given a chunk at a time (a stream's) fit the statistics
of all the rows at once, whatever the chunking."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.core.errors import IncompatibleModel
from lifelong.data.stream import chunked
from lifelong.features.tabular import MAX_CATEGORIES, TabularFeaturizer

Row = dict[str, float | str | None]

numbers = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False))
rows = st.lists(
    st.fixed_dictionaries(
        {"x": numbers, "y": numbers, "job": st.one_of(st.none(), st.sampled_from("abcdef"))}
    ),
    min_size=1,
    max_size=60,
)


def _fit(data: list[Row], size: int | None = None) -> TabularFeaturizer:
    featurizer = TabularFeaturizer(64)
    if size is None:
        featurizer.fit(data)
    else:
        featurizer.fit_chunks(chunked(data, size))
    return featurizer


@given(rows, st.integers(1, 20))
def test_any_chunking_gives_the_statistics_of_all_rows(data: list[Row], size: int) -> None:
    whole, chunks = _fit(data), _fit(data, size)
    assert chunks.columns == whole.columns
    for key, stats in whole.stats.items():
        merged = chunks.stats[key]
        assert (merged.count, merged.missing) == (stats.count, stats.missing)
        assert (merged.low, merged.high) == (stats.low, stats.high)
        assert (merged.categories, merged.open) == (stats.categories, stats.open)
        scale = max([1.0, *(abs(v) for r in data if isinstance(v := r.get(key), float))])
        assert math.isclose(merged.mean, stats.mean, rel_tol=1e-9, abs_tol=1e-9 * scale)
        variance = stats.m2 / stats.count if stats.count else 0.0
        merged_variance = merged.m2 / merged.count if merged.count else 0.0
        assert math.isclose(merged_variance, variance, rel_tol=1e-6, abs_tol=1e-9 * scale * scale)


def test_one_chunk_is_the_in_memory_fit_to_the_bit() -> None:
    data: list[Row] = [{"x": 0.1 * i, "job": "ab"[i % 2]} for i in range(50)]
    assert _fit(data, 50).state() == _fit(data).state()


def test_a_column_first_seen_in_a_later_chunk_counts_earlier_rows_missing() -> None:
    data: list[Row] = [{"x": 1.0}] * 5 + [{"x": 2.0, "job": "a"}] * 5
    chunks = _fit(data, 5)
    assert chunks.state() == _fit(data).state()
    assert chunks.stats["job"].missing == 5


def test_categories_past_the_cap_across_chunks_keep_the_smallest() -> None:
    data: list[Row] = [{"job": f"c{i:04d}"} for i in range(2 * MAX_CATEGORIES)][::-1]
    chunks, whole = _fit(data, 100), _fit(data)
    assert chunks.stats["job"].categories == whole.stats["job"].categories
    assert chunks.stats["job"].open


def test_chunks_against_a_parent_with_other_columns_are_refused() -> None:
    parent = _fit([{"x": 1.0, "job": "a"}])
    with pytest.raises(IncompatibleModel, match="'job' was categorical"):
        TabularFeaturizer(64).fit_chunks([[{"x": 1.0, "job": 2.0}]], parent)
