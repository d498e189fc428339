"""Feedback log: durable appends, offset-based reading, exactly-once commits."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import StorageError
from lifelong.data.sources import FeedbackRecord, FeedbackSource, append_feedback


def record(i: int, **extra: str) -> FeedbackRecord:
    return FeedbackRecord(text=f"utterance number {i}", intent=f"intent_{i % 3}", **extra)


def texts(source: FeedbackSource) -> list[str]:
    return [e.original for e in source.pending().examples]


def test_append_writes_one_json_line_with_timestamp(tmp_path: Path) -> None:
    log = tmp_path / "feedback" / "feedback.jsonl"
    append_feedback(log, record(1, prediction_id="p-1", predicted="intent_0"))
    (line,) = log.read_text(encoding="utf-8").splitlines()
    parsed = json.loads(line)
    assert parsed["text"] == "utterance number 1"
    assert parsed["prediction_id"] == "p-1"
    assert parsed["timestamp"].endswith("+00:00")


def test_append_refuses_an_empty_intent(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'intent' must be a non-empty string"):
        append_feedback(tmp_path / "f.jsonl", FeedbackRecord(text="hi", intent=" "))


def test_append_refuses_a_lone_surrogate_before_writing(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    with pytest.raises(ValueError, match=r"field 'text': invalid Unicode \(lone surrogate U\+D800"):
        append_feedback(log, FeedbackRecord(text="\ud800", intent="greet"))
    assert not log.exists()


def test_invalid_unicode_lines_are_problems_and_the_good_ones_are_read(tmp_path: Path) -> None:
    """A log line with a JSON-escaped lone surrogate or a NUL (written by hand or by an older
    server) is a problem at its line and consumed with the batch: it never crashes a cycle."""
    log = tmp_path / "f.jsonl"
    append_feedback(log, record(0))
    with log.open("ab") as handle:
        handle.write(b'{"text": "\\ud800", "intent": "greet"}\n')
        handle.write(b'{"text": "hi", "intent": "greet", "predicted": "g\\u0000"}\n')
    append_feedback(log, record(1))
    source = FeedbackSource(log)
    batch = source.pending()
    assert [e.original for e in batch.examples] == ["utterance number 0", "utterance number 1"]
    assert [(p.location, p.code, p.message) for p in batch.problems] == [
        (
            f"{log}:2",
            "malformed-feedback",
            "field 'text': invalid Unicode (lone surrogate U+D800 at position 0)",
        ),
        (
            f"{log}:3",
            "malformed-feedback",
            "field 'predicted': contains a NUL character (U+0000 at position 1)",
        ),
    ]
    assert all(len(e.hash) == 64 for e in batch.examples)
    source.commit(batch.receipts)
    assert source.pending().empty


def test_offset_advances_only_on_commit(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    for i in range(3):
        append_feedback(log, record(i))
    source = FeedbackSource(log)

    batch = source.pending()
    assert len(batch.examples) == 3
    assert len(FeedbackSource(log).pending().examples) == 3  # a crash here redelivers

    source.commit(batch.receipts)
    assert source.committed().line == 3
    assert source.pending().empty
    append_feedback(log, record(3))
    (example,) = FeedbackSource(log).pending().examples
    assert (example.original, example.line) == ("utterance number 3", 4)


def test_example_carries_the_prediction(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    append_feedback(log, record(0, prediction_id="p-9", predicted="intent_2"))
    (example,) = FeedbackSource(log).pending().examples
    assert example.label == "intent_0"
    assert example.meta == {"feedback": True, "prediction_id": "p-9", "predicted": "intent_2"}
    assert FeedbackRecord("a", "x", predicted="y").correct is False


def test_half_written_last_line_waits(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    append_feedback(log, record(0))
    with log.open("ab") as handle:
        handle.write(b'{"text": "half", "int')
    source = FeedbackSource(log)
    batch = source.pending()
    assert [e.original for e in batch.examples] == ["utterance number 0"]
    source.commit(batch.receipts)
    with log.open("ab") as handle:
        handle.write(b'ent": "greet"}\n')
    assert texts(source) == ["half"]


def test_malformed_lines_are_reported_with_line_and_passed(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    append_feedback(log, record(0))
    with log.open("ab") as handle:
        handle.write(b'not json\n{"text": "no intent"}\n[1]\n\n')
    append_feedback(log, record(1))
    source = FeedbackSource(log)
    batch = source.pending()
    assert len(batch.examples) == 2
    assert [(p.line, p.code) for p in batch.problems] == [
        (2, "malformed-feedback"),
        (3, "malformed-feedback"),
        (4, "malformed-feedback"),
    ]
    assert "'intent' must be a non-empty string" in batch.problems[1].message
    source.commit(batch.receipts)
    assert source.pending().empty


def test_max_lines_bounds_a_batch(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    for i in range(5):
        append_feedback(log, record(i))
    source = FeedbackSource(log, max_lines=2)
    seen: list[str] = []
    while not (batch := source.pending()).empty:
        seen += [e.original for e in batch.examples]
        source.commit(batch.receipts)
    assert seen == [f"utterance number {i}" for i in range(5)]


def test_stale_and_repeated_receipts_are_ignored(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    append_feedback(log, record(0))
    source = FeedbackSource(log)
    old = source.pending()
    source.commit(old.receipts)
    append_feedback(log, record(1))
    new = source.pending()
    source.commit(old.receipts)  # stale: must not move the offset back or forward
    assert texts(source) == ["utterance number 1"]
    source.commit(new.receipts)
    source.commit(new.receipts)
    assert source.committed().line == 2


def test_truncated_log_is_read_again_with_a_warning(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    for i in range(3):
        append_feedback(log, record(i))
    source = FeedbackSource(log)
    source.commit(source.pending().receipts)
    log.unlink()
    append_feedback(log, record(7))
    batch = source.pending()
    assert [p.code for p in batch.problems] == ["feedback-truncated"]
    assert [e.original for e in batch.examples] == ["utterance number 7"]
    source.commit(batch.receipts)
    assert source.committed().line == 1


def test_concurrent_threads_lose_no_line(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"

    def writer(start: int) -> None:
        for i in range(start, start + 100):
            append_feedback(log, record(i))

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(texts(FeedbackSource(log))) == sorted(f"utterance number {i}" for i in range(800))


def _append_many(log: str, start: int, count: int) -> None:
    for i in range(start, start + count):
        append_feedback(Path(log), record(i))


def test_concurrent_processes_lose_no_line(tmp_path: Path) -> None:
    log = tmp_path / "f.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(log), k * 300, 300)) for k in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    batch = FeedbackSource(log).pending()
    assert batch.problems == []
    assert sorted(e.original for e in batch.examples) == sorted(
        f"utterance number {i}" for i in range(600)
    )


# One step of a run: append n records, or a cycle that reads (bounded) and then commits or
# crashes (a new source object replaces the old one, as after a restart).
step = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 4)),
    st.tuples(st.just("partial"), st.just(0)),
    st.tuples(st.sampled_from(["commit", "crash"]), st.integers(1, 5)),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step, max_size=25))
def test_offset_never_skips_or_repeats_a_committed_line(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "f.jsonl"
        appended: list[str] = []
        committed: list[str] = []
        half_written = False
        source = FeedbackSource(log)
        for action, n in [*steps, ("partial", 0)]:
            if action == "append" or (action == "partial" and half_written):
                if half_written:  # finish the half line first, as one appender would
                    with log.open("ab") as handle:
                        handle.write(b'"}\n')
                    appended.append(f"partial {len(appended)}")
                    half_written = False
                for _ in range(n):
                    append_feedback(log, record(len(appended)))
                    appended.append(f"utterance number {len(appended)}")
            elif action == "partial":
                with log.open("ab") as handle:
                    handle.write(f'{{"intent": "x", "text": "partial {len(appended)}'.encode())
                half_written = True
            else:
                source = FeedbackSource(log, max_lines=n)
                batch = source.pending()
                if action == "commit":
                    source.commit(batch.receipts)
                    committed += [e.original for e in batch.examples]
        source = FeedbackSource(log)
        batch = source.pending()
        committed += [e.original for e in batch.examples]
        assert committed == appended


def test_a_full_disk_leaves_no_half_line_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "feedback.jsonl"
    append_feedback(log, FeedbackRecord("hello", "greet"))
    before = log.read_bytes()
    real_write = os.write

    def cut_short(fd: int, data: bytes) -> int:  # the disk takes half, then is full
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", cut_short)
    with pytest.raises(StorageError, match=r"cannot write .*feedback\.jsonl: the disk is full"):
        append_feedback(log, FeedbackRecord("a much longer text to cut in two", "greet"))
    monkeypatch.undo()
    assert log.read_bytes() == before
    append_feedback(log, FeedbackRecord("bye", "goodbye"))
    assert [json.loads(line)["text"] for line in log.read_text().splitlines()] == ["hello", "bye"]
