"""``lifelong train --nproc N`` hands its workers to torchrun with the environment they need."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lifelong.cli import torchrun


class Recorder:
    """Stands in for :func:`subprocess.run`: keeps the command and environment it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: list[str], env: dict[str, str], check: bool) -> Any:
        self.calls.append((command, env))
        return subprocess.CompletedProcess(command, 3)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    monkeypatch.setattr(subprocess, "run", recording)
    return recording


def test_workers_get_one_thread_and_the_fault_handler(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("PYTHONFAULTHANDLER", raising=False)
    code = torchrun.launch(2, 1, ["train", "--json"])
    assert code == 3, "torchrun's exit code is the command's"
    [(command, env)] = recorder.calls
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command
    assert "--max-restarts=1" in command
    assert command[-3:] == ["lifelong.cli.main", "train", "--json"]
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["PYTHONFAULTHANDLER"] == "1"


def test_the_users_settings_win(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("PYTHONFAULTHANDLER", "")
    torchrun.launch(2, 0, ["train"])
    [(_, env)] = recorder.calls
    assert env["OMP_NUM_THREADS"] == "2"
    assert env["PYTHONFAULTHANDLER"] == ""
