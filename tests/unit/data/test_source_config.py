"""``sources:`` in config.yml and the factory building sources from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lifelong.config import parse_config
from lifelong.core.errors import ConfigError
from lifelong.data.sources import (
    FeedbackSource,
    InboxSource,
    RedisStreamSource,
    build_sources,
    feedback_log,
)
from lifelong.project import Project


def project(tmp_path: Path, **raw: Any) -> Project:
    return Project(root=tmp_path, config=parse_config(raw))


def test_default_sources_are_the_inbox_and_feedback(tmp_path: Path) -> None:
    inbox, feedback = build_sources(project(tmp_path, inbox="drop"))
    assert isinstance(inbox, InboxSource)
    assert inbox.inbox_dir == tmp_path / "drop"
    assert isinstance(feedback, FeedbackSource)
    assert feedback.path == tmp_path / ".lifelong" / "feedback" / "feedback.jsonl"


def test_explicit_sources_resolve_paths_and_redis_settings(tmp_path: Path) -> None:
    built = build_sources(
        project(
            tmp_path,
            sources=[
                {"inbox": "other"},
                {"feedback": "logs/fb.jsonl"},
                {"redis": {"url": "redis://h:1/2", "stream": "s", "group": "g", "count": 5}},
            ],
        )
    )
    inbox, feedback, redis = built
    assert isinstance(inbox, InboxSource)
    assert inbox.inbox_dir == tmp_path / "other"
    assert isinstance(feedback, FeedbackSource)
    assert feedback.path == tmp_path / "logs" / "fb.jsonl"
    assert isinstance(redis, RedisStreamSource)
    assert (redis.url, redis.stream, redis.group, redis.consumer, redis.count) == (
        "redis://h:1/2",
        "s",
        "g",
        "lifelong",
        5,
    )


def test_feedback_log_is_the_first_feedback_source(tmp_path: Path) -> None:
    configured = project(tmp_path, sources=[{"inbox": True}, {"feedback": "a.jsonl"}])
    assert feedback_log(configured) == tmp_path / "a.jsonl"
    assert feedback_log(project(tmp_path, sources=[{"inbox": True}])) is None


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([{"inbx": "inbox"}], r"sources\.0\.inbx: unknown key"),
        ([{"redis": {"stream": "s", "grp": "g"}}], r"sources\.0\.redis\.grp: unknown key"),
        ([{"inbox": True, "feedback": True}], r"sources\.0: .*exactly one of"),
        ([{}], r"sources\.0: .*exactly one of"),
        ([{"feedback": False}], r"remove the entry to disable it"),
        ([{"inbox": 1}], r"sources\.0\.inbox"),
    ],
)
def test_bad_source_specs_are_errors_naming_the_key(sources: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"sources": sources})
