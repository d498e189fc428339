"""From texts to served predictions: scores, top-k rankings, ids, log rows.

Kept apart from the routes so ``/predict``, ``/model/parse`` and the shadow runner share one
path: a prediction is scored, given an id, logged (off the request path) and counted the same
way whichever endpoint served it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from lifelong.core.hashing import sha256_text
from lifelong.core.types import normalize_text
from lifelong.registry import PredictionRecord
from lifelong.serving.holder import LoadedModel


@dataclass(frozen=True)
class Scored:
    """One text's prediction: its id, top intent and confidence, and the top-k ranking."""

    prediction_id: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]


@dataclass(frozen=True)
class Served:
    """A request's predictions, the version that made them and how long it took."""

    version: str
    predictions: list[Scored]
    latency_ms: float


def score(model: LoadedModel, texts: Sequence[str], top_k: int) -> Served:
    """Predict ``texts`` with ``model``; each gets a fresh prediction id (a uuid4)."""
    started = time.perf_counter()
    proba = model.bundle.predict_proba(texts)
    labels = model.bundle.labels
    k = min(top_k, len(labels))
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    predictions = []
    for row, ranked in zip(proba.tolist(), order.tolist(), strict=True):
        ranking = [(labels[i], row[i]) for i in ranked]
        predictions.append(Scored(str(uuid.uuid4()), ranking[0][0], ranking[0][1], ranking))
    latency_ms = (time.perf_counter() - started) * 1000.0
    return Served(model.version, predictions, latency_ms)


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
            text_hash=sha256_text(normalize_text(text)),
            version=served.version,
            intent=scored.intent,
            confidence=scored.confidence,
            latency_ms=each_ms,
            text=text if keep_text else None,
            shadow_of=primary,
        )
        for scored, text, primary in zip(served.predictions, texts, primaries, strict=True)
    ]
