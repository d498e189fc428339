"""Kafka topics read through a consumer group, offsets committed only after the snapshot.

Kafka remembers a group's progress as one committed offset per partition. ``pending()`` joins
the group (auto-commit off), reads every assigned partition from its committed offset to its end
(``count`` messages at most) and commits nothing; ``commit(receipts)``, called once the snapshot
holding the examples is committed, first writes the batch's malformed messages to the
dead-letter topic (waiting for the broker's acknowledgement), then commits the offsets after the
last message of each partition. A crash anywhere before the offset commit redelivers the same
messages to the next cycle, whose content hashes recognise them.

Rebalances happen only while the consumer polls, that is inside ``pending()``: between the read
and the commit a member keeps its partitions (a joining member waits for them; up to
``max.poll.interval.ms``, 300 s by default), so the commit covers exactly what was read. A
partition revoked during the read is its new owner's from the committed offset, so the messages
already read from it are dropped from the batch (with a warning) instead of being ingested here
and again by the new owner; a partition assigned during the read is read from its committed
offset like the others.

Dead letters carry the message's bytes, its key ``topic/partition/offset`` and headers
``lifelong-problem`` (why), ``lifelong-topic``, ``lifelong-partition``, ``lifelong-offset``.
Offsets are positional, so a malformed message cannot be acknowledged apart from the valid ones
before it: it is dead-lettered at commit time, with them. A kill between the dead letter's write
and the offset commit writes it again on the next commit, under the same key (read dead letters
by key, or make the topic compacted, to see each once).

Needs the ``kafka`` extra (``pip install lifelong[kafka]``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifelong.config import Columns
from lifelong.core.crashpoint import crash_point
from lifelong.core.errors import ConfigError, Problem
from lifelong.core.types import Example
from lifelong.data.sources.base import Batch, Receipt, SourceUnavailable, own_receipts
from lifelong.data.sources.message import DEFAULT_MAX_BYTES, decode_message

# librdkafka logs (connection failures...) go to this logger, not straight to stderr: the
# source raises its own clear errors, and an application that configures logging sees them.
LOG = logging.getLogger("lifelong.sources.kafka")
LOG.addHandler(logging.NullHandler())
_POLL_SECONDS = 0.2
_BATCH_MESSAGES = 500


@dataclass(frozen=True)
class _DeadLetter:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    problem: str


@dataclass(frozen=True)
class _Read:
    """One message read in this ``pending()``: its receipt, and its example or its problem."""

    receipt: Receipt
    example: Example | None
    problem: Problem | None


@dataclass
class _Reading:
    """What the running ``pending()`` read, per partition, the partitions read to their end,
    and its warnings."""

    read: dict[tuple[str, int], list[_Read]] = field(default_factory=dict)
    done: set[tuple[str, int]] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


class KafkaSource:
    """New examples published to Kafka topics.

    Parameters
    ----------
    bootstrap
        ``host:port[,host:port...]`` of the brokers.
    topics
        Topics to read; each must exist (a clear error otherwise, never an auto-created one).
    group
        Consumer group id; its committed offsets are the reader's progress.
    config
        librdkafka settings passed through (security, timeouts), secrets already resolved.
    dead_letter
        Topic receiving malformed messages; default ``<first topic>.rejected``.
    fields
        JSON keys of the text, the intent and the timestamp.
    count
        At most this many messages per batch.
    max_bytes
        Larger messages are dead-lettered unread.
    timeout
        Seconds to reach the brokers (and for each request) before a clear error.
    assign_timeout
        Seconds to wait for the group to assign partitions (a killed reader's partitions are
        reassigned once its session, ``session.timeout.ms``, expires).
    """

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        group: str,
        *,
        config: Mapping[str, Any] | None = None,
        dead_letter: str | None = None,
        fields: Columns | None = None,
        count: int = 1000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 10.0,
        assign_timeout: float = 60.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.group = group
        self.config = dict(config or {})
        self.dead_letter = dead_letter or f"{self.topics[0]}.rejected"
        self.fields = fields or Columns()
        self.count = count
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.assign_timeout = assign_timeout
        self._consumer: Any = None
        self._assigned: set[tuple[str, int]] = set()
        self._dead: dict[str, _DeadLetter] = {}
        self._reads = 0
        self._reading: _Reading | None = None  # the running pending()'s

    @property
    def name(self) -> str:
        return f"kafka:{','.join(self.topics)}"

    def pending(self) -> Batch:
        """Messages from each assigned partition's committed offset to its end, ``count`` at most.

        Raises
        ------
        SourceUnavailable
            The brokers did not answer within ``timeout``, or a topic does not exist.
        """
        consumer = self._connect()
        if self._reads:
            self._rewind(consumer)  # a second read before commit redelivers, as the protocol says
        self._reads += 1
        self._reading = reading = _Reading()
        read, done = reading.read, reading.done
        deadline = time.monotonic() + self.assign_timeout
        try:
            while (taken := sum(map(len, read.values()))) < self.count:
                if self._assigned and self._assigned <= done:
                    break
                if not self._assigned and time.monotonic() > deadline:
                    reading.problems.append(
                        Problem(
                            "warning",
                            "no-partitions",
                            f"group {self.group!r} assigned no partition of {self.topics} "
                            f"within {self.assign_timeout:g} s (other members hold them, or a "
                            "killed reader's session has not expired yet); nothing read this "
                            "cycle",
                            self.name,
                        )
                    )
                    break
                wanted = min(_BATCH_MESSAGES, self.count - taken)
                for message in consumer.consume(num_messages=wanted, timeout=_POLL_SECONDS):
                    self._take(message, reading)
        finally:
            self._reading = None
        batch = Batch(self.name, problems=reading.problems)
        for entry in (entry for entries in read.values() for entry in entries):
            batch.receipts.append(entry.receipt)
            if entry.example is not None:
                batch.examples.append(entry.example)
            if entry.problem is not None:
                batch.problems.append(entry.problem)
        return batch

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """Dead-letter the batch's malformed messages, then commit the offsets after it."""
        mine = own_receipts(self.name, receipts)
        if not mine:
            return
        from confluent_kafka import TopicPartition

        dead = [self._dead[r.key] for r in mine if r.key in self._dead]
        if dead:
            self._send_dead_letters(dead)
        crash_point("source-commit")
        ends: dict[tuple[str, int], int] = {}
        for receipt in mine:
            topic, partition, offset = _position(receipt.key)
            ends[(topic, partition)] = max(ends.get((topic, partition), -1), offset + 1)
        # A partition revoked since the read (a poll came between, e.g. a second pending()) is
        # its new owner's to commit: it reads it again from the committed offset.
        owned = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in sorted(ends.items())
            if (topic, partition) in self._assigned
        ]
        if owned:
            self._consumer.commit(offsets=owned, asynchronous=False)
        for receipt in mine:
            self._dead.pop(receipt.key, None)

    def close(self) -> None:
        """Leave the group (its partitions go to the other members at once)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
            self._assigned.clear()

    def _settings(self) -> dict[str, Any]:
        return {
            **self.config,
            "bootstrap.servers": self.bootstrap,
            "socket.timeout.ms": int(self.timeout * 1000),
            "logger": LOG,
        }

    def _connect(self) -> Any:
        """The consumer, subscribed; checks the brokers answer and every topic exists."""
        if self._consumer is not None:
            return self._consumer
        from confluent_kafka import Consumer, KafkaException

        consumer = Consumer(
            {
                "auto.offset.reset": "earliest",
                **self._settings(),
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
            }
        )
        try:
            metadata = consumer.list_topics(timeout=self.timeout)
        except KafkaException as error:
            consumer.close()
            raise SourceUnavailable(
                f"Kafka brokers at {self.bootstrap} did not answer within {self.timeout:g} s "
                f"({error.args[0].str() if error.args else error})",
                hint="check `bootstrap` (and the security settings in `config`) of this "
                "kafka source and that the brokers run; nothing was read, the next cycle retries",
            ) from None
        for topic in self.topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                consumer.close()
                raise SourceUnavailable(
                    f"Kafka topic {topic!r} does not exist on {self.bootstrap}",
                    hint="create it (kafka-topics.sh --create --topic ...) or fix `topics` "
                    "of this kafka source",
                )
        consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        self._consumer = consumer
        return consumer

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        assigned = {(p.topic, p.partition) for p in partitions}
        self._assigned |= assigned
        if self._reading is not None:  # (re)assigned during the read: read it to its end too
            self._reading.done -= assigned

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        revoked = {(p.topic, p.partition) for p in partitions}
        self._assigned -= revoked
        if self._reading is None:
            return
        # The new owner reads these from the committed offset: kept here, they would be
        # ingested twice (and a dead letter written twice).
        for where in sorted(revoked):
            dropped = self._reading.read.pop(where, [])
            for entry in dropped:
                self._dead.pop(entry.receipt.key, None)
            if dropped:
                self._reading.problems.append(
                    Problem(
                        "warning",
                        "partition-revoked",
                        f"partition {where[0]}[{where[1]}] was reassigned during the read; "
                        f"its {len(dropped)} message(s) read so far are left to its new owner",
                        self.name,
                    )
                )

    def _rewind(self, consumer: Any) -> None:
        """Seek every assigned partition back to its committed offset (or the beginning)."""
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        assigned = [TopicPartition(t, p) for t, p in sorted(self._assigned)]
        for part in consumer.committed(assigned, timeout=self.timeout):
            start = part.offset if part.offset >= 0 else OFFSET_BEGINNING
            consumer.seek(TopicPartition(part.topic, part.partition, start))

    def _take(self, message: Any, reading: _Reading) -> None:
        """An example, or a dead letter to write at commit; an end-of-partition marks it read."""
        from confluent_kafka import KafkaError

        where = (message.topic(), message.partition())
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                reading.done.add(where)
                return
            if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise SourceUnavailable(
                    f"Kafka topic {message.topic()!r} disappeared from {self.bootstrap}"
                )
            LOG.warning("kafka source %s: %s", self.name, error.str())
            return
        if where not in self._assigned:
            return  # fetched before its partition was revoked in the same consume() call
        reading.done.discard(where)
        key = f"{message.topic()}/{message.partition()}/{message.offset()}"
        decoded = decode_message(
            message.value(),
            source=self.name,
            where=f"{message.topic()}[{message.partition()}]@{message.offset()}",
            fields=self.fields,
            max_bytes=self.max_bytes,
            meta={"kafka": key},
        )
        receipt = Receipt(self.name, key)
        entries = reading.read.setdefault(where, [])
        if decoded.example is not None:
            entries.append(_Read(receipt, decoded.example, None))
            return
        self._dead[key] = _DeadLetter(
            message.topic(), message.partition(), message.offset(), message.value(), decoded.problem
        )
        problem = Problem(
            "error",
            "malformed-message",
            f"message {key}: {decoded.problem}; dead-lettered to topic "
            f"{self.dead_letter!r} when the batch is committed",
            self.name,
        )
        entries.append(_Read(receipt, None, problem))

    def _send_dead_letters(self, dead: list[_DeadLetter]) -> None:
        """Write the dead letters and wait for the broker to have them all (else raise)."""
        from confluent_kafka import Producer

        producer = Producer(producer_settings(self.bootstrap, self.config, self.timeout))
        failed: list[str] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                failed.append(error.str())

        for letter in dead:
            headers: dict[str, str | bytes | None] = {
                "lifelong-problem": letter.problem.encode("utf-8", "backslashreplace"),
                "lifelong-topic": letter.topic.encode(),
                "lifelong-partition": str(letter.partition).encode(),
                "lifelong-offset": str(letter.offset).encode(),
            }
            producer.produce(
                self.dead_letter,
                value=letter.value,
                key=f"{letter.topic}/{letter.partition}/{letter.offset}".encode(),
                headers=headers,
                on_delivery=delivered,
            )
        left = producer.flush(self.timeout)
        if failed or left:
            raise SourceUnavailable(
                f"could not write {len(dead)} dead letter(s) to Kafka topic "
                f"{self.dead_letter!r} on {self.bootstrap}: {failed[0] if failed else 'timed out'}",
                hint="create the dead-letter topic (or set `dead_letter`); the offsets were "
                "not committed, so the next cycle offers these messages again",
            )


# consumer settings a producer would warn about
_CONSUMER_ONLY = frozenset(
    {
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "auto.offset.reset",
        "group.protocol",
        "group.instance.id",
        "partition.assignment.strategy",
        "isolation.level",
        "fetch.min.bytes",
        "fetch.max.bytes",
        "fetch.wait.max.ms",
        "max.partition.fetch.bytes",
    }
)


def producer_settings(bootstrap: str, config: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """A reliable producer's settings (idempotent, every replica acks) from a source's config,
    its consumer-only keys left out."""
    return {
        **{k: v for k, v in config.items() if k not in _CONSUMER_ONLY},
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": int(timeout * 1000),
        "message.timeout.ms": int(timeout * 3000),
        "logger": LOG,
        "enable.idempotence": True,
        "acks": "all",
    }


def _position(key: str) -> tuple[str, int, int]:
    topic, partition, offset = key.rsplit("/", 2)
    return topic, int(partition), int(offset)


def kafka_settings(
    config: Mapping[str, Any], secrets_env: Mapping[str, str], where: str
) -> dict[str, Any]:
    """``config`` with each secret of ``secrets_env`` read from its environment variable.

    Raises
    ------
    ConfigError
        A named variable is not set: missing credentials are an error, not an anonymous login.
    """
    settings = dict(config)
    for key, variable in secrets_env.items():
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                f"{where}.secrets_env.{key}: environment variable {variable} is not set",
                hint=f"export {variable}=... (the value of librdkafka's {key}) before the cycle",
            )
        settings[key] = value
    return settings
