"""Arrays and data frames into the typed rows the tabular featurizer reads.

The scikit-learn and River faces take data as their users hold it: a numeric array (columns
``x0``, ``x1``, ...), an object array mixing numbers and strings, or a data frame (pandas,
polars, pyarrow: anything narwhals reads) with categorical and string columns. Each becomes a
list of rows ``{column: float | str | None}``, as :mod:`lifelong.data.table_read` makes of a
file, so the featurizer, the model and the bundle cannot tell where the rows came from.

A column's type is inferred once, from the data a model is first fitted on (as for a file: see
:func:`~lifelong.data.schema.infer_type`); later data is read with those types, and a value
that does not fit its column is a :class:`~lifelong.data.schema.ValueProblem` naming the column
and the row, never silently a missing value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
from numpy.typing import NDArray

from lifelong.data.schema import (
    NUMERIC,
    ColumnType,
    ValueProblem,
    category,
    infer_type,
    is_missing,
    parse_number,
)

Row = dict[str, float | str | None]


def is_frame(data: object) -> bool:
    """Whether ``data`` is a data frame (pandas, polars, pyarrow, ...) rather than an array."""
    return bool(nw.dependencies.is_into_dataframe(data))


def frame_columns(frame: Any) -> tuple[list[str], list[list[object]], list[bool]]:
    """Column names, values (missing ones ``None``) and whether each column is numeric."""
    table = nw.from_native(frame, eager_only=True)
    names = [str(name) for name in table.columns]
    # get_column, not table[name]: a pandas frame built from an array has integer column
    # names, and an integer in brackets selects a row
    values = [table.get_column(name).to_list() for name in table.columns]
    numeric = [table.schema[name].is_numeric() for name in table.columns]
    return names, values, numeric


def array_names(n_columns: int) -> list[str]:
    """The column names of an array without any: ``x0``, ``x1``, ..."""
    return [f"x{i}" for i in range(n_columns)]


def array_rows(
    array: NDArray[Any], names: Sequence[str], kinds: Mapping[str, ColumnType] | None = None
) -> tuple[list[Row], dict[str, ColumnType]]:
    """The rows of a 2-D array and the type of each column.

    A numeric array is numeric throughout (NaN is a missing value, infinity an error); an
    object or string array is read column by column as a data frame's columns are.
    """
    if array.dtype.kind in "biuf" and (kinds is None or set(kinds.values()) <= {NUMERIC}):
        values = np.asarray(array, dtype=np.float64)
        infinite = np.argwhere(np.isinf(values))
        if len(infinite):
            row, column = (int(i) for i in infinite[0])
            raise ValueProblem(
                f"X contains infinity in column {names[column]!r} at row {row}: "
                "a numeric value must be finite (NaN is read as a missing value)"
            )
        cells = values.astype(object)
        cells[np.isnan(values)] = None
        rows: list[Row] = [dict(zip(names, row, strict=True)) for row in cells.tolist()]
        return rows, dict.fromkeys(names, NUMERIC)
    columns = [array[:, j].tolist() for j in range(array.shape[1])]
    return typed_rows(names, columns, kinds)


def typed_rows(
    names: Sequence[str],
    columns: Sequence[Sequence[object]],
    kinds: Mapping[str, ColumnType] | None = None,
    numeric: Sequence[bool] | None = None,
) -> tuple[list[Row], dict[str, ColumnType]]:
    """Rows from column values, each column read as ``kinds`` says (else as inferred).

    ``numeric`` marks columns a data frame declares numeric (so an integer column of codes
    stays numeric even where its values would also read as categories).

    Raises
    ------
    TypeError
        A value is neither a number, a string, a boolean nor missing (e.g. a dict).
    ValueProblem
        A numeric column holds a value that is not a finite number.
    """
    found: dict[str, ColumnType] = {}
    typed: list[list[float | str | None]] = []
    for j, (name, values) in enumerate(zip(names, columns, strict=True)):
        cells = [_scalar(value, name, i) for i, value in enumerate(values)]
        kind = (kinds or {}).get(name)
        if kind is None:
            declared = numeric is not None and numeric[j]
            kind = NUMERIC if declared else infer_type(cells) or NUMERIC
        found[name] = kind
        typed.append(_numbers(cells, name) if kind == NUMERIC else _categories(cells))
    n = len(columns[0]) if columns else 0
    rows: list[Row] = [{name: typed[j][i] for j, name in enumerate(names)} for i in range(n)]
    return rows, found


def _scalar(value: object, name: str, row: int) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool | Real):
        return value
    raise TypeError(
        f"argument must be a string or a number, not {type(value).__name__}: "
        f"column {name!r}, row {row} holds {value!r}"
    )


def _numbers(cells: Sequence[object], name: str) -> list[float | str | None]:
    numbers: list[float | str | None] = []
    for i, value in enumerate(cells):
        if is_missing(value):
            numbers.append(None)
            continue
        number = parse_number(value)
        if number is None:
            raise ValueProblem(
                f"column {name!r} is numeric but row {i} holds {value!r} "
                "(not a finite number; missing values are None, NaN or empty)"
            )
        numbers.append(number)
    return numbers


def _categories(cells: Sequence[object]) -> list[float | str | None]:
    return [None if is_missing(value) else category(value) for value in cells]
