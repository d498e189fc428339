"""What the server gives away: keyed text hashes in its log, and ``/models`` by caller."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from lifelong.config import CONFIG_FILE
from lifelong.core.hashing import TextHasher, sha256_text
from lifelong.core.secret import HASH_SECRET_ENV, SECRET_FILE
from lifelong.core.types import normalize_text
from lifelong.project import Project
from lifelong.registry import PredictionRecord
from lifelong.serving import ServeSettings

MakeClient = Callable[..., TestClient]

TEXT = "Play  some MUSIC"


def _logged(client: TestClient, n: int) -> list[PredictionRecord]:
    store = client.app.state.services.registry.store  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while len(rows := store.recent_predictions()) < n:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return list(rows)


def test_the_logged_hash_is_keyed_not_a_plain_sha256(
    client: TestClient, settings: ServeSettings
) -> None:
    client.post("/predict", json={"text": TEXT})
    (row,) = _logged(client, 1)
    assert row.text_hash == TextHasher(settings.hash_secret)(normalize_text(TEXT))
    assert row.text_hash != sha256_text(normalize_text(TEXT))


def test_servers_with_other_secrets_log_other_hashes(make_client: MakeClient) -> None:
    hashes: list[str] = []
    for secret in (b"the first project's secret", b"the second project's secret"):
        client = make_client(hash_secret=secret)
        client.post("/predict", json={"text": TEXT})
        hashes.append(_logged(client, len(hashes) + 1)[-1].text_hash)  # oldest first
        client.__exit__(None, None, None)
    assert hashes[0] != hashes[1]


def test_a_shadow_row_hashes_its_text_as_the_primary_row(make_client: MakeClient) -> None:
    registry = make_client().app.state.services.registry  # type: ignore[attr-defined]
    registry.set_alias("challenger", "2.0", reason="shadow it", command="test")
    client = make_client(server={"shadow": "challenger"})
    deadline = time.monotonic() + 10
    while client.get("/health").json()["shadow"]["status"] != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.post("/predict", json={"text": TEXT})
    primary, shadow = sorted(_logged(client, 2), key=lambda row: row.shadow_of is not None)
    assert (shadow.shadow_of, shadow.version) == (primary.prediction_id, "2.0")
    assert shadow.text_hash == primary.text_hash != sha256_text(normalize_text(TEXT))


def test_feedback_still_joins_its_prediction(client: TestClient, settings: ServeSettings) -> None:
    predicted = client.post("/predict", json={"text": TEXT}).json()
    (row,) = _logged(client, 1)  # on disk: the join below reads the log
    feedback = {"text": TEXT, "intent": "music", "prediction_id": predicted["prediction_id"]}
    headers = {"Authorization": f"Bearer {settings.feedback_token}"}
    assert client.post("/feedback", json=feedback, headers=headers).status_code == 200
    assert settings.feedback_log is not None
    record = json.loads(settings.feedback_log.read_text().splitlines()[-1])
    assert record["predicted"] == row.intent == predicted["intent"]
    assert TextHasher(settings.hash_secret)(normalize_text(record["text"])) == row.text_hash


def test_a_project_server_keeps_its_secret_across_restarts(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("{}\n")
    project = Project.load(tmp_path)
    first = ServeSettings.from_project(project, env={})
    assert ServeSettings.from_project(project, env={}).hash_secret == first.hash_secret
    assert (project.state_dir / SECRET_FILE).read_text().strip().encode() == first.hash_secret
    assert repr(first.hash_secret) not in repr(first)
    shared = ServeSettings.from_project(project, env={HASH_SECRET_ENV: "x" * 32})
    assert shared.hash_secret == b"x" * 32


def _with_a_verdict(client: TestClient) -> None:
    registry = client.app.state.services.registry  # type: ignore[attr-defined]
    registry.update_metrics(
        "1.0",
        {
            "accuracy": 0.9,
            "test": {"confusion": [[9, 1], [0, 10]]},
            "reference": {"confidences": [0.91, 0.42], "label_counts": {"music": 3}},
        },
    )
    registry.set_verdict("1.0", {"decision": "promote", "reasons": ["first model"]})


def test_anonymous_callers_see_the_lineage_without_its_records(client: TestClient) -> None:
    _with_a_verdict(client)
    body = client.get("/models").json()
    assert (body["serving"], body["champion"]) == ("1.0", "1.0")
    assert body["aliases"] == {"champion": "1.0"}
    (entry,) = body["lineage"]
    assert set(entry) == {"version", "parent", "edge", "created_at", "accuracy"}
    assert entry["accuracy"] == 0.9
    for secret in ("confusion", "0.42", "promote", "snapshot"):
        assert secret not in json.dumps(body)


def test_the_admin_sees_every_record(client: TestClient, settings: ServeSettings) -> None:
    _with_a_verdict(client)
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    (entry,) = client.get("/models", headers=admin).json()["lineage"]
    assert entry["metrics"]["test"] == {"confusion": [[9, 1], [0, 10]]}
    assert entry["metrics"]["reference"]["confidences"] == [0.91, 0.42]
    assert entry["verdict"]["decision"] == "promote"
    assert entry["snapshot_id"]
    wrong = client.get("/models", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 401
    assert "wrong admin token" in wrong.json()["detail"]


def test_without_an_admin_token_everyone_is_anonymous(make_client: MakeClient) -> None:
    client = make_client(admin_token=None)
    body = client.get("/models", headers={"Authorization": "Bearer anything"}).json()
    assert "metrics" not in body["lineage"][0]
