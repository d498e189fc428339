"""From texts to served predictions: scores, top-k rankings, ids, log rows.

Kept apart from the routes so ``/predict``, ``/model/parse`` and the shadow runner share one
path: a prediction is scored, given an id, logged (off the request path) and counted the same
way whichever endpoint served it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from lifelong.core.hashing import sha256_text
from lifelong.core.types import normalize_text
from lifelong.registry import PredictionRecord
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds

# From this many rows a partial sort (argpartition, then sort k) beats a full stable argsort of
# each row; below it the partition's fixed numpy overheads cost more than they save.
_PARTITION_FROM_ROWS = 64


class Scored(NamedTuple):
    """One text's prediction: its id, top intent and confidence, the top-k ranking, and the
    sha256 of its normalized text (what the prediction log stores).

    A named tuple: one is made per text scored, and a frozen dataclass costs twice as much.
    """

    prediction_id: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]
    text_hash: str


@dataclass(frozen=True)
class Served:
    """A request's predictions, the version that made them and how long it took."""

    version: str
    predictions: list[Scored]
    latency_ms: float


def score(model: LoadedModel, texts: Sequence[str], top_k: int, ids: TimeOrderedIds) -> Served:
    """Predict ``texts`` with ``model``; each gets a fresh prediction id from ``ids``.

    Runs in a worker thread (see ``batcher``), so the text hashes for the log are computed here
    too, off the event loop, from the texts normalized once for both.
    """
    started = time.perf_counter()
    normalized = [normalize_text(text) for text in texts]
    proba = model.bundle.proba_normalized(normalized)
    labels = model.bundle.labels
    order = top_k_columns(proba, min(top_k, len(labels)))
    confidences = np.take_along_axis(proba, order, axis=1)
    if not np.isfinite(confidences).all():  # JSON has no NaN: a 500 naming the model
        raise RuntimeError(f"model {model.version} returned non-finite probabilities")
    names = np.asarray(labels, dtype=object)[order].tolist()
    predictions = [
        Scored(
            prediction_id,
            ranked[0],
            values[0],
            list(zip(ranked, values, strict=True)),
            sha256_text(text),
        )
        for ranked, values, text, prediction_id in zip(
            names, confidences.tolist(), normalized, ids.take(len(texts)), strict=True
        )
    ]
    latency_ms = (time.perf_counter() - started) * 1000.0
    return Served(model.version, predictions, latency_ms)


def top_k_columns(proba: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """The columns of each row's ``k`` largest values, largest first, ties to the lower column.

    Exactly ``np.argsort(-proba, axis=1, kind="stable")[:, :k]``, which sorts all the classes
    of every row: for a large batch, partitioning out the top ``k`` and sorting only those is
    about three times faster. A row with a tie at the ``k``-th value (the partition may keep
    either of the tied columns) falls back to the stable sort.
    """
    columns = proba.shape[1]
    if k >= columns or len(proba) < _PARTITION_FROM_ROWS:
        full: NDArray[np.intp] = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return full
    top = np.argpartition(proba, columns - k, axis=1)[:, columns - k :]
    values = np.take_along_axis(proba, top, axis=1)
    top = np.take_along_axis(top, np.lexsort((top, -values), axis=1), axis=1)
    tied = (proba >= values.min(axis=1, keepdims=True)).sum(axis=1) > k
    if tied.any():
        top[tied] = np.argsort(-proba[tied], axis=1, kind="stable")[:, :k]
    return top


def log_rows(
    served: Served,
    texts: Sequence[str],
    *,
    keep_text: bool,
    shadow_of: Sequence[str] | None = None,
) -> list[PredictionRecord]:
    """Prediction-log rows of ``served``; ``shadow_of`` names the primary ids a shadow mirrors.

    The latency of a batch is split evenly among its texts.
    """
    now = datetime.now(UTC)
    each_ms = served.latency_ms / max(1, len(texts))
    primaries = shadow_of if shadow_of is not None else [None] * len(texts)
    return [
        PredictionRecord(
            prediction_id=scored.prediction_id,
            at=now,
            text_hash=scored.text_hash,
            version=served.version,
            intent=scored.intent,
            confidence=scored.confidence,
            latency_ms=each_ms,
            text=text if keep_text else None,
            shadow_of=primary,
        )
        for scored, text, primary in zip(served.predictions, texts, primaries, strict=True)
    ]
