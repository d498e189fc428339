"""Building the configured sources of a project (``sources:`` in ``config.yml``)."""

from __future__ import annotations

from pathlib import Path

from lifelong.config import SourceSpec
from lifelong.data.sources.base import Source
from lifelong.data.sources.feedback import FeedbackSource
from lifelong.data.sources.inbox import InboxSource
from lifelong.data.sources.redis_stream import RedisStreamSource
from lifelong.project import Project

FEEDBACK_LOG = Path("feedback") / "feedback.jsonl"


def feedback_path(project: Project, spec: SourceSpec) -> Path:
    """The log file of a ``feedback`` spec: ``true`` is ``.lifelong/feedback/feedback.jsonl``."""
    if isinstance(spec.feedback, str):
        return project.path(spec.feedback)
    return project.state_dir / FEEDBACK_LOG


def feedback_log(project: Project) -> Path | None:
    """Where the server appends feedback: the first configured feedback source, if any."""
    specs = [spec for spec in project.config.sources if spec.feedback is not None]
    return feedback_path(project, specs[0]) if specs else None


def build_source(project: Project, spec: SourceSpec) -> Source:
    """One source from its spec, paths resolved against the project root."""
    if spec.inbox is not None:
        folder = project.path(spec.inbox) if isinstance(spec.inbox, str) else project.inbox
        return InboxSource(folder, project.config.columns)
    if spec.feedback is not None:
        return FeedbackSource(feedback_path(project, spec))
    assert spec.redis is not None  # SourceSpec validates that exactly one is set
    redis = spec.redis
    return RedisStreamSource(
        redis.url, redis.stream, redis.group, redis.consumer, count=redis.count
    )


def build_sources(project: Project) -> list[Source]:
    """Every configured source, in config order."""
    return [build_source(project, spec) for spec in project.config.sources]
