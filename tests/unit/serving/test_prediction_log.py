"""The prediction-log writer: ordered batched writes, a bounded buffer, nothing lost on close."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from lifelong.registry import PredictionRecord
from lifelong.serving.metrics import ServerMetrics
from lifelong.serving.prediction_log import PredictionLog


class _Store:
    """Records the batches written; fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.failing = False
        self.written = threading.Event()

    def log_predictions(self, rows: Sequence[PredictionRecord]) -> None:
        if self.failing:
            raise OperationalError("INSERT", {}, Exception("database is down"))
        self.batches.append([row.prediction_id for row in rows])
        self.written.set()

    def prediction(self, prediction_id: str) -> PredictionRecord | None:
        return None  # only rows still in memory are found


def _rows(start: int, count: int) -> list[PredictionRecord]:
    now = datetime.now(UTC)
    return [
        PredictionRecord(f"id{n}", now, "0" * 64, "1.0", "alarm", 0.5, 1.0)
        for n in range(start, start + count)
    ]


def _log(store: _Store, metrics: ServerMetrics, **options: int) -> PredictionLog:
    log = PredictionLog(store, metrics, **options)  # type: ignore[arg-type]
    log.start()
    return log


def test_rows_are_written_in_order_in_batches_of_at_most_flush_rows() -> None:
    store, metrics = _Store(), ServerMetrics()
    log = _log(store, metrics, flush_ms=60_000, flush_rows=4)
    for start in range(0, 10, 2):
        log.add(_rows(start, 2))
    log.close()
    assert [n for batch in store.batches for n in batch] == [f"id{n}" for n in range(10)]
    assert all(len(batch) <= 4 for batch in store.batches)
    assert metrics.log_rows.value("written") == 10


def test_flush_rows_waiting_wakes_the_writer_before_flush_ms() -> None:
    store, metrics = _Store(), ServerMetrics()
    log = _log(store, metrics, flush_ms=60_000, flush_rows=3)
    log.add(_rows(0, 3))
    assert store.written.wait(5.0)
    log.close()
    assert store.batches[0] == ["id0", "id1", "id2"]


def test_flush_ms_writes_a_partial_batch() -> None:
    store, metrics = _Store(), ServerMetrics()
    log = _log(store, metrics, flush_ms=20, flush_rows=1000)
    log.add(_rows(0, 1))
    assert store.written.wait(5.0)
    log.close()
    assert store.batches == [["id0"]]


def test_rows_beyond_max_queue_are_dropped_and_counted() -> None:
    store, metrics = _Store(), ServerMetrics()
    log = PredictionLog(store, metrics, flush_rows=100, max_queue=5)  # type: ignore[arg-type]
    log.add(_rows(0, 3))
    log.add(_rows(3, 4))  # 2 fit
    log.add(_rows(7, 1))  # none fits
    log.start()
    log.close()
    assert store.batches == [[f"id{n}" for n in range(5)]]
    assert metrics.log_rows.value("dropped") == 3
    assert metrics.log_rows.value("written") == 5


def test_a_failing_store_loses_its_batch_counted_and_the_writer_goes_on() -> None:
    store, metrics = _Store(), ServerMetrics()
    store.failing = True
    log = _log(store, metrics, flush_ms=10, flush_rows=100)
    log.add(_rows(0, 2))
    deadline = time.monotonic() + 5.0
    while metrics.log_rows.value("failed") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    store.failing = False
    log.add(_rows(2, 1))
    log.close()
    assert store.batches == [["id2"]]
    assert metrics.log_rows.value("written") == 1


def test_rows_not_yet_written_are_found_by_id() -> None:
    store, metrics = _Store(), ServerMetrics()
    log = _log(store, metrics, flush_ms=60_000, flush_rows=100)
    rows = _rows(0, 3)
    log.add(rows)
    assert log.find("id1") == rows[1]
    assert log.find("id7") is None
    log.close()
    assert store.batches == [["id0", "id1", "id2"]]
