"""The prediction log writer: a queue and one background thread, so requests never wait on SQL.

Requests put rows on a bounded queue (a non-blocking ``put``); the writer thread drains it and
appends to the store in one transaction per batch, every ``flush_ms`` milliseconds or as soon as
``flush_rows`` rows are waiting, and applies the retention bound every ``prune_every`` seconds.
When the store is slow or down the queue fills and rows are dropped and counted, rather than
slowing down or failing the requests: the log feeds monitoring, it is not a ledger.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from lifelong.core.errors import LifelongError
from lifelong.registry import PredictionRecord, RegistryStore
from lifelong.serving.metrics import ServerMetrics

log = logging.getLogger(__name__)

_STOP = object()


class PredictionLog:
    """Batched, asynchronous appends of :class:`PredictionRecord` rows to the registry store.

    Parameters
    ----------
    store
        Where rows go (``predictions`` table).
    metrics
        Counts rows written, dropped (queue full) and failed (store error).
    flush_ms, flush_rows
        Write at least this often, and at once when this many rows wait.
    keep_rows, keep_days
        Retention: the newest rows and/or the last days kept (``None``: no bound).
    max_queue
        Rows held in memory at most before new ones are dropped.
    prune_every
        Seconds between retention passes.
    """

    def __init__(
        self,
        store: RegistryStore,
        metrics: ServerMetrics,
        *,
        flush_ms: int = 200,
        flush_rows: int = 1000,
        keep_rows: int | None = None,
        keep_days: float | None = None,
        max_queue: int = 100_000,
        prune_every: float = 60.0,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.flush_s = flush_ms / 1000.0
        self.flush_rows = flush_rows
        self.keep_rows = keep_rows
        self.keep_days = keep_days
        self.prune_every = prune_every
        self._queue: queue.Queue[PredictionRecord | object] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, rows: Sequence[PredictionRecord]) -> None:
        """Queue rows for writing; never blocks (rows beyond the queue's bound are dropped)."""
        for index, row in enumerate(rows):
            try:
                self._queue.put_nowait(row)
            except queue.Full:
                self.metrics.log_rows.inc("dropped", amount=len(rows) - index)
                return

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        last_prune = time.monotonic()
        stopping = False
        while not stopping:
            batch: list[PredictionRecord] = []
            deadline = time.monotonic() + self.flush_s
            while len(batch) < self.flush_rows:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, PredictionRecord)
                batch.append(item)
            self._write(batch)
            if time.monotonic() - last_prune >= self.prune_every:
                last_prune = time.monotonic()
                self.prune()

    def _write(self, batch: list[PredictionRecord]) -> None:
        if not batch:
            return
        try:
            self.store.log_predictions(batch)
        except (SQLAlchemyError, LifelongError):
            log.exception("prediction log: %d rows lost", len(batch))
            self.metrics.log_rows.inc("failed", amount=len(batch))
        else:
            self.metrics.log_rows.inc("written", amount=len(batch))

    def prune(self) -> int:
        """Apply the retention bound now; returns the rows deleted (0 without a bound)."""
        if self.keep_rows is None and self.keep_days is None:
            return 0
        older = None
        if self.keep_days is not None:
            older = datetime.now(UTC) - timedelta(days=self.keep_days)
        try:
            return self.store.prune_predictions(keep_rows=self.keep_rows, older_than=older)
        except (SQLAlchemyError, LifelongError):
            log.exception("prediction log: retention pass failed")
            return 0
