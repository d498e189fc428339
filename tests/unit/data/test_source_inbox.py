"""InboxSource: exactly-once ingestion of dropped files, rejection with an explanation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifelong.data.sources import InboxSource, Receipt


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


GOOD = [{"text": "book a table", "intent": "restaurant"}, {"text": "hi", "intent": "greet"}]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_file_is_offered_until_commit_then_moved(inbox: Path) -> None:
    write_jsonl(inbox / "day1.jsonl", GOOD)
    source = InboxSource(inbox)

    first = source.pending()
    assert [e.label for e in first.examples] == ["restaurant", "greet"]
    assert (inbox / "day1.jsonl").is_file()
    assert [e.hash for e in source.pending().examples] == [e.hash for e in first.examples]

    source.commit(first.receipts)
    assert not (inbox / "day1.jsonl").exists()
    assert (inbox / "processed" / "day1.jsonl").is_file()
    assert source.pending().empty


def test_crash_before_commit_redelivers_to_a_new_source_object(inbox: Path) -> None:
    write_jsonl(inbox / "day1.jsonl", GOOD)
    before = InboxSource(inbox).pending()  # the process dies here, before commit

    after = InboxSource(inbox).pending()
    assert [e.hash for e in after.examples] == [e.hash for e in before.examples]
    assert after.receipts == before.receipts


def test_malformed_file_is_rejected_with_error_file_naming_line(inbox: Path) -> None:
    write_jsonl(inbox / "a_good.jsonl", GOOD)
    bad = inbox / "b_bad.jsonl"
    bad.write_text('{"text": "ok", "intent": "greet"}\n{"text": broken\n', encoding="utf-8")

    batch = InboxSource(inbox).pending()

    assert len(batch.examples) == 2  # the good file goes on
    assert not bad.exists()
    rejected = inbox / "rejected" / "b_bad.jsonl"
    assert rejected.is_file()
    error_text = (inbox / "rejected" / "b_bad.jsonl.error").read_text(encoding="utf-8")
    assert f"{bad}:2: error: malformed JSON" in error_text
    assert any(p.code == "rejected" for p in batch.problems)
    assert any(p.line == 2 and p.code == "malformed-json" for p in batch.problems)
    assert [r.key for r in batch.receipts] == ["a_good.jsonl"]


def test_unknown_file_type_is_rejected(inbox: Path) -> None:
    (inbox / "notes.txt").write_text("hello", encoding="utf-8")
    batch = InboxSource(inbox).pending()
    assert batch.examples == []
    assert "unknown data file type" in (inbox / "rejected" / "notes.txt.error").read_text()


@pytest.mark.parametrize("name", [".day1.jsonl", "day1.jsonl.tmp", "day1.jsonl.part"])
def test_files_being_written_are_not_taken(inbox: Path, name: str) -> None:
    write_jsonl(inbox / name, GOOD)
    assert InboxSource(inbox).pending().empty
    assert (inbox / name).is_file()


def test_name_collisions_keep_both_files(inbox: Path) -> None:
    source = InboxSource(inbox)
    for rows in (GOOD[:1], GOOD[1:]):
        write_jsonl(inbox / "day.jsonl", rows)
        source.commit(source.pending().receipts)
    names = sorted(p.name for p in (inbox / "processed").iterdir())
    assert names == ["day-1.jsonl", "day.jsonl"]
    for _ in range(2):
        (inbox / "x.jsonl").write_text("not json\n", encoding="utf-8")
        source.pending()
    rejected = sorted(p.name for p in (inbox / "rejected").iterdir())
    assert rejected == ["x-1.jsonl", "x-1.jsonl.error", "x.jsonl", "x.jsonl.error"]


def test_file_replaced_after_pending_is_not_moved_on_commit(inbox: Path) -> None:
    path = write_jsonl(inbox / "day1.jsonl", GOOD[:1])
    source = InboxSource(inbox)
    batch = source.pending()
    write_jsonl(path, GOOD)  # a producer replaced it before the commit

    source.commit(batch.receipts)

    assert path.is_file()
    assert len(source.pending().examples) == 2


def test_repeated_commit_is_a_no_op(inbox: Path) -> None:
    write_jsonl(inbox / "day1.jsonl", GOOD)
    source = InboxSource(inbox)
    batch = source.pending()
    source.commit(batch.receipts)
    source.commit(batch.receipts)
    assert [p.name for p in (inbox / "processed").iterdir()] == ["day1.jsonl"]


def test_receipt_of_another_source_is_refused(inbox: Path) -> None:
    with pytest.raises(ValueError, match="receipt of source 'feedback:x'"):
        InboxSource(inbox).commit([Receipt("feedback:x", "1:1")])


def test_missing_inbox_is_empty(tmp_path: Path) -> None:
    assert InboxSource(tmp_path / "nowhere").pending().empty
