"""Admin endpoints: off without a token, 401 with a wrong one, promote/rollback/reload with it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lifelong.registry import AliasMove
from lifelong.serving import ServeSettings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_is_off_without_a_token(make_client: object) -> None:
    client = make_client(admin_token=None)  # type: ignore[operator]
    response = client.post("/admin/reload", headers=bearer("anything"))
    assert response.status_code == 404
    assert "admin endpoints are off: set LIFELONG_ADMIN_TOKEN" in response.json()["detail"]


def test_wrong_or_missing_token_is_401(client: TestClient) -> None:
    for headers in ({}, bearer("wrong"), {"Authorization": "Basic czNjcmV0"}):
        response = client.post("/admin/reload", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"


def _verdict(client: TestClient, version: str, verdict: dict[str, object]) -> None:
    client.app.state.services.registry.set_verdict(version, verdict)  # type: ignore[attr-defined]


def _moves(client: TestClient) -> list[AliasMove]:
    return client.app.state.services.registry.store.alias_history("champion")  # type: ignore[attr-defined,no-any-return]


PROMOTE_VS_1_0 = {"decision": "promote", "champion_version": "1.0", "reasons": ["better"]}


def test_promote_rollback_and_reload(client: TestClient, settings: ServeSettings) -> None:
    token = bearer(settings.admin_token or "")
    _verdict(client, "2.0", PROMOTE_VS_1_0)
    response = client.post(
        "/admin/promote", json={"version": "2.0", "reason": "better"}, headers=token
    )
    assert response.status_code == 200
    assert response.json()["version"] == "2.0"
    assert response.json()["promotion"]["changed"] is True
    assert client.post("/predict", json={"text": "play music"}).json()["version"] == "2.0"
    history = client.app.state.services.registry.store.alias_history("champion")  # type: ignore[attr-defined]
    assert (history[-1].to_version, history[-1].reason) == ("2.0", "better")
    assert history[-1].command == "POST /admin/promote"

    response = client.post("/admin/rollback", json={"reason": "oops"}, headers=token)
    assert response.json()["version"] == "1.0"
    response = client.post("/admin/reload", headers=token)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_promote_refuses_unknown_and_corrupt_versions(
    client: TestClient, settings: ServeSettings
) -> None:
    token = bearer(settings.admin_token or "")
    response = client.post("/admin/promote", json={"version": "9.9", "reason": "x"}, headers=token)
    assert response.status_code == 404
    assert "version 9.9 does not exist" in response.json()["detail"]

    services = client.app.state.services  # type: ignore[attr-defined]
    version = services.registry.resolve("2.0")
    weights = Path(services.registry.artifacts.path(version.artifact_id)) / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    response = client.post("/admin/promote", json={"version": "2.0", "reason": "x"}, headers=token)
    assert response.status_code == 409
    assert "artifact of version 2.0 is corrupt" in response.json()["detail"]
    assert services.registry.store.aliases()["champion"] == "1.0"  # nothing moved


def test_rollback_without_history_is_409(client: TestClient, settings: ServeSettings) -> None:
    response = client.post(
        "/admin/rollback", json={"reason": "x"}, headers=bearer(settings.admin_token or "")
    )
    assert response.status_code == 409
    assert "nothing to roll back to" in response.json()["detail"]


def test_promote_of_a_rejected_version_is_409_unless_forced_with_a_reason(
    client: TestClient, settings: ServeSettings
) -> None:
    token = bearer(settings.admin_token or "")
    _verdict(client, "2.0", {"decision": "reject", "reasons": ["intent 'alarm' fell"]})
    before = len(_moves(client))
    response = client.post("/admin/promote", json={"version": "2.0", "reason": "x"}, headers=token)
    assert response.status_code == 409
    assert "the gate rejected version 2.0: intent 'alarm' fell" in response.json()["detail"]
    blank = {"version": "2.0", "reason": " ", "force": True}
    assert client.post("/admin/promote", json=blank, headers=token).status_code == 422
    assert len(_moves(client)) == before
    assert client.post("/predict", json={"text": "play music"}).json()["version"] == "1.0"

    forced = {"version": "2.0", "reason": "incident 42 hotfix", "force": True}
    response = client.post("/admin/promote", json=forced, headers=token)
    assert response.status_code == 200
    assert response.json()["version"] == "2.0"
    assert response.json()["promotion"]["kind"] == "forced"
    last = _moves(client)[-1]
    assert (last.kind, last.reason, last.to_version) == ("forced", "incident 42 hotfix", "2.0")
    assert last.command == "POST /admin/promote force"


def test_promote_with_a_stale_verdict_is_409(client: TestClient, settings: ServeSettings) -> None:
    _verdict(client, "2.0", {"decision": "promote", "champion_version": "1.1", "reasons": []})
    response = client.post(
        "/admin/promote",
        json={"version": "2.0", "reason": "x"},
        headers=bearer(settings.admin_token or ""),
    )
    assert response.status_code == 409
    assert "stale: it was judged against champion 1.1" in response.json()["detail"]
    assert "lifelong challenge 2.0" in response.json()["hint"]


def test_promoting_the_served_version_is_200_and_records_nothing(
    client: TestClient, settings: ServeSettings
) -> None:
    before = len(_moves(client))
    response = client.post(
        "/admin/promote",
        json={"version": "1.0", "reason": "again"},
        headers=bearer(settings.admin_token or ""),
    )
    assert response.status_code == 200
    assert response.json()["promotion"] == {
        "alias": "champion",
        "version": "1.0",
        "previous": "1.0",
        "changed": False,
        "kind": None,
        "overridden": None,
    }
    assert len(_moves(client)) == before
