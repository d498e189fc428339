"""One harness per transport (Redis Streams, Kafka, NATS JetStream) for the contract tests, the
crash tests and ``bench/ingest.py``: publish raw messages, build a fresh source as a restarted
process would, read the dead letters back, count what is not acknowledged.

Kafka runs against librdkafka's mock cluster (:class:`KafkaMock`): it speaks the Kafka protocol
on loopback and lives inside the process that created it, so other processes (``lifelong
update``) reach it only while that process keeps it open.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lifelong.config import Columns, SourceSpec
from lifelong.config import KafkaSource as KafkaSpec
from lifelong.config import NatsSource as NatsSpec
from lifelong.config import RedisSource as RedisSpec
from lifelong.data.sources.base import Source
from lifelong.data.sources.factory import build_transport
from lifelong.data.sources.publish import kafka_send, nats_send, redis_send


class Transport(Protocol):
    """What the contract tests need of a transport."""

    kind: str
    #: payloads are bytes (Kafka, NATS); Redis messages are field maps
    raw_bytes: bool
    #: seconds before an abandoned (killed) reader's messages are offered again
    redelivery_wait: float

    def spec(self, **overrides: Any) -> dict[str, Any]:
        """The ``sources`` entry of ``config.yml`` reading this transport."""
        ...

    def publish(self, records: Sequence[Mapping[str, str]]) -> None: ...

    def publish_raw(self, payload: bytes) -> None: ...

    def dead_letters(self) -> list[str]:
        """The reason of every dead letter, in order."""
        ...

    def unacked(self) -> int:
        """Messages not yet acknowledged (delivered or not)."""
        ...

    def cleanup(self) -> None: ...


def fresh_source(transport: Transport, rows: Columns | None = None, **overrides: Any) -> Source:
    """A new source object, as a new process builds it from ``config.yml`` (``rows``: the
    columns of a tabular project)."""
    return build_transport(SourceSpec.model_validate(transport.spec(**overrides)), rows=rows)


class KafkaMock:
    """librdkafka's mock cluster, alive while this object (its producer) is; its topics are
    created on first use with 4 partitions.

    ``settings`` go to the producer, e.g. ``{"test.mock.broker.rtt": 100}`` (milliseconds
    each broker adds to a request) with ``{"batch.num.messages": 1}`` (one message per record
    batch) to make a read take long enough for a rebalance to land in its middle.
    """

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        from confluent_kafka import Producer

        self.producer = Producer({"test.mock.num.brokers": 1, "log_level": 2, **(settings or {})})
        brokers = self.producer.list_topics(timeout=10).brokers.values()
        self.bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)


class RedisTransport:
    kind, raw_bytes, redelivery_wait = "redis", False, 0.0

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.stream = f"lifelong-test:{uuid.uuid4().hex}"
        self.client: Any = redis.Redis.from_url(url)

    def spec(self, **overrides: Any) -> dict[str, Any]:
        return {"redis": {"url": self.url, "stream": self.stream, "group": "g", **overrides}}

    def publish(self, records: Sequence[Mapping[str, str]]) -> None:
        redis_send(RedisSpec(url=self.url, stream=self.stream), records)

    def publish_raw(self, payload: bytes) -> None:
        self.client.xadd(self.stream, {"text": payload, "intent": "raw"})

    def dead_letters(self) -> list[str]:
        return [f[b"_problem"].decode() for _, f in self.client.xrange(f"{self.stream}:rejected")]

    def unacked(self) -> int:
        groups = self.client.xinfo_groups(self.stream) if self.client.exists(self.stream) else []
        if not groups:
            return int(self.client.xlen(self.stream)) if self.client.exists(self.stream) else 0
        (group,) = groups
        return int(group["pending"]) + int(group["lag"] or 0)

    def cleanup(self) -> None:
        self.client.delete(self.stream, f"{self.stream}:rejected")
        self.client.close()


class KafkaTransport:
    """A fresh topic and group; messages go round robin to the first ``partitions`` partitions
    (by default all on partition 0, so their order is the offsets')."""

    kind, raw_bytes, redelivery_wait = "kafka", True, 0.0

    def __init__(
        self, mock: KafkaMock, config: Mapping[str, Any] | None = None, partitions: int = 1
    ) -> None:
        self.mock = mock
        self.topic = f"lifelong-test-{uuid.uuid4().hex}"
        self.group = f"g-{uuid.uuid4().hex[:8]}"
        # KIP-848's protocol: the mock assigns at once (the classic one waits 3 s per join)
        self.config = dict(config or {"group.protocol": "consumer"})
        self.partitions = partitions
        self._sent = 0

    def spec(self, **overrides: Any) -> dict[str, Any]:
        return {
            "kafka": {
                "bootstrap": self.mock.bootstrap,
                "topics": [self.topic],
                "group": self.group,
                "config": self.config,
                **overrides,
            }
        }

    def publish(self, records: Sequence[Mapping[str, str]]) -> None:
        for record in records:
            partition, self._sent = self._sent % self.partitions, self._sent + 1
            self.mock.producer.produce(self.topic, json.dumps(record).encode(), partition=partition)
        self.mock.producer.flush(10)

    def publish_raw(self, payload: bytes) -> None:
        self.mock.producer.produce(self.topic, payload, partition=0)
        self.mock.producer.flush(10)

    def publish_many(self, payloads: Sequence[bytes]) -> None:
        kafka_send(
            KafkaSpec(bootstrap=self.mock.bootstrap, topics=[self.topic]),
            [(str(i), p) for i, p in enumerate(payloads)],
        )

    def _consumer(self, group: str) -> Any:
        from confluent_kafka import Consumer

        return Consumer(
            {
                "bootstrap.servers": self.mock.bootstrap,
                "group.id": group,
                "enable.partition.eof": True,
                "log_level": 2,
            }
        )

    def dead_letters(self) -> list[str]:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        dead = f"{self.topic}.rejected"
        consumer = self._consumer(f"reader-{uuid.uuid4().hex}")
        try:
            found = consumer.list_topics(timeout=10).topics.get(dead)
            if found is None or found.error is not None:
                return []
            parts = [TopicPartition(dead, p, OFFSET_BEGINNING) for p in found.partitions]
            consumer.assign(parts)
            reasons, ended = [], 0
            while ended < len(parts):
                for message in consumer.consume(100, timeout=1.0):
                    if message.error() is not None:
                        ended += 1
                        continue
                    reasons.append(dict(message.headers())["lifelong-problem"].decode())
            return reasons
        finally:
            consumer.close()

    def unacked(self) -> int:
        from confluent_kafka import TopicPartition

        consumer = self._consumer(self.group)
        try:
            total = 0
            found = consumer.list_topics(timeout=10).topics.get(self.topic)
            for p in found.partitions if found is not None else []:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), 10)
                (committed,) = consumer.committed([TopicPartition(self.topic, p)], timeout=10)
                total += high - (committed.offset if committed.offset >= 0 else low)
            return total
        finally:
            consumer.close()

    def cleanup(self) -> None:
        """Topics of the mock vanish with it."""


class NatsTransport:
    """A fresh stream (deleted by ``cleanup``) with a short ``ack_wait``."""

    kind, raw_bytes = "nats", True

    def __init__(self, url: str, ack_wait: float = 1.0) -> None:
        self.url = url
        self.stream = f"T{uuid.uuid4().hex[:12]}"
        self.subject = f"{self.stream}.examples"
        self.ack_wait = ack_wait
        self.redelivery_wait = ack_wait + 0.5
        self._sent = 0

    def spec(self, **overrides: Any) -> dict[str, Any]:
        return {
            "nats": {
                "url": self.url,
                "stream": self.stream,
                "subject": self.subject,
                "ack_wait": self.ack_wait,
                **overrides,
            }
        }

    def _config(self) -> NatsSpec:
        return NatsSpec(url=self.url, stream=self.stream, subject=self.subject)

    def publish(self, records: Sequence[Mapping[str, str]]) -> None:
        self.publish_many([json.dumps(r).encode() for r in records])

    def publish_raw(self, payload: bytes) -> None:
        self.publish_many([payload])

    def publish_many(self, payloads: Sequence[bytes]) -> None:
        start, self._sent = self._sent, self._sent + len(payloads)
        nats_send(self._config(), [(f"m{start + i}", p) for i, p in enumerate(payloads)])

    def _js(self, work: Any) -> Any:
        import nats

        async def run() -> Any:
            nc = await nats.connect(self.url)
            try:
                return await work(nc.jetstream())
            finally:
                await nc.close()

        return asyncio.run(run())

    def dead_letters(self) -> list[str]:
        import nats.js.errors as js_errors

        async def read(js: Any) -> list[str]:
            try:
                info = await js.stream_info(f"{self.stream}_REJECTED")
            except js_errors.NotFoundError:
                return []
            reasons = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(f"{self.stream}_REJECTED", seq)
                reasons.append(message.headers["Lifelong-Problem"])
            return reasons

        result: list[str] = self._js(read)
        return result

    def unacked(self) -> int:
        import nats.js.errors as js_errors

        async def count(js: Any) -> int:
            try:
                info = await js.consumer_info(self.stream, "lifelong")
            except js_errors.NotFoundError:
                return int((await js.stream_info(self.stream)).state.messages)
            return int(info.num_pending + info.num_ack_pending)

        result: int = self._js(count)
        return result

    def cleanup(self) -> None:
        async def delete(js: Any) -> None:
            for name in (self.stream, f"{self.stream}_REJECTED"):
                try:
                    await js.delete_stream(name)
                except Exception:  # never created
                    continue

        self._js(delete)
