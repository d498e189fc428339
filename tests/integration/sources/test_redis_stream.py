"""RedisStreamSource against a real Redis: redelivery after a crash, nothing lost or doubled."""

from __future__ import annotations

from typing import Any

import pytest

from lifelong.data.sources import RedisStreamSource

pytestmark = pytest.mark.integration


def publish(client: Any, stream: str, n: int, start: int = 0) -> list[str]:
    return [
        client.xadd(stream, {"text": f"message {i}", "intent": f"intent_{i % 2}"})
        for i in range(start, start + n)
    ]


def source(url: str, stream: str, **kwargs: Any) -> RedisStreamSource:
    return RedisStreamSource(url, stream, "lifelong", "worker-1", **kwargs)


def test_messages_become_examples_with_their_fields(
    client: Any, stream: str, redis_url: str
) -> None:
    client.xadd(
        stream,
        {"text": "Book a table", "intent": "restaurant", "timestamp": "2024-01-01", "lang": "en"},
    )
    (example,) = source(redis_url, stream).pending().examples
    assert (example.text, example.label, example.timestamp) == (
        "book a table",
        "restaurant",
        "2024-01-01",
    )
    assert example.source == f"redis:{stream}"
    assert example.meta["lang"] == "en"


def test_crash_before_commit_redelivers_the_same_messages(
    client: Any, stream: str, redis_url: str
) -> None:
    ids = publish(client, stream, 5)
    first = source(redis_url, stream).pending()  # delivered, then the process dies
    assert [r.key for r in first.receipts] == ids

    again = source(redis_url, stream).pending()  # a new object, same consumer name
    assert [r.key for r in again.receipts] == ids
    assert [e.hash for e in again.examples] == [e.hash for e in first.examples]


def test_two_cycles_lose_nothing_and_count_nothing_twice(
    client: Any, stream: str, redis_url: str
) -> None:
    ids = publish(client, stream, 7)
    seen: list[str] = []

    cycle = source(redis_url, stream, count=4)
    batch = cycle.pending()
    seen += [r.key for r in batch.receipts]
    cycle.commit(batch.receipts)

    ids += publish(client, stream, 3, start=7)
    cycle = source(redis_url, stream, count=100)
    batch = cycle.pending()
    seen += [r.key for r in batch.receipts]
    cycle.commit(batch.receipts)

    assert seen == ids
    assert cycle.pending().empty
    assert client.xpending(stream, "lifelong")["pending"] == 0


def test_pending_messages_come_before_new_ones(client: Any, stream: str, redis_url: str) -> None:
    old = publish(client, stream, 2)
    source(redis_url, stream).pending()  # crash after delivery
    new = publish(client, stream, 2, start=2)
    batch = source(redis_url, stream, count=3).pending()
    assert [r.key for r in batch.receipts] == [*old, new[0]]


def test_malformed_message_is_dead_lettered_acked_and_reported(
    client: Any, stream: str, redis_url: str
) -> None:
    good = publish(client, stream, 1)
    bad = client.xadd(stream, {"text": "no intent here"})
    reader = source(redis_url, stream)

    batch = reader.pending()

    assert [r.key for r in batch.receipts] == good
    (problem,) = batch.problems
    assert problem.code == "malformed-message"
    assert bad in problem.message
    assert "'intent' is missing" in problem.message
    ((_, dead),) = client.xrange(f"{stream}:rejected")
    assert dead["_id"] == bad
    assert dead["text"] == "no intent here"
    assert "'intent' is missing" in dead["_problem"]
    # acked at once: a redelivery offers only the good message
    again = source(redis_url, stream).pending()
    assert [r.key for r in again.receipts] == good
    assert again.problems == []


def test_a_nul_in_a_message_is_dead_lettered_and_the_good_ones_read(
    client: Any, stream: str, redis_url: str
) -> None:
    """PostgreSQL cannot store a NUL: such a message is set aside, never a crash later."""
    first = publish(client, stream, 1)
    bad = client.xadd(stream, {"text": "play\x00music", "intent": "music"})
    last = publish(client, stream, 1, start=1)
    batch = source(redis_url, stream).pending()
    assert [r.key for r in batch.receipts] == first + last
    assert [e.original for e in batch.examples] == ["message 0", "message 1"]
    (problem,) = batch.problems
    assert problem.message == (
        f"message {bad}: message.text: contains a NUL character (U+0000 at position 4); "
        f"moved to stream '{stream}:rejected'"
    )
    ((_, dead),) = client.xrange(f"{stream}:rejected")
    assert dead["_id"] == bad


def test_existing_entries_are_read_when_the_group_is_created(
    client: Any, stream: str, redis_url: str
) -> None:
    ids = publish(client, stream, 3)  # published before any consumer group exists
    assert [r.key for r in source(redis_url, stream).pending().receipts] == ids
