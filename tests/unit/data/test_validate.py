"""Validation: conflicts, duplicates, and that failure raises before anything is returned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import ValidationFailed
from lifelong.data import read_paths
from lifelong.data.validate import check


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_conflicts_list_every_location(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", ["text,intent", "Refund please,refund", "hello,greet"])
    _write(tmp_path / "b.csv", ["text,intent", "refund   PLEASE,cancel", "hello,greet"])
    result = read_paths([tmp_path])
    with pytest.raises(ValidationFailed, match="has more than one label") as caught:
        check(result)
    message = str(caught.value)
    assert "a.csv:2" in message
    assert "b.csv:2" in message
    assert "allow_conflicts" in message
    conflicts = [p for p in caught.value.problems if p.code == "conflict"]
    assert len(conflicts) == 1


def test_allow_conflicts_keeps_both_labels_as_warning(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", ["text,intent", "refund please,refund", "refund please,cancel"])
    result = read_paths([tmp_path])
    examples = check(result, allow_conflicts=True)
    assert sorted(e.label for e in examples) == ["cancel", "refund"]
    assert [p.code for p in result.warnings] == ["conflict"]


def test_duplicates_warn_and_dedupe(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", ["text,intent", "hello,greet", "Hello ,greet", "bye,goodbye"])
    result = read_paths([tmp_path])
    examples = check(result)
    assert sorted(e.text for e in examples) == ["bye", "hello"]
    dupes = [p for p in result.warnings if p.code == "duplicate"]
    assert len(dupes) == 1
    assert dupes[0].line == 3
    assert "a.csv:2" in dupes[0].message


def test_errors_from_readers_fail_validation(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", ['{"text": "", "intent": "greet"}'])
    with pytest.raises(ValidationFailed, match=r"a\.jsonl:1: error: example has empty text"):
        check(read_paths([tmp_path]))


def test_no_data_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="no examples found"):
        check(read_paths([tmp_path]))


def test_the_newest_reviewed_relabel_wins_over_every_other_label(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", ["text,intent", "Refund please,refund", "hello,greet"])
    _write(
        tmp_path / "review-1.jsonl",
        [
            json.dumps({"text": t, "intent": i, "review": {"id": n, "replaces": old}})
            for t, i, n, old in [
                ("refund please", "cancel", 1, "refund"),
                ("REFUND please", "billing", 2, "cancel"),
            ]
        ],
    )
    result = read_paths([tmp_path])
    kept = check(result)  # no conflict: the review decided
    assert sorted((e.text, e.label) for e in kept) == [
        ("hello", "greet"),
        ("refund please", "billing"),
    ]
    assert sum("replaced by reviewed relabel #2 to 'billing'" in n for n in result.notes) == 2


@settings(deadline=None)  # timing is not the property; CI machines are shared
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["x", "y", "z"]),
            st.one_of(st.none(), st.integers(0, 50)),
        ),
        max_size=30,
    )
)
def test_every_relabeled_text_keeps_exactly_its_last_reviewed_label(
    rows: list[tuple[str, str, int | None]],
) -> None:
    from lifelong.core.types import Example
    from lifelong.data import ReadResult
    from lifelong.data.validate import apply_reviewed_relabels

    examples = [
        Example.make(t, label, meta={} if rid is None else {"review": {"id": rid, "replaces": "q"}})
        for t, label, rid in rows
    ]
    kept = apply_reviewed_relabels(examples, ReadResult())
    for text in {t for t, _, rid in rows if rid is not None}:
        reviewed = [(rid, label) for t, label, rid in rows if t == text and rid is not None]
        winner = max(reviewed, key=lambda pair: pair[0])[1]  # the first of equal ids wins
        assert {e.label for e in kept if e.text == text} == {winner}
    untouched = {t for t, _, rid in rows} - {t for t, _, rid in rows if rid is not None}
    assert [e for e in kept if e.text in untouched] == [e for e in examples if e.text in untouched]
