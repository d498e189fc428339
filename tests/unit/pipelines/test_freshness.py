"""The freshness experiment: time slicing, and a real run on synthetic drifting data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.config import CONFIG_FILE
from lifelong.core.errors import DataError
from lifelong.core.types import Example
from lifelong.data.stream import DEFAULT_CHUNK, StreamSource
from lifelong.pipelines import freshness
from lifelong.pipelines.freshness import time_slices
from lifelong.project import Project

START = datetime(2026, 1, 1, tzinfo=UTC)


def _stamped(text: str, label: str, day: float) -> Example:
    return Example.make(text, label, timestamp=(START + timedelta(days=day)).isoformat())


def test_time_slices_are_equal_spans_oldest_first() -> None:
    examples = [_stamped(f"t{d}", "a", d) for d in range(10)] + [Example.make("x", "a")]
    slices = time_slices(examples, 5)
    assert [len(s) for s in slices] == [2, 2, 2, 2, 2]
    assert [e.text for e in slices[-1]] == ["t8", "t9"]


def test_too_few_timestamps_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="needs timestamped examples: found 1"):
        time_slices([_stamped("a", "a", 0), Example.make("b", "a")], 3)


def test_fresher_data_wins_on_drifting_data(tmp_path: Path) -> None:
    # The word for "greet" changes on day 20: slices 0-1 say "hello", slices 2-3 "yo".
    rows = []
    for day in range(40):
        greet = "hello" if day < 20 else "yo"
        for i in range(6):
            rows.append(
                {
                    "text": f"{greet} friend {day} {i}",
                    "intent": "greet",
                    "timestamp": (START + timedelta(days=day)).isoformat(),
                }
            )
            rows.append(
                {
                    "text": f"bye friend {day} {i}",
                    "intent": "goodbye",
                    "timestamp": (START + timedelta(days=day)).isoformat(),
                }
            )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / CONFIG_FILE).write_text(
        "pipeline: {ngrams: {buckets: 4096, dim: 16}, hidden: 16}\ntraining: {epochs: 4}\n"
    )
    result = CliRunner().invoke(
        app, ["--project", str(tmp_path), "freshness", "--slices", "4", "--plot", "f.png"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.png").stat().st_size > 1000
    lines = [line.split() for line in result.output.splitlines() if line.startswith(" single")]
    accuracy = {line[2]: float(line[-1]) for line in lines}  # slices "2-2", "1-1", "0-0"
    assert accuracy["2-2"] > accuracy["0-0"]


def _drifting(root: Path, stream: bool) -> Project:
    """40 days of greetings whose word changes on day 20, a duplicate of a row in a second
    file and a reviewed relabel; streamed or not."""
    rows = []
    for day in range(40):
        stamp = (START + timedelta(days=day)).isoformat()
        greet = "hello" if day < 20 else "yo"
        for i in range(6):
            rows.append(
                {"text": f"{greet} friend {day} {i}", "intent": "greet", "timestamp": stamp}
            )
            rows.append({"text": f"bye friend {day} {i}", "intent": "goodbye", "timestamp": stamp})
    later = [
        rows[5],  # a duplicate: trained once
        {**rows[7], "intent": "greet", "review": {"id": 1, "replaces": "goodbye"}},
    ]
    (root / "data").mkdir(parents=True)
    (root / "data" / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "data" / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in later))
    (root / CONFIG_FILE).write_text(
        "pipeline: {ngrams: {buckets: 4096, dim: 16}, hidden: 16}\n"
        f"training: {{epochs: 4, stream: {str(stream).lower()}}}\n"
    )
    return Project.load(root)


def test_a_streamed_project_runs_the_experiment_as_a_stream_with_the_same_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = freshness.run_freshness(_drifting(tmp_path / "memory", False), n_slices=4)

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("a streamed project's data was read or trained whole")

    monkeypatch.setattr(freshness, "load_dataset", whole)
    monkeypatch.setattr(freshness, "train", whole)
    monkeypatch.setattr(freshness, "time_slices", whole)
    read: list[int] = []
    chunks = StreamSource.chunks

    def counted(self: StreamSource, path: Path) -> Iterator[list[Example]]:
        for chunk in chunks(self, path):
            read.append(len(chunk))
            yield chunk

    monkeypatch.setattr(StreamSource, "chunks", counted)
    streamed = freshness.run_freshness(_drifting(tmp_path / "stream", True), n_slices=4)
    assert read  # through the streaming reader, a chunk at a time
    assert max(read) <= DEFAULT_CHUNK

    def shape(row: freshness.FreshnessRow) -> tuple[object, ...]:
        return row.series, row.slices, row.start, row.end, row.age_days, row.n_train

    assert [shape(r) for r in streamed] == [shape(r) for r in in_memory]
    for ours, theirs in zip(streamed, in_memory, strict=True):
        assert abs(ours.accuracy - theirs.accuracy) <= 0.1, (ours, theirs)
    newest = {r.slices: r.accuracy for r in streamed if r.series == "single slice"}
    assert newest[(2, 2)] > newest[(0, 0)]
