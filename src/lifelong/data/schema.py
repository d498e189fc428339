"""Columns of tabular data: their types, how raw values parse, and a row's canonical text.

A tabular row becomes an :class:`~lifelong.core.types.Example` like a text does: its ``text`` is
the row's features as canonical JSON (keys and categories normalized as texts are, numbers as
floats, missing values as ``null``) and its ``label`` the target (a class name, or for
regression the number's ``repr``). Snapshots, stable splits, replay buffers and the registry
then serve rows unchanged, and a row's identity is the hash of its content as a text's is.

The canonical text is escaped to ASCII, so :func:`~lifelong.core.types.normalize_text` leaves
it as it is: a row read back from a snapshot is the same row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lifelong.core.types import normalize_text

ColumnType = Literal["numeric", "categorical"]
NUMERIC: ColumnType = "numeric"
CATEGORICAL: ColumnType = "categorical"

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
"""Strings read as a missing value (after stripping and casefolding), as pandas' CSV reader
and the UCI files (``?``) spell them."""

NUMERIC_SHARE = 0.9
"""A column whose present values parse as numbers this often is numeric; its other values are
errors. Below that it is categorical (declare ``columns.types`` to decide otherwise)."""


class ValueProblem(ValueError):
    """A value that does not fit its column; the message names the column and the value."""


def is_missing(value: object) -> bool:
    """``None``, a float NaN, or a string in :data:`MISSING`.

    >>> [is_missing(v) for v in (None, float("nan"), " NA ", 0, "0")]
    [True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().casefold() in MISSING


def parse_number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not one (booleans are not).

    Negative zero is zero: CSV's ``-0`` reads as ``-0.0`` but JSON's as the integer ``0``, and
    one row must have one canonical text whatever the format.

    >>> parse_number("1e3"), parse_number(" 2 "), parse_number("inf"), parse_number(True)
    (1000.0, 2.0, None, None)
    >>> parse_number("-0"), parse_number(-0.0)
    (0.0, 0.0)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number + 0.0 if math.isfinite(number) else None  # -0.0 + 0.0 is 0.0


def category(value: object) -> str:
    """A categorical value as the normalized string that is hashed.

    Integral floats drop their ``.0`` so that ``1`` read from CSV and ``1.0`` from Parquet
    are one category; booleans are ``true`` / ``false`` as JSON spells them.

    >>> category(" Male "), category(1.0), category(True)
    ('male', '1', 'true')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return normalize_text(str(value))


def infer_type(values: Iterable[object], *, typed: bool = False) -> ColumnType | None:
    """The type of a column from its values, ``None`` when every value is missing.

    ``typed``: the values come from a format with types (JSON, Parquet), where a string is a
    category even when it spells a number; from CSV every value is a string, and those that
    parse as numbers count as numbers.

    >>> infer_type(["1", "2.5", None]), infer_type(["a", "1"]), infer_type([None, ""])
    ('numeric', 'categorical', None)
    >>> infer_type(["7"], typed=True), infer_type([7], typed=True)
    ('categorical', 'numeric')
    """
    count = TypeCount()
    for value in values:
        count.add(value, typed=typed)
    return count.type


@dataclass
class TypeCount:
    """What :func:`infer_type` counts of a column's values, added one at a time, so that a file
    read a chunk at a time is typed by the same rule as a file read whole."""

    present: int = 0
    numbers: int = 0
    boolean: bool = False

    def add(self, value: object, *, typed: bool = False) -> None:
        if is_missing(value):
            return
        self.present += 1
        if isinstance(value, bool):
            self.boolean = True
        elif not (typed and isinstance(value, str)):
            self.numbers += parse_number(value) is not None

    @property
    def type(self) -> ColumnType | None:
        if self.present == 0:
            return None
        if self.boolean:
            return CATEGORICAL
        return NUMERIC if self.numbers >= NUMERIC_SHARE * self.present else CATEGORICAL


def column_key(name: str) -> str:
    """A column name as it appears in canonical rows (normalized, so ``Income`` is ``income``)."""
    return normalize_text(name)


@dataclass(frozen=True)
class TableSchema:
    """The target and typed feature columns of a tabular project.

    ``columns`` holds ``(key, type)`` pairs in the order of the data (keys normalized by
    :func:`column_key`); ``kind`` is ``classification`` or ``regression``.
    """

    target: str
    kind: Literal["classification", "regression"]
    columns: tuple[tuple[str, ColumnType], ...]

    @property
    def types(self) -> dict[str, ColumnType]:
        return dict(self.columns)

    def features(self, record: Mapping[str, object]) -> dict[str, float | str | None]:
        """The typed feature values of a raw record (keys already :func:`column_key`-ed).

        A missing or absent value is ``None``. Raises :class:`ValueProblem` for a value that
        is not a number in a numeric column.
        """
        values: dict[str, float | str | None] = {}
        for key, kind in self.columns:
            raw = record.get(key)
            if is_missing(raw):
                values[key] = None
            elif kind == NUMERIC:
                number = parse_number(raw)
                if number is None:
                    raise ValueProblem(
                        f"column {key!r} is numeric, but this row has {raw!r} (not a finite "
                        "number); fix the value, or declare the column categorical in "
                        "columns.types"
                    )
                values[key] = number
            else:
                values[key] = category(raw)
        return values

    def label(self, raw: object) -> str:
        """The target of a row as the example's label.

        Raises :class:`ValueProblem` for a missing target, or a regression target that is not
        a finite number.
        """
        if is_missing(raw):
            raise ValueProblem(f"the target column {self.target!r} is missing in this row")
        if self.kind == "classification":
            return category(raw) if not isinstance(raw, str) else raw.strip()
        number = parse_number(raw)
        if number is None:
            raise ValueProblem(
                f"the regression target {self.target!r} is {raw!r}, not a finite number"
            )
        return repr(number)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "columns": [list(pair) for pair in self.columns],
        }


def canonical_row(values: Mapping[str, float | str | None]) -> str:
    """The canonical text of typed feature values: sorted keys, ASCII-escaped JSON.

    >>> canonical_row({"b": "caf\\u00e9", "a": 1.0, "c": None})
    '{"a":1.0,"b":"caf\\\\u00e9","c":null}'
    >>> text = canonical_row({"b": "caf\\u00e9", "a": 1.0})
    >>> normalize_text(text) == text
    True
    """
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def parse_row(text: str) -> dict[str, float | str | None]:
    """Inverse of :func:`canonical_row`."""
    values: dict[str, float | str | None] = json.loads(text)
    return values


def encode_row(columns: Sequence[tuple[str, ColumnType]], row: Mapping[str, object]) -> str:
    """The canonical text of a raw row (a request's, a prediction file's) for a model with
    ``columns``; a column the model lacks is an error, one the row lacks a missing value.

    >>> encode_row([("age", "numeric"), ("job", "categorical")], {"Age": "41", "job": "Chef"})
    '{"age":41.0,"job":"chef"}'
    """
    keyed = {column_key(str(name)): value for name, value in row.items()}
    if len(keyed) < len(row):
        names = sorted(map(str, row), key=column_key)
        twice = [n for n in names if sum(column_key(m) == column_key(n) for m in names) > 1]
        raise ValueProblem(
            f"columns {', '.join(map(repr, twice))} are one column once normalized; send one"
        )
    known = [key for key, _ in columns]
    unknown = sorted(set(keyed) - set(known))
    if unknown:
        raise ValueProblem(
            f"unknown column(s) {', '.join(map(repr, unknown))}; the model's columns are "
            f"{', '.join(map(repr, known))}"
        )
    return canonical_row(TableSchema("", "classification", tuple(columns)).features(keyed))


def conform(
    values: Mapping[str, float | str | None], types: Mapping[str, ColumnType]
) -> dict[str, float | str | None]:
    """A row typed on its own (a message) made to fit the data's column ``types``.

    A number in a categorical column becomes its category (``3`` is ``"3"``), a string in a
    numeric column its number, and a column the row lacks a missing value; a string that is no
    number in a numeric column, or a column the data does not have, raises
    :class:`ValueProblem` naming it.

    >>> conform({"age": "41", "zip": 75001.0}, {"age": "numeric", "zip": "categorical"})
    {'age': 41.0, 'zip': '75001'}
    """
    extra = sorted(set(values) - set(types))
    if extra:
        raise ValueProblem(f"column(s) {', '.join(map(repr, extra))} are not in the data")
    return TableSchema("", "classification", tuple(types.items())).features(values)
