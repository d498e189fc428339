"""The HTTP API in-process: prediction shapes, Rasa parse, feedback, models, health."""

from __future__ import annotations

import gc
import json
import time

from fastapi.testclient import TestClient

from lifelong.serving import ServeSettings

FEEDBACK = {"Authorization": "Bearer feedback-token"}  # conftest's FEEDBACK_TOKEN


def test_predict_one_text(client: TestClient) -> None:
    response = client.post("/predict", json={"text": "wake me with an alarm tomorrow morning"})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "1.0"
    assert body["intent"] == "alarm"
    assert body["ranking"][0] == {"intent": "alarm", "confidence": body["confidence"]}
    assert len(body["ranking"]) == 4  # top_k 5, but only four intents
    confidences = [r["confidence"] for r in body["ranking"]]
    assert confidences == sorted(confidences, reverse=True)
    assert abs(sum(confidences) - 1.0) < 1e-5
    assert len(body["prediction_id"]) == 36


def test_predict_a_batch_keeps_order_and_top_k(client: TestClient) -> None:
    texts = ["play my favourite song", "will it rain today", "book a dinner table"]
    response = client.post("/predict", json={"texts": texts, "top_k": 2})
    assert response.status_code == 200
    body = response.json()
    assert [p["intent"] for p in body["predictions"]] == ["music", "weather", "booking"]
    assert all(len(p["ranking"]) == 2 for p in body["predictions"])
    assert len({p["prediction_id"] for p in body["predictions"]}) == 3


def test_rasa_parse_shape(client: TestClient) -> None:
    response = client.post("/model/parse", json={"text": "snooze the alarm clock"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"text", "intent", "intent_ranking", "entities"}
    assert body["text"] == "snooze the alarm clock"
    assert body["intent"]["name"] == "alarm"
    assert body["intent_ranking"][0] == body["intent"]
    assert set(body["intent_ranking"][1]) == {"name", "confidence"}
    assert body["entities"] == []


def test_feedback_is_on_disk_before_the_answer(client: TestClient, settings: ServeSettings) -> None:
    predicted = client.post("/predict", json={"text": "play a song"}).json()
    response = client.post(
        "/feedback",
        json={
            "text": "play a song",
            "intent": "music",
            "prediction_id": predicted["prediction_id"],
        },
        headers=FEEDBACK,
    )
    assert response.status_code == 200
    assert response.json() == {"status": "stored", "prediction_id": predicted["prediction_id"]}
    assert settings.feedback_log is not None
    lines = settings.feedback_log.read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["intent"] == "music"
    assert record["predicted"] == predicted["intent"]  # filled from the prediction log
    assert record["timestamp"]


def test_feedback_finds_the_prediction_after_a_restart(
    make_client: object, settings: ServeSettings
) -> None:
    first = make_client()  # type: ignore[operator]
    predicted = first.post("/predict", json={"text": "play a song"}).json()
    first.__exit__(None, None, None)  # stops the server: the log is flushed, memory is gone
    second = make_client()  # type: ignore[operator]
    feedback = {
        "text": "play a song",
        "intent": "music",
        "prediction_id": predicted["prediction_id"],
    }
    assert second.post("/feedback", json=feedback, headers=FEEDBACK).status_code == 200
    unknown = {**feedback, "prediction_id": "00000000-0000-7000-8000-000000000000"}
    assert second.post("/feedback", json=unknown, headers=FEEDBACK).status_code == 200
    assert settings.feedback_log is not None
    lines = [json.loads(line) for line in settings.feedback_log.read_text().splitlines()]
    assert [line.get("predicted") for line in lines] == [predicted["intent"], None]


def test_feedback_off_without_a_feedback_source(make_client: object) -> None:
    client = make_client(feedback_log=None)  # type: ignore[operator]
    response = client.post("/feedback", json={"text": "x", "intent": "y"})
    assert response.status_code == 404
    assert "feedback is off" in response.json()["detail"]


def test_predictions_are_logged_with_hash_only_by_default(
    client: TestClient, settings: ServeSettings
) -> None:
    client.post("/predict", json={"texts": ["play music", "rain today"]})
    services = client.app.state.services  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while len(rows := services.registry.store.recent_predictions()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert [r.text for r in rows] == [None, None]
    assert all(len(r.text_hash) == 64 and r.version == "1.0" for r in rows)


def test_health_ready_and_models(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["version"] == "1.0"
    assert health["last_error"] is None
    assert client.get("/ready").json() == {"ready": True, "version": "1.0"}
    models = client.get("/models").json()
    assert models["serving"] == "1.0"
    assert models["champion"] == "1.0"
    assert [v["version"] for v in models["lineage"]] == ["1.0"]


def test_not_ready_without_a_champion(make_client: object) -> None:
    client = make_client(alias="nobody")  # type: ignore[operator]
    deadline = time.monotonic() + 10
    while client.get("/health").json()["status"] != "failing":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    response = client.get("/ready")
    assert response.status_code == 503
    assert "cannot resolve alias 'nobody'" in response.json()["detail"]
    assert client.post("/predict", json={"text": "hi"}).status_code == 503


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/predict", "/model/parse", "/feedback", "/admin/promote"} <= set(paths)


def test_startup_objects_are_frozen_out_of_gc_passes(client: TestClient) -> None:
    assert gc.get_freeze_count() > 10_000  # the imports: torch, sklearn, SQLAlchemy, FastAPI
    assert client.get("/ready").status_code == 200
