"""Promote and rollback through the dashboard: the admin session, CSRF, origin, the rules."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from lifelong.registry import Registry

MakeClient = Callable[..., TestClient]
LogIn = Callable[[TestClient], str]


def _judged_challenger(registry: Registry) -> str:
    """A version with a current promote verdict against the champion."""
    champion = registry.store.aliases()["champion"]
    target = next(v.label for v in registry.versions() if v.label != champion)
    registry.set_verdict(
        target,
        {"decision": "promote", "champion_version": champion, "reasons": ["better"]},
    )
    return target


def test_promote_and_rollback_move_the_alias(
    client: TestClient, filled: Registry, log_in: LogIn
) -> None:
    before = filled.store.aliases()["champion"]
    target = _judged_challenger(filled)
    csrf = log_in(client)
    page = client.get(f"/ui/versions/{target}").text
    assert "The verdict allows it" in page
    done = client.post(f"/ui/versions/{target}/promote", data={"csrf": csrf, "reason": "ok"})
    assert done.status_code == 200, done.text
    assert filled.store.aliases()["champion"] == target
    move = filled.store.alias_history("champion")[-1]
    assert (move.kind, move.reason, move.command) == ("set", "ok", "POST /ui promote")
    back = client.post("/ui/rollback", data={"csrf": csrf, "reason": "undo"})
    assert back.status_code == 200
    assert filled.store.aliases()["champion"] == before
    assert filled.store.alias_history("champion")[-1].kind == "rollback"


def test_a_refused_promotion_is_forced_only_with_a_reason(
    client: TestClient, filled: Registry, log_in: LogIn
) -> None:
    rejected = next(v.label for v in filled.versions() if v.verdict["decision"] == "reject")
    before = filled.store.aliases()["champion"]
    csrf = log_in(client)
    assert "The rules would refuse it now" in client.get(f"/ui/versions/{rejected}").text
    plain = client.post(f"/ui/versions/{rejected}/promote", data={"csrf": csrf, "reason": "x"})
    assert plain.status_code == 409
    assert "the gate rejected" in plain.text
    bare = client.post(f"/ui/versions/{rejected}/promote", data={"csrf": csrf, "force": "true"})
    assert bare.status_code == 409
    assert "needs a reason" in bare.text
    assert filled.store.aliases()["champion"] == before
    forced = client.post(
        f"/ui/versions/{rejected}/promote",
        data={"csrf": csrf, "force": "true", "reason": "hotfix for intent X"},
    )
    assert forced.status_code == 200
    assert "forced" in forced.text
    move = filled.store.alias_history("champion")[-1]
    assert (move.to_version, move.kind, move.reason) == (rejected, "forced", "hotfix for intent X")


def test_unauthorised_actions_are_refused(
    client: TestClient, filled: Registry, log_in: LogIn
) -> None:
    target = _judged_challenger(filled)
    before = filled.store.alias_history()
    no_session = client.post(f"/ui/versions/{target}/promote", data={"csrf": "x", "reason": "r"})
    assert no_session.status_code == 403
    assert "log in" in no_session.text
    assert client.post("/ui/login", data={"token": "wrong"}).status_code == 403
    csrf = log_in(client)
    wrong = csrf[:-1] + ("1" if csrf.endswith("0") else "0")  # never the token itself
    wrong_csrf = client.post(f"/ui/versions/{target}/promote", data={"csrf": wrong})
    assert wrong_csrf.status_code == 403
    assert "CSRF" in wrong_csrf.text
    missing = client.post("/ui/rollback", data={})
    assert missing.status_code == 403
    foreign = client.post(
        f"/ui/versions/{target}/promote",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "another site" in foreign.text
    forged = TestClient(client.app, cookies={"lifelong_ui_session": "abc.def"})
    assert forged.post("/ui/rollback", data={"csrf": csrf}).status_code == 403
    assert filled.store.alias_history() == before


def test_without_a_token_the_actions_are_off(filled: Registry, make_client: MakeClient) -> None:
    client = make_client(filled, token=None)
    page = client.get("/ui/versions/1.1").text
    assert "actions are off" in page
    assert 'action="/ui/versions/1.1/promote"' not in page
    assert client.post("/ui/login", data={"token": ""}).status_code == 404
    assert client.post("/ui/rollback", data={}).status_code == 404


def test_logging_out_ends_the_session(client: TestClient, log_in: LogIn) -> None:
    csrf = log_in(client)
    assert client.post("/ui/logout", data={"csrf": csrf}).status_code == 200
    assert "log in" in client.get("/ui/").text
    assert client.post("/ui/rollback", data={"csrf": csrf}).status_code == 403
