"""Exit codes of their own: serve's refusals, a held lock; in lifelong's words, no traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lifelong.cli.main import app
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import open_registry


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LIFELONG_STORE_URL", raising=False)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "config.yml").write_text("{}\n")
    return root


def serve(project: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(project), "serve", *args])


def test_serve_without_a_champion_says_train_first(project: Path) -> None:
    result = serve(project)
    assert result.exit_code == 5, result.output
    assert "nothing to serve" in result.output
    assert "no model is registered yet" in result.output
    assert "train first: `lifelong train`" in result.output
    assert "Traceback" not in result.output


def test_serve_on_a_busy_port_names_the_address_and_what_to_do(
    project: Path, make_bundle: Callable[..., Path]
) -> None:
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snap = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(make_bundle(0), snapshot_id=snap, config={}, metrics={}, notes="")
        registry.set_alias("champion", "1.0", reason="test", command="test")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve(project, "--port", str(port))
    assert result.exit_code == 4, result.output
    assert f"cannot serve on 127.0.0.1:{port}: the address is in use" in result.output
    assert "--port PORT" in result.output
    assert "Errno" not in result.output


def test_a_second_train_while_a_cycle_holds_the_lock_exits_3(project: Path) -> None:
    from lifelong.pipelines.lock import cycle_lock

    loaded = Project.load(project)
    with (
        open_registry(loaded.store_url, loaded.artifacts_dir) as registry,
        cycle_lock(loaded, registry),
    ):
        result = CliRunner().invoke(app, ["--project", str(project), "train"])
    assert result.exit_code == 3, result.output
    assert "another lifelong cycle is training" in result.output
