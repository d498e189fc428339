"""A real server: a request with invalid Unicode is a 422 that keeps the connection open, fails
no request in flight beside it, and never reaches the prediction log."""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from lifelong.registry import Registry

pytestmark = pytest.mark.integration

SURROGATE = b'"\\ud800"'  # a JSON escape of a lone surrogate: valid JSON, not valid Unicode
JSON = {
    "content-type": "application/json",
    "authorization": "Bearer integration-feedback-token",  # conftest's FEEDBACK_TOKEN
}


def test_a_422_for_invalid_unicode_keeps_the_connection(shared_server: Any) -> None:
    address = urlsplit(shared_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.connect()
        socket = connection.sock
        for path, body in [
            ("/predict", b'{"text": ' + SURROGATE + b"}"),
            ("/predict", b'{"texts": ["hi", "a\\u0000b"]}'),
            ("/model/parse", b'{"text": ' + SURROGATE + b"}"),
            ("/feedback", b'{"text": ' + SURROGATE + b', "intent": "music"}'),
            ("/predict", b'{"text": "play a song"}'),
        ]:
            connection.request("POST", path, body=body, headers=JSON)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == (200 if path == "/predict" and b"song" in body else 422)
            assert connection.sock is socket  # the same keep-alive connection, never dropped
    finally:
        connection.close()


def test_bad_requests_in_flight_fail_no_good_one(shared_server: Any) -> None:
    """Issue 13's run: 300 good and 30 lone-surrogate requests, 60 in flight."""
    bodies = [b'{"text": "play some music"}'] * 300
    for index in range(30):
        bodies.insert(index * 11, b'{"text": ' + SURROGATE + b"}")
    limits = httpx.Limits(max_connections=60)
    with httpx.Client(base_url=shared_server.url, limits=limits, timeout=60) as client:

        def send(body: bytes) -> tuple[bool, int]:
            return SURROGATE not in body, client.post(
                "/predict", content=body, headers=JSON
            ).status_code

        with ThreadPoolExecutor(max_workers=60) as pool:
            outcomes = list(pool.map(send, bodies))
        assert client.get("/health").json()["status"] == "ok"
    assert [status for good, status in outcomes if good] == [200] * 300
    assert [status for good, status in outcomes if not good] == [422] * 30


def test_a_nul_never_reaches_the_prediction_log(
    store_project: tuple[Path, Registry], start_server: Any, wait_for: Any
) -> None:
    """PostgreSQL refuses a NUL in text: it is a 422 at the door, and the batch of log rows
    written with the good predictions is not lost to it (SQLite and PostgreSQL alike)."""
    folder, registry = store_project
    config = yaml.safe_load((folder / "config.yml").read_text())
    config["server"]["log_text"] = True
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    server = start_server(folder)
    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/predict", json={"texts": ["play a song", "wake\x00me up"]})
        assert refused.status_code == 422
        assert "body.texts.1: Value error, contains a NUL character" in refused.json()["message"]
        assert client.post("/predict", json={"texts": ["play a song", "rain"]}).status_code == 200
        wait_for(lambda: len(registry.store.recent_predictions()) == 2, "2 logged rows")
        assert 'outcome="failed"' not in client.get("/metrics").text
    assert sorted(r.text or "" for r in registry.store.recent_predictions()) == [
        "play a song",
        "rain",
    ]
