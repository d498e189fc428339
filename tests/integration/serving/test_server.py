"""A real server: prediction, Rasa parse, feedback durability across kill -9, a refused corrupt
model, shadow mode, auth and limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifelong.registry import Registry

pytestmark = pytest.mark.integration

Project = tuple[Path, Registry]
FEEDBACK = {"Authorization": "Bearer integration-feedback-token"}  # conftest's FEEDBACK_TOKEN
StartServer = Callable[..., Any]
WaitFor = Callable[..., None]


def test_prediction_parse_health_metrics(shared_server: Any) -> None:
    server = shared_server
    with httpx.Client(base_url=server.url) as http:
        body = http.post("/predict", json={"text": "set an alarm for the morning"}).json()
        assert (body["version"], body["intent"]) == ("1.0", "alarm")
        batch = http.post("/predict", json={"texts": ["play a song", "rain forecast"]}).json()
        assert [p["intent"] for p in batch["predictions"]] == ["music", "weather"]
        parsed = http.post("/model/parse", json={"text": "reserve a restaurant table"}).json()
        assert parsed["intent"]["name"] == "booking"
        assert http.get("/health").json()["status"] == "ok"
        assert (
            'lifelong_requests_total{route="/predict",status="200"} 2' in http.get("/metrics").text
        )
        assert http.get("/docs").status_code == 200


def test_feedback_survives_kill_9_and_restart(
    project: Project, start_server: StartServer, wait_for: WaitFor
) -> None:
    folder, _ = project
    log = folder / ".lifelong" / "feedback" / "feedback.jsonl"
    server = start_server(folder)
    with httpx.Client(base_url=server.url) as http:
        for n in range(20):
            answer = http.post(
                "/feedback", json={"text": f"play song {n}", "intent": "music"}, headers=FEEDBACK
            )
            assert answer.status_code == 200
    server.kill()  # acknowledged feedback must already be on disk
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["text"] for r in lines] == [f"play song {n}" for n in range(20)]

    server = start_server(folder)
    with httpx.Client(base_url=server.url) as http:
        predicted = http.post("/predict", json={"text": "wake me up"}).json()
        answer = http.post(
            "/feedback",
            json={
                "text": "wake me up",
                "intent": "alarm",
                "prediction_id": predicted["prediction_id"],
            },
            headers=FEEDBACK,
        )
        assert answer.status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 21
    assert lines[-1]["prediction_id"] == predicted["prediction_id"]
    assert lines[-1]["predicted"] == predicted["intent"]


def test_corrupt_model_is_refused_and_old_one_keeps_serving(
    project: Project, start_server: StartServer, wait_for: WaitFor
) -> None:
    folder, registry = project
    server = start_server(folder)
    weights = registry.artifacts.path(registry.resolve("2.0").artifact_id) / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"evil")
    registry.set_alias("champion", "2.0", reason="tampered", command="test")
    with httpx.Client(base_url=server.url) as http:
        wait_for(lambda: http.get("/health").json()["last_error"] is not None, "the refusal")
        health = http.get("/health").json()
        assert health["status"] == "degraded"
        assert health["version"] == "1.0"
        assert health["last_error"]["version"] == "2.0"
        assert "artifact of version 2.0 is corrupt" in health["last_error"]["message"]
        for _ in range(10):
            answer = http.post("/predict", json={"text": "play music"})
            assert answer.status_code == 200
            assert answer.json()["version"] == "1.0"
        loads = http.get("/metrics").text
        assert 'lifelong_model_loads_total{role="primary",result="refused"} 1' in loads


def test_shadow_mode_logs_both_and_reports(
    project: Project, start_server: StartServer, wait_for: WaitFor
) -> None:
    folder, registry = project
    registry.set_alias("challenger", "2.0", reason="try it", command="test")
    server = start_server(folder, "--shadow", "challenger")
    with httpx.Client(base_url=server.url) as http:
        wait_for(lambda: http.get("/health").json()["shadow"]["version"] == "2.0", "the shadow")
        ids = [
            http.post("/predict", json={"text": text}).json()["prediction_id"]
            for text in ("play a song", "will it rain", "book a table", "snooze the alarm")
        ]
        ids += [
            p["prediction_id"]
            for p in http.post("/predict", json={"texts": ["a", "b"]}).json()["predictions"]
        ]
        http.post(
            "/feedback",
            json={"text": "play a song", "intent": "music", "prediction_id": ids[0]},
            headers=FEEDBACK,
        )
        http.post(
            "/feedback",
            json={"text": "will it rain", "intent": "alarm", "prediction_id": ids[1]},
            headers=FEEDBACK,
        )

    def logged() -> list[object]:
        return registry.store.recent_predictions()

    wait_for(lambda: len(logged()) == 12, "12 logged rows (6 primary + 6 shadow)")
    rows = registry.store.recent_predictions()
    primary = {r.prediction_id: r for r in rows if r.shadow_of is None}
    shadow = {r.shadow_of: r for r in rows if r.shadow_of is not None}
    assert set(primary) == set(ids) == set(shadow)
    assert {r.version for r in primary.values()} == {"1.0"}
    assert {r.version for r in shadow.values()} == {"2.0"}

    result = server.cli("shadow-report", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pairs"] == 6
    assert report["versions"] == {"1.0 vs 2.0": 6}
    assert report["judged"] == 2
    assert report["primary_right"] == int(primary[ids[0]].intent == "music") + int(
        primary[ids[1]].intent == "alarm"
    )


def test_auth(shared_server: Any, project: Project, start_server: StartServer) -> None:
    server = shared_server
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/admin/reload").status_code == 401
        assert (
            http.post("/admin/reload", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        answer = http.post("/admin/reload", headers=server.admin())
        assert answer.status_code == 200
        assert answer.json()["version"] == "1.0"
    no_token = start_server(project[0], token=None)
    with httpx.Client(base_url=no_token.url) as http:
        answer = http.post("/admin/reload", headers={"Authorization": f"Bearer {server.token}"})
        assert answer.status_code == 404
        assert "admin endpoints are off" in answer.json()["detail"]


def test_limits(shared_server: Any) -> None:
    server = shared_server
    with httpx.Client(base_url=server.url) as http:
        answer = http.post("/predict", content=b"x" * 2_000_000)
        assert answer.status_code == 413
        assert "server.max_body_bytes" in answer.json()["detail"]
        answer = http.post("/predict", json={"texts": ["hi"] * 17})
        assert answer.status_code == 422
        assert "server.max_batch=16" in answer.json()["detail"]
        answer = http.post("/predict", json={"text": "   "})
        assert answer.status_code == 422
        assert "text must not be empty" in answer.json()["message"]
        answer = http.post("/predict", content=b'{"text": "\\xff\xff"}')
        assert answer.status_code == 400
        assert "not valid UTF-8" in answer.json()["detail"]
