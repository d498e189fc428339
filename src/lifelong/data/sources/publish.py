"""Publishing messages to a configured transport: ``lifelong publish``, tests, benchmarks, demos.

Each example becomes one message in the form its source reads (JSON with the configured field
names for Kafka and NATS, a field map for Redis), identified by the example's content hash: the
Kafka message key, and the ``Nats-Msg-Id`` header, so JetStream keeps one copy of an example
published twice within the stream's duplicate window (a retried ``lifelong publish``).
Publishing waits for the broker's acknowledgement of every message, or raises.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lifelong.config import (
    SOURCE_KINDS,
    Columns,
    KafkaSource,
    NatsSource,
    RedisSource,
    SourceSpec,
)
from lifelong.core.errors import ConfigError, DataError
from lifelong.core.types import Example
from lifelong.data.sources.base import SourceUnavailable
from lifelong.data.sources.kafka import kafka_settings, producer_settings
from lifelong.data.sources.nats import nats_connect_options
from lifelong.project import Project

Message = tuple[str, bytes]  # (identity: key / Nats-Msg-Id, payload)


def example_record(example: Example, fields: Columns) -> dict[str, Any]:
    """The message of an example: its original text, intent, timestamp and meta."""
    record: dict[str, Any] = dict(example.meta)
    record[fields.text] = example.original or example.text
    record[fields.intent] = example.label
    if example.timestamp is not None:
        record[fields.timestamp] = example.timestamp
    return record


def publish_examples(spec: SourceSpec, examples: Sequence[Example], where: str = "source") -> int:
    """Publish every example to the transport of ``spec``; the number published."""
    if spec.kafka is not None:
        fields = spec.kafka.fields
        kafka_send(spec.kafka, _json_messages(examples, fields), where)
    elif spec.nats is not None:
        fields = spec.nats.fields
        nats_send(spec.nats, _json_messages(examples, fields), where)
    elif spec.redis is not None:
        records = [example_record(e, Columns()) for e in examples]
        redis_send(spec.redis, [_redis_fields(r) for r in records])
    else:
        raise ConfigError(
            f"{where} is not a transport (kafka, nats or redis): nothing to publish to",
            hint="pick a kafka, nats or redis entry of `sources` with --source or --to",
        )
    return len(examples)


def _json_messages(examples: Sequence[Example], fields: Columns) -> list[Message]:
    return [
        (e.hash, json.dumps(example_record(e, fields), ensure_ascii=False).encode())
        for e in examples
    ]


def _redis_fields(record: Mapping[str, Any]) -> dict[str, str]:
    return {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in record.items()
    }


def kafka_send(config: KafkaSource, messages: Iterable[Message], where: str = "source") -> None:
    """Produce to the first topic of ``config``, keyed by identity; wait for every ack."""
    from confluent_kafka import KafkaException, Producer

    settings = kafka_settings(config.config, config.secrets_env, f"{where}.kafka")
    producer = Producer(producer_settings(config.bootstrap, settings, config.timeout))
    failed: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failed.append(error.str())

    topic = config.topics[0]
    try:
        for key, payload in messages:
            while True:
                try:
                    producer.produce(topic, payload, key.encode(), on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.1)
            producer.poll(0)
    except KafkaException as error:
        raise SourceUnavailable(f"Kafka at {config.bootstrap}: {error}") from None
    left = producer.flush(config.timeout * 3)
    if failed or left:
        raise SourceUnavailable(
            f"Kafka at {config.bootstrap}: {len(failed) + left} message(s) to topic {topic!r} "
            f"not acknowledged ({failed[0] if failed else 'timed out'})",
            hint="check that the brokers run and the topic exists; publishing again is safe "
            "for the loop (content hashes recognise repeats)",
        )


def nats_send(config: NatsSource, messages: Iterable[Message], where: str = "source") -> None:
    """Publish to the subject of ``config`` with ``Nats-Msg-Id``; create the stream if missing."""
    options = nats_connect_options(
        config.user, config.password_env, config.token_env, config.creds, f"{where}.nats"
    )
    asyncio.run(_nats_send(config, list(messages), options))


async def _nats_send(config: NatsSource, messages: list[Message], options: dict[str, Any]) -> None:
    import nats
    import nats.js.errors as js_errors

    try:
        nc = await asyncio.wait_for(
            nats.connect(config.url, allow_reconnect=False, **options), config.timeout
        )
    except Exception as error:
        raise SourceUnavailable(
            f"NATS server at {config.url} did not answer within {config.timeout:g} s "
            f"({type(error).__name__}: {error})"
        ) from None
    try:
        js = nc.jetstream(timeout=config.timeout)
        try:
            await js.stream_info(config.stream)
        except js_errors.NotFoundError:
            await js.add_stream(name=config.stream, subjects=[config.subject])
        for start in range(0, len(messages), 2000):
            futures = [
                await js.publish_async(config.subject, payload, headers={"Nats-Msg-Id": key})
                for key, payload in messages[start : start + 2000]
            ]
            await asyncio.wait_for(asyncio.gather(*futures), config.timeout * 3)
    finally:
        await nc.close()


def redis_send(config: RedisSource, records: Iterable[Mapping[str, str | bytes]]) -> None:
    """``XADD`` each record to the stream of ``config``."""
    import redis

    client = redis.Redis.from_url(config.url)
    try:
        pipe = client.pipeline(transaction=False)
        for record in records:
            fields: dict[Any, Any] = dict(record)
            pipe.xadd(config.stream, fields)
        pipe.execute()
    except redis.RedisError as error:
        raise SourceUnavailable(f"Redis at {config.url}: {error}") from None
    finally:
        client.close()


def choose_transport(
    project: Project, source: str | None = None, to: str | None = None
) -> tuple[str, SourceSpec]:
    """The configured source to publish to: ``source`` is an index into ``sources`` or a
    source's name (``kafka:topic``, ``nats:STREAM``, ``redis:stream``); ``to`` the first of a
    kind (``kafka``, ``nats``, ``redis``). Returns its key path (``sources.2``) and spec."""
    specs = list(enumerate(project.config.sources))
    for i, spec in specs:
        where = f"sources.{i}"
        kind = next(k for k in SOURCE_KINDS if getattr(spec, k) is not None)
        if source is not None and source.isdigit() and int(source) == i:
            return where, spec
        if to is not None and source is None and kind == to:
            return where, spec
        transport = kind in ("kafka", "nats", "redis")
        if source is not None and transport and build_transport_name(spec) == source:
            return where, spec
    wanted = f"source {source!r}" if source is not None else f"{to} source"
    raise ConfigError(
        f"config.yml has no {wanted} in `sources` to publish to",
        hint="add a {kafka: ...}, {nats: ...} or {redis: ...} entry, or pick one with "
        "--source INDEX|NAME or --to kafka|nats|redis",
    )


def build_transport_name(spec: SourceSpec) -> str:
    """The name the source of ``spec`` has (its examples' ``source``)."""
    if spec.kafka is not None:
        return f"kafka:{','.join(spec.kafka.topics)}"
    if spec.nats is not None:
        return f"nats:{spec.nats.stream}"
    assert spec.redis is not None
    return f"redis:{spec.redis.stream}"


def publish_file(
    project: Project, path: Path, source: str | None = None, to: str | None = None
) -> tuple[str, int]:
    """Publish every example of a data file (any format the project reads) as one message.

    A file with an error is refused whole (nothing published), as ``lifelong data validate``
    would report it: half a file on a transport is harder to fix than none.
    """
    from lifelong.data.read import read_file

    where, spec = choose_transport(project, source, to)
    result = read_file(path, project.config.columns)
    if result.errors:
        shown = "; ".join(str(p) for p in result.errors[:3])
        raise DataError(
            f"{path}: {len(result.errors)} error(s), nothing published: {shown}",
            hint=f"fix the file (lifelong data validate {path})",
        )
    return build_transport_name(spec), publish_examples(spec, result.examples, where)
