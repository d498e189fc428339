"""A real Redis for the stream source tests: skipped when unreachable, failed in CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("LIFELONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        reason = f"Redis unreachable at {REDIS_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    import redis

    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def stream(client: Any) -> Iterator[str]:
    """A stream name no other test uses; the stream and its dead letters are deleted after."""
    name = f"lifelong-test:{uuid.uuid4().hex}"
    yield name
    client.delete(name, f"{name}:rejected")
