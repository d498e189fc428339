"""The tabular featurizer: a fixed-width table with one entry per column per row, running
statistics that an update merges exactly, and a bundle round-trip that changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import ConfigError, IncompatibleModel
from lifelong.data.schema import CATEGORICAL, NUMERIC, canonical_row
from lifelong.features.tabular import (
    CLIP,
    MAX_CATEGORIES,
    TabularFeaturizer,
    column_stats,
    numeric_stats,
)

ROWS = [
    {"age": 30.0, "income": 1000.0, "job": "clerk"},
    {"age": 50.0, "income": None, "job": "nurse"},
    {"age": 40.0, "income": 3000.0, "job": None},
]


def _fitted(rows: list[dict[str, float | str | None]] = ROWS) -> TabularFeaturizer:
    featurizer = TabularFeaturizer(64)
    featurizer.fit(rows)
    return featurizer


def test_columns_are_sorted_and_typed_from_the_rows() -> None:
    assert _fitted().columns == [("age", NUMERIC), ("income", NUMERIC), ("job", CATEGORICAL)]


def test_every_row_has_one_entry_per_column_in_a_fixed_width() -> None:
    featurizer = _fitted()
    matrix = featurizer.transform_rows([*ROWS, {}, {"age": 1e9, "job": "pilot"}]).sparse
    assert matrix.shape == (5, 64)
    assert list(np.diff(matrix.indptr)) == [3] * 5
    assert all(len(set(matrix[i].indices)) == 3 for i in range(5))


def test_numeric_values_are_standardized_and_clipped() -> None:
    featurizer = _fitted()
    dense = featurizer.transform_rows([{"age": 50.0}, {"age": 1e9}]).sparse.toarray()
    std = np.std([30.0, 50.0, 40.0])
    assert dense[0, 0] == pytest.approx((50.0 - 40.0) / std, rel=1e-6)
    assert dense[1, 0] == pytest.approx(CLIP)  # out of range: clipped, not an error


def test_a_missing_numeric_value_sets_its_flag_instead() -> None:
    featurizer = _fitted()
    dense = featurizer.transform_rows([{"age": None, "income": 1000.0, "job": "clerk"}])
    row = dense.sparse.toarray()[0]
    n_numeric = len(featurizer.numeric)
    assert row[0] == 0.0
    assert row[n_numeric + 0] == 1.0  # age's missing flag
    assert row[n_numeric + 1] == 0.0


def test_an_unseen_category_maps_into_the_table() -> None:
    featurizer = _fitted()
    (index,) = [
        i for i in featurizer.transform_rows([{"job": "astronaut"}]).sparse.indices if i >= 4
    ]
    assert featurizer.offset <= index < featurizer.buckets
    assert "astronaut" not in featurizer.stats["job"].categories


def test_transform_reads_canonical_texts_as_transform_rows_does() -> None:
    featurizer = _fitted()
    texts = [canonical_row(row) for row in ROWS]
    a, b = featurizer.transform(texts).sparse, featurizer.transform_rows(ROWS).sparse
    assert (a != b).nnz == 0


def test_spec_and_state_round_trip_through_json_to_identical_transforms() -> None:
    featurizer = _fitted()
    spec, state = (
        json.loads(json.dumps(featurizer.spec())),
        json.loads(json.dumps(featurizer.state())),
    )
    again = TabularFeaturizer.from_spec(spec, state)
    probe = [*ROWS, {"age": 99.0, "job": "new"}, {}]
    a, b = featurizer.transform_rows(probe).sparse, again.transform_rows(probe).sparse
    assert (a != b).nnz == 0
    assert again.columns == featurizer.columns
    assert again.stats == featurizer.stats


def test_a_changed_column_type_against_the_parent_names_the_column() -> None:
    parent = _fitted()
    child = TabularFeaturizer(64)
    changed = [{**row, "age": "old"} for row in ROWS]
    with pytest.raises(IncompatibleModel, match="column 'age' was numeric in the parent"):
        child.fit(changed, parent)


def test_a_vanished_or_new_column_against_the_parent_is_named() -> None:
    parent = _fitted()
    with pytest.raises(IncompatibleModel) as caught:
        TabularFeaturizer(64).fit([{"age": 1.0, "job": "a", "branch": "x"}], parent)
    assert "'branch' is new" in caught.value.message
    assert "'income' of the parent model is gone" in caught.value.message


def test_a_column_missing_in_every_new_row_keeps_the_parents_type() -> None:
    parent = _fitted()
    child = TabularFeaturizer(64)
    child.fit([{"age": 1.0, "income": None, "job": None}], parent)
    assert child.columns == parent.columns


def test_too_narrow_a_table_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="buckets"):
        TabularFeaturizer(20).fit([{f"x{i}": 1.0 for i in range(5)}])


def test_categories_past_the_cap_mark_the_column_open() -> None:
    stats = column_stats([f"c{i}" for i in range(MAX_CATEGORIES + 1)], CATEGORICAL)
    assert stats.open
    assert len(stats.categories) == MAX_CATEGORIES


_NUMBER = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
_CATEGORY = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
_ROW = st.fixed_dictionaries({"x": _NUMBER, "y": _NUMBER, "k": _CATEGORY})
_FULL_ROW = st.fixed_dictionaries(
    {"x": st.floats(-1e6, 1e6), "y": st.floats(-1e6, 1e6), "k": st.sampled_from(["a", "e"])}
)
_TRAINED = st.tuples(_FULL_ROW, st.lists(_ROW, max_size=20)).map(lambda t: [t[0], *t[1]])
"""Rows a parent trained on: every column holds a value (the reader refuses an empty one)."""


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@settings(deadline=None, max_examples=200)
@given(
    first=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=30),
    second=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=30),
)
def test_merged_statistics_equal_those_of_the_concatenation(
    first: list[float | None], second: list[float | None]
) -> None:
    merged = column_stats(first, NUMERIC).merge(column_stats(second, NUMERIC))
    whole = column_stats(first + second, NUMERIC)
    assert (merged.count, merged.missing) == (whole.count, whole.missing)
    assert (merged.low, merged.high) == (whole.low, whole.high)
    assert _close(merged.mean, whole.mean)
    assert abs(merged.m2 - whole.m2) <= 1e-9 * max(1.0, whole.m2) + 1e-9 * whole.count * max(
        1.0, whole.mean**2
    )


@settings(deadline=None, max_examples=100)
@given(
    old=_TRAINED,
    new=st.lists(_ROW, min_size=1, max_size=20),
)
def test_an_update_with_merge_equals_fitting_on_all_rows(
    old: list[dict[str, float | str | None]], new: list[dict[str, float | str | None]]
) -> None:
    def fit(rows: list[dict[str, float | str | None]], parent: TabularFeaturizer | None = None):
        featurizer = TabularFeaturizer(64)
        featurizer.fit(rows, parent, merge=parent is not None)
        return featurizer

    parent = fit(old)
    updated, whole = fit(new, parent), fit(old + new)
    assert updated.columns == whole.columns
    for key, stats in whole.stats.items():
        got = updated.stats[key]
        assert (got.count, got.missing, got.low, got.high) == (
            stats.count,
            stats.missing,
            stats.low,
            stats.high,
        )
        assert (got.categories, got.open) == (stats.categories, stats.open)
        assert _close(got.mean, stats.mean)
        assert _close(got.std, stats.std) or min(got.std, stats.std) < 1e-5
    probe = old + new
    a = updated.transform_rows(probe).sparse.toarray()
    b = whole.transform_rows(probe).sparse.toarray()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@settings(deadline=None, max_examples=100)
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.floats(-1e6, 1e6)), st.one_of(st.none(), _NUMBER)),
        max_size=30,
    )
)
def test_numeric_stats_of_a_matrix_are_each_columns_stats(
    pairs: list[tuple[float | None, float | None]],
) -> None:
    """The vectorized pass an online update uses equals the per-column statistics."""
    columns = [[a for a, _ in pairs], [b for _, b in pairs]]
    raw = np.array([[np.nan if v is None else v for v in pair] for pair in pairs]).reshape(-1, 2)
    for got, values in zip(numeric_stats(raw), columns, strict=True):
        want = column_stats(values, NUMERIC)
        assert (got.count, got.missing, got.low, got.high) == (
            want.count,
            want.missing,
            want.low,
            want.high,
        )
        assert _close(got.mean, want.mean)
        assert abs(got.m2 - want.m2) <= 1e-9 * max(1.0, want.m2)


@settings(deadline=None, max_examples=50)
@given(
    old=_TRAINED,
    new=st.lists(_ROW, min_size=1, max_size=20),
    forget=st.sampled_from([1.0, 0.5]),
)
def test_merge_stats_is_an_update_with_merge_after_forgetting(
    old: list[dict[str, float | str | None]],
    new: list[dict[str, float | str | None]],
    forget: float,
) -> None:
    parent, merged = TabularFeaturizer(64), TabularFeaturizer(64)
    parent.fit(old)
    merged.fit(old)
    parent.stats = {k: s.forget(forget) for k, s in parent.stats.items()}
    updated = TabularFeaturizer(64)
    updated.fit(new, parent, merge=True)
    batch = {k: column_stats([row.get(k) for row in new], t) for k, t in merged.columns}
    merged.merge_stats(batch, forget)
    assert merged.stats == updated.stats
    probe = old + new
    np.testing.assert_array_equal(
        merged.transform_rows(probe).sparse.toarray(),
        updated.transform_rows(probe).sparse.toarray(),
    )
