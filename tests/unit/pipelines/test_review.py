"""The review queue: what no one vouched for is held, then accepted into the data once or
rejected for good; an accepted relabel replaces the old label (issue 13, findings 2 and 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.errors import DataError, NotFound
from lifelong.data import diff, load_dataset
from lifelong.data.sources import FeedbackRecord, FeedbackSource, InboxSource, append_feedback
from lifelong.pipelines import review
from lifelong.pipelines.ingest import collect, hold_untrainable, write_ingested
from lifelong.project import Project
from lifelong.registry import Registry, open_registry

INTENTS = {
    "greet": ["hello there", "hi", "good morning", "hey you", "hiya", "howdy", "greetings"],
    "bye": ["goodbye", "see you", "bye now", "farewell", "later", "so long", "take care"],
}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "data").mkdir()
    (tmp_path / "inbox").mkdir()
    (tmp_path / CONFIG_FILE).write_text("splits: {valid: 0.0, test: 0.0}\n")
    rows = [{"text": t, "intent": i} for i, texts in INTENTS.items() for t in texts]
    (tmp_path / "data" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return Project.load(tmp_path)


@pytest.fixture
def registry(project: Project) -> Iterator[Registry]:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    with open_registry(project.store_url, project.artifacts_dir) as opened:
        yield opened


def _inbox(project: Project, name: str, rows: list[tuple[str, str]]) -> None:
    lines = "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows)
    (project.inbox / name).write_text(lines)


def _ingest(project: Project, registry: Registry, *sources: object) -> None:
    """What a cycle's ingestion does, without training."""
    before = load_dataset(project)
    found = collect(sources, before.pool)  # type: ignore[arg-type]
    hold_untrainable(found, before, project)
    review.hold(registry, found)
    write_ingested(project, found)


def _feedback(project: Project, text: str, intent: str) -> FeedbackSource:
    path = project.state_dir / "feedback.jsonl"
    append_feedback(path, FeedbackRecord(text=text, intent=intent))
    return FeedbackSource(path)


def test_feedback_with_an_unknown_intent_is_held_and_the_data_stays_trainable(
    project: Project, registry: Registry
) -> None:
    _ingest(project, registry, _feedback(project, "hello", "no_such_intent"))
    assert load_dataset(project).pool.label_counts == {"bye": 7, "greet": 7}
    (item,) = review.items(registry)
    assert (item.text, item.intent, item.reason, item.current) == (
        "hello",
        "no_such_intent",
        "unknown-intent",
        None,
    )
    assert item.source.startswith("feedback:")


def test_an_annotators_new_intent_enters_when_it_can_train_and_waits_when_it_cannot(
    project: Project, registry: Registry
) -> None:
    _inbox(project, "small.jsonl", [("where is my card", "card")])
    _inbox(project, "big.jsonl", [(f"my balance please {n}", "balance") for n in range(5)])
    _ingest(project, registry, InboxSource(project.inbox))
    assert load_dataset(project).pool.label_counts["balance"] == 5
    assert "card" not in load_dataset(project).pool.label_counts
    (item,) = review.items(registry)
    assert item.reason == "too-few-examples"
    assert "new intent with 1 example(s), each intent needs at least 3" in item.detail["message"]


def test_an_accepted_relabel_replaces_the_old_label_and_diffs_as_relabeled(
    project: Project, registry: Registry
) -> None:
    old = load_dataset(project).pool
    _inbox(project, "fix.jsonl", [("Hello there", "bye")])
    _ingest(project, registry, InboxSource(project.inbox), _feedback(project, "hi", "bye"))
    assert load_dataset(project).pool.id == old.id  # held: nothing changed yet
    first, second = review.items(registry)
    assert (first.reason, first.current, second.source.split(":")[0]) == (
        "relabel",
        "greet",
        "feedback",
    )
    decision = review.accept(project, registry, [first.id, second.id], note="checked")
    assert decision.file is not None
    assert decision.decided[0].note == f"checked (into {decision.file.name})"
    assert decision.file.parent == project.root / "data" / "ingested"
    dataset = load_dataset(project)
    labels = {e.text: e.label for e in dataset.pool.examples.values()}
    assert labels["hello there"] == "bye"
    assert labels["hi"] == "bye"
    assert sum(e.text == "hello there" for e in dataset.pool.examples.values()) == 1
    assert any("replaced by reviewed relabel" in note for note in dataset.notes)
    change = diff(old, dataset.pool)
    assert sorted((a.text, a.label, b.label) for a, b in change.relabeled) == [
        ("hello there", "greet", "bye"),
        ("hi", "greet", "bye"),
    ]
    assert change.added == ()
    assert change.removed == ()
    assert {i.status for i in review.items(registry, None)} == {"accepted"}
    # accepting again writes nothing twice
    again = review.accept(project, registry, [first.id])
    assert again.decided == []
    assert [i.id for i in again.skipped] == [first.id]
    assert len(list((project.root / "data" / "ingested").glob("review-*.jsonl"))) == 1


def test_a_rejected_item_never_trains_and_is_not_held_again(
    project: Project, registry: Registry
) -> None:
    _inbox(project, "fix.jsonl", [("Hello there", "bye")])
    _ingest(project, registry, InboxSource(project.inbox))
    decision = review.reject(registry, None, note="wrong")
    (item,) = decision.decided
    assert (item.status, item.note) == ("rejected", "wrong")
    _inbox(project, "again.jsonl", [("hello there", "bye")])  # delivered once more
    _ingest(project, registry, InboxSource(project.inbox))
    assert [i.status for i in review.items(registry, None)] == ["rejected"]
    labels = {e.text: e.label for e in load_dataset(project).pool.examples.values()}
    assert labels["hello there"] == "greet"


def test_accepting_what_could_not_train_is_refused(project: Project, registry: Registry) -> None:
    _ingest(project, registry, _feedback(project, "hello", "no_such_intent"))
    (item,) = review.items(registry)
    with pytest.raises(DataError, match=r"would leave data that cannot train: too few examples"):
        review.accept(project, registry, [item.id])
    assert review.items(registry)[0].status == "pending"
    assert not (project.root / "data" / "ingested").exists() or not list(
        (project.root / "data" / "ingested").glob("review-*")
    )
    with pytest.raises(NotFound, match="no review item 99"):
        review.reject(registry, [99])
