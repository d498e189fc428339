"""A dashboard over a filled registry (SQLite), through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lifelong.registry import Registry, open_registry
from lifelong.testing.dashboard_store import LABELS, fill_registry
from lifelong.ui import UiContext, create_ui_app

TOKEN = "ui-test-token"
EVIL = "<script>alert('x')</script>"


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Registry]:
    """14 versions (one intent named with HTML), 3000 predictions, a feedback log."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "weights.bin").write_bytes(b"w" * 100)
    with open_registry(f"sqlite:///{tmp_path / 'reg.db'}", tmp_path / "artifacts") as registry:
        fill_registry(
            registry,
            bundle,
            versions=14,
            predictions=3000,
            labels=[*LABELS[:5], EVIL],
            feedback_log=tmp_path / "feedback.jsonl",
        )
        yield registry


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """``make_client(registry, token=TOKEN)``: a client of the dashboard alone over it."""
    clients: list[TestClient] = []

    def make(registry: Registry, token: str | None = TOKEN) -> TestClient:
        context = UiContext(registry, token, tmp_path / "feedback.jsonl")
        client = TestClient(create_ui_app(context), base_url="http://testserver")
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(filled: Registry, make_client: MakeClient) -> TestClient:
    return make_client(filled)


LogIn = Callable[[TestClient], str]


@pytest.fixture
def evil() -> str:
    """The intent name with HTML in it that ``filled`` holds."""
    return EVIL


@pytest.fixture
def log_in() -> LogIn:
    """``log_in(client)``: log in with the admin token; the CSRF token the pages then carry."""
    return _log_in


def _log_in(client: TestClient) -> str:
    response = client.post("/ui/login", data={"token": TOKEN, "next": "/ui/cycles"})
    assert response.status_code == 200  # followed the 303 to the page
    marker = 'name="csrf" value="'
    text = response.text
    return text[text.index(marker) + len(marker) :].split('"', 1)[0]
