"""Ingestion is exactly-once by content, and never relabels silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.errors import ConfigError
from lifelong.core.types import Example
from lifelong.data import Snapshot, load_dataset
from lifelong.data.sources import InboxSource
from lifelong.pipelines.ingest import collect, commit_sources, ingest_folder, write_ingested
from lifelong.project import Project


def _project(root: Path) -> Project:
    (root / "data").mkdir(parents=True)
    (root / "inbox").mkdir()
    (root / CONFIG_FILE).write_text("{}\n")
    (root / "data" / "a.jsonl").write_text(
        json.dumps({"text": "hello there", "intent": "greet"}) + "\n"
    )
    return Project.load(root)


def _inbox(project: Project, name: str, rows: list[tuple[str, str]]) -> None:
    lines = "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows)
    (project.inbox / name).write_text(lines)


def test_new_examples_are_written_once_and_sources_committed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _inbox(project, "b.jsonl", [("bye now", "goodbye"), ("hello there", "greet")])
    source = InboxSource(project.inbox)
    found = collect([source], load_dataset(project).pool)
    assert [e.text for e in found.new] == ["bye now"]
    assert found.already_present == 1
    path = write_ingested(project, found)
    assert path is not None
    assert path.parent == tmp_path / "data" / "ingested"
    assert load_dataset(project).pool.label_counts == {"goodbye": 1, "greet": 1}
    commit_sources([source], found)
    assert not (project.inbox / "b.jsonl").exists()
    assert (project.inbox / "processed" / "b.jsonl").exists()


def test_a_crash_before_commit_redelivers_without_duplicates(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _inbox(project, "b.jsonl", [("bye now", "goodbye")])
    found = collect([InboxSource(project.inbox)], load_dataset(project).pool)
    write_ingested(project, found)
    # crash here: the file was written, the inbox not committed. The next cycle:
    again = collect([InboxSource(project.inbox)], load_dataset(project).pool)
    assert again.new == []
    assert again.already_present == 1
    assert write_ingested(project, again) is None
    assert len(list((tmp_path / "data" / "ingested").iterdir())) == 1


def test_a_relabel_is_held_for_review_not_skipped(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _inbox(project, "b.jsonl", [("Hello there", "goodbye"), ("see you", "goodbye")])
    found = collect([InboxSource(project.inbox)], load_dataset(project).pool)
    assert [e.text for e in found.new] == ["see you"]
    (held,) = found.held
    assert (held.text, held.intent, held.current, held.reason) == (
        "Hello there",
        "goodbye",
        "greet",
        "relabel",
    )
    assert held.source == f"inbox:{project.inbox}"
    assert held.detail["message"] == "the data has this text as 'greet'"
    assert found.summary()["held_reasons"] == {"relabel": 1}


def test_allow_conflicts_adds_an_annotators_second_label(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _inbox(project, "b.jsonl", [("Hello there", "goodbye")])
    found = collect([InboxSource(project.inbox)], load_dataset(project).pool, allow_conflicts=True)
    assert [(e.text, e.label) for e in found.new] == [("hello there", "goodbye")]
    assert found.held == []


def test_ingest_needs_a_data_folder(tmp_path: Path) -> None:
    _project(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("data: [data/a.jsonl]\n")
    with pytest.raises(ConfigError, match="needs a folder in `data:`"):
        ingest_folder(Project.load(tmp_path))


def test_duplicates_within_one_batch_are_kept_once() -> None:
    class Fake:
        name = "fake"

        def pending(self):  # type: ignore[no-untyped-def]
            from lifelong.data.sources import Batch

            ex = [Example.make("same text", "a"), Example.make("SAME  text", "a")]
            return Batch("fake", ex, [], [])

        def commit(self, receipts):  # type: ignore[no-untyped-def]
            pass

    found = collect([Fake()], Snapshot())  # type: ignore[list-item]
    assert len(found.new) == 1
    assert found.already_present == 1


def test_new_regression_target_values_are_not_held_as_new_intents(tmp_path: Path) -> None:
    from lifelong.core.types import Example
    from lifelong.pipelines.ingest import Ingested, hold_untrainable

    (tmp_path / "data").mkdir()
    config = {"task": "tabular", "columns": {"target": "price", "kind": "regression"}}
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    rows = "".join(f"{i},{i * 1.5}\n" for i in range(10))
    (tmp_path / "data" / "a.csv").write_text("size,price\n" + rows)
    project = Project.load(tmp_path)
    before = load_dataset(project)
    found = Ingested(new=[Example(text='{"size":99.0}', label="148.5")])
    hold_untrainable(found, before, project)
    assert (len(found.new), found.held) == (1, [])


def test_regression_feedback_with_a_new_value_trains_where_a_new_intent_is_held() -> None:
    from lifelong.data.sources import Batch
    from lifelong.pipelines.ingest import collect_pending

    feedback = Example.make('{"size":99.0}', "148.5", meta={"feedback": True})
    pending = [("feedback", Batch("feedback", [feedback], [], []))]
    pool = Snapshot.of([Example.make('{"size":1.0}', "1.5")])
    classes = collect_pending(pending, pool, {"1.5"})
    assert (classes.new, [h.reason for h in classes.held]) == ([], ["unknown-intent"])
    values = collect_pending(pending, pool, None)  # a regression project: no intents
    assert (values.new, values.held) == ([feedback], [])
