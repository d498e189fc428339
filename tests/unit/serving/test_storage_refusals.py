"""A server on storage that refuses writes: it serves from a read-only store, and a feedback
write the disk refuses is a 507 saying why, not a 500."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lifelong.serving import ServeSettings

MakeClient = Callable[..., TestClient]


def test_serves_from_a_store_it_cannot_write(
    settings: ServeSettings, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open
    store = settings.artifacts_dir

    def read_only(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).is_relative_to(store) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    client = make_client()
    response = client.post("/predict", json={"text": "wake me with an alarm tomorrow morning"})
    assert response.status_code == 200, response.text


def test_feedback_on_a_full_disk_is_a_507_with_the_path(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()

    def full(_fd: int, _data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    response = client.post(
        "/feedback",
        json={"text": "play a song", "intent": "music"},
        headers={"Authorization": "Bearer feedback-token"},  # conftest's feedback token
    )
    assert response.status_code == 507
    assert "feedback.jsonl: the disk is full" in response.json()["detail"]
