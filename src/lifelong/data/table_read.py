"""Reading tabular files (CSV, JSONL, Parquet) into examples whose text is a canonical row.

Each file is read and typed on its own (declared ``columns.types`` first, otherwise the file's
values decide, see :func:`~lifelong.data.schema.infer_type`), and every row is checked
against the types: a bad value is an error at file:line, the other rows are kept for the
report, and nothing trains while an error stands. :func:`check_tables` then compares the files
of one read: a column missing from a file, or numeric in one and categorical in another, is an
error naming the column and both files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.config import Columns
from lifelong.core.errors import DataError, ValidationFailed
from lifelong.core.text_check import value_problem
from lifelong.core.types import Example
from lifelong.data.jsonl import jsonl_records
from lifelong.data.result import ReadResult
from lifelong.data.schema import (
    NUMERIC,
    ColumnType,
    TableSchema,
    TypeCount,
    ValueProblem,
    canonical_row,
    column_key,
    infer_type,
    is_missing,
    parse_number,
    parse_row,
)
from lifelong.data.tabular import csv_records, table_rows

Record = dict[str, Any]


@dataclass
class FileColumns:
    """The feature columns of one file: type (``None``: no value present) and where a value
    that is not a number first occurs (for the message when files disagree)."""

    source: str
    types: dict[str, ColumnType | None]
    first_text: dict[str, str] = field(default_factory=dict)


def table_header_check(header: list[str]) -> tuple[str, str] | None:
    """The header check of a tabular CSV file: no two names are one column once normalized."""
    if len({column_key(name) for name in header}) < len(header):
        return "duplicate-column", _same_key(header)
    return None


def _csv_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    yield from csv_records(path, result, table_header_check)


def _jsonl_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    yield from jsonl_records(path, result, "mapping column names to values")


def _parquet_records(path: Path, result: ReadResult) -> Iterator[tuple[int, Record]]:
    import pyarrow.parquet as pq

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
TYPED_SUFFIXES = (".jsonl", ".parquet")
"""Formats whose values have types: a string there is a category even if it spells a number
(so a file lifelong writes, such as an ingested batch, reads back with its types)."""


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


def keyed(record: Mapping[str, Any]) -> Record:
    """A raw record with its column names as :func:`~lifelong.data.schema.column_key` spells
    them."""
    return {column_key(str(name)): value for name, value in record.items()}


def duplicate_columns(record: Mapping[str, Any]) -> str | None:
    """The message for a record whose column names are one column once normalized, or
    ``None``."""
    if len(keyed(record)) < len(record):
        return _same_key(record)
    return None


def _same_key(names_read: Iterable[object]) -> str:
    """The message for column names that are one column once normalized (``Age``, ``age``)."""
    names: dict[str, list[str]] = {}
    for name in names_read:
        names.setdefault(column_key(str(name)), []).append(str(name))
    clash = next(group for group in names.values() if len(group) > 1)
    return (
        f"columns {' and '.join(map(repr, clash))} are one column {column_key(clash[0])!r} "
        "(names are compared normalized, as texts are); rename one"
    )


def _not_number(value: object, typed: bool) -> bool:
    if is_missing(value):
        return False
    return (typed and isinstance(value, str)) or parse_number(value) is None


class FileTyping:
    """The feature columns of one file learned a row at a time: which exist, how their values
    count toward a type (:class:`~lifelong.data.schema.TypeCount`) and where a value that is
    not a number first occurs.

    A file read whole and a file streamed a chunk at a time go through this one class, so
    both are typed by the same rule over all of the file's rows.
    """

    def __init__(self, source: str, typed: bool) -> None:
        self.source = source
        self.typed = typed
        self.first_line: int | None = None
        self.found: dict[str, None] = {}  # a JSONL row may omit some columns: every name seen
        self.counts: dict[str, TypeCount] = {}
        self.first_text: dict[str, int] = {}

    def add(self, line: int, record: Mapping[str, Any]) -> None:
        """Count one row (keys already :func:`keyed`)."""
        if self.first_line is None:
            self.first_line = line
        for name, value in record.items():
            self.found.setdefault(name)
            self.counts.setdefault(name, TypeCount()).add(value, typed=self.typed)
            if name not in self.first_text and _not_number(value, self.typed):
                self.first_text[name] = line

    def schema(self, columns: Columns, result: ReadResult) -> TableSchema | None:
        """The file's typed columns (declared ``columns.types`` first, then the counts), its
        :class:`FileColumns` added to ``result.tables``; ``None`` after recording an error for
        a column no row has, or for a file without rows."""
        assert columns.target is not None, "a typed file is for projects with columns.target"
        if self.first_line is None:
            return None
        target, stamp = column_key(columns.target), column_key(columns.timestamp)
        wanted = (
            [column_key(name) for name in columns.features]
            if columns.features is not None
            else [name for name in self.found if name not in (target, stamp)]
        )
        missing = [name for name in (target, *wanted) if name not in self.found]
        if missing:
            result.error(
                "missing-column",
                f"lacks column(s) {', '.join(map(repr, missing))}; found "
                f"{', '.join(map(repr, self.found))} (set columns.target / columns.features in "
                "config.yml)",
                self.source,
                self.first_line,
            )
            return None
        declared = {column_key(name): kind for name, kind in columns.types.items()}
        info = FileColumns(self.source, {})
        for name in wanted:
            info.types[name] = declared.get(name) or self.counts[name].type
            if info.types[name] != NUMERIC and name in self.first_text:
                info.first_text[name] = f"{self.source}:{self.first_text[name]}"
        result.tables.append(info)
        return TableSchema(
            columns.target,
            columns.kind,
            tuple((name, info.types[name] or NUMERIC) for name in wanted),
        )


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
    typing = FileTyping(source, path.suffix.lower() in TYPED_SUFFIXES)
    rows = []
    for line, record in reader(path, result):
        clash = duplicate_columns(record)
        if clash is not None:
            result.error("duplicate-column", clash, source, line)
            return result
        row = keyed(record)
        typing.add(line, row)
        rows.append((line, row))
    if not rows:
        if not result.problems:
            result.warning("empty-file", "no rows read from this file", source)
        return result
    schema = typing.schema(columns, result)
    if schema is None:
        return result
    target, stamp = column_key(schema.target), column_key(columns.timestamp)
    for line, record in rows:
        add_row(result, schema, record, target, stamp, source, line)
    return result


def add_record(
    result: ReadResult,
    record: Mapping[str, Any],
    columns: Columns,
    source: str,
    line: int | None,
    *,
    what: str = "row",
) -> None:
    """Add one raw record (a message: no file to type its columns) as an example, or the
    reason it is refused. Each value's own type decides its column's, unless declared."""
    assert columns.target is not None, "add_record is for projects with columns.target"
    row = keyed(record)
    target, stamp = column_key(columns.target), column_key(columns.timestamp)
    wanted = (
        [column_key(name) for name in columns.features]
        if columns.features is not None
        else [name for name in row if name not in (target, stamp)]
    )
    if target not in row:
        result.error("missing-column", f"{what} lacks the target {columns.target!r}", source, line)
        return
    declared = {column_key(name): kind for name, kind in columns.types.items()}
    kinds = tuple(
        (name, declared.get(name) or infer_type([row.get(name)]) or NUMERIC) for name in wanted
    )
    schema = TableSchema(columns.target, columns.kind, kinds)
    add_row(result, schema, row, target, stamp, source, line, what)


def add_row(
    result: ReadResult,
    schema: TableSchema,
    record: Record,
    target: str,
    stamp: str,
    source: str,
    line: int | None,
    what: str = "row",
) -> None:
    """Add one row (keys :func:`keyed`) typed by ``schema`` as an example, or the reason it is
    refused (an error at ``source:line``)."""
    for name, value in record.items():
        problem = value_problem(value, f"column {name!r}")
        if problem is None and isinstance(name, str):
            problem = value_problem(name, "a column name")
        if problem is not None:
            result.error("invalid-text", f"{what} {problem}", source, line)
            return
    try:
        label = schema.label(record.get(target))
        values = schema.features(record)
    except ValueProblem as error:
        result.error("bad-value", f"{what}: {error}" if line is None else str(error), source, line)
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
