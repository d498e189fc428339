"""Streamed reading: chunks, the bounded shuffle, scans and the bad inputs of large files."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.config import Columns, Splits
from lifelong.core import Example
from lifelong.core.errors import DataError, ValidationFailed
from lifelong.core.types import FileManifest
from lifelong.data.read import read_paths
from lifelong.data.split import split_examples
from lifelong.data.stream import (
    StreamSource,
    chunked,
    diff_files,
    read_ahead,
    should_stream,
    shuffled,
)
from lifelong.data.validate import check

MakeExamples = Callable[..., list[Example]]
SPLITS = Splits(valid=0.2, test=0.2, salt="stream")


@given(st.lists(st.integers(), max_size=200), st.integers(1, 50), st.integers(0, 2**32))
def test_shuffled_is_a_permutation_through_a_bounded_buffer(
    items: list[int], size: int, seed: int
) -> None:
    out = list(shuffled(items, size, np.random.default_rng(seed)))
    assert sorted(out) == sorted(items)
    # an item comes out at most `size` places before where it went in
    for position, item in enumerate(out):
        assert items.index(item) <= position + size or items.count(item) > 1


def test_a_buffer_of_one_keeps_the_order() -> None:
    assert list(shuffled(range(20), 1, np.random.default_rng(0))) == list(range(20))


@given(st.lists(st.integers(), max_size=100), st.integers(1, 4))
def test_read_ahead_keeps_every_item_in_order(items: list[int], depth: int) -> None:
    assert list(read_ahead(iter(items), depth)) == items


def test_read_ahead_raises_where_the_failing_item_would_be_and_stops_when_dropped() -> None:
    made: list[int] = []

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise DataError("bad row 3")

    got = read_ahead(failing(), 1)
    assert (next(got), next(got)) == (1, 2)
    with pytest.raises(DataError, match="bad row 3"):
        next(got)

    def endless() -> Iterator[int]:
        for i in itertools.count():
            made.append(i)
            yield i

    got = read_ahead(endless(), 2)
    assert next(got) == 0
    got.close()  # the thread is joined: nothing more is made
    after = len(made)
    assert after <= 5
    assert len(made) == after


@given(st.lists(st.integers(), max_size=100), st.integers(1, 30))
def test_chunked_keeps_every_item_in_order(items: list[int], size: int) -> None:
    chunks = list(chunked(items, size))
    assert [x for chunk in chunks for x in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])


def _write(folder: Path, examples: list[Example], fmt: str) -> Path:
    path = folder / f"data.{fmt}"
    rows = [{"text": e.original, "intent": e.label} for e in examples]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif fmt == "csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, ["text", "intent"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_chunks_read_what_the_whole_file_reader_reads(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str], fmt: str
) -> None:
    path = _write(tmp_path, make_examples(old_labels, 10, 0), fmt)
    source = StreamSource([path], Columns(), SPLITS, chunk_rows=6)
    streamed = [e for chunk in source.chunks(path) for e in chunk]
    whole = read_paths([path]).examples
    assert [(e.text, e.label, e.line) for e in streamed] == [
        (e.text, e.label, e.line) for e in whole
    ]
    assert max(len(chunk) for chunk in source.chunks(path)) == 6


def test_scan_counts_and_samples_the_splits_as_in_memory(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    examples = make_examples(old_labels, 40, 0)
    path = _write(tmp_path, examples, "jsonl")
    scan = StreamSource([path], Columns(), SPLITS, chunk_rows=16).scan(replay_size=10)
    splits = split_examples(read_paths([path]).examples, SPLITS)
    assert scan.split_sizes() == splits.sizes()
    assert scan.n_train == len(splits.train)
    assert {e.hash for e in scan.valid} == {e.hash for e in splits.valid}
    assert {e.hash for e in scan.test} == {e.hash for e in splits.test}
    assert len(scan.replay) == 10
    assert {e.hash for e in scan.replay} <= {e.hash for e in splits.train}
    (manifest,) = scan.files
    assert manifest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest.rows == len(examples)
    assert sum(manifest.labels.values()) == len(examples)


def test_a_capped_sample_is_stable_as_data_grows(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    first = make_examples(old_labels, 40, 0)
    more = make_examples(old_labels, 40, 1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = StreamSource(
        [_write(tmp_path / "a", first, "jsonl")], Columns(), SPLITS, sample_size=5
    )
    after = StreamSource(
        [_write(tmp_path / "b", first + more, "jsonl")], Columns(), SPLITS, sample_size=5
    )
    old, new = before.scan().valid, after.scan().valid
    assert len(old) == len(new) == 5
    # new data only pushes examples out; an old example that stays keeps its place in the sample
    kept = {e.hash for e in new} & {e.hash for e in old}
    assert {e.hash for e in new} - kept <= {e.hash for e in more}


def test_a_bad_row_in_a_later_chunk_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["text,intent"] + [f"hello {i},greet" for i in range(50)] + ['"bad row,greet,x']
    path.write_text("\n".join(lines) + "\n")
    source = StreamSource([path], Columns(), SPLITS, chunk_rows=8)
    with pytest.raises(ValidationFailed) as raised:
        source.scan()
    (problem,) = raised.value.problems
    assert problem.source == str(path)
    assert problem.line == 52


def test_a_row_without_label_stops_the_stream_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    rows = [{"text": f"hi {i}", "intent": "greet"} for i in range(30)] + [{"text": "x"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValidationFailed) as raised:
        StreamSource([path], Columns(), SPLITS, chunk_rows=4).scan()
    assert [(p.code, p.line) for p in raised.value.problems] == [("missing-label", 31)]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_bytes_that_are_not_utf8_stop_the_stream(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bad.{suffix}"
    head = b"text,intent\n" if suffix == "csv" else b""
    row = b'{"text": "caf\xe9", "intent": "a"}\n' if suffix == "jsonl" else b"caf\xe9,a\n"
    good = b'{"text": "ok", "intent": "a"}\n' if suffix == "jsonl" else b"ok,a\n"
    path.write_bytes(head + good * 3 + row)
    with pytest.raises(ValidationFailed) as raised:
        StreamSource([path], Columns(), SPLITS).scan()
    assert [p.code for p in raised.value.problems] == ["not-utf8"]


def test_a_truncated_parquet_file_is_a_clear_error(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    path = _write(tmp_path, make_examples(old_labels, 10, 0), "parquet")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="not a readable Parquet file"):
        StreamSource([path], Columns(), SPLITS).scan()


def test_parquet_parts_without_the_text_column_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "part.parquet"
    pq.write_table(pa.Table.from_pylist([{"utterance": "hi", "intent": "greet"}]), path)
    with pytest.raises(DataError, match="lacks column"):
        StreamSource([path], Columns(), SPLITS).scan()


def test_a_folder_of_parts_is_read_in_sorted_order(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    for i, fmt in enumerate(["jsonl", "csv", "parquet"]):
        part = tmp_path / "parts" / f"{i}"
        part.mkdir(parents=True)
        _write(part, make_examples(old_labels, 3, i), fmt)
    (tmp_path / "parts" / "notes.txt").write_text("not data")
    source = StreamSource([tmp_path / "parts"], Columns(), SPLITS)
    assert [p.suffix for p in source.files] == [".jsonl", ".csv", ".parquet"]
    assert [w.code for w in source.warnings] == ["unknown-type"]
    assert len(source.scan().files) == 3


def test_a_rasa_file_is_not_streamed(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text("version: '3.1'\nnlu: []\n")
    with pytest.raises(DataError, match="streamed training reads"):
        StreamSource([path], Columns(), SPLITS)


def test_auto_streams_large_data_of_streamed_types_only(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "hello there", "intent": "greet"}\n' * 30_000)  # ~1.3 MB
    size_mb = path.stat().st_size / 2**20
    assert should_stream([path], Columns(), "auto", size_mb / 2)
    assert not should_stream([path], Columns(), "auto", size_mb * 2)
    assert should_stream([path], Columns(), True, size_mb * 2)
    assert not should_stream([path], Columns(), False, size_mb / 2)
    assert should_stream([path], Columns(target="price"), "auto", size_mb / 2)  # tabular too
    assert not should_stream([path], Columns(target="price"), "auto", size_mb * 2)
    (tmp_path / "nlu.yml").write_text("version: '3.1'\nnlu: []\n")
    assert not should_stream([tmp_path], Columns(), "auto", size_mb / 2)  # Rasa: in memory
    # a tabular project reads no Rasa file: the YAML is not data, the rest streams
    assert should_stream([tmp_path], Columns(target="price"), "auto", size_mb / 2)


def _files(**rows: int) -> list[FileManifest]:
    return [FileManifest(p, f"{p}{n}", n, n, {p: n}, {"train": n}) for p, n in rows.items()]


def test_diff_files_names_files_added_removed_and_changed() -> None:
    change = diff_files(_files(a=3, b=5, c=1), _files(a=3, b=7, d=2))
    assert change["files_added"] == ["d"]
    assert change["files_removed"] == ["c"]
    assert change["files_changed"] == [{"path": "b", "rows_before": 5, "rows_after": 7}]
    assert (change["rows_before"], change["rows_after"]) == (9, 12)
    assert change["new_labels"] == ["d"]
    assert diff_files([], _files(a=1))["files_added"] == ["a"]


def test_diff_files_counts_rows_of_added_files_and_of_grown_ones() -> None:
    # d is new (2 rows), b grew by 2, e shrank (adds none), a is unchanged
    change = diff_files(_files(a=3, b=5, e=4), _files(a=3, b=7, d=2, e=1))
    assert change["rows_added"] == 4
    assert diff_files(_files(a=3, b=5), _files(a=3, b=5))["rows_added"] == 0
    assert diff_files([], _files(a=3, b=5))["rows_added"] == 8


def test_held_out_texts_are_in_no_split_and_explicit_test_moves_test_to_train(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    examples = make_examples(old_labels, 30, 0)
    path = _write(tmp_path, examples, "jsonl")
    held = frozenset(e.text for e in examples[:10])
    scan = StreamSource([path], Columns(), SPLITS, held_out=held).scan()
    (manifest,) = scan.files
    assert manifest.splits["held_out"] == len({e.text for e in examples[:10]})
    assert not held & {e.text for e in [*scan.valid, *scan.test]}
    explicit = StreamSource([path], Columns(), SPLITS, explicit_test=True).scan()
    assert explicit.test == []
    assert explicit.split_sizes()["train"] == len(examples) - len(explicit.valid)


def test_a_relabel_accepted_in_review_wins_in_a_stream_as_in_memory(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    rows = make_examples(old_labels, 20, 0)
    moved = rows[3]
    other = next(label for label in old_labels if label != moved.label)
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl").write_text(
        "".join(json.dumps({"text": e.original, "intent": e.label}) + "\n" for e in rows)
    )
    review = {"text": moved.original, "intent": other, "review": {"id": 7, "replaces": moved.label}}
    (data / "z-ingested.jsonl").write_text(json.dumps(review) + "\n")
    source = StreamSource([data], Columns(), SPLITS, chunk_rows=8)
    scan = source.scan()
    streamed = {(e.text, e.label) for _, e in source.examples()}
    in_memory = check(read_paths([data]))
    assert streamed == {(e.text, e.label) for e in in_memory}
    assert (moved.text, moved.label) not in streamed
    assert (moved.text, other) in streamed
    first = next(f for f in scan.files if f.path.endswith("a.jsonl"))
    assert first.splits["replaced"] == 1
    assert first.rows == len(rows)
    n_train = sum(1 for _ in source.train_examples())
    assert scan.n_train == n_train  # the schedule counts what the epochs train
