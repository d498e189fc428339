"""``/predict`` encodes plain dicts with orjson: the bytes must be the documented response."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Served
from lifelong.serving.routes.predict import answer_json
from lifelong.serving.schemas import BatchPredictResponse, PredictResponse


@st.composite
def served_answers(draw: st.DrawFn) -> Served:
    labels = draw(st.lists(st.text(), min_size=1, max_size=6, unique=True))
    n = draw(st.integers(1, 4))
    k = draw(st.integers(1, len(labels)))
    ranked = np.array(
        [draw(st.permutations(range(len(labels))))[:k] for _ in range(n)], dtype=np.intp
    ).reshape(n, k)
    finite = st.floats(0, 1, width=32, allow_subnormal=True)
    confidences = draw(arrays(np.float32, (n, k), elements=finite))
    ids = TimeOrderedIds().take(n)
    return Served("1.0", np.asarray(labels, dtype=object), ids, ranked, confidences, [""] * n, 1.0)


def _expected(served: Served, row: int) -> dict[str, object]:
    ranking = [
        {"intent": served.labels[c], "confidence": float(v)}
        for c, v in zip(served.ranked[row], served.confidences[row], strict=True)
    ]
    return {
        "prediction_id": served.prediction_ids[row],
        "intent": ranking[0]["intent"],
        "confidence": ranking[0]["confidence"],
        "ranking": ranking,
    }


@given(served_answers())
def test_batch_answer_is_the_documented_response(served: Served) -> None:
    body = answer_json(served, single=False)
    expected = {"version": "1.0", "predictions": [_expected(served, r) for r in range(len(served))]}
    assert json.loads(body) == expected  # confidences round-trip exactly, intents any Unicode
    BatchPredictResponse.model_validate_json(body)


@given(served_answers())
def test_single_answer_is_the_documented_response(served: Served) -> None:
    body = answer_json(served.rows(0, 1, served.ranked.shape[1]), single=True)
    assert json.loads(body) == {**_expected(served, 0), "version": "1.0"}
    assert list(json.loads(body)) == ["prediction_id", "intent", "confidence", "ranking", "version"]
    PredictResponse.model_validate_json(body)
