"""One bad request fails only itself: invalid text is a 422 at every door, and a job whose
scoring raises fails alone while the requests batched with it get their answers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from lifelong.serving import batcher as batcher_module
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Served, score

FEEDBACK_TOKEN = "feedback-token"  # conftest's
SURROGATE = b'"\\ud800"'  # a JSON escape of a lone surrogate: valid JSON, not valid Unicode
LOW_SURROGATE = b'"ok \\udfff"'


def _post(client: TestClient, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    headers = {"content-type": "application/json", "authorization": f"Bearer {FEEDBACK_TOKEN}"}
    response = client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/predict",
            b'{"text": ' + SURROGATE + b"}",
            "body.text: Value error, invalid Unicode (lone surrogate U+D800 at position 0)",
        ),
        (
            "/predict",
            b'{"texts": ["play music", "rain", "hi", ' + LOW_SURROGATE + b"]}",
            "body.texts.3: Value error, invalid Unicode (lone surrogate U+DFFF at position 3)",
        ),
        (
            "/predict",
            b'{"texts": ["play music", "a\\u0000b"]}',
            "body.texts.1: Value error, contains a NUL character (U+0000 at position 1)",
        ),
        (
            "/model/parse",
            b'{"text": ' + SURROGATE + b"}",
            "body.text: Value error, invalid Unicode (lone surrogate U+D800",
        ),
        (
            "/feedback",
            b'{"text": ' + SURROGATE + b', "intent": "music"}',
            "body.text: Value error, invalid Unicode (lone surrogate U+D800",
        ),
        (
            "/feedback",
            b'{"text": "play music", "intent": ' + SURROGATE + b"}",
            "body.intent: Value error, invalid Unicode (lone surrogate U+D800",
        ),
        (
            "/feedback",
            b'{"text": "play music", "intent": "music", "predicted": "x\\u0000"}',
            "body.predicted: Value error, contains a NUL character",
        ),
        (
            "/feedback",
            b'{"text": "play music", "intent": "music", "prediction_id": ' + SURROGATE + b"}",
            "body.prediction_id: Value error, invalid Unicode",
        ),
    ],
)
def test_invalid_unicode_is_422_naming_the_field_and_the_server_keeps_serving(
    client: TestClient, path: str, body: bytes, message: str
) -> None:
    status, answer = _post(client, path, body)
    assert status == 422, answer
    assert message in str(answer["message"])
    assert client.post("/predict", json={"text": "play music"}).status_code == 200


@pytest.mark.parametrize("path", ["/predict", "/feedback"])
def test_a_surrogate_in_a_field_name_is_a_422_too(client: TestClient, path: str) -> None:
    status, answer = _post(client, path, b'{"text": "hi", ' + SURROGATE + b": 1}")
    assert status == 422
    assert "body: Input should be a valid string" in str(answer["message"])


def test_nothing_invalid_reaches_the_feedback_log(client: TestClient, settings: object) -> None:
    body = b'{"text": ' + SURROGATE + b', "intent": "music"}'
    assert _post(client, "/feedback", body)[0] == 422
    log = settings.feedback_log  # type: ignore[attr-defined]
    assert not log.exists() or log.read_text() == ""


def test_bad_requests_in_flight_fail_no_good_one(client: TestClient) -> None:
    """300 good and 30 lone-surrogate requests, 60 at a time: every good one is answered."""
    bodies = [b'{"text": "play some music"}'] * 300
    for index in range(30):
        bodies.insert(index * 11, b'{"text": ' + SURROGATE + b"}")

    def send(body: bytes) -> tuple[bool, int]:
        return SURROGATE not in body, _post(client, "/predict", body)[0]

    with ThreadPoolExecutor(max_workers=60) as pool:
        outcomes = list(pool.map(send, bodies))
    assert [status for good, status in outcomes if good] == [200] * 300
    assert [status for good, status in outcomes if not good] == [422] * 30


def test_a_job_whose_scoring_raises_is_a_clear_500_and_fails_alone(
    make_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever slips past validation and breaks scoring fails its own request only."""

    shared: list[int] = []  # sizes of the calls that held a poison text among others

    def fragile(
        model: LoadedModel,
        texts: list[str],
        top_k: int,
        ids: TimeOrderedIds,
        hash_text: Callable[[str], str],
    ) -> Served:
        if "poison" in texts:
            if len(texts) > 1:
                shared.append(len(texts))
            raise RuntimeError("featurizer refused 'poison'")
        return score(model, texts, top_k, ids, hash_text)

    monkeypatch.setattr(batcher_module, "score", fragile)
    client = make_client(server={"scoring_threads": 1})  # type: ignore[operator]
    texts = ["play some music"] * 200
    for index in range(20):
        texts.insert(index * 10, "poison")

    def send(text: str) -> tuple[str, int, dict[str, object]]:
        response = client.post("/predict", json={"text": text})
        return text, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=60) as pool:
        outcomes = list(pool.map(send, texts))
    good = [(status, answer) for text, status, answer in outcomes if text != "poison"]
    bad = [(status, answer) for text, status, answer in outcomes if text == "poison"]
    assert [status for status, _ in good] == [200] * 200
    assert all(answer["intent"] == "music" for _, answer in good)
    assert [status for status, _ in bad] == [500] * 20
    assert shared  # the poison did share calls with good requests, which were still answered
    assert all(
        "scoring failed with model 1.0: RuntimeError: featurizer refused 'poison'"
        in str(answer["detail"])
        and "requests batched with this one were answered" in str(answer["hint"])
        for _, answer in bad
    )
