"""A tabular project's files read as a stream: typed by the whole-file rule across chunks,
checked row by row, and the same examples as the in-memory read."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.config import Columns, Splits
from lifelong.core.errors import DataError, ValidationFailed
from lifelong.data.read import read_paths
from lifelong.data.schema import TypeCount, infer_type
from lifelong.data.split import split_examples
from lifelong.data.stream import StreamSource, chunked

SPLITS = Splits(valid=0.2, test=0.2, salt="table")
COLUMNS = Columns(target="label")
REGRESSION = Columns(target="y", kind="regression")


def _records(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {
            "age": round(rng.uniform(18, 80), 2),
            "city": rng.choice(["paris", "lyon", "nice"]),
            "income": None if rng.random() < 0.1 else round(rng.gauss(3000, 800), 1),
            "label": rng.choice(["yes", "no"]),
            "y": round(rng.gauss(10, 3), 3),
        }
        for _ in range(n)
    ]


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    """``records`` as CSV, JSON Lines or Parquet, by ``path``'s suffix."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    elif path.suffix == ".csv":
        names = list(records[0])
        lines = [",".join(names)]
        lines += [",".join("" if r[k] is None else str(r[k]) for k in names) for r in records]
        path.write_text("\n".join(lines) + "\n")
    else:
        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=13)
    return path


def _streamed(source: StreamSource) -> list[tuple[str, str, int | None]]:
    return [
        (e.text, e.label, e.line) for path in source.files for c in source.chunks(path) for e in c
    ]


def _problem(error: ValidationFailed) -> str:
    return str(error.problems[0])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_chunks_read_what_the_whole_file_reader_reads(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"rows{suffix}", _records(100))
    whole = read_paths([path], COLUMNS)
    assert not whole.errors
    source = StreamSource([path], COLUMNS, SPLITS, chunk_rows=7)
    assert _streamed(source) == [(e.text, e.label, e.line) for e in whole.examples]
    assert source.schemas()[path].columns == (
        ("age", "numeric"),
        ("city", "categorical"),
        ("income", "numeric"),
        ("y", "numeric"),
    )


def test_the_scan_splits_as_in_memory_and_counts_no_regression_labels(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.csv", _records(200))
    whole = read_paths([path], REGRESSION)
    splits = split_examples(whole.examples, SPLITS)
    scan = StreamSource([path], REGRESSION, SPLITS, chunk_rows=16).scan(replay_size=5)
    assert scan.n_train == len(splits.train)
    assert scan.split_sizes() == splits.sizes()
    assert sorted(e.text for e in scan.valid) == sorted(e.text for e in splits.valid)
    assert scan.train_labels == {}  # a regression target is not counted by value
    assert scan.files[0].labels == {}
    assert len(scan.replay) == 5
    classes = StreamSource([path], COLUMNS, SPLITS, chunk_rows=16).scan()
    assert sum(classes.train_labels.values()) == classes.n_train == len(splits.train)


def _with_text(records: list[dict[str, object]], rows: list[int]) -> list[dict[str, object]]:
    return [{**r, "age": "unknown"} if i in rows else r for i, r in enumerate(records)]


def test_a_column_is_typed_over_all_its_chunks_as_in_memory(tmp_path: Path) -> None:
    # one text value in the last chunk of a numeric column: a bad row, at its line
    path = _write(tmp_path / "rows.csv", _with_text(_records(60), [55]))
    whole = read_paths([path], COLUMNS)
    with pytest.raises(ValidationFailed) as raised:
        StreamSource([path], COLUMNS, SPLITS, chunk_rows=8).scan()
    (expected,) = whole.errors
    assert raised.value.problems[0] == expected
    assert f"{path}:57" in _problem(raised.value)  # header line + 56th row
    # text in more than a tenth of the rows, all in later chunks: categorical, no error
    path = _write(tmp_path / "rows.csv", _with_text(_records(60), list(range(40, 60))))
    source = StreamSource([path], COLUMNS, SPLITS, chunk_rows=8)
    assert source.schemas()[path].types["age"] == "categorical"
    assert _streamed(source) == [
        (e.text, e.label, e.line) for e in read_paths([path], COLUMNS).examples
    ]


def test_a_later_file_with_other_column_types_is_named(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.csv", _records(30))
    later = _write(tmp_path / "b.csv", _with_text(_records(30, 1), list(range(30))))
    whole = read_paths([tmp_path], COLUMNS)
    with pytest.raises(ValidationFailed) as raised:
        StreamSource([tmp_path], COLUMNS, SPLITS, chunk_rows=4).scan()
    assert raised.value.problems == whole.errors
    message = _problem(raised.value)
    assert "'age'" in message
    assert f"{first} (numeric)" in message
    assert f"first non-numeric value at {later}:2" in message
    # a file lacking a column is named too
    _write(tmp_path / "b.csv", [{k: v for k, v in r.items() if k != "city"} for r in _records(5)])
    with pytest.raises(ValidationFailed, match="city"):
        StreamSource([tmp_path], COLUMNS, SPLITS).scan()


def test_a_bad_row_in_a_later_chunk_stops_at_its_line(tmp_path: Path) -> None:
    records = _records(50)
    records[45] = {**records[45], "label": None}
    path = _write(tmp_path / "rows.jsonl", records)
    source = StreamSource([path], COLUMNS, SPLITS, chunk_rows=8)
    chunks = source.chunks(path)
    for _ in range(5):  # 40 rows, checked
        next(chunks)
    with pytest.raises(ValidationFailed) as raised:
        next(chunks)
    assert f"{path}:46" in _problem(raised.value)
    assert "target column 'label' is missing" in _problem(raised.value)


@given(
    st.lists(st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=3)), max_size=40),
    st.integers(1, 10),
    st.booleans(),
)
def test_counting_a_chunk_at_a_time_types_as_all_at_once(
    values: list[object], size: int, typed: bool
) -> None:
    count = TypeCount()
    for chunk in chunked(values, size):
        for value in chunk:
            count.add(value, typed=typed)
    assert count.type == infer_type(values, typed=typed)


def test_a_truncated_parquet_part_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.parquet", _records(40))
    path.write_bytes(path.read_bytes()[:-100])  # the footer is gone
    with pytest.raises(DataError, match="not a readable Parquet file"):
        StreamSource([path], COLUMNS, SPLITS).scan()
