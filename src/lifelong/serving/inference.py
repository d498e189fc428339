"""From texts to served predictions: scores, top-k rankings, ids, log rows.

Kept apart from the routes so ``/predict``, ``/model/parse`` and the shadow runner share one
path: a prediction is scored, given an id, logged (off the request path) and counted the same
way whichever endpoint served it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from itertools import repeat

import numpy as np
from numpy.typing import NDArray

from lifelong.core.types import normalize_text
from lifelong.registry import PredictionRecord
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds

# Where the top k are picked by k rounds of argmax instead of a full sort of each row: from this
# many rows (below, the fixed cost of each round exceeds the sort's) and up to this many picks
# (beyond, the rounds together cost more than the sort).
_ROUNDS_FROM_ROWS = 24
_ROUNDS_UP_TO_K = 32


@dataclass(frozen=True)
class Served:
    """A request's predictions, column by column, the version that made them and how long it
    took.

    Columns rather than a record per text: at batch rates, an object per text and a list of
    pairs per ranking cost as much as the scoring itself, and every consumer (the JSON answer,
    the log rows, the metrics) reads whole columns anyway.

    Parameters
    ----------
    version
        The registry version that scored the texts.
    labels
        The model's intent names, by output column (an object array, so that a whole
        ranking matrix of columns turns into names in one indexing).
    prediction_ids
        One new id per text.
    ranked
        ``(n, k)``: the columns of each text's ``k`` most likely intents, most likely first.
    confidences
        ``(n, k)``: their probabilities.
    text_hashes
        The keyed hash of each normalized text (what the prediction log stores).
    latency_ms
        Scoring time of these texts.
    values
        A regression model's predicted numbers (its one "class", ``value``, ranked first with
        confidence 1); ``None`` for a classifier.
    """

    version: str
    labels: NDArray[np.object_]
    prediction_ids: list[str]
    ranked: NDArray[np.intp]
    confidences: NDArray[np.float32]
    text_hashes: list[str]
    latency_ms: float
    values: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.prediction_ids)

    @cached_property
    def ranked_intents(self) -> list[list[str]]:
        """Each text's ranked intents, most likely first (as Python lists: made once, read by
        the answer, the log rows and the metrics alike)."""
        names: list[list[str]] = self.labels[self.ranked].tolist()
        return names

    @cached_property
    def ranked_confidences(self) -> list[list[float]]:
        """Each text's ranked confidences, matching :attr:`ranked_intents`."""
        values: list[list[float]] = self.confidences.tolist()
        return values

    @cached_property
    def intents(self) -> list[str]:
        """Each text's most likely intent."""
        return [names[0] for names in self.ranked_intents]

    @cached_property
    def top_confidences(self) -> list[float]:
        """Each text's confidence in its most likely intent."""
        return [values[0] for values in self.ranked_confidences]

    def rankings(self) -> list[list[tuple[str, float]]]:
        """Each text's ranking: ``(intent, confidence)`` pairs, most likely first."""
        pairs = zip(self.ranked_intents, self.ranked_confidences, strict=True)
        return [list(zip(n, v, strict=True)) for n, v in pairs]

    def rows(self, start: int, stop: int, top_k: int) -> Served:
        """Texts ``start`` to ``stop`` with their ``top_k`` most likely intents, and their
        share of the latency (how the batcher hands each request its part of a call)."""
        return Served(
            self.version,
            self.labels,
            self.prediction_ids[start:stop],
            self.ranked[start:stop, :top_k],
            self.confidences[start:stop, :top_k],
            self.text_hashes[start:stop],
            self.latency_ms * (stop - start) / max(1, len(self)),
            None if self.values is None else self.values[start:stop],
        )


def score(
    model: LoadedModel,
    texts: Sequence[str],
    top_k: int,
    ids: TimeOrderedIds,
    hash_text: Callable[[str], str],
) -> Served:
    """Predict ``texts`` with ``model``; each gets a fresh prediction id from ``ids``.

    Runs in a worker thread (see ``batcher``), so the text hashes for the log are computed here
    too (by ``hash_text``, the server's :class:`~lifelong.core.hashing.TextHasher`), off the
    event loop, from the texts normalized once for both.
    """
    started = time.perf_counter()
    normalized = list(map(normalize_text, texts))
    values = None
    if model.bundle.regression is not None:
        values = model.bundle.predict_values(normalized)
        if not np.isfinite(values).all():
            raise RuntimeError(f"model {model.version} returned non-finite values")
        proba = np.ones((len(texts), 1), dtype=np.float32)
    else:
        proba = model.bundle.proba_normalized(normalized)
    labels = model.labels
    if not np.isfinite(proba).all():  # JSON has no NaN: a 500 naming the model
        raise RuntimeError(f"model {model.version} returned non-finite probabilities")
    ranked = top_k_columns(proba, min(top_k, len(labels)))
    confidences = np.take_along_axis(proba, ranked, axis=1)
    hashes = list(map(hash_text, normalized))
    latency_ms = (time.perf_counter() - started) * 1000.0
    return Served(
        model.version, labels, ids.take(len(texts)), ranked, confidences, hashes, latency_ms, values
    )


def top_k_columns(proba: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """The columns of each row's ``k`` largest values, largest first, ties to the lower column.

    Exactly ``np.argsort(-proba, axis=1, kind="stable")[:, :k]``, which sorts all the classes
    of every row. For a batch and a small ``k``, ``k`` rounds of ``argmax`` (which returns the
    first of tied maxima: the stable order), each masking what it picked, are 6 times faster
    at ``k = 5`` than that sort and than ``torch.topk`` (whose picks among ties need sorting
    again, besides). ``proba`` must be finite: the caller refuses NaN first.
    """
    k = min(k, proba.shape[1])
    if k > _ROUNDS_UP_TO_K or len(proba) < _ROUNDS_FROM_ROWS:
        full: NDArray[np.intp] = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return full
    left = proba.copy()
    rows = np.arange(len(proba))
    top = np.empty((len(proba), k), dtype=np.intp)
    for rank in range(k):
        top[:, rank] = picked = left.argmax(axis=1)
        left[rows, picked] = -np.inf
    return top


def log_rows(
    served: Served,
    texts: Sequence[str],
    *,
    keep_text: bool,
    shadow_of: Sequence[str] | None = None,
) -> list[PredictionRecord]:
    """Prediction-log rows of ``served``; ``shadow_of`` names the primary ids a shadow mirrors.

    The latency of a batch is split evenly among its texts. A regression model's rows carry
    its predicted numbers (what the drift trigger compares with its test split's). The rows
    are zipped from the columns, so no Python code runs per text but the record's constructor.
    """
    n = len(served)
    columns = zip(
        served.prediction_ids,
        repeat(datetime.now(UTC), n),
        served.text_hashes,
        repeat(served.version, n),
        served.intents,
        served.top_confidences,
        repeat(served.latency_ms / max(1, n), n),
        texts if keep_text else repeat(None, n),
        repeat(None, n) if shadow_of is None else shadow_of,
        repeat(None, n) if served.values is None else served.values.tolist(),
        strict=True,
    )
    return list(map(PredictionRecord._make, columns))
