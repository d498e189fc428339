"""``lifelong train`` killed with SIGKILL mid-training, then ``--resume``: one version, the
uninterrupted run's result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.core.crashpoint import CRASH_ENV
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import run_cli, small_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = small_settings(4, **{"training.checkpoint_every": "5"})


def _versions(root: Path) -> list[str]:
    project = Project.load(root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        return [v.label for v in registry.versions()]


def test_a_killed_training_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    twin = tmp_path / "twin"
    shutil.copytree(root, twin)
    command = [sys.executable, "-m", "lifelong.cli.main", "--project", str(root), *SETTINGS]
    killed = subprocess.run(
        [*command, "train"],
        env={**os.environ, CRASH_ENV: "step:12"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "killed at crash point 'step:12'" in killed.stderr
    assert _versions(root) == []
    assert list((root / ".lifelong" / "checkpoints").glob("*/step-10.pt"))
    code, out = run_cli(root, SETTINGS, "train", "--resume", "--json")
    assert code == 0, out
    resumed = json.loads(out[out.index("{") :])
    assert resumed["training"]["resumed_from_step"] == 10
    assert _versions(root) == ["1.0"]
    assert not (root / ".lifelong" / "checkpoints").exists()
    code, out = run_cli(twin, SETTINGS, "train", "--json")
    assert code == 0, out
    whole = json.loads(out[out.index("{") :])
    assert whole["training"]["resumed_from_step"] is None
    assert resumed["training"]["examples_trained"] == whole["training"]["examples_trained"]
    assert resumed["training"]["history"] == whole["training"]["history"]
    timed = "latency_ms_per_example"  # the one figure of a test report that is not a result
    assert {k: v for k, v in resumed["metrics"]["test"].items() if k != timed} == {
        k: v for k, v in whole["metrics"]["test"].items() if k != timed
    }
