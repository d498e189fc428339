"""CSV and Parquet readers; column names come from ``columns:`` in config.yml."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifelong.config import Columns
from lifelong.data.result import ReadResult
from lifelong.data.text_io import read_data_text

if TYPE_CHECKING:
    import pyarrow as pa


def _missing_columns(found: list[str], columns: Columns) -> list[str]:
    return [name for name in (columns.text, columns.intent) if name not in found]


HeaderCheck = Callable[[list[str]], tuple[str, str] | None]
"""Looks at a CSV header: ``(code, message)`` of the error that stops the read, or ``None``."""


def text_header_check(columns: Columns) -> HeaderCheck:
    """The header check of a text project's CSV file: the text and intent columns exist."""

    def check(header: list[str]) -> tuple[str, str] | None:
        missing = _missing_columns(header, columns)
        if not missing:
            return None
        return (
            "missing-column",
            f"header lacks column(s) {', '.join(map(repr, missing))}; found "
            f"{', '.join(map(repr, header))} (set columns.text / columns.intent in config.yml)",
        )

    return check


def csv_records(
    path: Path, result: ReadResult, check_header: HeaderCheck | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with a header row as ``(line, {column: value})``; line numbers
    count physical lines. Malformed rows are errors in ``result``; so is a header that
    ``check_header`` refuses, and then no row is read."""
    text = read_data_text(path, result)
    if text is None:
        return
    yield from csv_rows(io.StringIO(text, newline=""), str(path), result, check_header)


def csv_rows(
    lines: Iterable[str],
    source: str,
    result: ReadResult,
    check_header: HeaderCheck | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of CSV ``lines`` (a whole file's text or an open file, read as it goes): see
    :func:`csv_records`."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            result.warning("empty-file", "empty CSV file (no header)", source, 1)
            return
        refused = None if check_header is None else check_header(header)
        if refused is not None:
            result.error(*refused, source, 1)
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


def read_csv(path: Path, columns: Columns) -> ReadResult:
    """Read a text project's CSV file (see :func:`csv_records`)."""
    result = ReadResult(files=[str(path)])
    own = (columns.text, columns.intent, columns.timestamp)
    for line, row in csv_records(path, result, text_header_check(columns)):
        result.add_example(
            row[columns.text],
            row[columns.intent],
            str(path),
            line,
            timestamp=row.get(columns.timestamp) or None,
            meta={k: v for k, v in row.items() if k not in own},
            what="row",
        )
    return result


def read_parquet(path: Path, columns: Columns) -> ReadResult:
    """Read a Parquet file; ``line`` is the 1-based row number."""
    import pyarrow.parquet as pq

    result = ReadResult(files=[str(path)])
    source = str(path)
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several unrelated types for bad files
        result.error("malformed-parquet", f"not a readable Parquet file: {error}", source)
        return result
    missing = _missing_columns(table.column_names, columns)
    if missing:
        result.error(
            "missing-column",
            f"lacks column(s) {', '.join(map(repr, missing))}; found "
            f"{', '.join(map(repr, table.column_names))}",
            source,
        )
        return result
    for number, row in enumerate(table_rows(table, result, source), start=1):
        if row is None:
            continue
        meta = {
            k: v
            for k, v in row.items()
            if k not in (columns.text, columns.intent, columns.timestamp) and v is not None
        }
        result.add_example(
            row.get(columns.text),
            row.get(columns.intent),
            source,
            number,
            timestamp=row.get(columns.timestamp),
            meta={
                k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in meta.items()
            },
            what="row",
        )
    return result


def table_rows(
    table: pa.Table | pa.RecordBatch, result: ReadResult, source: str, first_line: int = 1
) -> list[dict[str, Any] | None]:
    """The table's rows as dicts; ``None`` for a row holding a string that is not UTF-8
    (an error at its row number, ``first_line`` for the first row).

    Parquet does not check that a string column holds UTF-8 (a writer can store the encoded
    form of a lone surrogate), and converting such a value raises, so when the whole table does
    not convert, each row is converted alone to locate the bad ones and keep the others.
    """
    try:
        return list(table.to_pylist())
    except UnicodeDecodeError:
        pass
    rows: list[dict[str, Any] | None] = []
    for index in range(table.num_rows):
        try:
            rows.append(table.slice(index, 1).to_pylist()[0])
        except UnicodeDecodeError as error:
            result.error(
                "not-utf8",
                f"row holds a string that is not valid UTF-8 ({error.reason}); write the file "
                "from valid text",
                source,
                first_line + index,
            )
            rows.append(None)
    return rows
