"""Commands tighten a project's state folder made world-readable by an older lifelong."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app


@pytest.mark.usefixtures("open_umask")
def test_a_command_makes_the_state_folder_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIFELONG_STORE_URL", raising=False)
    (tmp_path / "config.yml").write_text("{}\n")
    state = tmp_path / ".lifelong"
    state.mkdir(mode=0o755)
    # a command that writes the store (reading ones open it read-only and change nothing)
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "models", "gc"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "registry.db").stat().st_mode) == 0o600
