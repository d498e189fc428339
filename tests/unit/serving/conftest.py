"""An app over a registry with trained models, driven in-process by FastAPI's TestClient."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lifelong.config import Server
from lifelong.serving import ServeSettings, create_app

TOKEN = "s3cret-token"
FEEDBACK_TOKEN = "feedback-token"

MakeClient = Callable[..., TestClient]


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/health").json()
        time.sleep(0.02)


@pytest.fixture
def settings(tmp_path: Path, served_registry: Callable[..., object]) -> ServeSettings:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    served_registry(url, tmp_path / "artifacts").close()  # type: ignore[attr-defined]
    return ServeSettings(
        store_url=url,
        artifacts_dir=tmp_path / "artifacts",
        # the log's own thread writes: a writer process per app would add a second's start-up to
        # every test here (test_log_process covers the process; the integration tests serve
        # with it, the default)
        server=Server(
            poll_interval=0.05, log_flush_ms=10, max_batch=8, max_text_chars=50, log_process=False
        ),
        feedback_log=tmp_path / "feedback" / "feedback.jsonl",
        admin_token=TOKEN,
        feedback_token=FEEDBACK_TOKEN,
    )


@pytest.fixture
def make_client(settings: ServeSettings) -> Iterator[MakeClient]:
    """``make_client(**changes)``: a started app (lifespan run, model loaded) with settings
    fields replaced; ``server={...}`` updates the server section."""
    stack: list[TestClient] = []

    def make(*, server: dict[str, object] | None = None, **changes: object) -> TestClient:
        section = settings.server.model_copy(update=server or {})
        fields = {**settings.__dict__, "server": section, **changes}
        client = TestClient(create_app(ServeSettings(**fields)))  # type: ignore[arg-type]
        client.__enter__()
        stack.append(client)
        if changes.get("alias", "champion") == "champion":
            wait_ready(client)
        return client

    yield make
    for client in reversed(stack):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()
