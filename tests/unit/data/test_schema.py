"""Typed columns and canonical rows: a row's text is stable under normalization and its example
round-trips through the record stored in snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.types import Example, normalize_text
from lifelong.data.schema import (
    CATEGORICAL,
    NUMERIC,
    TableSchema,
    ValueProblem,
    canonical_row,
    category,
    column_key,
    encode_row,
    infer_type,
    is_missing,
    parse_row,
)

_RAW = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(width=64),
    st.text(max_size=12),
)
_NAMES = st.text(min_size=1, max_size=8)


@st.composite
def _rows(draw: st.DrawFn) -> tuple[TableSchema, dict[str, Any]]:
    """A schema over arbitrary column names and a raw record of arbitrary values, each
    categorical column's value anything and each numeric column's a number or missing."""
    names = draw(st.lists(_NAMES, min_size=1, max_size=4, unique_by=column_key))
    kinds = [draw(st.sampled_from([NUMERIC, CATEGORICAL])) for _ in names]
    record: dict[str, Any] = {}
    for name, kind in zip(names, kinds, strict=True):
        numbers = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))
        record[column_key(name)] = draw(numbers if kind == NUMERIC else _RAW)
    columns = tuple((column_key(n), k) for n, k in zip(names, kinds, strict=True))
    return TableSchema("y", "classification", columns), record


@settings(deadline=None, max_examples=150)
@given(row=_rows())
def test_canonical_row_is_invariant_under_normalize_text(
    row: tuple[TableSchema, dict[str, Any]],
) -> None:
    schema, record = row
    text = canonical_row(schema.features(record))
    assert normalize_text(text) == text
    assert text.isascii()


@settings(deadline=None, max_examples=200)
@given(row=_rows(), label=st.text(min_size=1, max_size=10).filter(lambda s: not is_missing(s)))
def test_a_tabular_example_round_trips_through_its_record(
    row: tuple[TableSchema, dict[str, Any]], label: str
) -> None:
    schema, record = row
    values = schema.features(record)
    text = canonical_row(values)
    example = Example(text=text, label=schema.label(label), original=text, source="a.csv", line=3)
    back = Example.from_record(example.to_record())
    assert back.hash == example.hash
    assert back == example
    assert parse_row(back.text) == values


def test_parse_row_inverts_canonical_row() -> None:
    values = {"b": "caf\u00e9", "a": 1.5, "c": None}
    assert parse_row(canonical_row(values)) == values


def test_features_type_raw_values() -> None:
    schema = TableSchema("y", "classification", (("age", NUMERIC), ("sex", CATEGORICAL)))
    assert schema.features({"age": " 41 ", "sex": " Male "}) == {"age": 41.0, "sex": "male"}
    assert schema.features({"age": "NA"}) == {"age": None, "sex": None}
    with pytest.raises(ValueProblem, match=r"'age' is numeric.*'forty'"):
        schema.features({"age": "forty", "sex": "m"})


def test_one_and_one_point_zero_are_one_category() -> None:
    assert category(1) == category(1.0) == category("1") == "1"


@pytest.mark.parametrize(
    ("kind", "raw", "label"),
    [("classification", " Clerk ", "Clerk"), ("classification", 2.0, "2")]
    + [("regression", value, "1.5") for value in ("1.5", 1.5, " 1.50 ")],
)
def test_label_of_a_target(kind: Any, raw: object, label: str) -> None:
    assert TableSchema("y", kind, ()).label(raw) == label


@pytest.mark.parametrize("raw", [None, "", "NaN", float("nan"), "inf", "high"])
def test_a_regression_target_that_is_not_a_finite_number_is_refused(raw: object) -> None:
    with pytest.raises(ValueProblem, match="'y'"):
        TableSchema("y", "regression", ()).label(raw)


def test_infer_type_takes_a_few_stray_texts_as_numeric_errors() -> None:
    assert infer_type([*map(str, range(10)), "x"]) == NUMERIC  # 10 of 11 are numbers
    assert infer_type([*map(str, range(4)), "x"]) == CATEGORICAL
    assert infer_type([True, 1.0]) == CATEGORICAL


def test_encode_row_refuses_two_spellings_of_one_column() -> None:
    columns = [("age", NUMERIC)]
    assert encode_row(columns, {" AGE ": 3}) == '{"age":3.0}'
    with pytest.raises(ValueProblem, match="'age', 'Age' are one column"):
        encode_row(columns, {"age": 1, "Age": 2})
