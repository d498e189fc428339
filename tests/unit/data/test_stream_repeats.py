"""Duplicates and conflicts in a stream: the outcome of the in-memory check, in bounded memory."""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.config import Columns, Splits
from lifelong.core.errors import Problem, ValidationFailed
from lifelong.data import repeats
from lifelong.data.read import read_paths
from lifelong.data.repeats import RowKeys
from lifelong.data.split import split_examples
from lifelong.data.stream import StreamSource
from lifelong.data.validate import check

SPLITS = Splits(valid=0.2, test=0.2, salt="repeats")
WORDS = ["book a table", "Book a TABLE", "play music", "wake me up", "weather today", "hi"]
Row = tuple[str, str]


def _write(path: Path, rows: list[Row]) -> Path:
    if path.suffix == ".csv":
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "intent"])
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))
    return path


def _repeat_problems(problems: list[Problem]) -> list[str]:
    return sorted(str(p) for p in problems if p.code in ("duplicate", "conflict"))


def _both(folder: Path, allow: bool, **options: int) -> tuple[object, object]:
    """The in-memory check's and the stream's outcome on ``folder``: the examples kept (in
    order), the duplicate/conflict problems, the split sizes, label counts and test sample;
    or the problems of the refusal."""
    read = read_paths([folder])
    try:
        kept = check(read, allow_conflicts=allow)
        splits = split_examples(kept, SPLITS)
        memory: object = (
            [(e.text, e.label, e.location) for e in kept],
            _repeat_problems(read.problems),
            splits.sizes(),
            Counter(e.label for e in kept),
            sorted(e.hash for e in splits.test),
        )
    except ValidationFailed as failure:
        memory = _repeat_problems(failure.problems)
    source = StreamSource([folder], Columns(), SPLITS, allow_conflicts=allow, **options)
    try:
        scan = source.scan()
        labels = Counter[str]()
        for manifest in scan.files:
            labels.update(manifest.labels)
        stream: object = (
            [(e.text, e.label, e.location) for _, e in source.examples()],
            _repeat_problems(scan.problems),
            scan.split_sizes(),
            labels,
            sorted(e.hash for e in scan.test),
        )
        assert scan.n_train == sum(1 for _ in source.train_examples())
    except ValidationFailed as failure:
        stream = _repeat_problems(failure.problems)
    return memory, stream


rows_strategy = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(["a", "b"])), min_size=1, max_size=30
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rows_strategy, min_size=1, max_size=3),
    st.booleans(),
    st.integers(1, 8),
    st.sampled_from([1, 5, 10_000]),
)
def test_a_stream_keeps_and_refuses_what_the_in_memory_check_does(
    files: list[list[Row]], allow: bool, chunk_rows: int, key_rows: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for index, rows in enumerate(files):
            _write(Path(folder) / f"part{index}.{'csv' if index % 2 else 'jsonl'}", rows)
        memory, stream = _both(Path(folder), allow, chunk_rows=chunk_rows, key_rows=key_rows)
    assert stream == memory


def test_a_duplicate_across_files_trains_once_and_counts_as_duplicate(tmp_path: Path) -> None:
    texts = [f"text number {n}" for n in range(60)]
    first = [(t, "a" if n % 2 else "b") for n, t in enumerate(texts)]
    _write(tmp_path / "a.jsonl", first)
    _write(tmp_path / "b.jsonl", [*first[:25], ("a new text", "a")])
    source = StreamSource([tmp_path], Columns(), SPLITS, chunk_rows=7)
    scan = source.scan()
    b = next(f for f in scan.files if f.path.endswith("b.jsonl"))
    assert b.splits["duplicate"] == 25
    assert b.rows == 26  # every row of the file, so a grown file's tail is still found
    assert sum(b.labels.values()) == 1
    trained = list(source.train_examples())
    assert len(trained) == scan.n_train == len({e.hash for e in trained})
    in_memory = split_examples(check(read_paths([tmp_path])), SPLITS)
    assert scan.split_sizes() == in_memory.sizes()
    assert {e.hash for e in scan.test} == {e.hash for e in in_memory.test}
    assert len([p for p in scan.problems if p.code == "duplicate"]) == 25
    # the rows an update's parent saw are passed over by row, duplicates or not
    assert [e.text for _, e in source.examples({b.path: 25})] == ["a new text"]
    assert [e.text for _, e in source.examples({b.path: 20})] == ["a new text"]


def test_a_conflict_across_files_is_refused_with_both_locations(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", [("book a table", "booking"), ("hello", "greet")])
    _write(tmp_path / "b.csv", [("Book a  table", "music")])
    with pytest.raises(ValidationFailed) as failure:
        StreamSource([tmp_path], Columns(), SPLITS).scan()
    (problem,) = failure.value.problems
    assert problem.code == "conflict"
    assert problem.severity == "error"
    assert "a.jsonl:1" in problem.message
    assert "b.csv:2" in problem.message
    assert "allow_conflicts" in (failure.value.hint or "")


def test_many_duplicates_are_listed_up_to_a_count(tmp_path: Path) -> None:
    rows = [(f"text {n}", "a") for n in range(repeats.LISTED + 30)]
    _write(tmp_path / "a.jsonl", rows)
    _write(tmp_path / "b.jsonl", rows)
    scan = StreamSource([tmp_path], Columns(), SPLITS).scan()
    listed = [p for p in scan.problems if p.code == "duplicate"]
    assert len(listed) == repeats.LISTED + 1
    assert listed[-1].message.startswith("30 more duplicates")


def test_keys_on_disk_find_what_keys_in_memory_find(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repeats, "BLOCK_ROWS", 16)
    rng = np.random.default_rng(0)
    rows = [(f"t{rng.integers(40)}", f"l{rng.integers(3)}") for _ in range(500)]
    in_memory, on_disk = RowKeys(), RowKeys(memory_rows=50)
    for keys in (in_memory, on_disk):
        for text, label in rows:
            keys.add(text, label)
    assert on_disk.on_disk
    assert not in_memory.on_disk
    found, spilled = in_memory.find(), on_disk.find()
    assert found.duplicates.tolist() == spilled.duplicates.tolist()
    assert found.first_of == spilled.first_of
    assert found.conflicts == spilled.conflicts
    first: dict[Row, int] = {}
    expected = []
    for ordinal, row in enumerate(rows):
        if row in first:
            expected.append(ordinal)
        first.setdefault(row, ordinal)
    assert found.duplicates.tolist() == expected
    assert all(rows[ordinal] == rows[f] for ordinal, f in found.first_of.items())


@pytest.mark.parametrize("allow", [False, True])
def test_a_tabular_stream_drops_equal_rows_and_flags_conflicts_as_in_memory(
    tmp_path: Path, allow: bool
) -> None:
    columns = Columns(target="label")
    (tmp_path / "a.csv").write_text("x,c,label\n1.5,red,yes\n2.0,blue,no\n3.0,red,no\n")
    (tmp_path / "b.csv").write_text("x,c,label\n1.5,red,yes\n2.0,blue,yes\n4.0,red,no\n")
    read = read_paths([tmp_path], columns)
    source = StreamSource([tmp_path], columns, SPLITS, allow_conflicts=allow, chunk_rows=2)
    if not allow:
        with pytest.raises(ValidationFailed) as memory:
            check(read)
        with pytest.raises(ValidationFailed) as stream:
            source.scan()
        assert _repeat_problems(stream.value.problems) == _repeat_problems(memory.value.problems)
        return
    kept = check(read, allow_conflicts=True)
    scan = source.scan()
    assert [e.hash for _, e in source.examples()] == [e.hash for e in kept]
    assert _repeat_problems(scan.problems) == _repeat_problems(read.problems)
    assert sum(f.splits.get("duplicate", 0) for f in scan.files) == 1
