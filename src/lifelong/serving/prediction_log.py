"""The prediction log writer: a buffer and one background thread, so requests never wait on SQL.

Requests append their rows to a bounded buffer (one short lock per request, never blocking);
the writer thread takes the whole buffer and appends it to the store in one transaction per
``flush_rows`` rows, every ``flush_ms`` milliseconds or as soon as ``flush_rows`` rows are
waiting, and applies the retention bound every ``prune_every`` seconds. The inserts and
retention passes themselves go to a ``writer``: by default in the server the writer process
(:mod:`lifelong.serving.log_process`), otherwise the store. When the store is slow
or down the buffer fills and rows are dropped and counted, rather than slowing down or failing
the requests: the log feeds monitoring, it is not a ledger. (A ``queue.Queue`` of rows took a
lock and notified a condition per row: 4 us per text, as much as featurizing it.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from lifelong.core.errors import LifelongError
from lifelong.registry import PredictionRecord, RegistryStore
from lifelong.serving.metrics import ServerMetrics

log = logging.getLogger(__name__)


class PredictionSink(Protocol):
    """Where the writer thread sends rows and retention passes: the store itself, or the
    writer process (:class:`~lifelong.serving.log_process.LogWriterProcess`)."""

    def log_predictions(self, rows: Sequence[PredictionRecord]) -> None: ...

    def prune_predictions(
        self, *, keep_rows: int | None = None, older_than: datetime | None = None
    ) -> int: ...


class PredictionLog:
    """Batched, asynchronous appends of :class:`PredictionRecord` rows to the registry store.

    Parameters
    ----------
    store
        Where rows go (``predictions`` table) and where :meth:`find` looks them up.
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
    writer
        What writes the rows and prunes, when not ``store`` itself (the writer process).
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
        writer: PredictionSink | None = None,
    ) -> None:
        self.store = store
        self.writer: PredictionSink = store if writer is None else writer
        self.metrics = metrics
        self.flush_s = flush_ms / 1000.0
        self.flush_rows = flush_rows
        self.keep_rows = keep_rows
        self.keep_days = keep_days
        self.prune_every = prune_every
        self.max_queue = max_queue
        self._pending: list[PredictionRecord] = []
        self._writing: list[PredictionRecord] = []  # taken from _pending, not yet committed
        self._lock = threading.Lock()  # guards _pending, _writing and _stopping
        self._stopping = False
        self._wake = threading.Event()  # flush_rows rows wait, or closing
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, rows: Sequence[PredictionRecord]) -> None:
        """Queue rows for writing; never blocks (rows beyond ``max_queue`` waiting are dropped)."""
        with self._lock:
            room = max(0, self.max_queue - len(self._pending))
            kept = min(len(rows), room)
            self._pending.extend(rows[:kept])
            full = len(self._pending) >= self.flush_rows
        if kept < len(rows):
            self.metrics.log_rows.inc("dropped", amount=len(rows) - kept)
        if full:
            self._wake.set()

    def find(self, prediction_id: str) -> PredictionRecord | None:
        """The prediction with this id: from the rows not yet committed, else from the store.

        Blocks on the store: call it off the event loop. Memory is searched first (a scan of
        at most one flush interval's rows, fine for feedback's rate), and only then the store,
        so a row is found in one place or the other while the writer moves it.
        """
        with self._lock:
            for rows in (self._pending, self._writing):
                for row in rows:
                    if row.prediction_id == prediction_id:
                        return row
        return self.store.prediction(prediction_id)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread.is_alive():
            with self._lock:
                self._stopping = True
            self._wake.set()
            self._thread.join(timeout)

    def _run(self) -> None:
        last_prune = time.monotonic()
        stopping = False
        while not stopping:
            self._wake.wait(self.flush_s)
            self._wake.clear()  # rows added from here on set it again: none is missed
            with self._lock:
                batch, self._pending = self._pending, []
                self._writing = batch
                stopping = self._stopping
            for start in range(0, len(batch), self.flush_rows):
                self._write(batch[start : start + self.flush_rows])
            with self._lock:
                self._writing = []
            if time.monotonic() - last_prune >= self.prune_every:
                last_prune = time.monotonic()
                self.prune()

    def _write(self, batch: list[PredictionRecord]) -> None:
        if not batch:
            return
        try:
            self.writer.log_predictions(batch)
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
            return self.writer.prune_predictions(keep_rows=self.keep_rows, older_than=older)
        except (SQLAlchemyError, LifelongError):
            log.exception("prediction log: retention pass failed")
            return 0
