"""The data view's lookup by text (ingestion's repeats and relabels): a streamed project sees
what the in-memory path and the stream's own scan see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.types import Example
from lifelong.data.sources import Batch
from lifelong.pipelines.data_view import data_view, manifests_now
from lifelong.pipelines.ingest import collect_pending
from lifelong.project import Project

MOVED = "please book me a table for two"


def _project(root: Path, stream: bool) -> Project:
    """Data whose text ``MOVED`` was relabeled in review (booking -> restaurant), a repeat of
    a row in a second file, and a text held out by a ``trusted:`` file."""
    (root / "data").mkdir(parents=True)
    rows = [
        {"text": MOVED, "intent": "booking"},
        {"text": "play some jazz", "intent": "music"},
        {"text": "what is the weather", "intent": "weather"},
        {"text": "book a flight", "intent": "booking"},
    ]
    (root / "data" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    review = {"text": MOVED, "intent": "restaurant", "review": {"id": 3, "replaces": "booking"}}
    later = [review, {"text": "Play some  jazz", "intent": "music"}]
    (root / "data" / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in later))
    (root / "trusted.jsonl").write_text(json.dumps(rows[2]) + "\n")
    (root / CONFIG_FILE).write_text(
        f"data: [data]\ntrusted: [trusted.jsonl]\ntraining: {{stream: {str(stream).lower()}}}\n"
    )
    return Project.load(root)


BATCH = [
    Example.make(MOVED, "booking"),  # the label review replaced: a relabel to hold again
    Example.make(MOVED, "restaurant"),  # what review decided: already there
    Example.make("play some jazz", "music"),
    Example.make("what is the weather", "weather"),
    Example.make("book a flight", "weather"),
]


@pytest.mark.parametrize("stream", [False, True])
def test_the_lookup_applies_reviewed_relabels_as_in_memory(tmp_path: Path, stream: bool) -> None:
    in_memory = data_view(_project(tmp_path / "memory", False), {e.text for e in BATCH})
    project = _project(tmp_path / "view", stream)
    view = data_view(project, {e.text for e in BATCH})
    assert (view.source is not None) == stream
    pool = {(e.text, e.label) for e in view.dataset.pool.examples.values()}
    assert pool == {(e.text, e.label) for e in in_memory.dataset.pool.examples.values()}
    assert (MOVED, "booking") not in pool
    found = collect_pending([("inbox", Batch("inbox", list(BATCH)))], view.dataset.pool, None)
    assert found.already_present == 3
    assert [(h.text, h.intent, h.current) for h in found.held] == [
        (MOVED, "booking", "restaurant"),
        ("book a flight", "weather", "booking"),
    ]


def test_manifests_of_a_subset_keep_the_relabels_of_the_files_left_out(tmp_path: Path) -> None:
    project = _project(tmp_path, True)
    view = data_view(project)
    assert view.source is not None
    (tmp_path / "data" / "a.jsonl").write_text(
        (tmp_path / "data" / "a.jsonl").read_text() + json.dumps({"text": "hi", "intent": "x"})
    )
    manifests = {f.path: f for f in manifests_now(project, view)}
    whole = {f.path: f for f in view.source.scan().files}
    assert manifests["data/a.jsonl"].splits["replaced"] == 1
    assert manifests == whole
