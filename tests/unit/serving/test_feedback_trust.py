"""Who may write training data through ``POST /feedback``: its own token, a rate per client,
and the logged prediction over the client's claim (issue 13, finding 2)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.serving import ServeSettings
from lifelong.serving.rate_limit import RateLimiter, retry_after

FEEDBACK = {"Authorization": "Bearer feedback-token"}  # conftest's FEEDBACK_TOKEN
ADMIN = {"Authorization": "Bearer s3cret-token"}  # conftest's TOKEN
BODY = {"text": "play a song", "intent": "music"}


def _lines(settings: ServeSettings) -> list[dict[str, object]]:
    assert settings.feedback_log is not None
    if not settings.feedback_log.exists():
        return []
    return [json.loads(line) for line in settings.feedback_log.read_text().splitlines()]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, ADMIN],
    ids=["no token", "wrong token", "admin token"],
)
def test_feedback_without_its_token_is_401_and_stores_nothing(
    client: TestClient, settings: ServeSettings, headers: dict[str, str]
) -> None:
    response = client.post("/feedback", json=BODY, headers=headers)
    assert response.status_code == 401
    assert "missing or wrong feedback token" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert _lines(settings) == []


def test_feedback_without_a_configured_token_is_refused(
    make_client: object, settings: ServeSettings
) -> None:
    client = make_client(feedback_token=None)  # type: ignore[operator]
    response = client.post("/feedback", json=BODY, headers=FEEDBACK)
    assert response.status_code == 403
    assert "feedback is closed" in response.json()["detail"]
    assert "set LIFELONG_FEEDBACK_TOKEN" in response.json()["detail"]
    assert _lines(settings) == []


def test_a_flood_of_feedback_gets_429_with_retry_after(
    make_client: object, settings: ServeSettings
) -> None:
    client = make_client(server={"feedback_rate": 6.0, "feedback_burst": 3})  # type: ignore[operator]
    codes = [client.post("/feedback", json=BODY, headers=FEEDBACK).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = client.post("/feedback", json=BODY, headers=FEEDBACK)
    assert refused.status_code == 429
    assert "feedback_rate=6" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 10  # one token per 10 s
    assert len(_lines(settings)) == 3


def test_wrong_tokens_do_not_use_up_the_allowance(make_client: object) -> None:
    client = make_client(server={"feedback_rate": 6.0, "feedback_burst": 2})  # type: ignore[operator]
    for _ in range(5):
        assert client.post("/feedback", json=BODY).status_code == 401
    assert client.post("/feedback", json=BODY, headers=FEEDBACK).status_code == 200


def test_the_logged_prediction_wins_over_the_clients_claim(
    client: TestClient, settings: ServeSettings
) -> None:
    answer = client.post("/predict", json={"text": "play a song"}).json()
    claim = "not-" + answer["intent"]
    body = {**BODY, "prediction_id": answer["prediction_id"], "predicted": claim}
    assert client.post("/feedback", json=body, headers=FEEDBACK).status_code == 200
    assert _lines(settings)[-1]["predicted"] == answer["intent"]


def test_bucket_refills_at_the_rate_and_caps_at_the_burst() -> None:
    now = [0.0]
    limiter = RateLimiter(60.0, 2, clock=lambda: now[0])  # one token a second
    assert [limiter.acquire("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0  # another client has its own bucket
    now[0] = 100.0  # a long pause refills to the burst, not beyond
    assert [limiter.acquire("a") for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.acquire("a") > 0
    assert retry_after(0.2) == "1"
    assert retry_after(2.1) == "3"


def test_full_buckets_are_forgotten_past_max_keys() -> None:
    now = [0.0]
    limiter = RateLimiter(60.0, 1, clock=lambda: now[0], max_keys=3)
    for key in "abc":
        limiter.acquire(key)
    now[0] = 10.0  # every bucket is full again
    limiter.acquire("d")
    assert limiter.acquire("d") > 0  # d's own bucket is kept and empty
    assert len(limiter._buckets) == 1


@settings(deadline=None)  # timing is not the property; CI machines are shared
@given(
    rate=st.floats(1.0, 600.0),
    burst=st.integers(1, 30),
    gaps=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=200),
)
def test_no_client_gets_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    now = [0.0]
    limiter = RateLimiter(rate, burst, clock=lambda: now[0])
    admitted = 0
    for gap in gaps:
        now[0] += gap
        if limiter.acquire("client") == 0.0:
            admitted += 1
    assert admitted <= burst + rate / 60.0 * now[0] + 1e-9
