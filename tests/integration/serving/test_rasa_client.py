"""What a Rasa user types, against a real server: ``curl -XPOST :PORT/model/parse -d ...``.

``curl -d`` sends ``Content-Type: application/x-www-form-urlencoded``; Rasa reads the body as
JSON anyway (its spec, with the Rasa source it follows, is in ``tests/unit/serving/test_rasa.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


def _curl(*args: str) -> Any:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    done = subprocess.run([curl, "-sS", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_curl_post_model_parse_as_rasa_users_send_it(shared_server: Any) -> None:
    url = f"{shared_server.url}/model/parse"
    parsed = _curl("-XPOST", url, "-d", '{"text": "reserve a restaurant table"}')
    assert parsed["intent"]["name"] == "booking"
    assert parsed["text"] == "reserve a restaurant table"
    empty = _curl("-XPOST", url, "-d", '{"text": ""}')
    assert empty == {
        "text": "",
        "intent": {"name": None, "confidence": 0.0},
        "intent_ranking": [],
        "entities": [],
    }


def test_status_and_version_over_http(shared_server: Any) -> None:
    with httpx.Client(base_url=shared_server.url) as http:
        status = http.get("/status").json()
        version = http.get("/version").json()
        models = http.get("/models").json()
    assert status["model_file"] == models["serving"] == "1.0"
    assert status["num_active_training_jobs"] == 0
    assert len(status["model_id"]) == 64
    assert set(version) >= {"version", "minimum_compatible_version"}
