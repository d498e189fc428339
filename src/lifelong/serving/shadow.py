"""Shadow mode: a second model (e.g. the challenger) answers every request, after the response.

The route hands the texts and the primary prediction ids to :meth:`ShadowRunner.submit` as a
background task, which runs once the response has been sent; the submit itself is a
non-blocking queue ``put``. One worker thread predicts with the shadow model and logs its rows
with ``shadow_of`` set, so ``lifelong shadow-report`` can pair them with the champion's. When
the shadow falls behind, requests beyond the queue's bound are skipped (and counted), never
delaying the champion's answers.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from lifelong.serving.holder import ModelHolder
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import log_rows, score
from lifelong.serving.metrics import ServerMetrics
from lifelong.serving.prediction_log import PredictionLog

log = logging.getLogger(__name__)

_Job = tuple[list[str], list[str]]


class ShadowRunner:
    """Runs the shadow holder's model on submitted texts in one background thread."""

    def __init__(
        self,
        holder: ModelHolder,
        prediction_log: PredictionLog,
        metrics: ServerMetrics,
        ids: TimeOrderedIds,
        *,
        hash_text: Callable[[str], str],
        keep_text: bool,
        max_queue: int = 10_000,
    ) -> None:
        self.holder = holder
        self.prediction_log = prediction_log
        self.metrics = metrics
        self.ids = ids
        self.hash_text = hash_text
        self.keep_text = keep_text
        self._queue: queue.Queue[_Job | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, texts: Sequence[str], primary_ids: Sequence[str]) -> None:
        """Queue one request's texts for the shadow model (skipped when the queue is full)."""
        try:
            self._queue.put_nowait((list(texts), list(primary_ids)))
        except queue.Full:
            self.metrics.log_rows.inc("shadow_skipped", amount=len(texts))

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued requests, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            texts, primary_ids = job
            model = self.holder.current
            if model is None:
                continue
            try:
                served = score(model, texts, 1, self.ids, self.hash_text)
            except Exception:  # a broken shadow must never take the server down
                log.exception("shadow model %s failed", model.version)
                continue
            self.metrics.confidence.observe_many(served.top_confidences, "shadow")
            rows = log_rows(served, texts, keep_text=self.keep_text, shadow_of=primary_ids)
            self.prediction_log.add(rows)
