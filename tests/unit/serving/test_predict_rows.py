"""``/predict`` with ``row`` / ``rows``: a tabular classifier and a regression model served."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lifelong.config import Pipeline, Server, TabularSettings, Training
from lifelong.core.types import Example
from lifelong.data.schema import canonical_row
from lifelong.registry import open_registry
from lifelong.serving import ServeSettings, create_app


def _rows(n: int, regression: bool) -> list[Example]:
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(n):
        x, city = float(rng.normal(0, 1)), str(rng.choice(["a", "b"]))
        y = 2 * x + 3 * (city == "b")
        label = repr(y) if regression else ("high" if y > 1.5 else "low")
        text = canonical_row({"city": city, "x": x})
        examples.append(Example(text=text, label=label, original=text))
    return examples


@pytest.fixture(scope="module", params=["classification", "regression"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    from lifelong.training import train

    kind = request.param
    tmp_path = tmp_path_factory.mktemp(kind)
    rows = _rows(300, kind == "regression")
    pipeline = Pipeline(name="tabular", hidden=16, tabular=TabularSettings(kind=kind))
    training = Training(epochs=8, lr=0.01, patience=8)
    bundle = train(rows, rows[:30], pipeline=pipeline, training=training, progress=False).bundle
    bundle.save(tmp_path / "bundle")
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = open_registry(url, tmp_path / "artifacts")
    snapshot = registry.put_snapshot(rows).id
    registry.register(tmp_path / "bundle", snapshot_id=snapshot, config={})
    registry.set_alias("champion", "1.0", reason="first model", command="test")
    registry.close()
    settings = ServeSettings(
        store_url=url,
        artifacts_dir=tmp_path / "artifacts",
        server=Server(poll_interval=0.05, log_flush_ms=10, log_process=False),
        feedback_log=tmp_path / "feedback.jsonl",
        feedback_token="feedback-token",
        task="tabular",
    )
    client = TestClient(create_app(settings))
    client.__enter__()
    deadline = time.monotonic() + 60
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/health").json()
        time.sleep(0.02)
    client.kind = kind  # type: ignore[attr-defined]
    client.registry_url = url  # type: ignore[attr-defined]
    client.feedback_log = settings.feedback_log  # type: ignore[attr-defined]
    yield client
    client.__exit__(None, None, None)


def test_a_row_and_a_batch_of_rows_are_answered(served: TestClient) -> None:
    one = served.post("/predict", json={"row": {"City": "b", "x": 1.0}})
    assert one.status_code == 200, one.text
    many = served.post("/predict", json={"rows": [{"city": "a", "x": -1}, {"city": "b"}]})
    assert many.status_code == 200, many.text
    answers = many.json()["predictions"]
    assert len(answers) == 2
    if served.kind == "regression":  # type: ignore[attr-defined]
        assert abs(one.json()["value"] - 5.0) < 1.0
        assert answers[0]["value"] < answers[1]["value"]
    else:
        assert one.json()["intent"] == "high"
        assert answers[0]["intent"] == "low"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"row": {"city": "a", "x": "lots"}}, "column 'x' is numeric"),
        ({"row": {"city": "a", "y": 1}}, "unknown column(s) 'y'"),
        ({"text": "hello"}, "reads tabular rows"),
        ({"row": None}, "must be an object"),
    ],
)
def test_bad_rows_are_a_422_naming_the_problem(
    served: TestClient, body: dict[str, object], says: str
) -> None:
    answer = served.post("/predict", json=body)
    assert answer.status_code == 422
    assert says in answer.text


def test_a_prediction_is_logged_with_its_value_and_feedback_scores_that_value(
    served: TestClient,
) -> None:
    """A regression model logs its number (a classifier none); feedback on the prediction id
    records the logged number as ``predicted``, whatever the client claims."""
    answer = served.post("/predict", json={"row": {"city": "a", "x": 0.5}}).json()
    pid = answer["prediction_id"]
    regression = served.kind == "regression"  # type: ignore[attr-defined]
    body = {
        "text": canonical_row({"city": "a", "x": 0.5}),
        "intent": "1.0" if regression else "low",
    }
    body |= {"prediction_id": pid, "predicted": "99"}
    stored = served.post("/feedback", json=body, headers={"Authorization": "Bearer feedback-token"})
    assert stored.status_code == 200, stored.text
    deadline = time.monotonic() + 30
    registry = open_registry(served.registry_url, served.feedback_log.parent / "artifacts")  # type: ignore[attr-defined]
    try:
        while (logged := registry.store.prediction(pid)) is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        registry.close()
    record = json.loads(served.feedback_log.read_text().splitlines()[-1])  # type: ignore[attr-defined]
    if regression:
        assert logged.value == answer["value"]
        assert record["predicted"] == repr(answer["value"])
    else:
        assert logged.value is None
        assert record["predicted"] == answer["intent"]
