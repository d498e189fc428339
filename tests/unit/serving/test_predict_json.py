"""``/predict`` formats its JSON by hand: the bytes must be those the JSON encoder gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Scored
from lifelong.serving.routes.predict import _prediction_json

ranked = st.lists(
    st.tuples(st.text(), st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=6
)


@given(ranked)
def test_prediction_json_equals_the_json_encoder(ranking: list[tuple[str, float]]) -> None:
    prediction_id = TimeOrderedIds().take(1)[0]
    intent, confidence = ranking[0]
    scored = Scored(prediction_id, intent, confidence, ranking, "0" * 64)
    expected = {
        "prediction_id": prediction_id,
        "intent": intent,
        "confidence": confidence,
        "ranking": [{"intent": i, "confidence": c} for i, c in ranking],
    }
    encoded = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert _prediction_json(scored) + "}" == encoded
