"""Rasa parity: what a client written for Rasa's HTTP API reads, and where Rasa says so.

References (Rasa's source, read for this spec):

- ``RasaHQ/rasa`` ``rasa/server.py`` (3.x, commit 00371d2e5ee6b7f9490c0303e4b0096cd271b4b2):
  ``GET /version`` answers ``{"version": rasa.__version__, "minimum_compatible_version":
  MINIMUM_COMPATIBLE_VERSION}``; ``GET /status`` answers ``{"model_file":
  agent.processor.model_filename, "model_id": agent.model_id, "num_active_training_jobs":
  app.ctx.active_training_processes.value}``; ``POST /model/parse`` checks only that there is a
  body, then parses ``request.json`` and calls ``agent.parse_message(data.get("text"))``.
- the same file in 1.x (commit 001668ca47f15aac65cb79d60bc68f91a99908c0): ``/status`` also
  carries ``"fingerprint": model.fingerprint_from_path(...)``, whose keys (``rasa/model.py``,
  ``FINGERPRINT_*_KEY``) include ``config`` (a hash), ``version`` (the Rasa that trained the
  model) and ``trained_at`` (a Unix timestamp).
- ``sanic-org/sanic`` ``sanic/request.py``: ``Request.json`` is ``load_json()``, which is
  ``json_loads(self.body)`` whatever the ``Content-Type``. That is why ``curl -XPOST
  :5005/model/parse -d '{"text": "hi"}'`` (``application/x-www-form-urlencoded``) works on Rasa.
- ``RasaHQ/rasa`` ``rasa/nlu/model.py`` (commit 741bae26188ba47a8b83d779c07ee426defb1589),
  ``Interpreter.parse``: ``if not text:`` returns ``default_output_attributes()`` with
  ``text`` ``""``, i.e. ``{"intent": {"name": None, "confidence": 0.0}, "entities": []}``;
  Rasa 3's ``MessageProcessor._parse_message_with_graph`` starts from the same defaults.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import orjson
import pytest
from fastapi.testclient import TestClient

import lifelong
from lifelong.models.bundle import READABLE_VERSIONS
from lifelong.registry import open_registry
from lifelong.serving import ServeSettings
from lifelong.serving.routes.rasa import MINIMUM_COMPATIBLE_VERSION

ADMIN = {"Authorization": "Bearer s3cret-token"}  # conftest's TOKEN
TEXT = "snooze the alarm clock"


def _confidences_observed(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('lifelong_prediction_confidence_count{role="primary"}'):
            return float(line.split()[-1])
    return 0.0


# -- POST /model/parse -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain", "application/json"],
)
def test_parse_reads_the_body_as_json_whatever_the_content_type(
    client: TestClient, content_type: str | None
) -> None:
    """Sanic's ``Request.json`` ignores the header (``sanic/request.py``), so Rasa clients send
    ``curl -d`` bodies: form-urlencoded, or no header at all."""
    expected = client.post("/model/parse", json={"text": TEXT}).json()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/model/parse", content=orjson.dumps({"text": TEXT}), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["intent"] == expected["intent"]
    assert response.json()["text"] == TEXT


def test_parse_without_content_type_sends_no_header(client: TestClient) -> None:
    """The request above really goes without ``Content-Type`` (httpx adds none for bytes)."""
    request = client.build_request("POST", "/model/parse", content=b'{"text": "hi"}')
    assert "content-type" not in request.headers


def test_parse_of_a_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/model/parse",
        content=b"text=hello",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]


def test_predict_still_requires_a_json_content_type(client: TestClient) -> None:
    """Only Rasa's routes read any body as JSON; ``/predict`` keeps FastAPI's rule."""
    response = client.post("/predict", content=orjson.dumps({"text": TEXT}))
    assert response.status_code == 422


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_parse_of_a_blank_text_is_rasas_empty_answer(client: TestClient, text: str) -> None:
    """``Interpreter.parse`` (``rasa/nlu/model.py``): ``if not text`` -> intent name None,
    confidence 0.0, no entities; the ranking a client iterates is empty. Nothing is scored, so
    no confidence is observed (and no prediction logged)."""
    before = _confidences_observed(client)
    response = client.post("/model/parse", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "text": text,
        "intent": {"name": None, "confidence": 0.0},
        "intent_ranking": [],
        "entities": [],
    }
    client.post("/model/parse", json={"text": TEXT})  # one scored, to see the count move
    assert _confidences_observed(client) == before + 1


def test_parse_blank_text_over_the_length_limit_is_422(client: TestClient) -> None:
    response = client.post("/model/parse", json={"text": " " * 51})  # max_text_chars=50
    assert response.status_code == 422
    assert "server.max_text_chars=50" in response.json()["detail"]


def test_parse_ignores_message_id_and_unknown_fields(client: TestClient) -> None:
    """Rasa's emulators read ``text`` and ``message_id`` and drop the rest."""
    response = client.post("/model/parse", json={"text": TEXT, "message_id": "m-1", "lang": "en"})
    assert response.status_code == 200
    assert response.json()["intent"]["name"] == "alarm"


def test_parse_still_refuses_a_nul(client: TestClient) -> None:
    response = client.post("/model/parse", json={"text": "a\u0000b"})
    assert response.status_code == 422
    assert "NUL" in response.json()["message"]


# -- GET /version ------------------------------------------------------------------------------


def test_version_has_rasas_fields(client: TestClient) -> None:
    """``/version`` in ``rasa/server.py``: ``version`` and ``minimum_compatible_version``."""
    body = client.get("/version").json()
    assert body["version"] == lifelong.__version__
    assert body["minimum_compatible_version"] == MINIMUM_COMPATIBLE_VERSION
    assert body["bundle_format_version"] == max(READABLE_VERSIONS)


def test_minimum_compatible_version_follows_the_bundle_format() -> None:
    """0.1.0 is right while format 1 (what 0.1.0 wrote) is still readable; dropping it makes
    the oldest loadable release a newer one, and this constant must move with it."""
    assert (min(READABLE_VERSIONS), MINIMUM_COMPATIBLE_VERSION) == (1, "0.1.0")


# -- GET /status -------------------------------------------------------------------------------


def test_status_has_rasas_fields_filled_with_the_served_version(
    client: TestClient, settings: ServeSettings
) -> None:
    """``/status`` in ``rasa/server.py``: ``model_file``, ``model_id``,
    ``num_active_training_jobs``, and (Rasa 1.x/2.x) ``fingerprint`` with ``config``,
    ``version``, ``trained_at``."""
    body = client.get("/status").json()
    with open_registry(settings.store_url, settings.artifacts_dir) as registry:
        served = registry.resolve("1.0")
    assert body["model_file"] == "1.0"
    assert body["model_id"] == served.artifact_id
    assert body["num_active_training_jobs"] == 0  # the server runs no training
    config = orjson.dumps(served.config, option=orjson.OPT_SORT_KEYS)
    assert body["fingerprint"] == {
        "config": hashlib.sha256(config).hexdigest(),
        "version": lifelong.__version__,  # the lifelong that trained the bundle
        "trained_at": served.created_at.timestamp(),
    }


def test_status_follows_a_promotion(client: TestClient) -> None:
    before = client.get("/status").json()
    promoted = client.post(
        "/admin/promote", json={"version": "2.0", "reason": "test", "force": True}, headers=ADMIN
    )
    assert promoted.status_code == 200, promoted.text
    after = client.get("/status").json()
    assert after["model_file"] == "2.0"
    assert after["model_id"] != before["model_id"]
    assert after["fingerprint"]["trained_at"] >= before["fingerprint"]["trained_at"]


def test_status_without_a_model_is_503(make_client: Callable[..., TestClient]) -> None:
    """Rasa answers 409 "No agent loaded"; here, as ``/ready``, it is 503 (retry later)."""
    client = make_client(alias="nobody")
    deadline = time.monotonic() + 10
    while client.get("/health").json()["status"] != "failing":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    response = client.get("/status")
    assert response.status_code == 503
    assert "no model loaded" in response.json()["detail"]
