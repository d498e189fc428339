"""The transports the source contract runs against: a real Redis, librdkafka's mock Kafka
cluster, a real NATS server with JetStream. A missing server skips its tests (fails in CI)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from lifelong.testing.transports import (
    KafkaMock,
    KafkaTransport,
    NatsTransport,
    RedisTransport,
    Transport,
)

REDIS_URL = os.environ.get("LIFELONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("LIFELONG_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _unreachable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kafka_mock() -> KafkaMock:
    pytest.importorskip("confluent_kafka")
    return KafkaMock()


@pytest.fixture(params=["redis", "kafka", "nats"])
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    harness: Transport
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            _unreachable(f"Redis unreachable at {REDIS_URL}: {error}")
        harness = RedisTransport(REDIS_URL)
    elif request.param == "kafka":
        harness = KafkaTransport(request.getfixturevalue("kafka_mock"))
    else:
        pytest.importorskip("nats")
        host, port = NATS_URL.removeprefix("nats://").split(":")
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError as error:
            _unreachable(f"NATS unreachable at {NATS_URL}: {error}")
        harness = NatsTransport(NATS_URL)
    yield harness
    harness.cleanup()
