"""Validation: conflicts, duplicates, and that failure raises before anything is returned."""

from __future__ import annotations

from pathlib import Path

import pytest

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
