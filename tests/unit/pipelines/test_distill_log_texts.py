"""The prediction log's texts a student learns from: kept texts only, normalized, distinct,
newest first, capped, screened like served input, never a labeled or test text; and the
``compress.distill`` options from config.yml and ``-o``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifelong.config import parse_config
from lifelong.core.errors import ConfigError
from lifelong.pipelines.compress import DISTILL, parsed_options
from lifelong.pipelines.distill import log_texts
from lifelong.project import Project
from lifelong.registry import PredictionRecord, Registry, open_registry

START = datetime(2026, 12, 1, tzinfo=UTC)


def _log(registry: Registry, texts: list[str | None]) -> None:
    registry.store.log_predictions(
        [
            PredictionRecord(
                f"p{i}", START + timedelta(seconds=i), f"h{i}", "1.0", "greet", 0.9, 1.0, text
            )
            for i, text in enumerate(texts)
        ]
    )


def test_kept_texts_distinct_newest_first_capped_and_screened(registry: Registry) -> None:
    _log(registry, ["Old one", None, "x" * 50, "a labeled text", "  ", "NEW  one", "old ONE",
                    "newest"])  # fmt: skip
    known = {"a labeled text"}
    assert log_texts(registry, 10, 40, known) == ["newest", "old one", "new one"]
    assert log_texts(registry, 2, 40, known) == ["newest", "old one"]
    assert log_texts(registry, 0, 40, known) == []
    assert "x" * 50 in log_texts(registry, 10, 50, known)


def test_texts_no_door_would_take_are_left_out(tmp_path: Path) -> None:
    """A NUL character (SQLite stores it; PostgreSQL's text columns refuse it)."""
    with open_registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path / "artifacts") as opened:
        _log(opened, ["fine", "broken \x00 text", "also fine"])
        assert log_texts(opened, 10, 40, set()) == ["also fine", "fine"]


def test_distill_options_from_config_then_cli(tmp_path: Path) -> None:
    raw = {"compress": {"distill": {"temperature": 4, "log_texts": False}}}
    project = Project(root=tmp_path, config=parse_config(raw))
    options = parsed_options(project, DISTILL, ["weight=0.5", "epochs=3"])
    assert options.model_dump() == {"temperature": 4.0, "weight": 0.5, "epochs": 3,
                                     "log_texts": False, "max_log_texts": 50_000}  # fmt: skip
    with pytest.raises(ConfigError, match="unknown option") as raised:
        parsed_options(project, DISTILL, ["temprature=2"])
    assert "temperature" in str(raised.value.hint)
    with pytest.raises(ConfigError, match="log_texts"):
        parsed_options(project, DISTILL, ["log_texts=maybe"])
