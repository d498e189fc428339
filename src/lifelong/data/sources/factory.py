"""Building the configured sources of a project (``sources:`` in ``config.yml``)."""

from __future__ import annotations

from pathlib import Path

from lifelong.config import Columns, SourceSpec
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


def build_source(project: Project, spec: SourceSpec, where: str = "sources") -> Source:
    """One source from its spec, paths resolved against the project root, secrets read from
    the environment (``where`` names the spec in errors: ``sources.2``)."""
    if spec.inbox is not None:
        folder = project.path(spec.inbox) if isinstance(spec.inbox, str) else project.inbox
        return InboxSource(folder, project.config.columns)
    if spec.feedback is not None:
        return FeedbackSource(feedback_path(project, spec))
    columns = project.config.columns
    if columns.target is not None:  # a tabular project's messages are rows of its columns
        for name in ("kafka", "nats"):
            transport = getattr(spec, name)
            if transport is not None:
                spec = spec.model_copy(
                    update={name: transport.model_copy(update={"fields": columns})}
                )
    return build_transport(spec, where)


def build_transport(
    spec: SourceSpec, where: str = "sources", rows: Columns | None = None
) -> Source:
    """A Kafka, NATS or Redis source from its spec (no project needed: nothing is a path);
    ``rows``: a tabular project's columns, whose messages are rows."""
    if rows is not None:  # the keys of a row are the project's columns
        for name in ("kafka", "nats"):
            transport = getattr(spec, name)
            if transport is not None:
                spec = spec.model_copy(update={name: transport.model_copy(update={"fields": rows})})
    if spec.kafka is not None:
        from lifelong.data.sources.kafka import KafkaSource, kafka_settings

        kafka = spec.kafka
        return KafkaSource(
            kafka.bootstrap,
            kafka.topics,
            kafka.group,
            config=kafka_settings(kafka.config, kafka.secrets_env, f"{where}.kafka"),
            dead_letter=kafka.dead_letter,
            fields=kafka.fields,
            count=kafka.count,
            max_bytes=kafka.max_bytes,
            timeout=kafka.timeout,
            assign_timeout=kafka.assign_timeout,
        )
    if spec.nats is not None:
        from lifelong.data.sources.nats import NatsSource, nats_connect_options

        nats = spec.nats
        options = nats_connect_options(
            nats.user, nats.password_env, nats.token_env, nats.creds, f"{where}.nats"
        )
        return NatsSource(
            nats.url,
            nats.stream,
            nats.subject,
            nats.durable,
            dead_letter=nats.dead_letter,
            ack_wait=nats.ack_wait,
            fields=nats.fields,
            count=nats.count,
            max_bytes=nats.max_bytes,
            timeout=nats.timeout,
            connect_options=options,
        )
    assert spec.redis is not None  # SourceSpec validates that exactly one is set
    redis = spec.redis
    return RedisStreamSource(
        redis.url, redis.stream, redis.group, redis.consumer, count=redis.count, rows=rows
    )


def build_sources(project: Project) -> list[Source]:
    """Every configured source, in config order."""
    return [
        build_source(project, spec, f"sources.{i}") for i, spec in enumerate(project.config.sources)
    ]
