"""Bad input gets a 4xx with a message naming the problem, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "body.text: Value error, text must not be empty"),
        ({"text": "   "}, "text must not be empty or only white space"),
        ({"texts": []}, "body.texts: List should have at least 1 item"),
        ({"texts": ["ok", ""]}, "body.texts.1: Value error, text must not be empty"),
        ({}, 'give exactly one of "text" (a string) or "texts" (a list)'),
        ({"text": "a", "texts": ["b"]}, 'give exactly one of "text"'),
        ({"text": 3}, "body.text: Input should be a valid string"),
        ({"txt": "hello"}, "body.txt: Extra inputs are not permitted"),
        ({"text": "a", "top_k": 0}, "body.top_k: Input should be greater than or equal to 1"),
        (["text"], "Input should be a valid dictionary"),
    ],
)
def test_wrong_schema_is_422_with_the_field(client: TestClient, body: object, message: str) -> None:
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    assert message in response.json()["message"]


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"text": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["message"]


def test_non_utf8_body_is_400(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"text": "caf\xe9"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid UTF-8 (bad byte at 13)" in response.json()["detail"]


def test_batch_and_text_limits_are_422_naming_the_key(client: TestClient) -> None:
    response = client.post("/predict", json={"texts": ["hi"] * 9})
    assert response.status_code == 422
    assert "batch of 9 texts is over server.max_batch=8" in response.json()["detail"]
    response = client.post("/predict", json={"text": "x" * 51})
    assert response.status_code == 422
    assert "text 0 has 51 characters, over server.max_text_chars=50" in response.json()["detail"]
    response = client.post("/model/parse", json={"text": "x" * 51})
    assert response.status_code == 422
    response = client.post(
        "/feedback",
        json={"text": "x" * 51, "intent": "music"},
        headers={"Authorization": "Bearer feedback-token"},
    )
    assert response.status_code == 422


def test_oversized_body_is_413(client: TestClient) -> None:
    payload = b'{"text": "' + b"a" * 2_000_000 + b'"}'
    response = client.post("/predict", content=payload)
    assert response.status_code == 413
    assert "over server.max_body_bytes=1048576" in response.json()["detail"]


def test_oversized_chunked_body_is_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 100_000

    response = client.post("/predict", content=chunks())
    assert response.status_code == 413


def test_slow_prediction_times_out_with_504(make_client: object) -> None:
    client = make_client(server={"timeout": 1e-9, "max_batch": 32})  # type: ignore[operator]
    response = client.post("/predict", json={"texts": ["play music"] * 32})
    assert response.status_code == 504
    assert "prediction took longer than server.timeout" in response.json()["detail"]


def test_unknown_route_and_method(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/predict").status_code == 405
