"""Reading tabular files (CSV, JSONL, Parquet) into examples whose text is a canonical row.

Each file is read and typed on its own (declared ``columns.types`` first, otherwise the file's
values decide, see :func:`~lifelong.data.schema.infer_type`), and every row is checked
against the types: a bad value is an error at file:line, the other rows are kept for the
report, and nothing trains while an error stands. :func:`check_tables` then compares the files
of one read: a column missing from a file, or numeric in one and categorical in another, is an
error naming the column and both files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.config import Columns
from lifelong.core.errors import DataError, ValidationFailed
from lifelong.core.text_check import value_problem
from lifelong.core.types import Example
from lifelong.data.result import ReadResult
from lifelong.data.schema import (
    NUMERIC,
    ColumnType,
    TableSchema,
    ValueProblem,
    canonical_row,
    column_key,
    infer_type,
    is_missing,
    parse_number,
    parse_row,
)
from lifelong.data.text_io import read_data_text

Record = dict[str, Any]


@dataclass
class FileColumns:
    """The feature columns of one file: type (``None``: no value present) and where a value
    that is not a number first occurs (for the message when files disagree)."""

    source: str
    types: dict[str, ColumnType | None]
    first_text: dict[str, str] = field(default_factory=dict)


def _csv_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    text = read_data_text(path, result)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    source = str(path)
    try:
        header = next(reader, None)
        if header is None:
            return
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row:
                continue
            if len(row) != len(header):
                result.error(
                    "malformed-csv",
                    f"expected {len(header)} fields as in the header, found {len(row)}",
                    source,
                    line,
                )
                continue
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as error:
        result.error("malformed-csv", f"malformed CSV: {error}", source, reader.line_num)


def _jsonl_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    text = read_data_text(path, result)
    if text is None:
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            result.error(
                "malformed-json",
                f"malformed JSON at column {error.colno} ({error.msg}); expected one object "
                "per line mapping column names to values",
                str(path),
                number,
            )
            continue
        if not isinstance(record, dict):
            result.error(
                "malformed-json",
                f"expected a JSON object, got {type(record).__name__}",
                str(path),
                number,
            )
            continue
        yield number, record


def _parquet_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    import pyarrow.parquet as pq

    from lifelong.data.tabular import table_rows

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several unrelated types for bad files
        result.error("malformed-parquet", f"not a readable Parquet file: {error}", str(path))
        return
    for number, row in enumerate(table_rows(table, result, str(path)), start=1):
        if row is not None:
            yield number, row


_READERS = {".csv": _csv_records, ".jsonl": _jsonl_records, ".parquet": _parquet_records}
TABLE_SUFFIXES = tuple(_READERS)


def read_records(path: Path) -> list[Record]:
    """The raw rows of a CSV, JSONL or Parquet file (to predict), or every problem raised.

    Raises
    ------
    ValidationFailed
        Listing each malformed line; nothing is returned then.
    """
    result = ReadResult(files=[str(path)])
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"{path}: rows are read from {', '.join(TABLE_SUFFIXES)} files, not {path.suffix!r}"
        )
    try:
        records = [record for _, record in reader(path, result)]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    if result.errors:
        raise ValidationFailed(result.problems, hint="fix the lines above")
    return records


def _keyed(record: Mapping[str, Any]) -> Record:
    return {column_key(str(name)): value for name, value in record.items()}


def _not_number(value: object) -> bool:
    return not is_missing(value) and parse_number(value) is None


def read_table(path: Path, columns: Columns) -> ReadResult:
    """Read one tabular file into examples (see the module docstring)."""
    result = ReadResult(files=[str(path)])
    source = str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        result.error(
            "unknown-type",
            f"a tabular project reads {', '.join(TABLE_SUFFIXES)} files, not {path.suffix!r}",
            source,
        )
        return result
    rows = [(line, _keyed(record)) for line, record in reader(path, result)]
    if not rows:
        if not result.errors:
            result.warning("empty-file", "no rows read from this file", source)
        return result
    assert columns.target is not None, "read_table is for projects with columns.target"
    target, stamp = column_key(columns.target), column_key(columns.timestamp)
    found = list(rows[0][1])
    wanted = (
        [column_key(name) for name in columns.features]
        if columns.features is not None
        else [name for name in found if name not in (target, stamp)]
    )
    missing = [name for name in (target, *wanted) if all(name not in r for _, r in rows)]
    if missing:
        result.error(
            "missing-column",
            f"lacks column(s) {', '.join(map(repr, missing))}; found "
            f"{', '.join(map(repr, found))} (set columns.target / columns.features in "
            "config.yml)",
            source,
            rows[0][0],
        )
        return result
    declared = {column_key(name): kind for name, kind in columns.types.items()}
    info = FileColumns(source, {})
    for name in wanted:
        info.types[name] = declared.get(name) or infer_type(r.get(name) for _, r in rows)
        if info.types[name] == NUMERIC:
            continue
        text_at = next(
            (
                line
                for line, r in rows
                if not is_missing(r.get(name)) and parse_number(r.get(name)) is None
            ),
            None,
        )
        if text_at is not None:
            info.first_text[name] = f"{source}:{text_at}"
    result.tables.append(info)
    schema = TableSchema(
        columns.target,
        columns.kind,
        tuple((name, info.types[name] or NUMERIC) for name in wanted),
    )
    for line, record in rows:
        _add_row(result, schema, record, target, stamp, source, line)
    return result


def _add_row(
    result: ReadResult,
    schema: TableSchema,
    record: Record,
    target: str,
    stamp: str,
    source: str,
    line: int,
) -> None:
    for name, value in record.items():
        problem = value_problem(value, f"column {name!r}")
        if problem is None and isinstance(name, str):
            problem = value_problem(name, "a column name")
        if problem is not None:
            result.error("invalid-text", f"row {problem}", source, line)
            return
    try:
        label = schema.label(record.get(target))
        values = schema.features(record)
    except ValueProblem as error:
        result.error("bad-value", str(error), source, line)
        return
    text = canonical_row(values)
    timestamp = record.get(stamp)
    result.examples.append(
        Example(
            text=text,
            label=label,
            original=text,
            source=source,
            line=line,
            timestamp=None if is_missing(timestamp) else str(timestamp),
        )
    )


def check_tables(result: ReadResult) -> None:
    """Record an error for every column the files of ``result`` disagree on, and for a column
    that holds no value in any file."""
    if not result.tables:
        return
    first = result.tables[0]
    known: dict[str, tuple[ColumnType | None, FileColumns]] = {}
    for table in result.tables:
        if set(table.types) != set(first.types):
            differ = sorted(set(table.types) ^ set(first.types))
            result.error(
                "schema-mismatch",
                f"columns differ from {first.source}: {', '.join(map(repr, differ))} in one "
                "file only; every data file needs the same feature columns",
                table.source,
            )
            continue
        for name, kind in table.types.items():
            seen, where = known.get(name, (None, table))
            if kind is not None and seen is not None and kind != seen:
                places = [f"{w.source} ({k})" for k, w in ((seen, where), (kind, table))]
                text_at = table.first_text.get(name) or where.first_text.get(name)
                result.error(
                    "schema-mismatch",
                    f"column {name!r} is {' but '.join(places)}"
                    + (f"; first non-numeric value at {text_at}" if text_at else "")
                    + "; fix the values or declare the type in columns.types",
                    table.source,
                )
            elif seen is None:
                known[name] = (kind, table)
    for name in first.types:
        if known.get(name, (None,))[0] is None and all(name in t.types for t in result.tables):
            result.error(
                "empty-column",
                f"column {name!r} holds no value in any row; remove it from the data or "
                "from columns.features",
                first.source,
            )


def table_record(example: Example, columns: Columns) -> Record:
    """A tabular example as a row of a data file (JSONL) that :func:`read_table` reads back as
    the same example: its feature values, the target, and the timestamp when it has one."""
    assert columns.target is not None, "table_record is for projects with columns.target"
    record: Record = {**parse_row(example.text), columns.target: example.label}
    if example.timestamp is not None:
        record[columns.timestamp] = example.timestamp
    return record
