"""One contract, every transport (Redis Streams, Kafka, NATS JetStream): messages become
examples; nothing is acknowledged before ``commit``; a reader killed before it redelivers the
same messages; two cycles lose and double nothing; malformed messages are dead-lettered once,
reported, and never block the valid ones."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lifelong.config import Columns
from lifelong.data.sources import Source
from lifelong.data.table_read import read_table
from lifelong.testing.transports import Transport, fresh_source

pytestmark = pytest.mark.integration


def records(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"text": f"message {i}", "intent": f"intent_{i % 2}"} for i in range(start, start + n)]


def crash(transport: Transport, source: Source) -> None:
    """What a killed process leaves: nothing acknowledged; wait until the transport redelivers."""
    source.close()
    time.sleep(transport.redelivery_wait)


def test_fields_become_examples(transport: Transport) -> None:
    transport.publish(
        [{"text": "Book a table", "intent": "restaurant", "timestamp": "2024-01-01", "lang": "en"}]
    )
    source = fresh_source(transport)
    (example,) = source.pending().examples
    source.close()
    assert (example.text, example.label, example.timestamp) == (
        "book a table",
        "restaurant",
        "2024-01-01",
    )
    assert example.source == source.name
    assert example.meta["lang"] == "en"


def test_nothing_is_acked_before_commit_and_a_crash_redelivers_the_same(
    transport: Transport,
) -> None:
    transport.publish(records(5))
    first = fresh_source(transport)
    batch = first.pending()
    assert transport.unacked() == 5
    crash(transport, first)
    again = fresh_source(transport)
    redelivered = again.pending()
    assert [e.hash for e in redelivered.examples] == [e.hash for e in batch.examples]
    again.commit(redelivered.receipts)
    assert transport.unacked() == 0
    again.close()


def test_two_cycles_lose_nothing_and_count_nothing_twice(transport: Transport) -> None:
    published = records(7)
    transport.publish(published)
    seen: list[str] = []
    cycle = fresh_source(transport, count=4)
    batch = cycle.pending()
    assert len(batch.examples) == 4
    seen += [e.original for e in batch.examples]
    cycle.commit(batch.receipts)
    cycle.close()

    published += records(3, start=7)
    transport.publish(published[7:])
    cycle = fresh_source(transport, count=100)
    batch = cycle.pending()
    seen += [e.original for e in batch.examples]
    cycle.commit(batch.receipts)
    cycle.close()

    assert seen == [r["text"] for r in published]
    assert transport.unacked() == 0
    last = fresh_source(transport)
    assert last.pending().empty
    last.close()


def test_pending_messages_come_before_new_ones(transport: Transport) -> None:
    transport.publish(records(2))
    reader = fresh_source(transport)
    reader.pending()  # delivered, then the reader is killed
    crash(transport, reader)
    transport.publish(records(2, start=2))
    source = fresh_source(transport, count=3)
    batch = source.pending()
    source.close()
    assert [e.original for e in batch.examples] == ["message 0", "message 1", "message 2"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"text": "no intent here"}, "intent"),
        ({"text": "play\x00music", "intent": "music"}, "NUL"),
    ],
    ids=["missing-intent", "nul"],
)
def test_a_malformed_message_is_dead_lettered_once_and_reported(
    transport: Transport, record: dict[str, str], reason: str
) -> None:
    transport.publish([*records(1), record, *records(1, start=1)])
    source = fresh_source(transport)
    batch = source.pending()
    assert [e.original for e in batch.examples] == ["message 0", "message 1"]
    (problem,) = batch.problems
    assert problem.code == "malformed-message"
    assert reason in problem.message
    source.commit(batch.receipts)
    source.close()
    (dead,) = transport.dead_letters()
    assert reason in dead
    assert transport.unacked() == 0
    again = fresh_source(transport)
    later = again.pending()
    again.close()
    assert later.empty
    assert later.problems == []
    assert len(transport.dead_letters()) == 1


def test_undecodable_bytes_are_dead_lettered_and_the_valid_ones_read(
    transport: Transport,
) -> None:
    transport.publish(records(1))
    transport.publish_raw(b"\xff\xfe not utf-8")
    source = fresh_source(transport)
    batch = source.pending()
    source.commit(batch.receipts)
    source.close()
    assert [e.original for e in batch.examples] == ["message 0"]
    (dead,) = transport.dead_letters()
    assert "UTF-8" in dead


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"not json at all", "not JSON"), (b'["a list"]', "JSON object"), (b"x" * 5000, "limit")],
    ids=["not-json", "not-an-object", "too-large"],
)
def test_byte_payloads_that_are_no_example_are_dead_lettered(
    transport: Transport, payload: bytes, reason: str
) -> None:
    if not transport.raw_bytes:
        pytest.skip(f"{transport.kind} messages are field maps, not JSON bytes")
    transport.publish_raw(payload)
    transport.publish(records(1))
    source = fresh_source(transport, max_bytes=4096)
    batch = source.pending()
    source.commit(batch.receipts)
    source.close()
    assert [e.original for e in batch.examples] == ["message 0"]
    (dead,) = transport.dead_letters()
    assert reason in dead


def test_close_releases_every_thread(transport: Transport) -> None:
    before = set(threading.enumerate())
    transport.publish(records(2))
    source = fresh_source(transport)
    source.commit(source.pending().receipts)
    source.close()
    source.close()  # twice: harmless
    assert set(threading.enumerate()) <= before


def test_a_tabular_projects_messages_are_rows_read_as_a_file_reads_them(
    transport: Transport, tmp_path: Path
) -> None:
    columns = Columns(target="job")
    transport.publish(
        [{"Age": "41", "branch": "North", "job": "manager"}, {"age": "3", "branch": "a"}]
    )
    source = fresh_source(transport, rows=columns)
    batch = source.pending()
    source.close()
    (example,) = batch.examples
    (tmp_path / "rows.csv").write_text("age,branch,job\n41,north,manager\n")
    (from_file,) = read_table(tmp_path / "rows.csv", columns).examples
    assert example.hash == from_file.hash
    (problem,) = batch.problems
    assert "lacks the target 'job'" in problem.message
