"""A second live reader in the middle of a cycle: a Kafka consumer-group rebalance, a second pull
consumer on the same NATS JetStream durable. Across both readers every valid message is read
exactly once (no content hashes needed to hide a double), nothing is acknowledged before the
commit that follows its snapshot, and nothing is lost.

A "cycle" here is what ``run_cycle`` does with a source: ``pending()``, the snapshot (the test
keeps the examples), ``commit(receipts)``, ``close()``.
"""

from __future__ import annotations

import threading
import time

import pytest

from lifelong.data.sources import Batch, Source
from lifelong.testing.transports import KafkaMock, KafkaTransport, NatsTransport, fresh_source

pytestmark = pytest.mark.integration


def records(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"text": f"message {i}", "intent": f"intent_{i % 2}"} for i in range(start, start + n)]


def texts(n: int, start: int = 0) -> list[str]:
    return [r["text"] for r in records(n, start)]


class Background:
    """``source.pending()`` in a thread (a second process reading while the first cycles)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.batch: Batch | None = None
        self._thread = threading.Thread(target=self._read)
        self._thread.start()

    def _read(self) -> None:
        self.batch = self.source.pending()

    def result(self, timeout: float = 60.0) -> Batch:
        self._thread.join(timeout)
        assert self.batch is not None, "the second reader never returned"
        return self.batch


def read_texts(*batches: Batch) -> list[str]:
    return sorted(e.original for batch in batches for e in batch.examples)


@pytest.fixture
def kafka(kafka_mock: KafkaMock) -> KafkaTransport:
    return KafkaTransport(kafka_mock, partitions=4)


def test_kafka_a_member_joining_mid_cycle_gets_partitions_only_after_the_commit(
    kafka: KafkaTransport,
) -> None:
    kafka.publish(records(8))
    a = fresh_source(kafka)
    batch_a = a.pending()  # A alone: all four partitions
    second = Background(fresh_source(kafka, assign_timeout=30))
    kafka.publish(records(8, start=8))  # while A's cycle runs
    time.sleep(1.0)  # B has joined; A holds its partitions until it polls again
    assert kafka.unacked() == 16  # nothing acknowledged before A's snapshot
    a.commit(batch_a.receipts)
    assert kafka.unacked() == 8
    a.close()  # A's cycle ends: it leaves, B gets the partitions from A's committed offsets
    batch_b = second.result()
    second.source.commit(batch_b.receipts)
    second.source.close()
    assert read_texts(batch_a) == sorted(texts(8))
    assert read_texts(batch_b) == sorted(texts(8, start=8))
    assert kafka.unacked() == 0


@pytest.mark.slow
def test_kafka_a_partition_revoked_during_the_read_is_left_to_its_new_owner() -> None:
    # A slow read (each request 100 ms, one message per fetch and partition) for B's join to
    # make the group take two of A's partitions while A is reading them.
    mock = KafkaMock({"test.mock.broker.rtt": 100, "batch.num.messages": 1})
    kafka = KafkaTransport(
        mock, {"group.protocol": "consumer", "max.partition.fetch.bytes": 1}, partitions=4
    )
    kafka.publish(records(4))
    a = fresh_source(kafka, count=10_000)
    a.commit(a.pending().receipts)  # A is a member with all four partitions
    kafka.publish(records(160, start=4))
    second = Background(fresh_source(kafka, count=10_000, assign_timeout=30))
    batch_a = a.pending()
    assert kafka.unacked() == 160
    a.commit(batch_a.receipts)
    batch_b = second.result()
    second.source.commit(batch_b.receipts)
    a.close()
    second.source.close()
    assert batch_b.examples  # B read the partitions it took over
    both = [e.original for batch in (batch_a, batch_b) for e in batch.examples]
    assert sorted(both) == sorted(texts(160, start=4))  # each once, none lost
    revoked = [p for p in batch_a.problems if p.code == "partition-revoked"]
    assert revoked, "the rebalance did not land in A's read: nothing was tested"
    assert kafka.unacked() == 0


@pytest.mark.parametrize("transport", ["nats"], indirect=True)
def test_nats_a_second_consumer_on_the_durable_gets_what_the_first_does_not_hold(
    transport: NatsTransport,
) -> None:
    nats = transport
    nats.publish(records(5))
    a = fresh_source(nats)
    batch_a = a.pending()
    assert batch_a.examples
    b = fresh_source(nats)
    b.pending()  # what A did not take, if anything
    time.sleep(nats.ack_wait * 1.5)  # past ack_wait: A's in-progress acks keep A's messages
    nats.publish(records(3, start=5))
    batch_b = b.pending()  # B's held ones, then the new ones: none of A's
    assert nats.unacked() == 8  # nothing acked before its commit
    a.commit(batch_a.receipts)
    b.commit(batch_b.receipts)
    a.close()
    b.close()
    assert sorted(read_texts(batch_a) + read_texts(batch_b)) == sorted(texts(8))
    assert set(texts(3, start=5)) <= set(read_texts(batch_b))

    nats.publish(records(4, start=8))
    killed = fresh_source(nats)
    lost = killed.pending()  # then the process dies: no ack, no in-progress ack
    killed.close()
    c = fresh_source(nats)
    c.pending()  # within ack_wait: little or nothing, and a fetch left open on the server
    time.sleep(nats.redelivery_wait)
    # each once (held ones first), though this reader may have been delivered a message twice:
    # in answer to the earlier fetch after it had timed out here, then redelivered
    redelivered = c.pending()
    c.commit(redelivered.receipts)
    c.close()
    assert [e.original for e in lost.examples] == texts(4, start=8)
    assert [e.original for e in redelivered.examples] == texts(4, start=8)
    assert nats.unacked() == 0
