"""Users' texts the sources keep are private: the feedback log, processed and rejected files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lifelong.data.sources import FeedbackRecord, InboxSource, append_feedback

pytestmark = pytest.mark.usefixtures("open_umask")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_feedback_log_is_private(tmp_path: Path) -> None:
    path = tmp_path / ".lifelong" / "feedback" / "feedback.jsonl"
    append_feedback(path, FeedbackRecord(text="hello", intent="greet"))
    assert (_mode(path), _mode(path.parent), _mode(path.parent.parent)) == (0o600, 0o700, 0o700)


def test_an_existing_feedback_log_is_tightened_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text("")
    path.chmod(0o644)
    append_feedback(path, FeedbackRecord(text="hello", intent="greet"))
    assert _mode(path) == 0o600
    assert path.read_text().count("\n") == 1


def test_processed_and_rejected_inbox_files_are_private(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.jsonl").write_text('{"text": "hello", "intent": "greet"}\n')
    (inbox / "bad.jsonl").write_text("not json\n")
    for name in ("good.jsonl", "bad.jsonl"):
        (inbox / name).chmod(0o644)
    source = InboxSource(inbox)
    source.commit(source.pending().receipts)
    moved = [inbox / "processed" / "good.jsonl", inbox / "rejected" / "bad.jsonl"]
    for path in (*moved, inbox / "rejected" / "bad.jsonl.error"):
        assert _mode(path) == 0o600, path
    for folder in (inbox / "processed", inbox / "rejected"):
        assert _mode(folder) == 0o700, folder
