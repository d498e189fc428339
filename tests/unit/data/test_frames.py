"""Arrays and data frames into typed rows (lifelong.data.frames)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lifelong.data.frames import array_names, array_rows, frame_columns, is_frame, typed_rows
from lifelong.data.schema import ValueProblem

finite_or_nan = st.floats(allow_infinity=False, width=64)


@settings(deadline=None, max_examples=60)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2), elements=finite_or_nan))
def test_numeric_array_rows_keep_every_value_and_mark_nan_missing(array: np.ndarray) -> None:
    names = array_names(array.shape[1])
    rows, kinds = array_rows(array, names)
    assert set(kinds.values()) <= {"numeric"}
    assert list(kinds) == names
    for i, row in enumerate(rows):
        for j, name in enumerate(names):
            value = array[i, j]
            assert row[name] is None if math.isnan(value) else row[name] == value


@settings(deadline=None, max_examples=60)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-1000, 1000)),
        min_size=1,
        max_size=20,
    )
)
def test_object_column_of_numbers_reads_as_the_numeric_array_would(values: list) -> None:
    objects = np.array(values, dtype=object).reshape(-1, 1)
    floats = np.array([np.nan if v is None else float(v) for v in values]).reshape(-1, 1)
    assert typed_rows(["x0"], [values])[0] == array_rows(floats, ["x0"])[0]
    assert array_rows(objects, ["x0"])[0] == array_rows(floats, ["x0"])[0]


def test_object_array_mixes_numbers_categories_and_missing() -> None:
    array = np.array([[1.5, "Red", None], [np.nan, "blue", None], [2, None, None]], dtype=object)
    rows, kinds = array_rows(array, array_names(3))
    assert kinds == {"x0": "numeric", "x1": "categorical", "x2": "numeric"}
    assert rows == [
        {"x0": 1.5, "x1": "red", "x2": None},
        {"x0": None, "x1": "blue", "x2": None},
        {"x0": 2.0, "x1": None, "x2": None},
    ]
    # read later with the fitted types: a number in a categorical column is a category
    assert array_rows(np.array([[3, 7]], dtype=object), ["x0", "x1"], kinds)[0] == [
        {"x0": 3.0, "x1": "7"}
    ]


def test_frames_read_declared_types() -> None:
    table = pa.table({"code": [1, 2, None], "flag": [True, False, None], "name": ["a", "b", "c"]})
    assert is_frame(table)
    assert not is_frame(np.zeros((2, 2)))
    names, columns, numeric = frame_columns(table)
    assert names == ["code", "flag", "name"]
    assert numeric == [True, False, False]
    rows, kinds = typed_rows(names, columns, numeric=numeric)
    assert kinds == {"code": "numeric", "flag": "categorical", "name": "categorical"}
    assert rows[0] == {"code": 1.0, "flag": "true", "name": "a"}
    assert rows[2]["code"] is None
    assert rows[2]["flag"] is None


def test_bad_values_name_their_column_and_row() -> None:
    with pytest.raises(ValueProblem, match=r"column 'x0' is numeric but row 1 holds 'oops'"):
        array_rows(np.array([[1.0], ["oops"]], dtype=object), ["x0"], {"x0": "numeric"})
    with pytest.raises(TypeError, match=r"not list: column 'x0', row 0"):
        typed_rows(["x0"], [[[1, 2]]])
    with pytest.raises(ValueProblem, match=r"infinity in column 'x1' at row 0"):
        array_rows(np.array([[0.0, np.inf]]), ["x0", "x1"])
